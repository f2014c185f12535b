"""Who a credential is about, in a real browser (Debian's Chromium, Playwright): an
employer who has only the badge image the candidate downloaded uploads it to the verifier
and reads the candidate's name, in English and Spanish; the credential page says the name
is the one signed in. Every page passes axe. Skipped, loudly, only when /usr/bin/chromium
is missing (``make test`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser_support import HAVE_CHROMIUM, assert_accessible
from tests.verifier_app import Instance, served_instance

if not HAVE_CHROMIUM:  # pragma: no cover - depends on the machine
    pytest.skip(
        "!!! /usr/bin/chromium not found: the signed-name BROWSER TESTS ARE SKIPPED "
        "(run `make test`, which installs Debian's chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Instance]]:
    tmp = tmp_path_factory.mktemp("signed-name")
    with served_instance(tmp, fetch_allow_private=True) as (instance, base):
        yield base, instance


@pytest.mark.parametrize(
    ("locale", "button", "says"),
    [
        ("en-GB", "Verify", "the name the issuer signed into the credential"),
        ("es-ES", "Verificar", "el nombre que el emisor firmó en la credencial"),
    ],
)
def test_an_employer_with_only_the_badge_image_reads_the_name(
    browser: Browser, site: tuple[str, Instance], locale: str, button: str, says: str
) -> None:
    base, instance = site
    path = instance.issued["url"].removeprefix(base)
    baked = instance.client.get(f"{path}/badge.png")
    assert baked.status_code == 200 and baked.content.startswith(b"\x89PNG")
    context = browser.new_context(locale=locale)
    page = context.new_page()
    try:
        page.goto(f"{base}/verify")
        page.set_input_files(
            "#field-file",
            files=[  # type: ignore[arg-type]
                {"name": "badge.png", "mimeType": "image/png", "buffer": baked.content}
            ],
        )
        page.get_by_role("button", name=button, exact=True).click()
        name = page.locator("[data-signed-name]")
        assert name.inner_text() == "Ada Lovelace"
        assert says in page.content()
        assert_accessible(page)
    finally:
        context.close()


def test_the_credential_page_says_the_name_is_signed_in(
    browser: Browser, site: tuple[str, Instance]
) -> None:
    _base, instance = site
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        page.goto(instance.issued["url"])
        assert page.locator("[data-signed-name]").inner_text() == "Ada Lovelace"
        assert "named in the signed credential" in page.content()
        assert_accessible(page)
    finally:
        context.close()
