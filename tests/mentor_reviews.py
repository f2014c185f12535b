"""A mentor's review: the invitation through the API, its link, and the form's nonce."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.issuer_app import IssuerHandle

LINK = re.compile(r"http://127\.0\.0\.1:8000(/review/[A-Za-z0-9_-]+)")
NONCE = re.compile(r'name="nonce" value="([0-9a-f]+)"')
HTML = {"Accept": "text/html"}


def invite(http: TestClient, who: IssuerHandle, project_id: int, **fields: Any) -> dict[str, Any]:
    body = {"name": "Grace Hopper", "email": "grace@example.org", "title": "Lead analyst"}
    body.update(fields)
    r = http.post(f"/api/v1/projects/{project_id}/reviews", json=body, headers=who.auth)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


def review_path(data: dict[str, Any]) -> str:
    match = LINK.match(data["review_url"])
    assert match, data["review_url"]
    return match.group(1)


def open_form(http: TestClient, path: str) -> str:
    """GET the review page; returns its nonce."""
    r = http.get(path, headers=HTML)
    assert r.status_code == 200, r.text
    match = NONCE.search(r.text)
    assert match
    return match.group(1)
