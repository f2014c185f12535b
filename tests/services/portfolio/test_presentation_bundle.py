"""The portfolio's presentation bundle: ``GET /p/{handle}/presentation.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.html_page import Page
from tests.issuer_app import IssuerHandle, issue_with_deliverables


@dataclass
class Bundle:
    """A demo candidate with two credentials and a portfolio."""

    candidate: int
    handle: str
    credentials: list[dict[str, Any]]


def second_credential(client: TestClient, who: IssuerHandle, candidate: int) -> dict[str, Any]:
    """Issue one more credential to ``candidate`` (a second, smaller project)."""
    r = client.get(f"/api/v1/issuers/{who.slug}/achievements", headers=who.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    r = client.post(
        f"/api/v1/issuers/{who.slug}/projects",
        json={
            "achievement_id": items[0]["id"],
            "candidate_id": candidate,
            "title": "Sales dashboard",
            "summary": "Built a weekly sales dashboard.",
            "host": {"name": "Contoso", "url": "https://contoso.example"},
            "start_date": "2025-04-01",
            "end_date": "2025-04-25",
        },
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/projects/{r.json()['id']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    credential: dict[str, Any] = r.json()["credential"]
    return credential


def make_bundle(client: TestClient, who: IssuerHandle) -> Bundle:
    """Two credentials for one candidate, and the candidate's portfolio."""
    first = issue_with_deliverables(client, who, with_image=False)
    second = second_credential(client, who, first.candidate)
    # The first PATCH makes the portfolio (a GET writes nothing).
    r = client.patch(f"/api/v1/candidates/{first.candidate}/portfolio", json={}, headers=who.auth)
    assert r.status_code == 200, r.text
    return Bundle(first.candidate, r.json()["handle"], [first.credential, second])


def download(client: TestClient, handle: str, **params: Any) -> Any:
    r = client.get(f"/p/{handle}/presentation.json", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vp+ld+json")
    assert r.headers["content-disposition"].startswith("attachment")
    return r.json()


def test_bundle_holds_the_exact_stored_credentials(client: TestClient, acme: IssuerHandle) -> None:
    bundle = make_bundle(client, acme)
    vp = download(client, bundle.handle)
    assert vp["type"] == ["VerifiablePresentation"]
    assert vp["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert "holder" not in vp and "proof" not in vp
    ids = {c["id"] for c in bundle.credentials}
    assert {c["id"] for c in vp["verifiableCredential"]} == ids
    for presented in vp["verifiableCredential"]:
        stored = client.get(
            presented["id"].removeprefix("http://127.0.0.1:8000"),
            headers={"Accept": "application/json"},
        )
        assert stored.status_code == 200, stored.text
        assert json.loads(stored.text) == presented

    # A subset, chosen by id.
    one = bundle.credentials[1]["id"]
    short = one.rsplit("/", 1)[-1]
    vp = download(client, bundle.handle, credential=[short])
    assert [c["id"] for c in vp["verifiableCredential"]] == [one]

    # The portfolio page links to the bundle.
    page = Page(client.get(f"/p/{bundle.handle}").text)
    assert any(h.endswith(f"/p/{bundle.handle}/presentation.json") for h in page.hrefs())


def test_hidden_things_stay_out(client: TestClient, acme: IssuerHandle) -> None:
    bundle = make_bundle(client, acme)
    hidden = bundle.credentials[0]["id"].rsplit("/", 1)[-1]
    r = client.patch(
        f"/api/v1/candidates/{bundle.candidate}/portfolio",
        json={"credentials": {hidden: "hidden"}},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    vp = download(client, bundle.handle)
    assert [c["id"] for c in vp["verifiableCredential"]] == [bundle.credentials[1]["id"]]
    r = client.get(f"/p/{bundle.handle}/presentation.json", params={"credential": hidden})
    assert r.status_code == 404, r.text
    r = client.get(f"/p/{bundle.handle}/presentation.json", params={"credential": "nope"})
    assert r.status_code == 404, r.text

    r = client.patch(
        f"/api/v1/candidates/{bundle.candidate}/portfolio",
        json={"visibility": "hidden"},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/p/{bundle.handle}/presentation.json").status_code == 404
    assert client.get("/p/no-such-handle/presentation.json").status_code == 404
