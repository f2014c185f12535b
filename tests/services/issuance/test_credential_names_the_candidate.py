"""Who a credential is about: the candidate's name, signed in as a plain OB 3.0
``IdentityObject`` (``identityType`` ``name``, ``hashed`` false) beside the salted email
hashes, unless the issuer keeps its credentials to the hashes; issued credentials keep
what they say. Both databases.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.identity import identity_hash
from badgeworks.db.models import Credential
from badgeworks.services.issuance import bulk
from badgeworks.services.programs import issuers
from tests.issuer_app import IssuerHandle, draft_project
from tests.services.issuance.test_issued_credentials_match_every_schema import (
    BULK_HEADER,
    _bundled,
    _problems,
)

BASE = "http://127.0.0.1:8000"
NAME = {"type": "IdentityObject", "hashed": False, "identityHash": "Ada Lovelace"}


def _complete(client: TestClient, who: IssuerHandle) -> dict[str, Any]:
    """Complete a drafted project: the API's answer, with ``candidate_id``."""
    ids = draft_project(client, who)
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    body["candidate_id"] = ids["candidate"]
    return body


def _bulk_row(app: FastAPI, client: TestClient, who: IssuerHandle, name: str) -> dict[str, Any]:
    """Issue one bulk row for ``name``; the signed credential as stored."""
    ids = draft_project(client, who)
    row = f"{ids['achievement']},{name},grace@example.org,Compilers,Host,row-1\n"
    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, who.slug)
        checked = bulk.check(session, issuer, (BULK_HEADER + row).encode())
        assert not checked.problems, checked.problems
        (result,) = bulk.issue_rows(session, app.state.ctx, issuer, checked.good, actor="test")
        assert result.outcome == "issued", result
        stored = session.get(Credential, result.credential_id)
        assert stored is not None
        document: dict[str, Any] = json.loads(stored.document)
    return document


def _identifiers(credential: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = credential["credentialSubject"]["identifier"]
    return found


def test_a_credential_names_the_candidate_beside_the_hashed_email(
    client: TestClient, acme: IssuerHandle
) -> None:
    assert client.get(f"/api/v1/issuers/{acme.slug}", headers=acme.auth).json()[
        "name_in_credentials"
    ]
    credential = _complete(client, acme)["credential"]
    email, name = _identifiers(credential)
    assert name == {**NAME, "identityType": "name"}
    assert "salt" not in name
    # The email stays hashed: the plain address is nowhere in the signed text.
    assert email["hashed"] is True and email["identityType"] == "emailAddress"
    assert email["identityHash"] == identity_hash("ada@example.org", email["salt"])
    assert "ada@example.org" not in json.dumps(credential)
    # Valid under every bundled OB 3.0 schema, as a consumer runs them.
    assert _problems(credential, _bundled()) == []
    asserting = _bundled(formats=True)["achievement"]
    assert [n for n, v in asserting if not v.is_valid(credential)] == []


def test_hashed_only_leaves_the_name_out_and_keeps_issued_credentials_as_signed(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    first = _complete(client, acme)
    before = client.get(first["json_url"].removeprefix(BASE)).content
    r = client.patch(
        f"/api/v1/issuers/{acme.slug}", json={"name_in_credentials": False}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["name_in_credentials"] is False
    second = _complete(client, acme)["credential"]
    assert [i["identityType"] for i in _identifiers(second)] == ["emailAddress"]
    assert "Ada Lovelace" not in json.dumps(second["credentialSubject"])
    assert _problems(second, _bundled()) == []
    # The credential signed before the change is served byte for byte as it was.
    assert client.get(first["json_url"].removeprefix(BASE)).content == before
    assert _identifiers(json.loads(before))[-1]["identityHash"] == "Ada Lovelace"
    # Bulk rows follow the same choice.
    bulk_doc = _bulk_row(app, client, acme, "Grace Hopper")
    assert [i["identityType"] for i in _identifiers(bulk_doc)] == ["emailAddress"]


def test_bulk_rows_name_their_candidates(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    document = _bulk_row(app, client, acme, "Grace Hopper")
    assert _identifiers(document)[-1] == {
        **NAME,
        "identityHash": "Grace Hopper",
        "identityType": "name",
    }
    assert _problems(document, _bundled()) == []


def test_the_issuer_setting_refuses_anything_but_true_or_false(
    client: TestClient, acme: IssuerHandle
) -> None:
    for bad in (None, "yes", 1):
        r = client.patch(
            f"/api/v1/issuers/{acme.slug}", json={"name_in_credentials": bad}, headers=acme.auth
        )
        assert r.status_code == 422, (bad, r.text)
        assert "name_in_credentials" in r.text
    assert client.get(f"/api/v1/issuers/{acme.slug}", headers=acme.auth).json()[
        "name_in_credentials"
    ]


def test_the_verifier_and_the_credential_page_show_the_signed_name(
    client: TestClient, acme: IssuerHandle
) -> None:
    issued = _complete(client, acme)
    text = client.get(issued["json_url"].removeprefix(BASE)).text
    r = client.post("/api/v1/verify", json={"credential": text})
    assert r.status_code == 200, r.text
    assert r.json()["credential"]["recipient"]["name"] == "Ada Lovelace"
    page = client.post("/verify", data={"credential": text}, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    assert "data-signed-name>Ada Lovelace<" in page.text
    # The candidate hides their name on the portfolio; the credential still says it.
    r = client.patch(
        f"/api/v1/candidates/{issued['candidate_id']}/portfolio",
        json={"show_name": False},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    html = client.get(issued["html_url"].removeprefix(BASE), headers={"Accept": "text/html"}).text
    assert "data-signed-name>Ada Lovelace<" in html
    assert "named in the signed credential" in html


def test_the_certificate_names_the_candidate_the_credential_names(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    from badgeworks.services.portfolio.certificate import certificate_pdf

    issued = _complete(client, acme)
    # The candidate hides their name on the portfolio; the signed name is still printed.
    r = client.patch(
        f"/api/v1/candidates/{issued['candidate_id']}/portfolio",
        json={"show_name": False},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    with app.state.session_factory() as session:
        row = session.get(Credential, issued["id"])
        assert row is not None
        pdf = certificate_pdf(
            session, app.state.ctx, row, t=lambda key, **_: key, lang="en", compress=False
        )
    assert b"Ada Lovelace" in pdf
    assert b"portfolio.pdf_holder" not in pdf
