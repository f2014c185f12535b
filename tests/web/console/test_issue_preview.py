"""Before signing, staff see what they sign, on SQLite and PostgreSQL.

A mentor rates the rubric the program left open: the project's assessment shows that
rating, by the mentor, with their comment ("Not assessed" only where nobody assessed). The
issue preview is the credential page as an employer will see it, rendered by the page's
own partial, and after signing the credential page says the same, part for part; the id
the preview names is the id signed, whether a mentor's invitation reserved it or the
preview did. The signed description has each part end once.
"""

from __future__ import annotations

import html
import json
import re
import threading
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.db.endorsements import CredentialReservation
from badgeworks.db.models import Project
from badgeworks.services.console import issue_preview
from badgeworks.services.endorsements import workflow as endorsements
from badgeworks.services.issuance import completion
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.issuer_app import BASE, IssuerHandle, draft_project, make_issuer
from tests.mentor_reviews import HTML, invite, open_form, review_path

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]

#: The parts of a credential's page that say what it says (not its live status or links).
PARTS = ("title", "lede", "about", "work", "skills", "results", "evidence", "endorsements")


class _Parts(HTMLParser):
    """The text of each part of a credential as the page (or the preview) shows it:
    the name, the lede under it, and each section by its heading's id."""

    def __init__(self, html: str, *, inside: str | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: dict[str, list[str]] = {}
        self.inside = inside  # only within the element with this id
        self._within = inside is None
        self._within_depth = 0
        self._open: list[tuple[str, str | None]] = []
        self.feed(html)

    def _current(self) -> str | None:
        for _tag, key in reversed(self._open):
            if key is not None:
                return key
        return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if not self._within:
            if found.get("id") == self.inside:
                self._within, self._within_depth = True, 1
            return
        if tag not in ("br", "img", "input", "meta", "link"):
            self._within_depth += 1
        key = None
        if tag == "section" and found.get("aria-labelledby"):
            key = found["aria-labelledby"]
        elif found.get("id") == "credential-title":
            key = "title"
        elif "lede" in (found.get("class") or "").split():
            key = "lede"
        if tag not in ("br", "img", "input", "meta", "link"):
            self._open.append((tag, key))

    def handle_endtag(self, tag: str) -> None:
        if not self._within or tag in ("br", "img", "input", "meta", "link"):
            return
        if self._open:
            self._open.pop()
        self._within_depth -= 1
        if self.inside is not None and self._within_depth == 0:
            self._within = False

    def handle_data(self, data: str) -> None:
        key = self._current() if self._within else None
        if key is not None:
            self.parts.setdefault(key, []).append(data)

    def text(self, key: str) -> str:
        return " ".join(" ".join(self.parts.get(key, [])).split())


def _review(client: TestClient, who: IssuerHandle, project: int, rating: str, comment: str) -> str:
    """A mentor invited through the API rates the work and signs; the reserved id."""
    data = invite(client, who, project, organization="Northwind Traders")
    path = review_path(data)
    r = client.post(
        path,
        data={"nonce": open_form(client, path), "rating.quality": rating, "comment": comment},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(data["credential_id"])


def _tricky_project(client: TestClient, who: IssuerHandle) -> int:
    """A project whose fields end in every way staff type them, the rubric left to the
    mentor, and one deliverable."""
    project = draft_project(client, who)["project"]
    r = client.patch(
        f"/api/v1/projects/{project}",
        json={
            "title": "Churn analysis.",
            "summary": "  Cleaned two years of sales data..  ",
            "host": {"name": "Northwind Inc.", "url": "https://northwind.example"},
            "mentors": [{"name": "Grace Hopper", "title": "Lead analyst"}],
            "results": [],
        },
        headers=who.auth,
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/projects/{project}/deliverables",
        files={"file": ("report.pdf", b"%PDF-1.4 the churn report", "application/pdf")},
        data={"name": "Final report", "description": "What the data said?"},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    return int(project)


def _row(page: str, key: str = "quality") -> str:
    """The text of the assessment table's row for criterion ``key``."""
    row = re.search(rf'<tr data-criterion="{key}">(.*?)</tr>', page, re.S)
    assert row, f"no assessment row for {key}"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row.group(1))).split())


def _preview_id(page: str) -> str:
    match = re.search(r"<code data-credential-id>([^<]+)</code>", page)
    assert match, "the preview names no credential id"
    return match.group(1)


