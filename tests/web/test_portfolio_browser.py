"""The pages in a real browser: Debian's Chromium driven by Playwright, checked by axe-core.

The app runs under uvicorn in a background thread on a free loopback port. Skipped (with
a reason) when Chromium is not installed; ``make test`` installs it (browser-deps).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from badgeworks.core.baking import extract
from badgeworks.core.verification.credential import verify
from tests.browser_support import (
    assert_accessible,
    axe_violations,
    requires_chromium,
    screenshot,
    served_app,
)
from tests.issuer_app import NOW, issue_with_deliverables, make_issuer

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A served app with one issued credential and a public portfolio."""
    with served_app(tmp_path_factory.mktemp("browser"), clock=lambda: NOW) as (base, app):
        client = TestClient(app)
        acme = make_issuer(app, "acme")
        issued = issue_with_deliverables(client, acme)
        r = client.patch(
            f"/api/v1/candidates/{issued.candidate}/portfolio",
            json={"handle": "ada", "visibility": "public", "headline": "Junior data analyst"},
            headers=acme.auth,
        )
        assert r.status_code == 200, r.text
        # A Spanish edition of the achievement: Spanish visitors read it (the signed text
        # is English).
        achievement = issued.credential["credentialSubject"]["achievement"]["id"]  # type: ignore[index]
        achievement_id = int(str(achievement).split("/achievements/")[1].split("/")[0])
        r = client.put(
            f"/api/v1/achievements/{achievement_id}/editions/es",
            json={
                "name": "Micropasantía de análisis de datos",
                "description": "Completó un proyecto de análisis de datos con mentoría.",
                "image_caption": "Un disco verde azulado: la insignia de análisis de datos",
            },
            headers=acme.auth,
        )
        assert r.status_code == 201, r.text
        yield {
            "base": base,
            "credential": issued.url,
            "credential_id": issued.id,
            "portfolio": f"{base}/p/ada",
            "loader": app.state.ctx.loader,
        }


@pytest.mark.parametrize("lang", ["en", "es"])
def test_pages_render_and_pass_axe(site: dict[str, Any], browser: Any, lang: str) -> None:
    context = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        for url in (site["portfolio"], site["credential"]):
            response = page.goto(f"{url}?lang={lang}")
            assert response is not None and response.status == 200
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("h1").count() == 1
            if lang == "es":  # the issuer's Spanish edition, marked as Spanish
                headings = page.locator("h1, h2, h3").all_inner_texts()
                assert "Micropasantía de análisis de datos" in headings, headings
                assert "Data Analysis Micro-internship" not in headings, headings
            assert_accessible(page)
            if lang == "en":
                name = "portfolio" if "/p/" in url else "credential"
                screenshot(page, f"images/{name}.png")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_start_and_not_found_pages_pass_axe(site: dict[str, Any], browser: Any, lang: str) -> None:
    context = browser.new_context(locale=lang)
    page = context.new_page()
    try:
        response = page.goto(f"{site['base']}/?lang={lang}")
        assert response is not None and response.status == 200
        assert page.locator("h1").count() == 1
        assert_accessible(page)
        if lang == "en":
            screenshot(page, "images/home.png")
        # The brand link and the 404 page lead somewhere useful, never to raw JSON.
        response = page.goto(f"{site['base']}/p/no-such-handle?lang={lang}")
        assert response is not None and response.status == 404
        assert page.locator("html").get_attribute("lang") == lang
        assert page.get_by_role("alert").count() == 1
        assert_accessible(page)
        page.locator("a.brand").click()
        page.wait_for_url(f"{site['base']}/")
        assert page.locator("a[href='/verify']").count() >= 1
    finally:
        context.close()


def test_phone_viewport_has_no_horizontal_scroll(site: dict[str, Any], browser: Any) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640}, device_scale_factor=2)
    page = context.new_page()
    try:
        for url in (site["portfolio"], site["credential"]):
            page.goto(url)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at 320px"
        screenshot(page, "images/credential-phone.png", full_page=False)
    finally:
        context.close()


