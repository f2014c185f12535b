"""The two people of the wallet story, in Chromium, with the independent test wallet.

The candidate signs in at ``/me`` in a browser, chooses **Add to your wallet** and is shown
the offer; the OpenWallet Foundation wallet (``interop/wallet.mjs``) takes the link the
page shows. The employer, in another browser, starts "Ask the candidate's wallet" at
``/verify``; the wallet takes the link that page shows and answers, and the employer's
page turns by itself into the report: "Verified", the candidate's name, the achievement.
Skipped, loudly, only when Debian's Chromium or Node.js is missing (``make test`` installs
both).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.db.outbox import OutboxMessage
from tests.browser_support import HAVE_CHROMIUM, screenshot, served_app
from tests.interop.wallet_support import Wallet, wallet
from tests.issuer_app import issue_with_deliverables, make_issuer

if not HAVE_CHROMIUM:  # pragma: no cover - depends on the machine
    pytest.skip(
        "!!! /usr/bin/chromium not found: the wallet BROWSER TESTS ARE SKIPPED "
        "(run `make test`, which installs Debian's chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser

pytestmark = pytest.mark.interop

__all__ = ["wallet"]  # the fixture, used by name

CANDIDATE = "Ada Lovelace"
ACHIEVEMENT = "Data Analysis Micro-internship"  # tests/issuer_app.py ACHIEVEMENT


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    with served_app(tmp_path) as (base, application):
        api = TestClient(application, raise_server_exceptions=False)
        issue_with_deliverables(api, make_issuer(application, "acme"), with_image=False)
        yield base, application


def sign_in_link(application: Any, base: str) -> str:
    with application.state.session_factory() as session:
        row = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc())).first()
        assert row is not None
        match = re.search(re.escape(base) + r"/me/link/[A-Za-z0-9_-]+", row.body_text)
        assert match, row.body_text
        return match.group(0)


def test_candidate_and_employer_in_chromium_with_the_independent_wallet(
    browser: Browser, site: tuple[str, Any], wallet: Wallet
) -> None:
    base, application = site
    candidate = browser.new_context(locale="en-GB")
    employer = browser.new_context(locale="en-GB")
    try:
        # The candidate: sign in by emailed link, then Add to your wallet.
        page = candidate.new_page()
        page.goto(f"{base}/me/sign-in")
        page.get_by_label("Email").fill("ada@example.org")
        page.get_by_role("button", name="Send me a sign-in link").click()
        page.wait_for_load_state()
        page.goto(sign_in_link(application, base))
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/me")
        page.get_by_role("link", name=re.compile("Add to your wallet")).first.click()
        page.get_by_role("button", name="Show the wallet offer").click()
        offer = page.locator("a.wallet-link").get_attribute("href")
        assert offer is not None and offer.startswith("openid-credential-offer://")
        assert page.locator("img.qr").count() == 1
        screenshot(page, "images/wallet-offer-for-the-test-wallet.png")
        got = wallet.receive(offer, "--format", "ldp_vc")
        assert got.ok, got.out

        # The employer: ask the candidate's wallet; the wallet answers the link shown.
        page = employer.new_page()
        page.goto(f"{base}/verify")
        page.get_by_role("button", name="Create the request").click()
        page.wait_for_url(f"{base}/verify/wallet/**")
        link = page.locator("#wallet-link").get_attribute("href")
        assert link is not None and link.startswith("openid4vp://")
        answered = wallet.present(link)
        assert answered.ok, answered.out
        page.wait_for_selector('#verdict[data-verdict="verified"]', timeout=15_000)
        content = page.content()
        assert "Verified" in content and CANDIDATE in content and ACHIEVEMENT in content
        screenshot(page, "images/wallet-request-answered-by-the-test-wallet.png")
    finally:
        candidate.close()
        employer.close()