def test_staff_see_the_ratings_and_the_credential_they_sign(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    project = _tricky_project(client, acme)
    add_staff(app, "acme", "owner@acme.example", "owner")
    staff = TestClient(app, raise_server_exceptions=False)
    csrf = sign_in(staff, "owner@acme.example")
    page_url = f"/console/acme/projects/{project}"

    # Before the mentor rates, nobody has assessed the criterion, and the page says so.
    assert _row(staff.get(page_url).text) == "Quality of work Not assessed Nobody yet"

    reserved = _review(client, acme, project, "exceeds", "Ada's **analysis** was excellent.")
    # The endorsement's "Endorses" link leads to the address, which says a mentor endorsed.
    pending = client.get(f"/credentials/{reserved}", headers=HTML).text
    assert "A mentor has already endorsed this work." in pending
    page = staff.get(page_url)
    assert page.status_code == 200, page.text
    assert _row(page.text) == (
        "Quality of work Exceeds expectations Grace Hopper, in their endorsement"
    )
    assert "<strong>analysis</strong> was excellent." in page.text
    # The form's empty choice keeps the mentor's rating, and says so.
    assert "As Grace Hopper rated it: Exceeds expectations" in page.text

    preview = staff.get(f"{page_url}/issue")
    assert preview.status_code == 200, preview.text
    assert "Preview — not yet signed" in preview.text
    assert _preview_id(preview.text) == f"{BASE}/credentials/{reserved}"
    # The JSON is one click away, and is the credential to be signed.
    shown = re.search(r'<details id="preview-json">.*?<code>(.*?)</code>', preview.text, re.S)
    assert shown
    unsigned = json.loads(html.unescape(shown.group(1)))
    assert unsigned["id"] == f"{BASE}/credentials/{reserved}" and "proof" not in unsigned
    before_signing = _Parts(preview.text, inside="credential-preview")

    r = staff.post(f"{page_url}/issue", data={"csrf_token": csrf})
    assert r.status_code == 200, r.text
    credential_id = r.url.path.rsplit("/", 1)[-1]
    assert credential_id == reserved

    signed = client.get(f"/credentials/{credential_id}.json").json()
    assert signed["id"] == unsigned["id"]
    assert signed["description"] == (
        "Project: Churn analysis. Hosted by Northwind Inc. Mentored by Grace Hopper. "
        "Cleaned two years of sales data."
    )
    (result,) = signed["credentialSubject"]["result"]
    assert result["achievedLevel"].endswith("exceeds")

    employer = _Parts(client.get(f"/credentials/{credential_id}", headers=HTML).text)
    for part in PARTS:
        assert employer.text(part), (part, employer.parts.keys())
        assert before_signing.text(part) == employer.text(part), part
    assert "Exceeds expectations" in employer.text("results")
    assert "Grace Hopper" in employer.text("endorsements")
    assert "Final report" in employer.text("evidence")


def test_the_preview_reserves_the_id_that_completing_signs(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    """No mentor invited: the preview reserves the id, a second preview shows the same
    one, and the API's completion signs under it."""
    project = draft_project(client, acme)["project"]
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    staff = TestClient(app, raise_server_exceptions=False)
    sign_in(staff, "issuer@acme.example")
    first = _preview_id(staff.get(f"/console/acme/projects/{project}/issue").text)
    second = _preview_id(staff.get(f"/console/acme/projects/{project}/issue").text)
    assert first == second and first.startswith(f"{BASE}/credentials/")
    # The address already answers, saying the credential is still to come (no mentor
    # has endorsed the work, and the page does not say one has).
    pending = client.get(first.removeprefix(BASE), headers=HTML)
    assert pending.status_code == 200 and "not been issued yet" in pending.text
    assert "still being prepared" in pending.text and "A mentor" not in pending.text

    # The program assessed the criterion itself: its level, "The program".
    assert _row(staff.get(f"/console/acme/projects/{project}").text) == (
        "Quality of work Exceeds expectations The program"
    )

    r = client.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    assert r.json()["url"] == first
    assert r.json()["credential"]["id"] == first
    # Issued: the preview says so instead of reserving anything.
    again = staff.get(f"/console/acme/projects/{project}/issue")
    assert again.status_code == 200 and "already issued" in again.text
    assert "data-credential-id" not in again.text


def test_previews_stay_within_their_program_and_refuse_what_completion_refuses(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    globex = make_issuer(app, "globex")
    theirs = draft_project(client, globex)["project"]
    mine = draft_project(client, acme)["project"]
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    staff = TestClient(app, raise_server_exceptions=False)
    sign_in(staff, "issuer@acme.example")
    # Another program's project is not found, and nothing is reserved for it.
    assert staff.get(f"/console/acme/projects/{theirs}/issue").status_code == 404
    assert staff.get("/console/acme/projects/99999999/issue").status_code == 404
    assert staff.get("/console/acme/projects/not-a-number/issue").status_code in (404, 422)
    with app.state.session_factory() as session:
        assert session.get(CredentialReservation, theirs) is None

    # A level the rubric does not have (written before a rubric change) is refused in
    # words, and nothing is reserved.
    with app.state.session_factory() as session:
        row = session.get(Project, mine)
        assert row is not None
        row.results = [{"result_description": "quality", "achieved_level": "legendary"}]
        session.add(row)
        session.commit()
    r = staff.get(f"/console/acme/projects/{mine}/issue")
    assert r.status_code == 200 and 'role="alert"' in r.text and "legendary" in r.text
    assert "data-credential-id" not in r.text
    with app.state.session_factory() as session:
        assert session.get(CredentialReservation, mine) is None


def test_the_description_is_joined_from_sentences_that_end_once() -> None:
    def described(**fields: Any) -> str:
        project = Project(
            issuer_id=1,
            achievement_id=1,
            candidate_id=1,
            title=fields.get("title", "Churn analysis"),
            summary=fields.get("summary"),
            host=fields.get("host", {}),
            mentors=fields.get("mentors", []),
            results=[],
        )
        return completion._description(project)

    assert described() == "Project: Churn analysis."
    assert described(title="Done?", summary="   ") == "Project: Done?"
    assert described(title="Done!", summary="") == "Project: Done!"
    assert (
        described(
            title="Done..",
            host={"name": " Acme Inc. "},
            mentors=[{"name": "J. Smith Jr."}, {"name": "  "}, {"name": "Ada,"}],
            summary="Shipped it. .",
        )
        == "Project: Done. Hosted by Acme Inc. Mentored by J. Smith Jr., Ada. Shipped it."
    )


def test_a_hostile_comment_and_rating_show_as_text(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    """A mentor's comment is theirs to write: markup in it is shown as text on the
    assessment and in the preview, never run; a rating of a level the rubric does not
    have is refused before anything is signed, and the assessment stays as it was."""
    project = draft_project(client, acme)["project"]
    r = client.patch(f"/api/v1/projects/{project}", json={"results": []}, headers=acme.auth)
    assert r.status_code == 200, r.text
    data = invite(client, acme, project)
    path = review_path(data)
    nonce = open_form(client, path)
    refused = client.post(
        path,
        data={"nonce": nonce, "rating.quality": "legendary", "comment": "x"},
        headers=HTML,
        follow_redirects=False,
    )
    assert refused.status_code == 422, refused.text
    hostile = "<script>alert(1)</script> <img src=x onerror=alert(2)> [a](javascript:alert(3))"
    r = client.post(
        path,
        data={"nonce": nonce, "rating.quality": "meets", "comment": hostile},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    viewer = TestClient(app, raise_server_exceptions=False)
    sign_in(viewer, "viewer@acme.example")
    # A viewer reads the assessment (without its form) and may not preview.
    page = viewer.get(f"/console/acme/projects/{project}").text
    assert _row(page) == "Quality of work Meets expectations Grace Hopper, in their endorsement"
    assert "As Grace Hopper rated it" not in page
    assert viewer.get(f"/console/acme/projects/{project}/issue").status_code == 403
    staff = TestClient(app, raise_server_exceptions=False)
    sign_in(staff, "issuer@acme.example")
    for shown in (
        staff.get(f"/console/acme/projects/{project}").text,
        staff.get(f"/console/acme/projects/{project}/issue").text,
    ):
        assert "<script>alert(1)" not in shown and "<img src=x" not in shown
        assert 'href="javascript:' not in shown.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def test_two_first_previews_at_once_reserve_one_id(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    """The first preview holds its reservation uncommitted while a second one starts: the
    second waits for it, finds the clash, and shows the id the first committed."""
    project_id = draft_project(client, acme)["project"]
    ctx = app.state.ctx
    first_flushed, first_may_commit = threading.Event(), threading.Event()
    found: dict[str, str] = {}

    def first() -> None:
        with app.state.session_factory() as session:
            project = session.get(Project, project_id)
            assert project is not None
            found["first"] = endorsements.reserve_credential_id(session, project, ctx.clock())
            first_flushed.set()
            first_may_commit.wait(10)
            session.commit()

    def second() -> None:
        with app.state.session_factory() as session:
            project = session.get(Project, project_id)
            assert project is not None
            found["second"] = issue_preview.reserve_credential_id(session, ctx, project)

    one = threading.Thread(target=first)
    one.start()
    assert first_flushed.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)  # it waits on the first one's uncommitted row (or write lock)
    first_may_commit.set()
    one.join(30)
    two.join(30)
    assert not one.is_alive() and not two.is_alive()
    assert found["second"] == found["first"]
    with app.state.session_factory() as session:
        row = session.get(CredentialReservation, project_id)
        assert row is not None and row.credential_id == found["first"]
