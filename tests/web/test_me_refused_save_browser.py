"""``/me`` in a real browser (Debian's Chromium): a refused save keeps every other field as
typed and says what to fix once; each credential is shown with its image and opens its
page; Sign out is a secondary button; the page passes axe-core in English and Spanish."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.browser_support import assert_accessible, assert_reflows, requires_chromium, served_app
from tests.issuer_app import NOW, issue_with_deliverables, make_issuer
from tests.web.test_me_browser import Site, _sign_in

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("me-refused-browser")
    with served_app(tmp, clock=lambda: NOW) as (base, application):
        client = TestClient(application)
        yield Site(
            base, application, issue_with_deliverables(client, make_issuer(application, "acme"))
        )


@pytest.mark.parametrize("lang", ["en", "es"])
def test_refused_save_keeps_what_was_typed(site: Site, browser: Any, lang: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        _sign_in(page, site, lang)
        cid = site.issued.candidate
        section = page.locator(f"section[aria-labelledby='pf-{cid}']")
        # Each credential: its image (loaded) and a link to its page.
        link = section.locator(".me-credentials a:not(.wallet-add)")
        assert link.count() == 1
        assert section.locator(".me-credentials a.wallet-add").count() == 1
        assert link.get_attribute("href") == f"/credentials/{site.issued.id}"
        assert link.locator("img").evaluate("i => i.complete && i.naturalWidth > 0")
        # Sign out is secondary; Save is the primary button.
        assert "secondary" in (
            page.locator("form[action='/me/sign-out'] button").get_attribute("class") or ""
        )
        page.locator(f"#vis-{cid}").select_option("public")
        page.locator(f"#name-{cid}").set_checked(False)
        page.locator(f"#headline-{cid}").fill("Junior data analyst")
        page.locator(f"[id='c-{site.issued.id}']").select_option("unlisted")
        page.locator(f"#link-label-{cid}-0").fill("GitHub")
        page.locator(f"#link-url-{cid}-0").fill("https://github.com/ada")
        page.locator(f"#handle-{cid}").fill("admin")  # reserved: the save is refused
        section.locator("form[action='/me/portfolio'] button").click()
        page.wait_for_load_state()
        alert = page.get_by_role("alert")
        assert alert.count() == 1
        words = "reserved" if lang == "en" else "reservado"
        assert words in alert.inner_text()
        assert page.locator(f"#handle-{cid}").get_attribute("aria-invalid") == "true"
        assert page.locator(f"#handle-{cid}").input_value() == "admin"
        assert page.locator(f"#vis-{cid}").input_value() == "public"
        assert not page.locator(f"#name-{cid}").is_checked()
        assert page.locator(f"#headline-{cid}").input_value() == "Junior data analyst"
        assert page.locator(f"[id='c-{site.issued.id}']").input_value() == "unlisted"
        assert page.locator(f"#link-url-{cid}-0").input_value() == "https://github.com/ada"
        assert_accessible(page)
        # Fixed, it saves everything that was typed.
        page.locator(f"#handle-{cid}").fill(f"ada-{lang}")
        section.locator("form[action='/me/portfolio'] button").click()
        page.wait_for_load_state()
        assert page.get_by_role("alert").count() == 0
        assert page.locator(f"#headline-{cid}").input_value() == "Junior data analyst"
        assert page.locator(f"#vis-{cid}").input_value() == "public"
        page.set_viewport_size({"width": 320, "height": 800})
        assert_reflows(page)
    finally:
        context.close()
