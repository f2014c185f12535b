"""The wallet offer in a real browser (Debian's Chromium through Playwright): Ada signs in,
follows "Add to your wallet" from /me, confirms, and sees the QR code and the
openid-credential-offer:// link; each page passes axe-core (WCAG 2.2 AA) in English and
Spanish, and reflows on a phone. The screenshot in docs/wallets.md comes from here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.db.outbox import OutboxMessage
from tests.browser_support import assert_accessible, requires_chromium, screenshot, served_app
from tests.issuer_app import NOW, make_issuer
from tests.services.exchange.wallet_holder import issue_plain

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, str]]:
    tmp = tmp_path_factory.mktemp("wallet-browser")
    with served_app(tmp, clock=lambda: NOW) as (base, application):
        issued = issue_plain(TestClient(application), make_issuer(application, "acme"))
        yield base, application, issued.id


def _sign_in(page: Any, base: str, app: Any) -> None:
    page.goto(f"{base}/me/sign-in")
    page.get_by_label("Email address", exact=True).fill("ada@example.org")
    page.locator("form[action='/me/sign-in'] button[type=submit]").click()
    page.wait_for_load_state()
    with app.state.session_factory() as session:
        row = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc())).first()
    match = re.search(re.escape(base) + r"/me/link/[A-Za-z0-9_-]+", row.body_text)
    assert match, row.body_text
    page.goto(match.group(0))
    page.locator("form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/me(\?.*)?$"))


def test_offer_from_me_in_both_languages(site: tuple[str, Any, str], browser: Any) -> None:
    base, app, credential_id = site
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    page = context.new_page()
    _sign_in(page, base, app)
    for lang, add, heading in (
        ("en", "Add to your wallet", "Your wallet offer"),
        ("es", "Añadir a tu cartera", "Tu oferta para la cartera"),
    ):
        page.goto(f"{base}/me?lang={lang}")
        page.locator(f"a[href='/me/wallet/{credential_id}']").click()
        page.wait_for_url(re.compile(r"/me/wallet/"))
        assert page.locator("h1").inner_text().startswith(add)
        assert_accessible(page)
        page.locator("form button[type=submit]").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name=heading).count() == 1
        qr = page.locator("img.qr")
        assert qr.count() == 1
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
        link = page.locator("a.wallet-link").get_attribute("href")
        assert link is not None and link.startswith("openid-credential-offer://")
        assert_accessible(page)
        if lang == "en":
            screenshot(page, "images/wallet-offer.png")
    context.close()


def test_offer_page_on_a_phone(site: tuple[str, Any, str], browser: Any) -> None:
    base, app, credential_id = site
    context = browser.new_context(viewport={"width": 320, "height": 640}, locale="en")
    page = context.new_page()
    _sign_in(page, base, app)
    page.goto(f"{base}/me/wallet/{credential_id}")
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, width
    assert_accessible(page)
    context.close()
