"""An issuer's cryptosuite: ``eddsa-rdfc-2022`` (the default) or ``eddsa-jcs-2022``
(vc-di-eddsa §3.2, §3.3), set through the API, the console and the command line, and used
by every path that signs for that issuer: project completion, bulk rows, the VC-API,
status list credentials and the endorsements of its mentors and hosts. Credentials signed
before a change keep their proofs (they are stored verbatim); a value we cannot sign with
is refused with a code and, in the console, a message in English and Spanish.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.models import Credential
from badgeworks.services.issuance import bulk
from badgeworks.services.programs import issuers
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import csrf_of
from tests.issuer_app import BASE, IssuerHandle, draft_project
from tests.mentor_reviews import HTML, invite, open_form, review_path

__all__ = ["fast_scrypt"]

JCS = "eddsa-jcs-2022"
RDFC = "eddsa-rdfc-2022"
ADMIN = {"Authorization": "Bearer admin-test-token-0123456789-abcdefghij"}
VC = {"Accept": "application/vc+ld+json"}
BULK_HEADER = "achievement_id,candidate_name,candidate_email,project_title,host_name,external_id\n"
Json = dict[str, Any]


def suites(document: Json) -> list[str]:
    """The cryptosuite of each proof of ``document`` (a proof or a one-element set)."""
    proofs = document["proof"] if isinstance(document["proof"], list) else [document["proof"]]
    return [p["cryptosuite"] for p in proofs]


def set_cryptosuite(client: TestClient, who: IssuerHandle, name: Any) -> Any:
    return client.patch(f"/api/v1/issuers/{who.slug}", json={"cryptosuite": name}, headers=who.auth)


def verified(client: TestClient, document: Json) -> Json:
    """Our verifier's report (the VC-API's verify, the public pipeline)."""
    r = client.post("/credentials/verify", json={"verifiableCredential": document})
    body: Json = r.json()
    return body


def issue_everything(app: FastAPI, client: TestClient, who: IssuerHandle) -> dict[str, Json]:
    """One credential from each signing path of ``who``, as served or answered."""
    out: dict[str, Json] = {}
    ids = draft_project(client, who)
    mentor = invite(client, who, ids["project"], organization="Northwind Traders")
    path = review_path(mentor)
    r = client.post(
        path,
        data={"nonce": open_form(client, path), "rating.quality": "exceeds", "comment": "Great."},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    out["mentor endorsement"] = client.get(r.headers["location"].split("?")[0], headers=VC).json()
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    out["completion"] = r.json()["credential"]
    (out["embedded endorsement"],) = out["completion"]["endorsement"]
    host = invite(
        client, who, ids["project"], kind="host", name="Northwind", email="p@northwind.example"
    )
    hpath = review_path(host)
    r = client.post(hpath, data={"nonce": open_form(client, hpath), "comment": "Thanks."})
    assert r.status_code == 201, r.text
    out["host endorsement"] = client.get(r.json()["json_url"].removeprefix(BASE)).json()

    second = draft_project(client, who)
    row = f"{second['achievement']},Bo Row,bo@example.org,Project B,Host,row-1\n"
    with app.state.session_factory() as session:
        issuer = issuers.get_issuer(session, who.slug)
        checked = bulk.check(session, issuer, (BULK_HEADER + row).encode())
        assert not checked.problems, checked.problems
        (result,) = bulk.issue_rows(session, app.state.ctx, issuer, checked.good, actor="test")
        assert result.outcome == "issued", result
        stored = session.get(Credential, result.credential_id)
        assert stored is not None
        out["bulk row"] = json.loads(stored.document)

    r = client.post(
        "/credentials/issue",
        json={
            "credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": out["completion"]["issuer"]["id"],
                "credentialSubject": {"id": "did:example:alice"},
            }
        },
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    out["vc-api"] = r.json()["verifiableCredential"]
    status_url = out["completion"]["credentialStatus"]["statusListCredential"]
    out["status list"] = client.get(status_url.removeprefix(BASE)).json()
    return out


def test_the_default_is_rdfc_and_every_path_of_a_jcs_issuer_signs_with_jcs(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    assert client.get("/api/v1/issuers/acme").json()["cryptosuite"] == RDFC
    r = set_cryptosuite(client, acme, JCS)
    assert r.status_code == 200, r.text
    assert r.json()["cryptosuite"] == JCS
    documents = issue_everything(app, client, acme)
    for name, document in documents.items():
        assert suites(document) == [JCS], name
        report = verified(client, document)
        assert report["verified"], (name, report.get("errors"))
    # The proof covers the document as JCS text, and carries the document's contexts
    # (vc-di-eddsa §3.3.1 step 2).
    proof = documents["completion"]["proof"][0]
    assert proof["@context"] == documents["completion"]["@context"]


def test_an_issuer_created_with_jcs_signs_with_it(app: FastAPI, client: TestClient) -> None:
    r = client.post(
        "/api/v1/issuers",
        json={"slug": "jcs-academy", "name": "JCS Academy", "cryptosuite": JCS},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    assert r.json()["cryptosuite"] == JCS
    with app.state.session_factory() as session:
        assert issuers.get_issuer(session, "jcs-academy").cryptosuite == JCS


def test_changing_the_setting_leaves_issued_credentials_as_they_were(
    client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    before = r.json()["credential"]
    url = before["id"].removeprefix(BASE)
    served_before = client.get(url, headers=VC).content
    assert suites(before) == [RDFC]

    assert set_cryptosuite(client, acme, JCS).status_code == 200
    served_after = client.get(url, headers=VC).content
    assert served_after == served_before  # byte for byte: signed text is never rebuilt
    assert verified(client, json.loads(served_after))["verified"]
    # And back: neither change touches what was signed in between.
    later = client.post(
        f"/api/v1/projects/{draft_project(client, acme)['project']}/complete", headers=acme.auth
    ).json()["credential"]
    assert suites(later) == [JCS]
    assert set_cryptosuite(client, acme, RDFC).status_code == 200
    assert client.get(later["id"].removeprefix(BASE), headers=VC).json() == later
    assert verified(client, later)["verified"]
    assert client.get(url, headers=VC).content == served_before


def test_values_we_cannot_sign_with_are_refused_with_a_code(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    # eddsa-2022 is verify-only, Ed25519Signature2020 is a proof type, not a cryptosuite.
    for bad in ("eddsa-2022", "Ed25519Signature2020", "EDDSA-JCS-2022", "", None, "x" * 64):
        r = set_cryptosuite(client, acme, bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["code"] == "issuer.cryptosuite_unsupported", (bad, r.text)
        assert "eddsa-rdfc-2022" in r.json()["error"] and JCS in r.json()["error"]
    malformed: tuple[Any, ...] = (4, ["eddsa-jcs-2022"], "x" * 65)
    for value in malformed:
        r = set_cryptosuite(client, acme, value)
        assert r.status_code == 422 and r.json()["code"] == "request.invalid", (value, r.text)
    r = client.post(
        "/api/v1/issuers",
        json={"slug": "bad-suite", "name": "Bad Suite", "cryptosuite": "eddsa-2022"},
        headers=ADMIN,
    )
    assert r.status_code == 422 and r.json()["code"] == "issuer.cryptosuite_unsupported"
    assert client.get("/api/v1/issuers/bad-suite").status_code == 404
    assert client.get("/api/v1/issuers/acme").json()["cryptosuite"] == RDFC


def test_the_console_setting_in_english_and_spanish(
    app: FastAPI, client: TestClient, acme: IssuerHandle, fast_scrypt: None
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    sign_in(client, "owner@acme.example")
    page = client.get("/console/acme/settings")
    assert 'name="cryptosuite"' in page.text
    assert '<option value="eddsa-rdfc-2022" selected>' in page.text
    r = client.post(
        "/console/acme/settings/cryptosuite",
        data={"csrf_token": csrf_of(page.text), "cryptosuite": JCS},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    done = client.get(r.headers["location"])
    assert "Credentials signed from now on use it" in done.text
    assert '<option value="eddsa-jcs-2022" selected>' in done.text
    with app.state.session_factory() as session:
        assert issuers.get_issuer(session, "acme").cryptosuite == JCS

    for lang, words in (
        ("en", "That cryptosuite is not one this service signs with"),
        ("es", "Este servicio no firma con ese conjunto criptográfico"),
    ):
        page = client.get(f"/console/acme/settings?lang={lang}")
        r = client.post(
            f"/console/acme/settings/cryptosuite?lang={lang}",
            data={"csrf_token": csrf_of(page.text), "cryptosuite": "eddsa-2022"},
        )
        assert r.status_code == 422, r.text
        assert words in r.text, lang
    with app.state.session_factory() as session:
        assert issuers.get_issuer(session, "acme").cryptosuite == JCS


def test_only_owners_change_it_in_the_console(
    app: FastAPI, client: TestClient, acme: IssuerHandle, fast_scrypt: None
) -> None:
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    sign_in(client, "viewer@acme.example")
    page = client.get("/console/acme/settings")
    assert 'name="cryptosuite"' not in page.text and RDFC in page.text
    r = client.post(
        "/console/acme/settings/cryptosuite",
        data={"csrf_token": csrf_of(page.text), "cryptosuite": JCS},
    )
    assert r.status_code == 403
    with app.state.session_factory() as session:
        assert issuers.get_issuer(session, "acme").cryptosuite == RDFC


def test_stored_rows_keep_their_text_when_the_setting_changes(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    draft = draft_project(client, acme)
    assert client.post(f"/api/v1/projects/{draft['project']}/complete", headers=acme.auth)
    with app.state.session_factory() as session:
        before = {row.id: row.document for row in session.exec(select(Credential))}
    assert before
    assert set_cryptosuite(client, acme, JCS).status_code == 200
    with app.state.session_factory() as session:
        after = {row.id: row.document for row in session.exec(select(Credential))}
    assert after == before


def test_the_vc_api_has_no_per_request_cryptosuite(client: TestClient, acme: IssuerHandle) -> None:
    """The VC-API's IssueCredentialOptions define no cryptosuite (additionalProperties:
    false; the issuer instance's configuration decides), so asking for one is refused as
    an unknown option ("Implementations MUST throw an error if an endpoint receives data,
    options, or option values that it does not understand"), never silently ignored."""
    issuer = client.get("/api/v1/issuers/acme").json()["did"]
    r = client.post(
        "/credentials/issue",
        json={
            "credential": {
                "@context": ["https://www.w3.org/ns/credentials/v2"],
                "type": ["VerifiableCredential"],
                "issuer": issuer,
                "credentialSubject": {"id": "did:example:alice"},
            },
            "options": {"cryptosuite": JCS},
        },
        headers=acme.auth,
    )
    assert r.status_code == 400 and r.json()["code"] == "vcapi.option_unknown", r.text
