"""List endpoints send ``X-Total-Count`` and a ``Link`` header (OB 3.0 API, Pagination)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.services.infra.pagination import MAX_LIMIT
from badgeworks.services.programs import candidates, issuers
from badgeworks.services.programs.models import CandidateCreate
from tests.issuer_app import IssuerHandle, draft_project

BASE = "http://127.0.0.1:8000"
LINK = re.compile(r'<([^>]+)>; rel="(\w+)"')


def links(header: str) -> dict[str, dict[str, list[str]]]:
    """rel → the link's query parameters (and the URL must be absolute on the base)."""
    out = {}
    for url, rel in LINK.findall(header):
        assert url.startswith(BASE + "/api/v1/"), url
        out[rel] = parse_qs(urlsplit(url).query)
    return out


def add_candidates(app: FastAPI, slug: str, n: int) -> None:
    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, slug)
        for i in range(n):
            candidates.create_candidate(
                session,
                issuer,
                CandidateCreate(name=f"C{i}", emails=[f"c{i}@x.org"]),
                actor="t",
                now=app.state.ctx.clock(),
            )


def test_pages_of_candidates(app: FastAPI, client: TestClient, acme: IssuerHandle) -> None:
    add_candidates(app, "acme", 7)
    url = "/api/v1/issuers/acme/candidates"
    r = client.get(url, params={"limit": 3}, headers=acme.auth)
    assert r.status_code == 200 and len(r.json()) == 3
    assert r.headers["X-Total-Count"] == "7"
    rels = links(r.headers["Link"])
    assert set(rels) == {"first", "last", "next"}
    assert rels["first"] == {"limit": ["3"], "offset": ["0"]}
    assert rels["last"]["offset"] == ["6"] and rels["next"]["offset"] == ["3"]

    r = client.get(url, params={"limit": 3, "offset": 3}, headers=acme.auth)
    rels = links(r.headers["Link"])
    assert set(rels) == {"first", "last", "next", "prev"}
    assert rels["prev"]["offset"] == ["0"] and rels["next"]["offset"] == ["6"]

    r = client.get(url, params={"limit": 3, "offset": 6}, headers=acme.auth)
    assert len(r.json()) == 1
    rels = links(r.headers["Link"])
    assert set(rels) == {"first", "last", "prev"}

    # Following "next" from the first page visits every candidate once.
    seen: list[int] = []
    page: str | None = f"{url}?limit=2"
    while page:
        r = client.get(page, headers=acme.auth)
        seen += [c["id"] for c in r.json()]
        nxt = [u for u, rel in LINK.findall(r.headers["Link"]) if rel == "next"]
        page = nxt[0].removeprefix(BASE) if nxt else None
    assert len(seen) == len(set(seen)) == 7


def test_limit_is_capped_and_empty_lists_have_headers(
    client: TestClient, acme: IssuerHandle
) -> None:
    r = client.get("/api/v1/issuers/acme/candidates?limit=100000&offset=-5", headers=acme.auth)
    assert r.status_code == 200 and r.json() == []
    assert r.headers["X-Total-Count"] == "0"
    rels = links(r.headers["Link"])
    assert set(rels) == {"first", "last"}
    assert rels["first"] == {"limit": [str(MAX_LIMIT)], "offset": ["0"]}


def test_every_list_endpoint_counts_only_the_issuers_rows(
    client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    draft_project(client, globex)
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    for path in ("achievements", "candidates", "projects", "credentials", "audit"):
        r = client.get(f"/api/v1/issuers/acme/{path}?limit=1", headers=acme.auth)
        assert r.status_code == 200, (path, r.text)
        total = int(r.headers["X-Total-Count"])
        full = client.get(f"/api/v1/issuers/acme/{path}?limit=500", headers=acme.auth)
        assert total == len(full.json()) >= 1, path
        assert "first" in links(r.headers["Link"]), path
    r = client.get("/api/v1/issuers?limit=1")
    assert r.headers["X-Total-Count"] == "2"
    assert set(links(r.headers["Link"])) == {"first", "last", "next"}


def test_other_query_parameters_are_kept(client: TestClient, acme: IssuerHandle) -> None:
    r = client.get("/api/v1/issuers/acme/audit?limit=1&lang=es", headers=acme.auth)
    assert all(q.get("lang") == ["es"] for q in links(r.headers["Link"]).values())
