"""``POST /credentials/issue`` answers what the W3C CCG issuer test suite expects.

Source: github.com/w3c-ccg/vc-api-issuer-test-suite ``tests/10-issuer.js`` (each case
posts a body built from ``createRequestBody`` and asserts ``shouldThrowInvalidInput``,
``tests/assertions.js``: "Expected status code 400 invalid input!") and the VC-API's
``issuer.yml`` (``/credentials/issue`` 400: "Another condition that results in a Bad
Request"). The codes stay the structural rule's (``credential.context``, …), so a caller
learns which rule the credential broke; a credential that is well formed but breaks
another rule is still 422 (``test_vcapi_conformance.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import func, select

from badgeworks.db.models import Credential
from badgeworks.db.status import StatusEntry
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, make_issuer
from tests.plain_credentials import NO_ISSUER, plain_credential

MISSING = object()


@pytest.fixture(scope="module")
def iapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    tmp: Path = tmp_path_factory.mktemp("issue-answers")
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'issue.db'}",
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
    )
    application = create_app(settings, clock=lambda: NOW)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def http(iapp: FastAPI) -> TestClient:
    return TestClient(iapp, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def issuer(iapp: FastAPI) -> IssuerHandle:
    return make_issuer(iapp, "suite")


def _with(issuer: IssuerHandle, name: str, value: Any) -> dict[str, Any]:
    credential = plain_credential(issuer.did)
    if value is MISSING:
        del credential[name]
    else:
        credential[name] = value
    return credential


def _issue(http: TestClient, who: IssuerHandle, body: Any) -> Any:
    return http.post("/credentials/issue", json=body, headers=who.auth)


def _counts(app: FastAPI) -> tuple[int, int]:
    """Credentials stored and status entries claimed: a refused request changes neither."""
    with app.state.session_factory() as session:
        credentials = session.exec(select(func.count()).select_from(Credential)).one()
        entries = session.exec(select(func.count()).select_from(StatusEntry)).one()
    return credentials, entries


def test_a_valid_request_is_201_with_an_issued_credential(
    http: TestClient, issuer: IssuerHandle
) -> None:
    """``MUST successfully issue a credential.``: 201, and ``shouldBeIssuedVc``: an object
    with ``@context``, ``type`` containing VerifiableCredential, a string ``id``,
    ``credentialSubject``, ``issuer`` and ``proof``."""
    r = _issue(http, issuer, {"credential": plain_credential(issuer.did)})
    assert r.status_code == 201, r.text
    vc = r.json()["verifiableCredential"]
    assert "VerifiableCredential" in vc["type"] and isinstance(vc["id"], str)
    assert vc["issuer"] == issuer.did and isinstance(vc["proof"], dict)


def test_the_body_must_have_credential(
    iapp: FastAPI, http: TestClient, issuer: IssuerHandle
) -> None:
    """``Request body MUST have property "credential".``: the suite moves the credential
    to ``verifiableCredential``; an unknown field is data we do not understand, which the
    VC-API says MUST be an error."""
    before = _counts(iapp)
    credential = plain_credential(issuer.did)
    r = _issue(http, issuer, {"verifiableCredential": credential})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "vcapi.field_unknown"
    assert "verifiableCredential" in r.json()["error"]
    bodies: list[dict[str, Any]] = [{}, {"credential": None}, {"options": {}}]
    for body in bodies:
        r = _issue(http, issuer, body)
        assert (r.status_code, r.json()["code"]) == (400, "vcapi.credential_missing"), body
    r = _issue(http, issuer, {"credential": credential, "extra": 1})
    assert (r.status_code, r.json()["code"]) == (400, "vcapi.field_unknown")
    assert _counts(iapp) == before


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [
        # credential MUST have property "@context"; "@context" MUST be an array; items
        # MUST be strings or objects (the suite sends 4, false, null and [] in turn).
        ("@context", MISSING, "credential.context"),
        ("@context", 4, "credential.context"),
        ("@context", False, "credential.context"),
        ("@context", None, "credential.null_value"),
        ("@context", [], "credential.null_value"),
        ("@context", ["https://www.w3.org/ns/credentials/v2", 4], "credential.context"),
        # credential MUST have property "type"; "credential.type" MUST be an array; its
        # items MUST be strings (null, true, 4, [] in turn).
        ("type", MISSING, "credential.type"),
        ("type", 4, "credential.type"),
        ("type", None, "credential.null_value"),
        ("type", True, "credential.type"),
        ("type", [], "credential.null_value"),
        ("type", [2, "VerifiableCredential"], "credential.type"),
        # credential MUST have property "credentialSubject"; it MUST be an object (null,
        # true, 4, [] and 'did:example:1234' in turn).
        ("credentialSubject", MISSING, "credential.subject"),
        ("credentialSubject", None, "credential.null_value"),
        ("credentialSubject", True, "credential.subject"),
        ("credentialSubject", 4, "credential.subject"),
        ("credentialSubject", [], "credential.null_value"),
        ("credentialSubject", "did:example:1234", "credential.subject"),
    ],
)
def test_a_malformed_context_type_or_subject_is_a_400(
    iapp: FastAPI, http: TestClient, issuer: IssuerHandle, name: str, value: Any, code: str
) -> None:
    before = _counts(iapp)
    r = _issue(http, issuer, {"credential": _with(issuer, name, value)})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == code, r.text
    assert name in r.json()["error"]
    assert _counts(iapp) == before  # nothing stored, no status index claimed


def test_a_credential_that_is_not_an_object_is_a_400(
    http: TestClient, issuer: IssuerHandle
) -> None:
    not_objects: list[Any] = [4, "x", [], True]
    for credential in not_objects:
        r = _issue(http, issuer, {"credential": credential})
        assert (r.status_code, r.json()["code"]) == (400, "credential.not_object"), credential


def test_a_credential_without_issuer_is_a_400_naming_ours(
    iapp: FastAPI, http: TestClient, issuer: IssuerHandle
) -> None:
    """``credential MUST have property "issuer"`` (the suite expects 400); VC Data Model
    2.0 §4.7: "A verifiable credential MUST have an issuer property". The service does not
    fill it in: the message says which value this token signs as."""
    before = _counts(iapp)
    r = _issue(http, issuer, {"credential": plain_credential(NO_ISSUER)})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "vcapi.issuer_missing"
    assert issuer.did in r.json()["error"]
    assert _counts(iapp) == before
    # "credential.issuer" MUST be a string or an object: null, true, 4, [] in turn.
    malformed: list[Any] = [None, True, 4, []]
    for value in malformed:
        r = _issue(http, issuer, {"credential": plain_credential(value)})
        assert (r.status_code, r.json()["code"]) == (400, "vcapi.issuer_invalid"), value
    # Our own DID, as a string or as the id of an object, is issued.
    ours: list[Any] = [issuer.did, {"id": issuer.did, "name": "Suite"}]
    for given in ours:
        r = _issue(http, issuer, {"credential": plain_credential(given)})
        assert r.status_code == 201, r.text


def test_other_rules_stay_422(http: TestClient, issuer: IssuerHandle) -> None:
    """A well-formed request whose credential breaks a rule beyond its shape names a
    credential we will not sign (422), not a malformed request."""
    cases: dict[str, dict[str, Any]] = {
        "credential.valid_from": {"validFrom": "yesterday"},
        "context.not_allowed": {
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/unknown"]
        },
        "jsonld.dropped_term": {"credentialSubject": {"undefinedTerm": 1}},
    }
    for code, change in cases.items():
        r = _issue(http, issuer, {"credential": {**plain_credential(issuer.did), **change}})
        assert (r.status_code, r.json()["code"]) == (422, code), r.text


def test_the_openapi_document_states_the_request(http: TestClient) -> None:
    schema = http.get("/openapi.json").json()
    body = schema["components"]["schemas"]["IssueRequest"]
    assert body["required"] == ["credential"]
    assert body["additionalProperties"] is False
    assert body["properties"]["credential"]["type"] == "object"
