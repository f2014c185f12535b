"""Credentials whose keys and status lists live elsewhere, fetched over the network.

- a did:web credential issued by a SECOND local instance (its own database, served by
  uvicorn on another port), revoked there through the lifecycle API;
- revoked and suspended credentials whose Bitstring Status Lists a loopback server serves;
- our own credential revoked through the API, on SQLite and PostgreSQL;
- a credential signed by Digital Bazaar's implementation.

Only this module's verifier allows private addresses (``fetch_allow_private``): the
second instance and the loopback server are on 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.core.proof import add_proof
from badgeworks.core.status import encode_list, new_bitstring, set_status, status_list_credential
from badgeworks.services.verification.public import TrustRegistry, shared_fetcher
from badgeworks.web.app import create_app
from tests.did_key_badges import ISSUED, KEY, badge, signed
from tests.interop.conftest import Harness, harness  # noqa: F401 - the fixture
from tests.issuer_app import NOW
from tests.servers import Loopback, Route
from tests.verifier_app import (
    Instance,
    codes,
    issue_through_api,
    served_instance,
    verifier_settings,
)


@pytest.fixture(scope="module")
def papp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """A verifier that may fetch from 127.0.0.1 (this module only)."""
    application = create_app(
        verifier_settings(tmp_path_factory.mktemp("papp"), fetch_allow_private=True),
        clock=lambda: NOW,
    )
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def pclient(papp: FastAPI) -> TestClient:
    return TestClient(papp, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, str]]:
    """A second badgeworks instance on its own port and database, issuing as did:web."""
    with served_instance(tmp_path_factory.mktemp("second"), "beta") as served:
        yield served


def test_did_web_credential_from_a_second_instance(
    papp: FastAPI, pclient: TestClient, second: tuple[Instance, str], tmp_path: Path
) -> None:
    instance, base = second
    credential = instance.credential
    did = credential["issuer"]["id"]
    assert did == f"did:web:127.0.0.1%3A{base.rsplit(':', 1)[1]}:issuers:beta"
    r = pclient.post("/api/v1/verify", json=credential)
    assert r.status_code == 200, r.text
    found = codes(r.json())
    assert found["proof.verified"] == "pass"
    assert found["issuer.key_match"] == "pass"
    assert found["issuer.unknown"] == "warning"
    assert found["deliverable.match"] == "pass"
    if "credentialStatus" in credential:
        assert found["status.ok"] == "pass"

    # By URL (the credential's own id), on the API and as a QR code's link to the page.
    r = pclient.post("/api/v1/verify", json={"url": credential["id"]})
    assert r.status_code == 200, r.text
    assert codes(r.json())["proof.verified"] == "pass"
    page = pclient.get("/verify", params={"url": credential["id"]})
    assert page.status_code == 200
    assert 'data-verdict="verified_with_warnings"' in page.text
    assert f"Checked the credential at {credential['id']}." in page.text

    # Tampered in transit: the signature fails.
    forged = copy.deepcopy(credential)
    forged["validFrom"] = "2020-01-01T00:00:00Z"
    r = pclient.post("/api/v1/verify", json=forged)
    assert r.status_code == 422
    assert codes(r.json(), "proof") == {"proof.signature_invalid": "fail"}

    # An operator lists the second instance's issuer: now it is known.
    registry = tmp_path / "trust.json"
    registry.write_text(json.dumps({"issuers": [{"id": did, "name": "Beta Academy"}]}))
    papp.state.trust_registry = TrustRegistry(registry)
    try:
        r = pclient.post("/api/v1/verify", json=credential)
        assert codes(r.json())["issuer.known"] == "pass"
    finally:
        papp.state.trust_registry = None

    # Revoked on the second instance through the lifecycle API: the list is re-fetched.
    if "credentialStatus" not in credential:
        pytest.skip(
            "!!! issued credentials carry no credentialStatus yet: remote revocation untested"
        )
    r = instance.client.post(
        f"/api/v1/credentials/{instance.issued['id']}/revoke",
        json={"reason": "issued in error"},
        headers=instance.issuer.auth,
    )
    assert r.status_code == 200, r.text
    shared_fetcher(papp.state.ctx).clear_cache()
    r = pclient.post("/api/v1/verify", json=credential)
    assert r.status_code == 422
    assert codes(r.json(), "status") == {"status.revoked": "fail"}


def _status_list(url: str, purpose: str, hit: int | None, loader: Any) -> bytes:
    bits = new_bitstring()
    if hit is not None:
        set_status(bits, hit, 1)
    unsigned = status_list_credential(
        id=url,
        issuer=KEY.controller,
        purpose=purpose,
        encoded_list=encode_list(bits),
        valid_from=ISSUED,
    )
    return json.dumps(add_proof(unsigned, KEY, loader, created=ISSUED)).encode()


@pytest.mark.parametrize(
    ("purpose", "code"), [("revocation", "status.revoked"), ("suspension", "status.suspended")]
)
def test_revoked_and_suspended_through_remote_lists(
    papp: FastAPI, pclient: TestClient, loopback: Loopback, purpose: str, code: str
) -> None:
    loader = papp.state.ctx.loader
    for state, hit in (("clean", None), ("hit", 4242)):
        url = f"{loopback.base}/status/{purpose}/{state}"
        loopback.routes[f"/status/{purpose}/{state}"] = Route(
            _status_list(url, purpose, hit, loader), "application/vc+ld+json"
        )
    results = {}
    for state in ("clean", "hit"):
        entry = ob.bitstring_status_list_entry(
            list_url=f"{loopback.base}/status/{purpose}/{state}", index=4242, purpose=purpose
        )
        credential = signed(loader, credential_status=entry)
        r = pclient.post("/api/v1/verify", json=credential)
        results[state] = (r.status_code, codes(r.json(), "status"))
    assert results["clean"] == (200, {"status.ok": "pass"})
    assert results["hit"] == (422, {code: "fail"})
    # A list that cannot be fetched is a failure to check, said plainly: "could not
    # verify right now", never "not verified".
    entry = ob.bitstring_status_list_entry(
        list_url=f"{loopback.base}/status/missing", index=1, purpose=purpose
    )
    r = pclient.post("/api/v1/verify", json=signed(loader, credential_status=entry))
    assert r.status_code == 422
    assert codes(r.json(), "status") == {"status.unavailable": "indeterminate"}
    assert r.json()["verdict"] == "could_not_verify"


def test_own_credential_revoked_through_the_api(app: FastAPI, client: TestClient) -> None:
    """On SQLite and PostgreSQL: verified, then revoked, then not verified."""
    instance = issue_through_api(app, client)
    r = client.post("/api/v1/verify", json=instance.credential)
    assert r.status_code == 200, r.text
    assert codes(r.json())["issuer.known"] == "pass"
    if "credentialStatus" not in instance.credential:
        pytest.skip("!!! issued credentials carry no credentialStatus yet: revocation untested")
    r = client.post(
        f"/api/v1/credentials/{instance.issued['id']}/revoke",
        json={"reason": "test"},
        headers=instance.issuer.auth,
    )
    assert r.status_code == 200, r.text
    r = client.post("/api/v1/verify", json=instance.credential)
    assert r.status_code == 422
    assert codes(r.json(), "status") == {"status.revoked": "fail"}
    page = client.post("/verify", files={"credential": (None, instance.text)})
    assert page.status_code == 422
    assert 'data-code="status.revoked"' in page.text


@pytest.mark.interop
def test_credential_signed_by_digital_bazaar(
    pclient: TestClient,
    harness: Harness,  # noqa: F811 - the fixture
) -> None:
    from tests.interop.test_digitalbazaar import db_key

    unsigned = badge()
    result = harness.one(
        "sign", {"credential": unsigned, "key": db_key(KEY), "created": "2025-05-01T09:00:00Z"}
    )
    assert "error" not in result, result
    r = pclient.post("/api/v1/verify", json=result)
    assert r.status_code == 200, r.text
    found = codes(r.json())
    assert found["proof.verified"] == "pass"
    assert found["issuer.key_match"] == "pass"
    page = pclient.post("/verify", files={"credential": (None, json.dumps(result))})
    assert 'data-verdict="verified_with_warnings"' in page.text
    tampered = copy.deepcopy(result)
    tampered["name"] = "Something else"
    r = pclient.post("/api/v1/verify", json=tampered)
    assert r.status_code == 422
    assert codes(r.json(), "proof") == {"proof.signature_invalid": "fail"}
