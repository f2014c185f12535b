"""Revoking in the console, then what anyone sees, in Chromium: the console says the
reason is public; the credential page, its preview image and the verifier say revoked and
why; the PDF is a notice, not a certificate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from badgeworks.services.accounts import staff
from tests.browser_support import assert_accessible, requires_chromium, served_app
from tests.console_staff import PASSWORD, add_staff
from tests.issuer_app import NOW, issue_with_deliverables, make_issuer

pytestmark = requires_chromium

REASON = "Issued to the wrong cohort"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10  # cheap hashes; the format and the checks are the real ones
    try:
        with served_app(tmp_path_factory.mktemp("withdrawn"), clock=lambda: NOW) as (base, app):
            acme = make_issuer(app, "acme")
            add_staff(app, "acme", "owner@acme.example", "owner")
            issued = issue_with_deliverables(TestClient(app), acme)
            yield {"base": base, "id": issued.id}
    finally:
        staff._SCRYPT_N = original


def test_revoke_in_the_console_then_every_page_says_revoked_and_why(
    site: dict[str, str], browser: Any
) -> None:
    base, credential_id = site["base"], site["id"]
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{base}/console/login")
        page.get_by_label("Email address").fill("owner@acme.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/acme/")
        page.goto(f"{base}/console/acme/credentials/{credential_id}")
        page.get_by_role("link", name="Revoke…").click()
        # Next to the reason field: it is public.
        hint = page.locator("#reason-hint").inner_text()
        assert "Public" in hint and "verifier" in hint
        assert_accessible(page)
        page.get_by_label("Reason").fill(REASON)
        page.get_by_role("button", name="Revoke credential").click()
        page.get_by_text("The credential was revoked.").wait_for()

        page.goto(f"{base}/credentials/{credential_id}")
        status = page.locator("#lifecycle-status")
        assert status.get_attribute("data-status") == "revoked"
        assert REASON in status.inner_text()
        assert page.locator("text=is valid until").count() == 0
        assert page.locator('a[href*="linkedin.com/profile/add"]').count() == 0
        title = page.locator('meta[property="og:title"]').get_attribute("content") or ""
        assert title.startswith("REVOKED: ")
        assert_accessible(page)
        preview = page.request.get(f"{base}/credentials/{credential_id}/preview.png")
        assert preview.ok and preview.headers["content-type"] == "image/png"
        pdf = page.request.get(f"{base}/credentials/{credential_id}/certificate.pdf")
        assert "revoked" in pdf.headers["content-disposition"]

        page.locator("#verify-link").click()
        assert page.locator("#verdict").get_attribute("data-verdict") == "not_verified"
        reason = page.locator('li[data-code="status.revoked"] .withdrawal-reason')
        assert REASON in reason.inner_text()
        assert_accessible(page)
    finally:
        context.close()
