"""Console candidates: a page of their own with search and paging, the edit form, their
projects and credentials; viewers read, issuers edit, other programs' candidates are 404."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.models import AuditEvent, Candidate
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import IssuerHandle, draft_project

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


def _add(client: TestClient, who: IssuerHandle, name: str, email: str) -> int:
    r = client.post(
        f"/api/v1/issuers/{who.slug}/candidates",
        json={"name": name, "emails": [email]},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _names(html: str) -> list[str]:
    start = html.index("<tbody>")
    page = Page(html[start : html.index("</tbody>", start)])
    return [
        a["href"].rsplit("/", 1)[1] for a in page.all("a") if "/candidates/" in a.get("href", "")
    ]


def test_list_searches_by_name_or_email_and_pages(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = [_add(client, acme, f"Person {n:03d}", f"p{n:03d}@example.org") for n in range(60)]
    grace = _add(client, acme, "Grace Hopper", "grace@navy.example")
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    sign_in(client, "viewer@acme.example")
    first = client.get("/console/acme/candidates")
    assert first.status_code == 200
    assert len(_names(first.text)) == 50 and "61 candidates found" in first.text
    assert 'rel="next"' in first.text and "Page 1 of 2" in first.text
    second = client.get("/console/acme/candidates?page=2")
    assert len(_names(second.text)) == 11 and 'rel="prev"' in second.text
    assert set(_names(first.text)) | set(_names(second.text)) == {str(i) for i in [*ids, grace]}
    # Search: by part of a name, any case; by part of an email address.
    assert _names(client.get("/console/acme/candidates?q=hOPP").text) == [str(grace)]
    assert _names(client.get("/console/acme/candidates?q=navy.example").text) == [str(grace)]
    assert "No candidate matches" in client.get("/console/acme/candidates?q=nobody").text
    # Bad paging is the first page, never an error.
    for bad in ("-1", "abc", "9" * 40, "0"):
        r = client.get(f"/console/acme/candidates?page={bad}")
        assert r.status_code == 200, bad
    # In Spanish.
    assert "Candidatos" in client.get("/console/acme/candidates?lang=es").text
    # A viewer reads a candidate but sees no form, and cannot post one.
    one = client.get(f"/console/acme/candidates/{grace}")
    assert one.status_code == 200
    assert 'action="/console/acme/candidates' not in one.text
    assert client.get("/console/acme/candidates/new").status_code == 403
    home = client.get("/console/acme/")
    csrf = Page(home.text).all("input", name="csrf_token")[0]["value"]
    r = client.post(f"/console/acme/candidates/{grace}", data={"csrf_token": csrf, "name": "X"})
    assert r.status_code == 403


def test_issuer_edits_a_candidate_and_sees_projects_and_credentials(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    done = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert done.status_code == 201, done.text
    credential = done.json()["id"]
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    page = client.get(f"/console/acme/candidates/{ids['candidate']}")
    assert page.status_code == 200
    assert f"/console/acme/projects/{ids['project']}" in page.text
    assert f"/console/acme/credentials/{credential}" in page.text
    # And back: the credential's console page links its candidate.
    back = client.get(f"/console/acme/credentials/{credential}").text
    assert f'href="/console/acme/candidates/{ids["candidate"]}"' in back
    for path in ("/console/acme/projects", f"/console/acme/projects/{ids['project']}"):
        assert f'href="/console/acme/candidates/{ids["candidate"]}"' in client.get(path).text
    r = client.post(
        f"/console/acme/candidates/{ids['candidate']}",
        data={
            "csrf_token": csrf,
            "name": "Ada King",
            "emails": "ada@example.org\nada.king@example.org",
            "did": "",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with app.state.session_factory() as session:
        row = session.get(Candidate, ids["candidate"])
        assert row is not None and row.name == "Ada King"
        assert row.emails == ["ada@example.org", "ada.king@example.org"]
        event = session.exec(
            select(AuditEvent).where(AuditEvent.action == "candidate.update")
        ).one()
        assert event.actor.startswith("staff:")
    assert "The candidate was saved" in client.get(r.headers["location"]).text


@pytest.mark.parametrize(
    ("form", "english", "spanish"),
    [
        ({"name": "", "emails": "a@example.org"}, "Name:", "Nombre:"),
        ({"name": "Ada", "emails": "not-an-address"}, "Email addresses:", "Correos electrónicos:"),
        ({"name": "Ada", "emails": "", "did": ""}, "at least one email", "al menos un correo"),
        ({"name": "Ada", "emails": "", "did": "did web"}, "DID:", "DID:"),
    ],
)
def test_a_refused_candidate_form_keeps_what_was_typed(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    form: dict[str, str],
    english: str,
    spanish: str,
) -> None:
    ids = draft_project(client, acme)
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    for path in (f"/console/acme/candidates/{ids['candidate']}", "/console/acme/candidates/new"):
        for lang, words in (("en", english), ("es", spanish)):
            r = client.post(f"{path}?lang={lang}", data={"csrf_token": csrf, **form})
            assert r.status_code == 422, (path, r.text[:500])
            assert r.text.count('role="alert"') == 1 and words in r.text
            fields = {a.get("id"): a for a in Page(r.text).all("input")}
            assert fields["candidate-name"]["value"] == form["name"]
            assert form["emails"] in r.text
    with app.state.session_factory() as session:
        assert [c.name for c in session.exec(select(Candidate))] == ["Ada Lovelace"]


def test_issuer_adds_a_candidate(app: FastAPI, client: TestClient, acme: IssuerHandle) -> None:
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    assert client.get("/console/acme/candidates/new").status_code == 200
    r = client.post(
        "/console/acme/candidates/new",
        data={"csrf_token": csrf, "name": "Grace Hopper", "emails": "Grace@Navy.example"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    listed = client.get("/console/acme/candidates").text
    assert "Grace Hopper" in listed and "grace@navy.example" in listed
