"""VC-API endpoints: what the W3C CCG conformance suites check, one test each.

One app (SQLite) for the module keeps these many small tests fast; the lifecycle tests
run every database path on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.proof import add_proof
from badgeworks.core.verification.presentation import create_presentation, sign_presentation
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, make_issuer
from tests.plain_credentials import VC2, plain_credential, row_id
from tests.signers import sign_vc_jwt

VC1 = "https://www.w3.org/2018/credentials/v1"
#: Each case below that breaks one of these rules breaks it at @context, type or
#: credentialSubject (tests/services/exchange/test_vcapi_issue_answers.py has the rule).
SHAPE_CODES = {
    "credential.context",
    "credential.type",
    "credential.subject",
    "credential.null_value",
}


@pytest.fixture(scope="module")
def vapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    tmp: Path = tmp_path_factory.mktemp("vcapi")
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'vcapi.db'}",
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
        max_json_bytes=64 * 1024,
        # Dozens of anonymous verify calls from one test client; the shared per-client
        # limit is tested in tests/web/verifier/test_bad_input.py::test_rate_limit.
        verify_rate_per_minute=0,
        verify_rate_burst=0,
    )
    application = create_app(settings, clock=lambda: NOW)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def vclient(vapp: FastAPI) -> TestClient:
    return TestClient(vapp, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def issuer(vapp: FastAPI) -> IssuerHandle:
    return make_issuer(vapp, "vcapi")


@pytest.fixture(scope="module")
def signed(vclient: TestClient, issuer: IssuerHandle) -> dict[str, Any]:
    r = vclient.post(
        "/credentials/issue", json={"credential": plain_credential(issuer.did)}, headers=issuer.auth
    )
    assert r.status_code == 201, r.text
    vc: dict[str, Any] = r.json()["verifiableCredential"]
    return vc


def _issue(client: TestClient, who: IssuerHandle, credential: Any, **body: Any) -> Any:
    return client.post(
        "/credentials/issue", json={"credential": credential, **body}, headers=who.auth
    )


def _verify(client: TestClient, vc: Any, **options: Any) -> Any:
    body: dict[str, Any] = {"verifiableCredential": vc}
    if options:
        body["options"] = options
    return client.post("/credentials/verify", json=body)


def _codes(response: Any) -> list[str]:
    return [c["code"] for c in response.json()["checks"]]


# --- issue ------------------------------------------------------------------------------


def test_issue_returns_201_signed_hosted_credential(
    vclient: TestClient, signed: dict[str, Any], issuer: IssuerHandle
) -> None:
    assert signed["id"].startswith("http://127.0.0.1:8000/credentials/")
    assert signed["issuer"].startswith("did:web:")
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["verificationMethod"].startswith(signed["issuer"] + "#")
    assert proof["proofValue"].startswith("z")
    hosted = vclient.get(f"/credentials/{row_id(signed)}", headers={"Accept": "application/json"})
    assert hosted.json() == signed


def test_issue_carries_well_formed_status_entries(signed: dict[str, Any]) -> None:
    for entry, purpose in zip(
        signed["credentialStatus"], ("revocation", "suspension"), strict=True
    ):
        assert entry["type"] == "BitstringStatusListEntry"
        assert entry["statusPurpose"] == purpose
        assert (
            entry["statusListIndex"].isdigit()
            and str(int(entry["statusListIndex"])) == entry["statusListIndex"]
        )
        assert entry["statusListCredential"].startswith("http://127.0.0.1:8000/status/vcapi/")


def test_issue_indexes_are_random_not_sequential(vclient: TestClient, issuer: IssuerHandle) -> None:
    indexes = [
        int(
            _issue(vclient, issuer, plain_credential(issuer.did)).json()["verifiableCredential"][
                "credentialStatus"
            ][0]["statusListIndex"]
        )
        for _ in range(5)
    ]
    assert len(set(indexes)) == 5
    assert indexes != sorted(indexes) or max(indexes) - min(indexes) > 100


def test_issue_keeps_profile_fields_of_the_callers_issuer(
    vclient: TestClient, issuer: IssuerHandle, signed: dict[str, Any]
) -> None:
    did = signed["issuer"]
    r = _issue(vclient, issuer, plain_credential(issuer={"id": did, "name": "Mine"}))
    vc = r.json()["verifiableCredential"]
    assert vc["issuer"] == {"id": did, "name": "Mine"}
    assert did.startswith("did:web:")


def test_issue_keeps_urn_uuid_id_and_refuses_foreign_ids(
    vclient: TestClient, issuer: IssuerHandle
) -> None:
    urn = "urn:uuid:2f0b4f3e-6a53-4c1e-9d35-1f7c1e0e2a11"
    r = _issue(vclient, issuer, plain_credential(issuer.did, id=urn))
    assert r.status_code == 201 and r.json()["verifiableCredential"]["id"] == urn
    hosted = vclient.get("/credentials/2f0b4f3e-6a53-4c1e-9d35-1f7c1e0e2a11.json")
    assert hosted.json()["id"] == urn
    assert _issue(vclient, issuer, plain_credential(issuer.did, id=urn)).status_code == 422
    for foreign in ("https://other.example/c/1", "http://127.0.0.1:8000/credentials/x", 5):
        r = _issue(vclient, issuer, plain_credential(issuer.did, id=foreign))
        assert r.status_code == 422, (foreign, r.text)


def test_issue_vc_1_1_credential(vclient: TestClient, issuer: IssuerHandle) -> None:
    credential = {
        "@context": [VC1],
        "type": ["VerifiableCredential"],
        "issuer": issuer.did,
        "credentialSubject": {"id": "did:example:bob"},
    }
    r = _issue(vclient, issuer, credential)
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert vc["issuanceDate"] == "2025-06-01T12:00:00Z"
    # The proof needs the Data Integrity context on VC 1.1; nothing else is added.
    assert vc["@context"] == [VC1, "https://w3id.org/security/data-integrity/v2"]
    assert "credentialStatus" not in vc
    assert _verify(vclient, vc).status_code == 200


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"@context": ["https://example.org/ctx"]}, "credential.context"),
        ({"@context": [VC2, 5]}, "credential.context"),
        ({"@context": None}, "credential.null_value"),
        ({"type": ["Thing"]}, "credential.type"),
        ({"type": None}, "credential.null_value"),
        ({"name": 5}, "credential.name"),
        ({"description": 5}, "credential.description"),
        ({"credentialSubject": None}, "credential.null_value"),
        ({"credentialSubject": 5}, "credential.subject"),
        ({"validFrom": "yesterday"}, "credential.valid_from"),
        ({"validFrom": "2025-01-02T00:00:00Z", "validUntil": "2025-01-01T00:00:00Z"}, None),
        ({"credentialSchema": {"id": "https://example.org/s"}}, "credential.schema"),
        ({"refreshService": {"id": "https://example.org/r"}}, "credential.refresh_service"),
        ({"termsOfUse": {"id": "https://example.org/t"}}, "credential.terms_of_use"),
        ({"evidence": [{"id": "https://example.org/e"}]}, "credential.evidence"),
        ({"credentialStatus": {"id": "https://example.org/s"}}, "credential.status"),
        ({"credentialStatus": [5]}, "credential.status"),
        ({"credentialStatus": {"id": "rel/x", "type": "Other"}}, "credential.status"),
        (
            {"credentialStatus": {"type": "BitstringStatusListEntry", "statusListIndex": 1}},
            "vcapi.status_not_ours",
        ),
        ({"relatedResource": [{"id": "https://example.org/r"}]}, "credential.related_resource"),
        (
            {
                "relatedResource": [
                    {"id": "https://example.org/r", "digestSRI": "sha256-x"},
                    {"id": "https://example.org/r", "digestSRI": "sha256-x"},
                ]
            },
            "credential.related_resource",
        ),
        ({"proof": {"type": "DataIntegrityProof"}}, "credential.already_signed"),
        ({"credentialSubject": {"undefinedTerm": 1}}, "jsonld.dropped_term"),
        ({"type": ["VerifiableCredential", "UndefinedType"]}, None),
        ({"credentialSubject": {"id": "relative/iri"}}, None),
    ],
)
def test_issue_rejects_input_it_cannot_secure(
    vclient: TestClient, issuer: IssuerHandle, change: dict[str, Any], code: str | None
) -> None:
    r = _issue(vclient, issuer, {**plain_credential(issuer.did), **change})
    assert r.status_code in (400, 422), r.text
    body = r.json()
    # A missing or malformed @context, type or credentialSubject is a bad request (400, as
    # the W3C issuer test suite expects); every other rule names a credential we refuse
    # to sign (422). The code is the rule's either way.
    assert r.status_code == (400 if body["code"] in SHAPE_CODES else 422), body
    assert body["ok"] is False and body["error"]
    if code is not None:
        assert body["code"].startswith(code.split(".")[0]), body
        assert body["code"] == code, body


def test_issue_rejects_bad_requests_without_a_500(
    vclient: TestClient, issuer: IssuerHandle
) -> None:
    bad: list[Any] = [
        b"{",
        b"[]",
        b'"x"',
        b"null",
        json.dumps({"credential": []}).encode(),
        json.dumps({"credential": "x"}).encode(),
        json.dumps(
            {"credential": plain_credential(issuer.did), "options": {"created": "x"}}
        ).encode(),
        json.dumps({"credential": plain_credential(issuer.did), "options": []}).encode(),
        json.dumps({"credential": plain_credential(issuer.did), "extra": 1}).encode(),
        json.dumps({"credential": plain_credential(issuer.did, name="a\u0000b")}).encode(),
        json.dumps({"credential": plain_credential(issuer.did, name="x" * 70_000)}).encode(),
        b'{"credential":' + b"[" * 5000 + b"]" * 5000 + b"}",
        '{"credential": {"@context": ["\ud800"]}}'.encode("utf-8", "surrogatepass"),
    ]
    for body in bad:
        r = vclient.post(
            "/credentials/issue",
            content=body,
            headers={**issuer.auth, "Content-Type": "application/json"},
        )
        assert 400 <= r.status_code < 500, (body[:60], r.status_code, r.text[:200])
        assert r.json()["ok"] is False
    assert (
        vclient.post(
            "/credentials/issue", json={"credential": plain_credential(issuer.did)}
        ).status_code
        == 401
    )
    r = vclient.post(
        "/credentials/issue",
        json={"credential": plain_credential(issuer.did)},
        headers={"Authorization": "Bearer nope"},
    )
    assert r.status_code == 401


# --- verify -----------------------------------------------------------------------------


def test_verify_valid_credential_is_200_with_report(
    vclient: TestClient, signed: dict[str, Any]
) -> None:
    r = _verify(vclient, signed)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True and body["errors"] == []
    assert "status.ok" in _codes(r) and "issuer.known" in _codes(r)


def test_verify_tampered_credential_is_422_with_the_same_report_shape(
    vclient: TestClient, signed: dict[str, Any]
) -> None:
    tampered = {**signed, "credentialSubject": {"id": "did:example:mallory"}}
    r = _verify(vclient, tampered)
    assert r.status_code == 422
    assert r.json()["verified"] is False and "proof.signature_invalid" in _codes(r)
    assert r.json()["errors"][0]["code"]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda p: "not an object", "proof.malformed"),
        (lambda p: {k: v for k, v in p.items() if k != "type"}, "proof."),
        (lambda p: {k: v for k, v in p.items() if k != "verificationMethod"}, "proof."),
        (lambda p: {k: v for k, v in p.items() if k != "proofPurpose"}, "proof."),
        (lambda p: {**p, "cryptosuite": "ecdsa-rdfc-2019"}, "proof.unsupported_cryptosuite"),
        (lambda p: {**p, "proofPurpose": "authentication"}, "proof.purpose_mismatch"),
        (lambda p: {**p, "proofValue": "not-base58"}, "proof."),
        (lambda p: {**p, "proofValue": "z" + "1" * 10}, "proof."),
        (lambda p: {**p, "verificationMethod": "relative#key"}, ""),
    ],
)
def test_verify_rejects_broken_proofs(
    vclient: TestClient, signed: dict[str, Any], mutate: Any, code: str
) -> None:
    broken = {**signed, "proof": mutate(dict(signed["proof"]))}
    r = _verify(vclient, broken)
    assert r.status_code == 422, r.text
    assert any(c.startswith(code) for c in _codes(r)), _codes(r)


def test_verify_rejects_undefined_terms(vclient: TestClient, signed: dict[str, Any]) -> None:
    added = copy.deepcopy(signed)
    added["credentialSubject"]["undefinedTerm"] = "x"
    r = _verify(vclient, added)
    assert r.status_code == 422


def _did_key_credential(loader: Any, *, proofs: int = 1, chain: bool = False) -> dict[str, Any]:
    key = Ed25519KeyPair.generate()
    credential = {
        "@context": [VC2],
        "type": ["VerifiableCredential"],
        "issuer": key.controller,
        "credentialSubject": {"id": "did:example:alice"},
    }
    signed = add_proof(credential, key, loader, created=NOW, proof_id="urn:uuid:p1")
    for n in range(1, proofs):
        options: dict[str, Any] = {"created": NOW, "proof_id": f"urn:uuid:p{n + 1}"}
        if chain:
            options["previous_proof"] = f"urn:uuid:p{n}"
        signed = add_proof(signed, key, loader, **options)
    return signed


def test_verify_resolves_did_key_offline_and_accepts_proof_sets_and_chains(
    vapp: FastAPI, vclient: TestClient
) -> None:
    loader = vapp.state.ctx.loader
    for vc in (
        _did_key_credential(loader),
        _did_key_credential(loader, proofs=2),
        _did_key_credential(loader, proofs=2, chain=True),
    ):
        r = _verify(vclient, vc)
        assert r.status_code == 200, r.text
    one_bad = _did_key_credential(loader, proofs=2)
    one_bad["proof"][1]["proofValue"] = one_bad["proof"][0]["proofValue"]
    assert _verify(vclient, one_bad).status_code == 422
    missing = _did_key_credential(loader, proofs=2, chain=True)
    missing["proof"] = [missing["proof"][1]]
    r = _verify(vclient, missing)
    assert r.status_code == 422 and "proof.previous_missing" in _codes(r)


def test_verify_vc_jwt_string(vapp: FastAPI, vclient: TestClient) -> None:
    key = Ed25519KeyPair.generate()
    credential = {
        "@context": [VC2],
        "type": ["VerifiableCredential"],
        "issuer": key.controller,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:alice"},
    }
    token = sign_vc_jwt(credential, key)
    r = _verify(vclient, token)
    assert r.status_code == 200, r.text
    assert _verify(vclient, token[:-4] + "AAAA").status_code == 422


def test_verify_challenge_and_domain_options(vclient: TestClient, signed: dict[str, Any]) -> None:
    r = _verify(vclient, signed, challenge="abc")
    assert r.status_code == 422 and "proof.challenge_mismatch" in _codes(r)
    r = vclient.post(
        "/credentials/verify", json={"verifiableCredential": signed, "options": {"bogus": 1}}
    )
    assert r.status_code == 400 and r.json()["code"] == "vcapi.option_unknown"


def test_verify_bad_requests_without_a_500(vclient: TestClient) -> None:
    for body in (
        b"{",
        b"[]",
        b"{}",
        b'{"verifiableCredential": 5}',
        b'{"verifiableCredential": []}',
        b'{"verifiableCredential": "not a jwt"}',
        b'{"verifiableCredential": {}}',
        b'{"verifiableCredential": {"proof": 5, "@context": 7}}',
        b'{"verifiableCredential": {"@context": ["https://www.w3.org/ns/credentials/v2"], '
        b'"type": "VerifiableCredential", "credentialSubject": {}, "issuer": "did:web:127.0.0.1",'
        b' "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",'
        b' "statusListIndex": "1", "statusListCredential": "http://169.254.169.254/x"}}}',
        b'{"verifiableCredential":' + b'{"a":' * 3000 + b"1" + b"}" * 3000 + b"}",
    ):
        r = vclient.post(
            "/credentials/verify", content=body, headers={"Content-Type": "application/json"}
        )
        assert 200 <= r.status_code < 500, (body[:60], r.text[:300])
        assert r.status_code != 200 or r.json()["verified"] is True


# --- presentations ----------------------------------------------------------------------


def test_presentations_verify_unsigned_and_signed(
    vapp: FastAPI, vclient: TestClient, signed: dict[str, Any]
) -> None:
    unsigned = create_presentation([signed])
    r = vclient.post("/presentations/verify", json={"verifiablePresentation": unsigned})
    assert r.status_code == 200, r.text
    assert r.json()["credentialResults"][0]["verified"] is True

    holder = Ed25519KeyPair.generate()
    vp = create_presentation([signed], holder=holder.controller)
    loader = vapp.state.ctx.loader
    signed_vp = sign_presentation(vp, holder, loader, now=NOW, challenge="c-1", domain="ex.org")
    options = {"challenge": "c-1", "domain": "ex.org"}
    r = vclient.post(
        "/presentations/verify", json={"verifiablePresentation": signed_vp, "options": options}
    )
    assert r.status_code == 200, r.text
    for wrong in ({"challenge": "c-2", "domain": "ex.org"}, {"challenge": "c-1", "domain": "x"}):
        r = vclient.post(
            "/presentations/verify", json={"verifiablePresentation": signed_vp, "options": wrong}
        )
        assert r.status_code == 422
    r = vclient.post(
        "/presentations/verify",
        json={"verifiablePresentation": unsigned, "options": {"challenge": "c-1"}},
    )
    assert r.status_code == 422
    for body in (b"{", b"{}", b'{"verifiablePresentation": []}', b'{"verifiablePresentation": {}}'):
        r = vclient.post(
            "/presentations/verify", content=body, headers={"Content-Type": "application/json"}
        )
        assert 400 <= r.status_code < 500


# --- status -----------------------------------------------------------------------------


def test_credentials_status_endpoint(
    vapp: FastAPI, vclient: TestClient, issuer: IssuerHandle
) -> None:
    vc = _issue(vclient, issuer, plain_credential(issuer.did)).json()["verifiableCredential"]

    def update(status: str, cid: str | None = None) -> Any:
        return vclient.post(
            "/credentials/status",
            json={
                "credentialId": cid or vc["id"],
                "credentialStatus": [{"type": "BitstringStatusListEntry", "status": status}],
            },
            headers=issuer.auth,
        )

    r = update("suspended")
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert "status.suspended" in _codes(_verify(vclient, vc))
    assert update("suspended").status_code == 409
    assert update("unsuspended").status_code == 200
    assert _verify(vclient, vc).status_code == 200
    assert update("revoked").status_code == 200
    assert "status.revoked" in _codes(_verify(vclient, vc))
    assert update("revoked").status_code == 409
    assert update("suspended").status_code == 409
    assert update("revoked", "https://other.example/c/1").status_code == 404
    other = make_issuer(vapp, "other")
    r = vclient.post(
        "/credentials/status",
        json={"credentialId": vc["id"], "credentialStatus": [{"status": "revoked"}]},
        headers=other.auth,
    )
    assert r.status_code == 404
    for body in (
        {},
        {"credentialId": vc["id"]},
        {"credentialId": vc["id"], "credentialStatus": []},
        {"credentialId": vc["id"], "credentialStatus": [{"status": "bogus"}]},
        {"credentialId": 5, "credentialStatus": [{"status": "revoked"}]},
    ):
        assert (
            vclient.post("/credentials/status", json=body, headers=issuer.auth).status_code == 422
        )
    assert vclient.post("/credentials/status", json={}).status_code == 401


def test_now_is_fixed() -> None:
    assert datetime(2025, 6, 1, 12, 0, tzinfo=UTC) == NOW
