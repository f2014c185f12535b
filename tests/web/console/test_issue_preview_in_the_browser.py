"""The assessment and the issue preview in a real browser (Debian's Chromium through
Playwright): the project's assessment shows the mentor's rating and comment; the
credential's page as an employer will see it, marked as not yet signed, with its id; the
unsigned JSON opens with one click and closes with another; the credential signed has
the id the preview named. axe-core finds nothing on the page, in English and in Spanish,
at 1280 and 320 px, with the JSON closed and open.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from badgeworks.services.accounts import staff
from tests.browser_support import (
    assert_accessible,
    assert_reflows,
    requires_chromium,
    screenshot,
    served_app,
)
from tests.console_staff import PASSWORD, add_staff
from tests.issuer_app import IssuerHandle, draft_project, make_issuer
from tests.mentor_reviews import HTML, invite, open_form

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, IssuerHandle]]:
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10  # cheap hashes; the format and the checks are the real ones
    try:
        with served_app(tmp_path_factory.mktemp("issue-preview")) as (base, app):
            who = make_issuer(app, "acme")
            add_staff(app, "acme", "issuer@acme.example", "issuer")
            yield base, app, who
    finally:
        staff._SCRYPT_N = original


def test_the_preview_shows_the_page_and_opens_its_json(
    browser: Any, server: tuple[str, Any, IssuerHandle]
) -> None:
    base, app, who = server
    http = TestClient(app)
    project = draft_project(http, who)["project"]
    r = http.post(
        f"/api/v1/projects/{project}/deliverables",
        files={"file": ("report.pdf", b"%PDF-1.4 the churn report", "application/pdf")},
        data={"name": "Final report", "description": "The findings."},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    # The program leaves the rubric to the mentor, who rates it and comments.
    r = http.patch(f"/api/v1/projects/{project}", json={"results": []}, headers=who.auth)
    assert r.status_code == 200, r.text
    path = str(invite(http, who, project)["review_url"]).removeprefix(base)
    r = http.post(
        path,
        data={
            "nonce": open_form(http, path),
            "rating.quality": "exceeds",
            "comment": "Careful, **well-documented** work.",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{base}/console/login")
        page.get_by_label("Email address").fill("issuer@acme.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/acme/$"))

        # The assessment says what the credential will carry: the mentor's rating.
        page.goto(f"{base}/console/acme/projects/{project}")
        table = page.get_by_role("table", name="What the credential will say for each criterion")
        row = table.get_by_role("row", name=re.compile("Quality of work"))
        assert row.inner_text().split("\t") == [
            "Quality of work",
            "Exceeds expectations",
            "Grace Hopper, in their endorsement",
        ]
        assert page.get_by_text("Careful, well-documented work.").is_visible()
        assert_accessible(page)
        screenshot(page, "console/14-assessment-with-ratings.png")

        page.goto(f"{base}/console/acme/projects/{project}/issue")
        assert page.get_by_role("heading", name="Preview — not yet signed").is_visible()
        preview = page.locator("#credential-preview")
        assert preview.get_by_role("heading", name="Data Analysis Micro-internship").is_visible()
        for shown in (
            "Ada Lovelace",
            "Quality of work",
            "Exceeds expectations",
            "Final report",
            "Careful, well-documented work.",
        ):
            assert preview.get_by_text(shown).first.is_visible(), shown
        assert preview.locator("#preview-status").is_visible()
        named = page.locator("[data-credential-id]").inner_text()
        assert named.startswith(f"{base}/credentials/")

        # The JSON is closed, one click opens it, another closes it.
        toggle = page.get_by_text("The credential's JSON (unsigned)")
        json_block = page.locator("#preview-json pre")
        assert not json_block.is_visible()
        assert_accessible(page)
        toggle.click()
        assert json_block.is_visible()
        unsigned = json.loads(json_block.inner_text())
        assert unsigned["id"] == named and "proof" not in unsigned
        assert_accessible(page)
        screenshot(page, "console/13-issue-preview-json.png")
        toggle.click()
        assert not json_block.is_visible()

        # Narrow and in Spanish, the assessment and the preview reflow and pass axe.
        page.set_viewport_size({"width": 320, "height": 800})
        page.goto(f"{base}/console/acme/projects/{project}?lang=es")
        assert page.get_by_text("Grace Hopper, en su aval").is_visible()
        assert page.get_by_text("Como lo valoró Grace Hopper: Exceeds expectations").count() == 1
        # The assessment's table scrolls inside its own box and the comments wrap: neither
        # reaches past the screen's edge (the upload form above is another matter).
        wide = page.evaluate(
            """[...document.querySelectorAll('#assessment, .mentor-comment')]
               .map(e => (e.closest('.table-wrap') || e).getBoundingClientRect().right)
               .filter(right => right > document.documentElement.clientWidth + 1).length"""
        )
        assert wide == 0
        assert_accessible(page)
        page.goto(f"{base}/console/acme/projects/{project}/issue?lang=es")
        assert page.get_by_role("heading", name="Vista previa — aún sin firmar").is_visible()
        assert page.locator("[data-credential-id]").inner_text() == named
        assert_reflows(page)
        assert_accessible(page)
        page.get_by_text("El JSON de la credencial (sin firmar)").click()
        assert page.locator("#preview-json pre").is_visible()
        assert_reflows(page)
        assert_accessible(page)

        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/console/acme/projects/{project}/issue?lang=en")
        page.get_by_role("button", name="Sign and issue").click()
        page.wait_for_url(re.compile(r"/console/acme/credentials/"))
        credential_id = page.url.split("/credentials/")[1].split("?")[0]
    finally:
        context.close()
    assert named == f"{base}/credentials/{credential_id}"
    assert http.get(f"/credentials/{credential_id}.json").json()["id"] == named
