"""Console forms in a real browser (Debian Chromium through Playwright): a refused image
is explained at the top with links to its fields and the alt text kept; after a mentor is
invited the form offers the next mentor, and the link's Copy button copies it under the
console's Content-Security-Policy."""

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
from tests.issuer_app import IssuerHandle, draft_project, make_issuer

pytestmark = requires_chromium


@dataclass
class Site:
    base: str
    ids: dict[str, int]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10  # cheap hashes; the format and the checks are the real ones
    try:
        with served_app(tmp_path_factory.mktemp("console-forms")) as (base, app):
            acme: IssuerHandle = make_issuer(app, "acme")
            client = TestClient(app)
            ids = draft_project(client, acme)
            mentors = [
                {"name": "Grace Hopper", "email": "grace@example.org", "title": "Lead analyst"},
                {"name": "Alan Turing", "email": "alan@example.org", "title": "Reviewer"},
            ]
            r = client.patch(
                f"/api/v1/projects/{ids['project']}", json={"mentors": mentors}, headers=acme.auth
            )
            assert r.status_code == 200, r.text
            add_staff(app, "acme", "owner@acme.example", "owner")
            yield Site(base=base, ids=ids)
    finally:
        staff._SCRYPT_N = original


def _signed_in(browser: Any, site: Site, **options: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(**options)
    page = context.new_page()
    problems: list[str] = []
    # Script errors and policy refusals (a refused form's own 422, and the browser's own
    # favicon request, are not).
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{site.base}/console/login")
    page.get_by_label("Email address").fill("owner@acme.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/acme/$"))
    return context, page, problems


def test_refused_image_is_explained_at_the_top_and_the_alt_text_kept(
    site: Site, browser: Any, tmp_path: Any
) -> None:
    context, page, problems = _signed_in(browser, site)
    try:
        page.goto(f"{site.base}/console/acme/achievements/{site.ids['achievement']}")
        not_an_image = tmp_path / "badge.gif"
        not_an_image.write_bytes(b"GIF89a this is not a PNG or an SVG")
        page.locator("#image-file").set_input_files(str(not_an_image))
        page.locator("#caption").fill("A teal disc with a bar chart")
        page.get_by_role("button", name="Upload").click()
        box = page.locator("#image-error")
        box.wait_for()
        # The explanation comes at the top, before the achievement's own form.
        own_form = page.locator(f'form[action$="/achievements/{site.ids["achievement"]}"]')
        assert box.bounding_box()["y"] < own_form.bounding_box()["y"]
        assert "PNG or an SVG" in box.inner_text()
        # What was typed is still there.
        assert page.locator("#caption").input_value() == "A teal disc with a bar chart"
        # The link takes the reader to the field to fix.
        box.get_by_role("link").first.click()
        assert page.evaluate("location.hash") == "#image-file"
        assert_accessible(page)
        assert problems == [], problems
    finally:
        context.close()


def test_invitation_offers_the_next_mentor_and_the_link_copies(site: Site, browser: Any) -> None:
    context, page, problems = _signed_in(browser, site)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base)
    try:
        page.goto(f"{site.base}/console/acme/projects/{site.ids['project']}")
        assert page.locator("#r-name").input_value() == "Grace Hopper"
        page.get_by_role("button", name="Send invitation").click()
        link = page.locator("#review-link")
        link.wait_for()
        url = link.input_value()
        assert "/review/" in url
        # The form no longer offers the mentor just invited.
        assert page.locator("#r-name").input_value() == "Alan Turing"
        assert page.locator("#r-email").input_value() == "alan@example.org"
        copy = page.get_by_role("button", name="Copy")
        assert copy.is_visible()
        copy.click()
        page.get_by_text("Copied.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == url
        assert_accessible(page)
        # With both invited, the form is empty rather than repeating one.
        page.get_by_role("button", name="Send invitation").click()
        page.locator("#review-link").wait_for()
        assert page.locator("#r-name").input_value() == ""
        assert problems == [], problems  # no script refused by the policy, no errors
    finally:
        context.close()


def test_without_scripts_the_link_is_still_there_to_copy(site: Site, browser: Any) -> None:
    context, page, _ = _signed_in(browser, site, java_script_enabled=False)
    try:
        page.goto(f"{site.base}/console/acme/projects/{site.ids['project']}")
        page.locator("#r-name").fill("Ada Reviewer")
        page.get_by_role("button", name="Send invitation").click()
        page.locator("#review-link").wait_for()
        assert "/review/" in page.locator("#review-link").input_value()
        assert not page.get_by_role("button", name="Copy").is_visible()  # hidden, not broken
    finally:
        context.close()
