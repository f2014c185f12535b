"""Review links: single use, expiry, revocation, CSRF, bad ratings, huge and hostile
comments, cross-issuer access and withdrawal. Each bad request is a clear 4xx that
changes nothing (the link keeps working afterwards)."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.issuer_app import NOW, IssuerHandle, draft_project
from tests.mentor_reviews import HTML, invite, open_form, review_path

SHAPE = {"ok", "status", "code", "error", "request_id"}


def _setup(client: TestClient, who: IssuerHandle) -> tuple[int, str]:
    ids = draft_project(client, who)
    data = invite(client, who, ids["project"])
    return ids["project"], review_path(data)


def _still_usable(client: TestClient, path: str) -> None:
    assert client.get(path, headers=HTML).status_code == 200


def test_csrf_nonce_is_required_and_bound_to_the_link(
    client: TestClient, acme: IssuerHandle
) -> None:
    project, path = _setup(client, acme)
    other = review_path(invite(client, acme, project, email="alan@example.org", name="Alan"))
    r = client.post(path, data={"comment": "no nonce"})
    assert r.status_code == 400 and r.json()["code"] == "review.nonce_missing"
    assert set(r.json()) == SHAPE
    r = client.post(path, data={"comment": "wrong", "nonce": "0" * 32})
    assert r.status_code == 403 and r.json()["code"] == "review.nonce_invalid"
    r = client.post(path, data={"comment": "other link's", "nonce": open_form(client, other)})
    assert r.status_code == 403
    r = client.post(path, data={"nonce": "x" * 100_000})
    assert r.status_code == 403
    # A JSON body (or any other media type) has no form fields, so no nonce either.
    r = client.post(path, json={"nonce": open_form(client, path)})
    assert r.status_code == 400
    # Browsers get a page, not JSON.
    page = client.post(path, data={"comment": "x"}, headers=HTML)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    _still_usable(client, path)


def test_link_expiry_revocation_and_forgery(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    project, path = _setup(client, acme)
    nonce = open_form(client, path)
    app.state.ctx.clock = lambda: NOW + timedelta(days=15)
    try:
        r = client.get(path, headers=HTML)
        assert r.status_code == 410 and "expired" in r.text
        r = client.post(path, data={"nonce": nonce})
        assert r.status_code == 410 and r.json()["code"] == "review.expired"
    finally:
        app.state.ctx.clock = lambda: NOW
    _still_usable(client, path)

    (pending,) = client.get(f"/api/v1/projects/{project}/reviews", headers=acme.auth).json()
    assert pending["status"] == "pending" and pending["review_url"] is None
    r = client.delete(f"/api/v1/projects/{project}/reviews/{pending['id']}", headers=acme.auth)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = client.get(path, headers=HTML)
    assert r.status_code == 410 and "withdrew" in r.text
    assert client.post(path, data={"nonce": nonce}).status_code == 410
    # Revoking twice is harmless; an unknown invite is a 404.
    r = client.delete(f"/api/v1/projects/{project}/reviews/{pending['id']}", headers=acme.auth)
    assert r.status_code == 200
    assert (
        client.delete(f"/api/v1/projects/{project}/reviews/999", headers=acme.auth).status_code
        == 404
    )

    for forged in ("/review/" + "A" * 43, "/review/short", "/review/%00", "/review/" + "x" * 5000):
        r = client.get(forged, headers=HTML)
        assert r.status_code == 404 and "not valid" in r.text, forged
        r = client.get(forged)
        assert r.status_code == 404 and set(r.json()) == SHAPE


def test_used_link_cannot_be_revoked(client: TestClient, acme: IssuerHandle) -> None:
    project, path = _setup(client, acme)
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "Good."})
    assert r.status_code == 201, r.text
    (used,) = client.get(f"/api/v1/projects/{project}/reviews", headers=acme.auth).json()
    assert used["status"] == "used" and used["endorsement_url"]
    r = client.delete(f"/api/v1/projects/{project}/reviews/{used['id']}", headers=acme.auth)
    assert r.status_code == 409 and r.json()["code"] == "review.already_used"


def test_bad_ratings_and_huge_comments_change_nothing(
    client: TestClient, acme: IssuerHandle
) -> None:
    _, path = _setup(client, acme)
    nonce = open_form(client, path)
    cases = [
        ({"rating.quality": "legendary"}, 422, "review.unknown_level"),
        ({"rating.charisma": "meets"}, 422, "review.unknown_criterion"),
        ({"skill": "7"}, 422, "review.unknown_skill"),
        ({"skill": "-1"}, 422, "review.unknown_skill"),
        ({"skill": "one"}, 422, "review.unknown_skill"),
        ({"comment": "x" * 10_001}, 413, "input.too_large"),
        ({"comment": "nul \x00 here"}, 422, "review.invalid"),
    ]
    for fields, status, code in cases:
        r = client.post(path, data={"nonce": nonce, **fields})
        assert (r.status_code, r.json()["code"]) == (status, code), (fields, r.text)
    # A 10 MB comment is refused before it is parsed.
    r = client.post(
        path,
        content=b"nonce=" + nonce.encode() + b"&comment=" + b"a" * (10 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413
    r = client.post(
        path,
        content=b"--zz\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=zz"},
    )
    assert r.status_code == 400 and set(r.json()) == SHAPE
    # A browser gets the form back with the problem named and its input kept.
    page = client.post(
        path, data={"nonce": nonce, "rating.quality": "legendary", "comment": "kept"}, headers=HTML
    )
    assert page.status_code == 422
    assert (
        'role="alert"' in page.text and "legendary" in page.text and ">kept</textarea>" in page.text
    )
    _still_usable(client, path)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_hostile_comment_is_rendered_inert(client: TestClient, acme: IssuerHandle) -> None:
    _, path = _setup(client, acme)
    comment = (
        "<script>alert(1)</script>\n\n"
        '<img src=x onerror="alert(2)">\n\n'
        "[click](javascript:alert(3)) [data](data:text/html,hi) "
        '[ok](https://example.org/a?b=1&c=2) [quote](https://x.example/" onclick="alert(4))\n\n'
        '<a href="https://evil.example" style="position:fixed">x</a> **bold** *it*\n\n'
        "- one\n- two"
    )
    r = client.post(path, data={"nonce": open_form(client, path), "comment": comment})
    assert r.status_code == 201, r.text
    page = client.get(r.json()["url"].removeprefix("http://127.0.0.1:8000"), headers=HTML)
    assert page.status_code == 200
    parser = _Collector()
    parser.feed(page.text)
    tags = parser.tags
    assert not [t for t in tags if t[0] in ("script", "img", "iframe", "object")] or all(
        (t[1].get("src") or "").startswith("/") for t in tags if t[0] == "script"
    )
    assert not any(t[0] == "script" for t in tags)
    for tag, attrs in tags:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        assert "style" not in attrs, (tag, attrs)
        href = attrs.get("href") or ""
        assert not href.lower().startswith(("javascript:", "data:")), href
    links = [a["href"] for t, a in tags if t == "a" and (a.get("rel") or "").startswith("nofollow")]
    assert links == ["https://example.org/a?b=1&c=2"]
    assert "<strong>bold</strong>" in page.text and "<li>two</li>" in page.text
    assert "&lt;script&gt;" in page.text


def test_another_issuers_token_cannot_touch_the_project(
    client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    project, path = _setup(client, acme)
    body = {"name": "Mallory", "email": "mallory@example.org"}
    r = client.post(f"/api/v1/projects/{project}/reviews", json=body, headers=globex.auth)
    assert r.status_code == 404 and set(r.json()) == SHAPE
    assert client.get(f"/api/v1/projects/{project}/reviews", headers=globex.auth).status_code == 404
    (pending,) = client.get(f"/api/v1/projects/{project}/reviews", headers=acme.auth).json()
    r = client.delete(f"/api/v1/projects/{project}/reviews/{pending['id']}", headers=globex.auth)
    assert r.status_code == 404
    assert client.post(f"/api/v1/projects/{project}/reviews", json=body).status_code == 401
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "ok"})
    endorsement_id = r.json()["id"]
    r = client.post(f"/api/v1/endorsements/{endorsement_id}/withdraw", json={}, headers=globex.auth)
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/endorsements/{endorsement_id}/withdraw",
        json={"reason": "asked by mentor"},
        headers=acme.auth,
    )
    assert r.status_code == 200 and r.json()["withdrawn_at"]


def test_withdrawn_endorsements_are_not_embedded(client: TestClient, acme: IssuerHandle) -> None:
    project, path = _setup(client, acme)
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "ok"})
    endorsement = r.json()
    client.post(f"/api/v1/endorsements/{endorsement['id']}/withdraw", json={}, headers=acme.auth)
    issued = client.post(f"/api/v1/projects/{project}/complete", headers=acme.auth).json()
    assert "endorsement" not in issued["credential"]
    (listed,) = client.get(f"/api/v1/credentials/{issued['id']}/endorsements").json()
    assert listed["withdrawn_at"] and not listed["embedded"]
    page = client.get(endorsement["url"].removeprefix("http://127.0.0.1:8000"), headers=HTML)
    assert "withdrawn" in page.text


def test_invite_input_is_checked(client: TestClient, acme: IssuerHandle) -> None:
    ids = draft_project(client, acme)
    url = f"/api/v1/projects/{ids['project']}/reviews"
    bad = [
        {},
        {"name": ""},
        {"name": "A", "email": "not-an-email"},
        {"name": "A", "kind": "boss"},
        {"name": "A", "subject": "issuer"},
        {"name": "A", "expires_in_days": 0},
        {"name": "A", "expires_in_days": 10_000},
        {"name": "A", "did": "not a did"},
        {"name": "A", "did": "did:example:123"},
        {"name": "A", "surprise": True},
        {"name": "A\x00"},
        {"name": "A", "organization_url": "javascript:alert(1)"},
    ]
    for body in bad:
        r = client.post(url, json=body, headers=acme.auth)
        assert r.status_code in (400, 422), (body, r.text)
        assert set(r.json()) == SHAPE
    for path in (
        "/api/v1/projects/999999/reviews",
        "/api/v1/projects/0/reviews",
        "/api/v1/projects/x/reviews",
    ):
        assert client.post(path, json={"name": "A"}, headers=acme.auth).status_code in (404, 422)
    r = client.post(
        url,
        content=b'{"name": "' + b"a" * 40000 + b'"}',
        headers={**acme.auth, "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    r = client.post(
        url, content=b"{oops", headers={**acme.auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert client.get(url, headers=acme.auth).json() == []


def test_public_endpoints_with_hostile_ids(client: TestClient) -> None:
    for value in (
        "x",
        "0" * 36,
        "%00",
        "../../etc/passwd",
        "x" * 500,
        "00000000-0000-0000-0000-000000000000",
    ):
        for path in (
            f"/endorsements/{value}",
            f"/endorsements/{value}.json",
            f"/api/v1/credentials/{value}/endorsements",
            f"/mentors/{value}/did.json",
            f"/hosts/{value}/did.json",
        ):
            r = client.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert set(r.json()) == SHAPE


def test_endorsing_the_achievement_embeds_it_in_the_achievement(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    from badgeworks.adapters.resources import schema_documents
    from badgeworks.core.verification.credential import verify

    ids = draft_project(client, acme)
    data = invite(client, acme, ids["project"], subject="achievement")
    assert "/achievements/" in data["subject_id"]
    path = review_path(data)
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "A fine program."})
    assert r.status_code == 201, r.text
    issued = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth).json()
    credential = issued["credential"]
    achievement = credential["credentialSubject"]["achievement"]
    (embedded,) = achievement["endorsement"]
    assert embedded["credentialSubject"]["id"] == achievement["id"]
    assert "endorsement" not in credential
    # The program's own result for "quality" wins over any rating.
    assert len(credential["credentialSubject"]["result"]) == 1
    report = verify(credential, loader=app.state.ctx.loader, now=NOW, schemas=schema_documents())
    assert report.verified, report.as_dict()
    (check,) = [c for c in report.as_dict()["checks"] if c["check"] == "endorsement"]
    assert check["outcome"] == "pass" and "the achievement" in check["message"]


def test_endorser_withdraws_through_a_new_single_use_link(
    client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    project, path = _setup(client, acme)
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "Good."})
    endorsement = r.json()
    url = f"/api/v1/endorsements/{endorsement['id']}/withdrawal-links"
    assert client.post(url, headers=globex.auth).status_code == 404
    r = client.post(url, headers=acme.auth)
    assert r.status_code == 201, r.text
    link = r.json()
    assert link["withdraws"] == endorsement["url"] and link["review_url"]
    wpath = review_path(link)
    page = client.get(wpath, headers=HTML)
    assert page.status_code == 200 and "Withdraw my endorsement" in page.text
    nonce = open_form(client, wpath)
    # A withdrawal link cannot sign, and a review link cannot withdraw.
    r = client.post(wpath, data={"nonce": nonce, "comment": "again"})
    assert r.status_code == 409 and r.json()["code"] == "review.withdrawal_link"
    other = review_path(invite(client, acme, project, email="b@example.org", name="B"))
    r = client.post(other + "/withdraw", data={"nonce": open_form(client, other)})
    assert r.status_code == 409 and r.json()["code"] == "review.not_withdrawal"
    assert client.post(wpath + "/withdraw", data={"reason": "x"}).status_code == 400
    r = client.post(
        wpath + "/withdraw",
        data={"nonce": nonce, "reason": "Changed my mind."},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"], headers=HTML)
    assert "withdrawn" in page.text
    assert client.get(wpath, headers=HTML).status_code == 410
    assert client.post(url, headers=acme.auth).json()["code"] == "endorsement.withdrawn"
