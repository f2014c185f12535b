"""The candidate's own pages in a real browser (Debian's Chromium through Playwright).

Ada asks for a sign-in link, follows it from the outbox, and at ``/me`` changes who sees
her portfolio, her name, one credential and one deliverable. After each change the test
looks where a visitor would: the portfolio page, its QR code target, the Open Graph
preview tags, the credential page and the search-engine ``noindex`` signals. Every page
passes axe-core (WCAG 2.2 AA) in English and Spanish; the screenshots in docs/portfolio.md
come from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.db.outbox import OutboxMessage
from tests.browser_support import assert_accessible, requires_chromium, screenshot, served_app
from tests.issuer_app import NOW, Issued, issue_with_deliverables, make_issuer

pytestmark = requires_chromium

EMAIL = "ada@example.org"


@dataclass
class Site:
    base: str
    app: FastAPI
    issued: Issued


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("candidate-browser")
    with served_app(tmp, clock=lambda: NOW) as (base, application):
        client = TestClient(application)
        yield Site(
            base, application, issue_with_deliverables(client, make_issuer(application, "acme"))
        )


def _magic_link(site: Site) -> str:
    """The sign-in link in the newest outbox message (as the candidate's mail shows it)."""
    with site.app.state.session_factory() as session:
        row = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc())).first()
        assert row is not None and row.to == EMAIL
        match = re.search(re.escape(site.base) + r"/me/link/[A-Za-z0-9_-]+", row.body_text)
        assert match, row.body_text
        return match.group(0)


def _sign_in(page: Any, site: Site, lang: str) -> None:
    page.goto(f"{site.base}/me/sign-in?lang={lang}")
    assert_accessible(page)
    if lang == "en":
        screenshot(page, "images/me-sign-in.png")
    label = "Email address" if lang == "en" else "Correo electrónico"
    page.get_by_label(label, exact=True).fill(EMAIL)
    page.locator("form[action='/me/sign-in'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").count() == 1  # "if that address is known, we sent…"
    assert_accessible(page)
    link = _magic_link(site)
    page.goto(f"{link}?lang={lang}")
    assert_accessible(page)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/me(\?.*)?$"))
    assert page.locator("h1").count() == 1
    # The link worked once: opening it again says so, in words, without signing in.
    again = page.context.new_page()
    try:
        response = again.goto(f"{link}?lang={lang}")
        assert response is not None and response.status == 410
        assert again.locator("a[href^='/me/sign-in']").count() == 1  # "ask for a new link"
        assert_accessible(again)
    finally:
        again.close()


def _save(page: Any, site: Site, **choices: str | bool) -> None:
    """Change the form at /me like a person would (labels, selects, a checkbox) and save."""
    cid = site.issued.candidate
    for key, value in choices.items():
        if key == "handle":
            page.locator(f"#handle-{cid}").fill(str(value))
        elif key == "visibility":
            page.locator(f"#vis-{cid}").select_option(str(value))
        elif key == "show_name":
            page.locator(f"#name-{cid}").set_checked(bool(value))
        elif key == "credential":
            page.locator(f"[id='c-{site.issued.id}']").select_option(str(value))
        elif key == "diagram":
            did = site.issued.deliverables["Pipeline diagram"]
            page.locator(f"#d-{cid}-{did}").select_option(str(value))
        else:  # pragma: no cover - a typo in a test
            raise AssertionError(key)
    page.locator(f"section[aria-labelledby='pf-{cid}'] form[action='/me/portfolio'] button").click()
    page.wait_for_load_state()
    saved = page.locator(f"section[aria-labelledby='pf-{cid}'] [role=status]")
    assert saved.count() == 1, page.content()


def _upload_photo(page: Any, site: Site, caption: str) -> None:
    """Choose a photo and describe it in the photo form at /me, and save."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 160), (40, 90, 160)).save(buffer, "JPEG")
    cid = site.issued.candidate
    page.locator(f"#photo-file-{cid}").set_input_files(
        {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}
    )
    page.locator(f"#photo-alt-{cid}").fill(caption)
    page.locator(f"form[action='/me/photo/{cid}'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(f"section[aria-labelledby='pf-{cid}'] [role=status]").count() == 1
    assert page.locator(f"img[src='/me/photo/{cid}']").get_attribute("alt") == caption


@pytest.fixture(scope="module")
def signed_in(site: Site, browser: Any) -> dict[str, Any]:
    """Ada's browser state after one English sign-in (sign-in links are capped per address)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    try:
        _sign_in(context.new_page(), site, "en")
        state: dict[str, Any] = context.storage_state()
        return state
    finally:
        context.close()


def _meta(page: Any, key: str) -> str | None:
    loc = page.locator(f"meta[property='{key}'], meta[name='{key}']")
    return loc.first.get_attribute("content") if loc.count() else None


def _robots(page: Any, response: Any) -> bool:
    """True when the page asks search engines not to index it (meta tag or header)."""
    header = (response.headers.get("x-robots-tag") or "").lower()
    return "noindex" in header or (_meta(page, "robots") or "").lower().find("noindex") >= 0


