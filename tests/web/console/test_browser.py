"""The program console in a real browser (headless Debian Chromium through Playwright).

A staff member signs in, creates an achievement, creates a project with a deliverable,
invites a mentor who endorses it, issues and revokes; a CSV with good and bad rows is
validated and issued; a viewer is refused an issue action; axe-core finds no violations on
the main screens. ``make screenshots`` refreshes the
screenshots in ``docs/console/`` that docs/console.md shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from badgeworks.services.accounts import staff
from tests.browser_support import (
    assert_accessible,
    assert_reflows,
    requires_chromium,
    screenshot,
    served_app,
)
from tests.console_staff import PASSWORD, add_staff
from tests.issuer_app import make_issuer

pytestmark = requires_chromium

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Server:
    base: str
    app: Any


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10  # cheap hashes; the format and the checks are the real ones
    try:
        with served_app(tmp_path_factory.mktemp("console-browser")) as (base, app):
            make_issuer(app, "acme")
            add_staff(app, "acme", "owner@acme.example", "owner")
            add_staff(app, "acme", "viewer@acme.example", "viewer")
            yield Server(base=base, app=app)
    finally:
        staff._SCRYPT_N = original


def _shot(page: Any, name: str) -> None:
    screenshot(page, f"console/{name}.png")


#: Every console page the English flows checked, revisited in Spanish at the end.
VISITED: dict[str, str] = {}


def _axe(page: Any) -> None:
    assert_accessible(page)
    if "/console/" in page.url and page.evaluate("document.documentElement.lang") == "en":
        VISITED.setdefault(page.url.split("#")[0], page.title())


def _sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/acme/$"))


def test_staff_issue_flow_with_mentor_endorsement_then_revoke(server: Server, browser: Any) -> None:
    base = server.base
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/console/login")
    _axe(page)
    _shot(page, "01-sign-in")
    _sign_in(page, base, "owner@acme.example")
    _axe(page)

    page.get_by_role("link", name="New achievement").first.click()
    page.get_by_label("Name", exact=True).fill("Data Analysis Micro-internship")
    page.get_by_label("Description").fill("Completed a mentored data analysis project.")
    page.get_by_label("Criteria").fill("Delivered a cleaned dataset and a written report.")
    page.get_by_label("Tags").fill("data, python")
    page.get_by_label("Skills alignments").fill(
        "Data analysis | https://esco.example/skill/data-analysis | ESCO | S1.2"
    )
    page.get_by_label("Rubric").fill(
        "quality | Quality of work | meets=Meets expectations; exceeds=Exceeds expectations"
    )
    page.get_by_role("button", name="Preview").click()
    assert page.get_by_role(
        "heading", name="Preview: the badge as an employer sees it"
    ).is_visible()
    _axe(page)
    _shot(page, "02-achievement-preview")
    page.get_by_role("button", name="Save achievement").click()
    page.get_by_text("The achievement was saved.").wait_for()
    page.get_by_label("Image file (PNG or SVG)").set_input_files(
        {"name": "badge.png", "mimeType": "image/png", "buffer": PNG}
    )
    page.get_by_label("Alternative text").fill("A teal disc with a chart")
    page.get_by_role("button", name="Upload image").click()
    page.get_by_text("The image was saved.").wait_for()

    page.get_by_role("link", name="Projects", exact=True).click()
    page.get_by_role("link", name="New project").click()
    page.get_by_label("New candidate's name").fill("Ada Lovelace")
    page.get_by_label("New candidate's email address").fill("ada@example.org")
    page.get_by_label("Project title").fill("Churn analysis for Northwind")
    page.locator("#host_name").fill("Northwind Traders")
    page.locator("#host_url").fill("https://northwind.example")
    page.get_by_label("Start date").fill("2025-03-03")
    page.get_by_label("End date").fill("2025-03-28")
    page.get_by_label("Mentors").fill("Grace Hopper | grace@example.org | Lead analyst")
    _axe(page)
    page.get_by_role("button", name="Create project").click()
    page.get_by_text("The project was created.").wait_for()
    project_url = page.url.split("?")[0]
    page.get_by_label("File", exact=True).set_input_files(
        {"name": "report.txt", "mimeType": "text/plain", "buffer": b"The churn report."}
    )
    page.locator("#d-name").fill("Final report")
    page.get_by_role("button", name="Upload deliverable").click()
    page.get_by_text("The deliverable was added.").wait_for()
    page.get_by_label("Quality of work").select_option("exceeds")
    page.get_by_role("button", name="Save assessment").click()
    page.get_by_text("The assessment was saved.").wait_for()

    # Invite the mentor; the link goes through the outbox and is shown once.
    page.get_by_role("button", name="Send invitation").click()
    link = page.get_by_label("Review link").input_value()
    assert "/review/" in link
    assert page.locator("[aria-current=step]").inner_text() == "Awaiting mentor"
    _axe(page)
    _shot(page, "03-project")

    mentor = browser.new_context().new_page()
    mentor.goto(link)
    mentor.locator("input[name='rating.quality'][value='exceeds']").check()
    mentor.locator("#comment").fill("Careful, well-documented work.")
    mentor.locator("form.review-form button[type=submit]").click()
    mentor.wait_for_load_state()
    assert mentor.get_by_text("your review is signed").is_visible()
    mentor.context.close()

    # (Not reload: the invitation page answered a POST; the project page is a GET.)
    page.goto(project_url)
    assert page.locator("[aria-current=step]").inner_text() == "Ready to issue"
    assert page.get_by_role("cell", name="Reviewed").is_visible()
    page.get_by_role("link", name="Preview and issue").click()
    # The credential's page as the employer will see it, the mentor's words included; the
    # JSON opens with one click.
    preview = page.locator("#credential-preview")
    assert preview.get_by_text("Careful, well-documented work.").is_visible()
    page.get_by_text("The credential's JSON (unsigned)").click()
    assert "EndorsementCredential" in page.locator("pre").inner_text()
    _axe(page)
    _shot(page, "04-issue-preview")
    page.get_by_role("button", name="Sign and issue").click()
    page.get_by_text("The credential was signed and issued.").wait_for()
    credential_url = page.url.split("?")[0]
    _axe(page)

    page.get_by_role("link", name="Revoke…").click()
    assert page.get_by_text("cannot be undone").is_visible()
    _axe(page)
    _shot(page, "05-revoke-confirm")
    page.get_by_label("Reason").fill("Issued to the wrong cohort")
    page.get_by_role("button", name="Revoke credential").click()
    page.get_by_text("The credential was revoked.").wait_for()
    assert page.url.split("?")[0] == credential_url
    assert page.get_by_text("Issued to the wrong cohort").first.is_visible()

    page.get_by_role("link", name="Credentials", exact=True).click()
    _axe(page)
    page.get_by_role("link", name="Dashboard").click()
    _axe(page)
    _shot(page, "06-dashboard")
    page.get_by_role("link", name="Settings").click()
    _axe(page)
    _shot(page, "07-settings")

    # Tablet width, in Spanish.
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(f"{base}/console/acme/?lang=es")
    assert page.get_by_role("heading", name="Panel").is_visible()
    _axe(page)
    context.close()


def test_bulk_csv_is_validated_then_issued_with_progress(server: Server, browser: Any) -> None:
    base = server.base
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _sign_in(page, base, "owner@acme.example")
    with server.app.state.session_factory() as session:
        from badgeworks.services.programs import achievements, issuers

        issuer = issuers.get_issuer(session, "acme")
        achievement_id = achievements.list_achievements(session, issuer)[0].id
    csv = (
        "achievement_id,candidate_name,candidate_email,project_title,host_name\n"
        f"{achievement_id},Bo Good,bo@example.org,Cohort project,Northwind\n"
        f"{achievement_id},Cy Bad,not-an-email,Cohort project,Northwind\n"
        f"{achievement_id},=cmd|' /C calc'!A0,cy@example.org,Cohort project,Northwind\n"
        f"{achievement_id},Di Good,di@example.org,Cohort project,Northwind\n"
    )
    page.get_by_role("link", name="Bulk issue", exact=True).click()
    page.get_by_label("CSV file").set_input_files(
        {"name": "cohort.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    )
    page.get_by_role("button", name="Check the file").click()
    page.get_by_text("4 rows: 2 ready, 2 with problems.").wait_for()
    problems = page.locator("table.problems tbody tr")
    assert problems.count() == 2
    assert "candidate_email" in problems.nth(0).inner_text()
    assert "formula" in problems.nth(1).inner_text()
    _axe(page)
    _shot(page, "08-bulk-validated")
    page.get_by_role("button", name="Issue 2 credentials").click()
    # The progress page refreshes itself (meta refresh) until the job row says it is done.
    page.get_by_text("Finished", exact=True).wait_for(timeout=60_000)
    assert page.get_by_text("2 of 2 issued.").is_visible(), page.locator("main").inner_text()
    page.reload()  # the job is a row: reloading shows the same result
    assert page.get_by_text("2 of 2 issued.").is_visible()
    _axe(page)
    _shot(page, "09-bulk-done")
    page.context.close()


def test_viewer_is_refused_an_issue_action(server: Server, browser: Any) -> None:
    base = server.base
    with server.app.state.session_factory() as session:
        from badgeworks.services.programs import issuers, projects

        issuer = issuers.get_issuer(session, "acme")
        draft = [p for p in projects.list_projects(session, issuer) if p.status == "draft"]
    page = browser.new_context().new_page()
    _sign_in(page, base, "viewer@acme.example")
    if draft:
        page.goto(f"{base}/console/acme/projects/{draft[0].id}")
        assert page.get_by_role("link", name="Preview and issue").count() == 0
        response = page.goto(f"{base}/console/acme/projects/{draft[0].id}/issue")
    else:
        response = page.goto(f"{base}/console/acme/projects/1/issue")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="You are not allowed to do this").is_visible()
    _axe(page)
    page.goto(f"{base}/console/acme/bulk")
    assert page.get_by_role("button", name="Check the file").count() == 0
    page.context.close()


def test_every_console_page_in_spanish_passes_axe(server: Server, browser: Any) -> None:
    """Each page the flows above checked in English, again in Spanish (GET pages only)."""
    assert len(VISITED) >= 10, VISITED  # the flows above ran first and saw the main pages
    base = server.base
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _sign_in(page, base, "owner@acme.example")
    checked = []
    for url in VISITED:
        joiner = "&" if "?" in url else "?"
        response = page.goto(f"{url}{joiner}lang=es")
        assert response is not None
        if response.status in (404, 405):  # the flow saw it as the answer to a form POST
            continue
        assert response.status < 400 or "/login" in url, (url, response.status)
        assert page.locator("html").get_attribute("lang") == "es", url
        _axe(page)
        checked.append(url)
    assert len(checked) >= 8, checked
    page.context.close()


def test_every_console_page_reflows_on_a_phone(server: Server, browser: Any) -> None:
    """At 320 CSS px (a phone, or 1280 px at 400 % zoom) no console page scrolls sideways."""
    assert VISITED, "the flows above ran first"
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    _sign_in(page, server.base, "owner@acme.example")
    checked = 0
    for url in [
        *VISITED,
        f"{server.base}/console/acme/bulk",
        f"{server.base}/console/acme/settings",
    ]:
        response = page.goto(url)
        assert response is not None
        if response.status in (404, 405):  # the answer to a form POST (see above)
            continue
        assert_reflows(page)
        checked += 1
    assert checked >= 8
    context.close()
