"""The candidate's own pages: magic-link sign-in, choices, export, and safe blob serving."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.services.demo import badge_image
from tests.issuer_app import NOW, Issued, IssuerHandle, issue_with_deliverables
from tests.web.candidate_sign_in import (
    EMAIL,
    csrf_of,
    last_link,
    outbox_count,
    request_link,
    sign_in,
)

# --- sign-in ------------------------------------------------------------------------------


def test_sign_in_answers_the_same_for_unknown_addresses(
    app: FastAPI, client: TestClient, known: int
) -> None:
    page = client.get("/me/sign-in")
    token = csrf_of(page.text)
    hit = client.post("/me/sign-in", data={"email": EMAIL, "csrf_token": token})
    unknown = client.post("/me/sign-in", data={"email": "nobody@example.org", "csrf_token": token})
    assert hit.status_code == unknown.status_code == 200
    assert hit.text.replace(token, "") == unknown.text.replace(token, "")
    assert "if that address has credentials here" in hit.text.lower()
    assert outbox_count(app) == 1  # only the known address got a message


def test_sign_in_form_needs_its_csrf_token(app: FastAPI, client: TestClient, known: int) -> None:
    client.get("/me/sign-in")
    r = client.post("/me/sign-in", data={"email": EMAIL, "csrf_token": "forged"})
    assert r.status_code == 403
    assert outbox_count(app) == 0


def test_magic_link_is_single_use_and_sets_a_safe_cookie(
    app: FastAPI, client: TestClient, known: int
) -> None:
    request_link(client)
    link = last_link(app)
    with app.state.session_factory() as session:
        from sqlmodel import select

        from badgeworks.db.candidate_access import CandidateLink

        stored = session.exec(select(CandidateLink)).one()
        assert link.rsplit("/", 1)[1] not in stored.token_hash  # only the hash is kept
        assert stored.expires_at - stored.created_at == timedelta(minutes=30)
    page = client.get(link)
    nonce = csrf_of(page.text, "nonce")
    r = client.post(link, data={"nonce": nonce}, follow_redirects=False)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "me_session=" in cookie
    assert "HttpOnly" in cookie and "Path=/me" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # http in tests; https base URLs get Secure
    assert client.get("/me").status_code == 200
    # Replayed: a clear 410 page, on GET and on POST.
    fresh = TestClient(app, raise_server_exceptions=False)
    assert fresh.get(link).status_code == 410
    replay = fresh.post(link, data={"nonce": nonce})
    assert replay.status_code == 410
    assert "already used" in replay.text


def test_expired_and_unknown_links_are_gone(app: FastAPI, client: TestClient, known: int) -> None:
    request_link(client)
    link = last_link(app)
    app.state.ctx.clock = lambda: NOW + timedelta(minutes=31)
    r = client.get(link)
    assert r.status_code == 410 and "expired" in r.text
    assert client.get("/me/link/not-a-real-token").status_code == 410


def test_confirm_needs_the_links_nonce(app: FastAPI, client: TestClient, known: int) -> None:
    request_link(client)
    link = last_link(app)
    r = client.post(link, data={"nonce": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get(link).status_code == 200  # not used up


def test_sign_out_ends_the_session(app: FastAPI, client: TestClient, known: int) -> None:
    sign_in(app, client)
    page = client.get("/me")
    cookie = client.cookies.get("me_session")
    assert cookie
    assert client.post("/me/sign-out", data={"csrf_token": "bad"}).status_code == 403
    r = client.post("/me/sign-out", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    # The old cookie value no longer works, even if replayed.
    again = TestClient(app, raise_server_exceptions=False, cookies={"me_session": cookie})
    assert again.get("/me", follow_redirects=False).status_code == 303


def test_me_needs_a_session(client: TestClient) -> None:
    r = client.get("/me", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me/sign-in"
    assert client.get("/me/export.zip", follow_redirects=False).status_code == 303


# --- choices ------------------------------------------------------------------------------


def test_candidate_sets_handle_visibility_and_items(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    sign_in(app, client)
    page = client.get("/me")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    diagram = issued.deliverables["Pipeline diagram"]
    r = client.post(
        "/me/portfolio",
        data={
            "csrf_token": csrf_of(page.text),
            "candidate_id": str(issued.candidate),
            "handle": "Ada-Lovelace",
            "visibility": "public",
            "headline": "Data analyst <b>in training</b>",
            f"credential:{issued.id}": "public",
            f"deliverable:{diagram}": "hidden",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    portfolio_page = client.get("/p/ada-lovelace")
    assert portfolio_page.status_code == 200
    assert "Ada Lovelace" not in portfolio_page.text  # show_name unchecked
    assert "&lt;b&gt;in training&lt;/b&gt;" in portfolio_page.text
    assert "X-Robots-Tag" not in portfolio_page.headers
    # The issuer's API sees the same choices (same service functions).
    with app.state.session_factory() as session:
        from badgeworks.db.models import Candidate
        from badgeworks.services.portfolio import store as portfolio

        cand = session.get(Candidate, issued.candidate)
        assert cand is not None
        row = portfolio.get_or_create(session, cand)
        view = portfolio.to_public(session, app.state.ctx, cand, row)
        assert view.handle == "ada-lovelace" and view.visibility == "public"
        assert view.deliverables[str(diagram)] == "hidden"


def test_bad_handles_are_shown_as_errors(app: FastAPI, client: TestClient, known: int) -> None:
    sign_in(app, client)
    token = csrf_of(client.get("/me").text)
    for handle, status in (("admin", 422), ("fuck-you", 422), ("аda", 422)):
        r = client.post(
            "/me/portfolio",
            data={"csrf_token": token, "candidate_id": str(known), "handle": handle},
        )
        assert r.status_code == status, (handle, r.text)
        assert 'role="alert"' in r.text


def test_another_candidates_rows_are_refused(
    app: FastAPI, client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/candidates",
        json={"name": "Mallory", "emails": ["mallory@example.org"]},
        headers=acme.auth,
    )
    assert r.status_code == 201
    sign_in(app, client, "mallory@example.org")
    token = csrf_of(client.get("/me").text)
    # Ada's candidate row: refused.
    r = client.post(
        "/me/portfolio",
        data={"csrf_token": token, "candidate_id": str(issued.candidate), "visibility": "hidden"},
    )
    assert r.status_code == 404
    # Mallory's own row, but Ada's credential and deliverable ids: refused.
    with app.state.session_factory() as session:
        from badgeworks.services.accounts import candidate_access

        rows = candidate_access.candidates_for(session, "mallory@example.org")
        mallory_id = rows[0].id
    for field, ref in (
        (f"credential:{issued.id}", "public"),
        (f"deliverable:{issued.deliverables['Final report']}", "hidden"),
    ):
        r = client.post(
            "/me/portfolio",
            data={"csrf_token": token, "candidate_id": str(mallory_id), field: ref},
        )
        assert r.status_code == 422, r.text
        assert "not one of this candidate" in r.text
    # Without the CSRF token nothing is saved.
    r = client.post("/me/portfolio", data={"candidate_id": str(mallory_id), "headline": "x"})
    assert r.status_code == 403


# --- export -------------------------------------------------------------------------------


def test_export_has_exact_credentials_and_deliverables(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    sign_in(app, client)
    r = client.get("/me/export.zip")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["content-disposition"].startswith("attachment")
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = archive.namelist()
    stored = client.get(f"{issued.path}.json").content
    assert archive.read(f"credentials/{issued.id}.json") == stored
    assert json.loads(stored)["id"] == issued.url
    delivs = [n for n in names if n.startswith("deliverables/")]
    assert len(delivs) == 2  # the PNG and the PDF; the link has no file
    assert any(archive.read(n).startswith(b"%PDF") for n in delivs)


def test_export_has_a_size_cap(
    app: FastAPI, client: TestClient, issued: Issued, monkeypatch: pytest.MonkeyPatch
) -> None:
    from badgeworks.services.accounts import candidate_access

    sign_in(app, client)
    monkeypatch.setattr(candidate_access, "MAX_EXPORT_BYTES", 100)
    assert client.get("/me/export.zip").status_code == 413


# --- blobs --------------------------------------------------------------------------------

SCRIPT_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'
)
HTML_PAGE = b"<!doctype html><title>x</title><script>alert(1)</script>"


def _upload(
    client: TestClient, who: IssuerHandle, project: int, name: str, data: bytes, media: str
) -> str:
    r = client.post(
        f"/api/v1/projects/{project}/deliverables",
        files={"file": (name, data, media)},
        data={"name": name},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    sha: str = r.json()["sha256"]
    return sha


def test_active_deliverables_are_downloads_in_a_sandbox(
    client: TestClient, acme: IssuerHandle
) -> None:
    from tests.issuer_app import draft_project

    ids = draft_project(client, acme)
    for filename, data, media in (
        ("page.html", HTML_PAGE, "text/html"),
        ("evil.svg", SCRIPT_SVG, "image/svg+xml"),
    ):
        sha = _upload(client, acme, ids["project"], filename, data, media)
        r = client.get(f"/blobs/{sha}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(media)
        assert r.headers["content-disposition"].startswith("attachment")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in r.headers["content-security-policy"]
    png = _upload(client, acme, ids["project"], "b.png", badge_image(), "image/png")
    r = client.get(f"/blobs/{png}")
    assert "content-disposition" not in r.headers
    assert "sandbox" in r.headers["content-security-policy"]


def test_issue_helper_still_works_for_a_second_program(
    app: FastAPI, client: TestClient, globex: IssuerHandle, issued: Issued
) -> None:
    # The same address at a second program: one sign-in reaches both portfolios.
    issue_with_deliverables(client, globex, with_image=False)
    sign_in(app, client)
    page = client.get("/me")
    assert page.text.count('name="candidate_id"') == 2
