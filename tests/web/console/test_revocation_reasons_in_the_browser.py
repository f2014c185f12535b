"""Revocation reasons in a real browser (Debian Chromium through Playwright): a refused list
is explained at the top with a link to the box and what was typed kept; a saved list shows
as a table; the revoke page offers the credential's codes, and the chosen code's message
is what the credential's public page says. Both pages pass axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from badgeworks.services.accounts import staff
from tests.browser_support import assert_accessible, requires_chromium, served_app
from tests.console_staff import PASSWORD, add_staff
from tests.issuer_app import IssuerHandle, make_issuer
from tests.plain_credentials import issue_project

pytestmark = requires_chromium

IN_ERROR = "revoked: issued in error"


@dataclass
class Site:
    base: str
    client: TestClient
    acme: IssuerHandle


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10  # cheap hashes; the format and the checks are the real ones
    try:
        with served_app(tmp_path_factory.mktemp("revocation-reasons")) as (base, app):
            acme = make_issuer(app, "acme")
            add_staff(app, "acme", "owner@acme.example", "owner")
            yield Site(base=base, client=TestClient(app), acme=acme)
    finally:
        staff._SCRYPT_N = original


def test_reasons_are_defined_and_a_revocation_chooses_one(site: Site, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(f"{site.base}/console/login")
        page.get_by_label("Email address").fill("owner@acme.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/acme/$"))

        page.goto(f"{site.base}/console/acme/settings")
        box = page.get_by_label("Reasons, one per line")
        box.fill("2: <i>issued in error</i>")
        page.get_by_role("button", name="Save the revocation reasons").click()
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert "markup" in alert.inner_text()
        assert box.input_value() == "2: <i>issued in error</i>"
        alert.get_by_role("link").first.click()
        assert page.evaluate("location.hash") == "#r-reasons"
        assert_accessible(page)

        box.fill(f"2: {IN_ERROR}\n3: revoked: misconduct")
        page.get_by_label("Page explaining the reasons (https://, optional)").fill(
            "https://acme.example/reasons"
        )
        page.get_by_role("button", name="Save the revocation reasons").click()
        page.get_by_text("Revocation reasons saved").wait_for()
        table = page.locator("#revocation-reasons-table")
        assert IN_ERROR in table.inner_text()

        issued = issue_project(site.client, site.acme)
        page.goto(f"{site.base}/console/acme/credentials/{issued['id']}/revoke")
        page.get_by_label("Reason code").select_option("2")
        assert_accessible(page)
        page.get_by_role("button", name=re.compile("Revoke", re.I)).click()
        page.wait_for_url(re.compile(rf"/credentials/{issued['id']}\?done="))
        page.goto(f"{site.base}/credentials/{issued['id']}")
        assert IN_ERROR in page.locator("main").inner_text()
        assert problems == [], problems
    finally:
        context.close()