def test_follow_links_download_and_verify(site: dict[str, Any], browser: Any) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(site["portfolio"])
        # From the portfolio to the credential page, as a visitor would.
        page.get_by_role("link", name="Data Analysis Micro-internship", exact=True).click()
        assert page.url == site["credential"]
        verify_link = page.locator("#verify-link")
        expected = f"{site['base']}/verify?url={quote(site['credential'], safe='')}"
        assert verify_link.get_attribute("href") == expected
        # Download the baked PNG, unbake it and verify it.
        with page.expect_download() as info:
            page.get_by_role("link", name="Badge image with credential (PNG)").click()
        data = Path(info.value.path()).read_bytes()
        credential = json.loads(extract(data))
        assert credential["id"] == site["credential"]
        assert verify(credential, loader=site["loader"], now=NOW).verified
        # The QR code's target is the credential page itself.
        qr = page.request.get(f"{site['credential']}/qr.png")
        assert qr.ok and qr.headers["content-type"] == "image/png"
        from PIL import Image

        assert Image.open(io.BytesIO(qr.body())).format == "PNG"
        # The link opens the public verifier (built separately; it may refuse to fetch
        # from loopback, which this test server is on, but it must answer, not crash).
        response = page.goto(expected)
        assert response is not None and response.status < 500
        assert page.url.startswith(f"{site['base']}/verify?url=")
    finally:
        context.close()


def test_pages_are_light_and_need_no_javascript(site: dict[str, Any], browser: Any) -> None:
    """A poor connection: each page is a few requests and little weight, and no script."""
    context = browser.new_context(java_script_enabled=False)
    try:
        for url in (site["portfolio"], site["credential"]):
            page = context.new_page()
            loaded: list[tuple[str, str, int]] = []
            page.on(
                "requestfinished",
                lambda req, seen=loaded: seen.append(
                    (req.resource_type, req.url, req.sizes()["responseBodySize"])
                ),
            )
            response = page.goto(url, wait_until="load")
            assert response is not None and response.status == 200
            page.wait_for_load_state("networkidle")
            kinds = {kind for kind, _, _ in loaded}
            assert "script" not in kinds, loaded
            assert all(u.startswith(site["base"]) for _, u, _ in loaded), loaded  # no third party
            total = sum(size for _, _, size in loaded)
            assert len(loaded) <= 12 and total < 200_000, (url, total, loaded)
            assert page.locator("h1").is_visible()  # readable with scripts off
            page.close()
    finally:
        context.close()


def test_text_at_200_percent_and_reduced_motion(site: dict[str, Any], browser: Any) -> None:
    """Text doubled (WCAG 1.4.4) still fits a laptop-width window; motion stays off."""
    # The doubling stands for a reader's own stylesheet, which the page's CSP (no inline
    # styles) does not bind, so the test's injected style bypasses it too.
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, reduced_motion="reduce", bypass_csp=True
    )
    page = context.new_page()
    try:
        for url in (site["portfolio"], site["credential"]):
            page.goto(url)
            page.add_style_tag(content="html { font-size: 200% !important; }")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{url} scrolls sideways by {overflow}px with text at 200%"
            moving = page.evaluate(
                """() => [...document.querySelectorAll('*')].filter(e => {
                    const s = getComputedStyle(e);
                    return parseFloat(s.transitionDuration) > 0 || s.animationName !== 'none';
                }).length"""
            )
            assert moving == 0
    finally:
        context.close()


def test_pdf_deliverable_shows_its_first_page(site: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    try:
        page.goto(site["credential"])
        preview = page.locator("a.pdf-preview img")
        assert preview.count() == 1
        assert preview.get_attribute("alt") == "First page of Final report (opens the PDF)"
        preview.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
        )
        assert preview.evaluate("img => img.naturalWidth") == 480
        link = page.locator("a.pdf-preview").get_attribute("href")
        assert link and page.request.get(link).headers["content-type"] == "application/pdf"
    finally:
        page.close()


def test_keyboard_focus_is_visible(site: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    try:
        page.goto(site["credential"])
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.className")
        assert "skip-link" in focused
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        left = page.evaluate("document.activeElement.getBoundingClientRect().left")
        assert outline != "none" and left >= 0
    finally:
        page.close()


def test_axe_finds_a_planted_violation(browser: Any) -> None:
    """The accessibility checks above can fail: axe reports an image without alt text."""
    page = browser.new_page()
    try:
        page.set_content(
            '<html lang="en"><head><title>t</title></head><body><main><h1>x</h1>'
            '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
            '<p style="color:#bbb;background:#fff">faint</p></main></body></html>'
        )
        rules = {v["id"] for v in axe_violations(page)}
        assert {"image-alt", "color-contrast"} <= rules
    finally:
        page.close()