def test_candidate_controls_what_visitors_see(
    site: Site, browser: Any, signed_in: dict[str, Any]
) -> None:
    owner = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en", storage_state=signed_in
    )
    visitor = browser.new_context(locale="en")
    page = owner.new_page()
    look = visitor.new_page()
    credential = site.issued.url
    try:
        page.goto(f"{site.base}/me")
        assert_accessible(page)

        # 1. Public, with her name: listed, indexable, previews carry the name.
        _save(page, site, handle="ada-l", visibility="public", show_name=True, credential="public")
        assert_accessible(page)
        screenshot(page, "images/me.png")
        portfolio = f"{site.base}/p/ada-l"
        response = look.goto(portfolio)
        assert response is not None and response.status == 200
        assert not _robots(look, response)
        assert "Ada Lovelace" in look.locator("h1").inner_text()
        assert "Ada Lovelace" in (_meta(look, "og:title") or "")
        assert _meta(look, "og:url") == portfolio
        assert look.locator(f"a[href='{credential}']").count() >= 1
        assert look.locator("img[alt='Pipeline diagram of the churn analysis']").count() == 1
        qr = look.request.get(f"{portfolio}/qr.png")
        assert qr.ok and qr.headers["content-type"] == "image/png"
        response = look.goto(credential)
        assert response is not None and response.status == 200 and not _robots(look, response)
        assert look.locator(f"a[href='{portfolio}']").count() >= 1

        # 2. Unlisted, name hidden, the diagram hidden: reachable by link, never indexed,
        #    and the name is nowhere a visitor or a link preview could read it.
        _save(page, site, visibility="unlisted", show_name=False, diagram="hidden")
        response = look.goto(portfolio)
        assert response is not None and response.status == 200
        assert _robots(look, response)
        assert "Ada Lovelace" not in look.content()
        assert "Ada Lovelace" not in " ".join(
            look.locator("meta").evaluate_all("ms => ms.map(m => m.content || '')")
        )
        assert look.locator("img[alt='Pipeline diagram of the churn analysis']").count() == 0
        response = look.goto(credential)
        assert response is not None and response.status == 200
        assert _robots(look, response)
        # The credential itself names her (signed in by the issuer): its page says so.
        assert look.locator("[data-signed-name]").inner_text() == "Ada Lovelace"

        # 3. The credential hidden: not listed on the portfolio, but its own link (the one
        #    she may have shared) still opens and verifies.
        _save(page, site, visibility="public", credential="hidden")
        response = look.goto(portfolio)
        assert response is not None and response.status == 200
        assert look.locator(f"a[href='{credential}']").count() == 0
        response = look.goto(credential)
        assert response is not None and response.status == 200
        assert _robots(look, response)
        assert look.locator(f"a[href='{portfolio}']").count() == 0  # no way back to the list
        assert look.locator("#verify-link").count() == 1
        document = look.request.get(f"{credential}.json")
        assert document.ok and document.json()["id"] == credential

        # 4. The portfolio hidden: gone for visitors, QR target included.
        _save(page, site, visibility="hidden")
        response = look.goto(portfolio)
        assert response is not None and response.status == 404
        assert look.request.get(f"{portfolio}/qr.png").status == 404
        assert look.request.get(f"{portfolio}/presentation.json").status == 404
        response = look.goto(credential)
        assert response is not None and response.status == 200 and _robots(look, response)

        # 5. A new handle frees nothing by accident: the old address stays gone.
        _save(page, site, handle="ada-lovelace", visibility="public", credential="public")
        assert look.goto(f"{site.base}/p/ada-lovelace").status == 200
        assert look.goto(portfolio).status == 404

        # 6. A photo, chosen with the file picker and described: /me (now showing the
        #    photo and its form) and the portfolio still pass axe.
        _save(page, site, show_name=True)
        _upload_photo(page, site, "Ada at her desk, smiling")
        assert_accessible(page)
        look.goto(f"{site.base}/p/ada-lovelace")
        photo = look.locator("img.portfolio-photo")
        assert photo.get_attribute("alt") == "Ada at her desk, smiling"
        assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
        assert_accessible(look)
    finally:
        owner.close()
        visitor.close()


def test_spanish_me_pages_pass_axe(site: Site, browser: Any) -> None:
    context = browser.new_context(locale="es", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        _sign_in(page, site, "es")
        assert page.locator("html").get_attribute("lang") == "es"
        assert_accessible(page)
    finally:
        context.close()


def test_me_on_a_phone_and_keyboard(site: Site, browser: Any, signed_in: dict[str, Any]) -> None:
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, device_scale_factor=2, storage_state=signed_in
    )
    page = context.new_page()
    try:
        page.goto(f"{site.base}/me")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"/me scrolls sideways by {overflow}px at 320px"
        # Keyboard only: Tab reaches the skip link first, then every control in order.
        page.keyboard.press("Tab")
        assert "skip-link" in page.evaluate("document.activeElement.className")
        seen = set()
        for _ in range(40):
            page.keyboard.press("Tab")
            seen.add(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        cid = site.issued.candidate
        assert {f"handle-{cid}", f"vis-{cid}", f"name-{cid}"} <= seen
        screenshot(page, "images/me-phone.png", full_page=False)
    finally:
        context.close()


def test_screenshot_paths_stay_out_of_the_docs_by_default() -> None:
    import os

    from tests.browser_support import ROOT, screenshot_path

    if os.environ.get("BADGEWORKS_SCREENSHOTS") == "1":
        pytest.skip("make screenshots writes into docs/ on purpose")
    assert not screenshot_path("images/me.png").is_relative_to(ROOT / "docs")
    assert Path(screenshot_path("images/me.png")).parent.exists()
