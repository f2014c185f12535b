"""The verify page in a real browser: Debian's Chromium driven by Playwright.

The app runs with uvicorn on a free 127.0.0.1 port. Its public URL is that address and
its fetcher may reach loopback (for this module only), so the ``/verify?url=…`` link a
credential page or QR code carries resolves against the same instance. Skipped, loudly,
only when /usr/bin/chromium is missing (``make test`` installs it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from badgeworks.core.baking import bake_png
from tests.browser_support import HAVE_CHROMIUM, assert_accessible
from tests.verifier_app import (
    PNG_1X1,
    Instance,
    served_instance,
)

if not HAVE_CHROMIUM:  # pragma: no cover - depends on the machine
    pytest.skip(
        "!!! /usr/bin/chromium not found: the verifier's BROWSER TESTS ARE SKIPPED "
        "(run `make test`, which installs Debian's chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Instance]]:
    tmp = tmp_path_factory.mktemp("browser")
    with served_instance(tmp, fetch_allow_private=True) as (instance, base):
        yield base, instance


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    # One context for the JavaScript-enabled tests: a new one costs seconds here.
    context = browser.new_context()
    yield context.new_page()
    context.close()


def verdict(page: Page) -> str:
    return page.locator("#verdict-title").inner_text().strip().lstrip("✓!✗ ").strip()


def test_paste_json_and_read_the_verdict(page: Page, site: tuple[str, Instance]) -> None:
    base, instance = site
    page.goto(f"{base}/verify")
    assert_accessible(page)
    page.get_by_label("Paste the credential").fill(instance.text)
    page.get_by_label("Recipient's email address (optional)").fill("ada@example.org")
    page.get_by_role("button", name="Verify").click()
    assert verdict(page) == "Verified"
    assert "The email address you entered matches" in page.content()
    assert "ada@example.org" not in page.content()
    # Technical detail is one click away, and the whole result page passes axe.
    details = page.locator("details.technical")
    assert details.get_attribute("open") is None
    details.locator("summary").click()
    assert page.get_by_text('"proof.verified"').first.is_visible()
    assert_accessible(page)


def test_spanish_verifier_pages_pass_axe(browser: Browser, site: tuple[str, Instance]) -> None:
    base, instance = site
    context = browser.new_context(locale="es-MX")
    page = context.new_page()
    try:
        page.goto(f"{base}/verify")  # Accept-Language picks Spanish
        assert page.locator("html").get_attribute("lang") == "es"
        assert_accessible(page)
        page.locator("textarea").first.fill(instance.text)
        page.locator("form button[type=submit]").first.click()
        page.wait_for_load_state()
        assert page.locator("#verdict-title").count() == 1
        assert page.locator("html").get_attribute("lang") == "es"
        assert_accessible(page)
        # An error page in Spanish too: not JSON at all.
        page.goto(f"{base}/verify")
        page.locator("textarea").first.fill("{not json")
        page.locator("form button[type=submit]").first.click()
        page.wait_for_load_state()
        assert page.get_by_role("alert").count() >= 1
        assert_accessible(page)
    finally:
        context.close()


def test_upload_a_baked_png(page: Page, site: tuple[str, Instance]) -> None:
    base, instance = site
    page.goto(f"{base}/verify")
    page.set_input_files(
        "#field-file",
        files=[  # type: ignore[arg-type]
            {
                "name": "badge.png",
                "mimeType": "image/png",
                "buffer": bake_png(PNG_1X1, instance.text),
            }
        ],
    )
    page.get_by_role("button", name="Verify").click()
    assert verdict(page) == "Verified"
    assert "Checked the file badge.png." in page.content()


def test_follow_a_qr_link(page: Page, site: tuple[str, Instance]) -> None:
    base, instance = site
    credential_url = instance.credential["id"]
    assert credential_url.startswith(base)
    page.goto(f"{base}/verify?url={quote(credential_url, safe='')}")
    assert verdict(page) == "Verified"
    assert page.locator("#field-url").input_value() == credential_url


def test_errors_are_announced_and_tied_to_fields(page: Page, site: tuple[str, Instance]) -> None:
    base, _ = site
    page.goto(f"{base}/verify")
    page.get_by_label("Paste the credential").fill('{"not": "closed"')
    page.get_by_role("button", name="Verify").click()
    field = page.locator("#field-credential")
    assert field.get_attribute("aria-invalid") == "true"
    described = field.get_attribute("aria-describedby") or ""
    assert "credential-error" in described.split()
    assert "Could not verify because" in page.locator("#credential-error").inner_text()
    assert page.get_by_role("alert").count() >= 1
    assert_accessible(page)


def test_works_without_javascript(browser: Browser, site: tuple[str, Instance]) -> None:
    base, instance = site
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{base}/verify")
        page.get_by_label("Paste the credential").fill(instance.text)
        page.get_by_role("button", name="Verify").click()
        assert verdict(page) == "Verified"
        tampered: dict[str, Any] = json.loads(instance.text)
        tampered["credentialSubject"]["role"] = "Director"
        page.get_by_label("Paste the credential").fill(json.dumps(tampered))
        page.get_by_role("button", name="Verify").click()
        assert verdict(page) == "Not verified"
    finally:
        context.close()


def test_usable_on_a_phone(browser: Browser, site: tuple[str, Instance]) -> None:
    base, instance = site
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{base}/verify?url={quote(instance.credential['id'], safe='')}")
        assert verdict(page) == "Verified"
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
        page.goto(f"{base}/verify")
        box = page.get_by_role("button", name="Verify").bounding_box()
        assert box is not None and box["height"] >= 24 and box["width"] >= 24
    finally:
        context.close()
