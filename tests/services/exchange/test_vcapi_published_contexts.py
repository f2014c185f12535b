"""VC-API issue and verify of credentials written with the contexts other issuers use.

VC Data Model 2.0, section 4.3 (Contexts): "@context" is an ordered set whose first item is
https://www.w3.org/ns/credentials/v2 and whose later items may be any context; the
specification's own examples add https://www.w3.org/ns/credentials/examples/v2. These are
bundled, so such credentials are issued and verified without a fetch; any context we do not
bundle is still refused with ``context.not_allowed``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, make_issuer
from tests.plain_credentials import VC2

EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
STATUS_LIST_2021 = "https://w3id.org/vc/status-list/2021/v1"
DCC_V1 = "https://w3id.org/dcc/v1"


@pytest.fixture(scope="module")
def vapp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    tmp: Path = tmp_path_factory.mktemp("published-contexts")
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'contexts.db'}",
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
        verify_rate_per_minute=0,
        verify_rate_burst=0,
    )
    application = create_app(settings, clock=lambda: NOW)
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def client(vapp: FastAPI) -> TestClient:
    return TestClient(vapp, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def issuer(vapp: FastAPI) -> IssuerHandle:
    return make_issuer(vapp, "contexts")


def _issue(client: TestClient, who: IssuerHandle, credential: Any) -> Any:
    return client.post("/credentials/issue", json={"credential": credential}, headers=who.auth)


def _verify(client: TestClient, vc: Any) -> Any:
    return client.post("/credentials/verify", json={"verifiableCredential": vc})


def _codes(response: Any) -> list[str]:
    return [c["code"] for c in response.json()["checks"]]


def test_issue_and_verify_with_the_examples_v2_context(
    client: TestClient, issuer: IssuerHandle
) -> None:
    """VC Data Model 2.0, section 4.3: a credential whose "@context" lists
    the examples context after the base one, with example terms only it defines."""
    credential = {
        "@context": [VC2, EXAMPLES_V2],
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": issuer.did,
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "degree": {"type": "ExampleBachelorDegree", "name": "Bachelor of Science and Arts"},
        },
    }
    issued = _issue(client, issuer, credential)
    assert issued.status_code == 201, issued.text
    vc = issued.json()["verifiableCredential"]
    assert vc["@context"][:2] == [VC2, EXAMPLES_V2]
    assert vc["credentialSubject"]["degree"]["name"] == "Bachelor of Science and Arts"

    verified = _verify(client, vc)
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True
    assert "proof.verified" in _codes(verified)

    # The example term is signed: changing it breaks the proof.
    vc["credentialSubject"]["degree"]["name"] = "Master of Arts"
    tampered = _verify(client, vc)
    assert tampered.status_code == 422
    assert tampered.json()["verified"] is False


def test_issue_and_verify_a_vc_1_1_credential_with_dcc_and_status_list_2021_contexts(
    client: TestClient, issuer: IssuerHandle
) -> None:
    """The contexts Digital Credentials Consortium credentials list (VC 1.1 section 4.1:
    "@context" starts with https://www.w3.org/2018/credentials/v1)."""
    credential = {
        "@context": [VC1, STATUS_LIST_2021, DCC_V1],
        "type": ["VerifiableCredential"],
        "issuanceDate": "2025-01-01T00:00:00Z",
        "issuer": issuer.did,
        "credentialSubject": {
            "id": "did:example:alice",
            "type": "Person",
            "name": "Alice",
            "hasCredential": {
                "type": ["EducationalOccupationalCredential"],
                "name": "Data Analysis Internship",
            },
        },
    }
    issued = _issue(client, issuer, credential)
    assert issued.status_code == 201, issued.text
    vc = issued.json()["verifiableCredential"]
    verified = _verify(client, vc)
    assert verified.status_code == 200, verified.text
    assert verified.json()["verified"] is True


def test_an_unbundled_context_is_still_refused_without_a_fetch(
    client: TestClient, issuer: IssuerHandle
) -> None:
    credential = {
        "@context": [VC2, "https://www.w3.org/ns/credentials/examples/v9"],
        "type": ["VerifiableCredential"],
        "issuer": issuer.did,
        "credentialSubject": {"id": "did:example:alice"},
    }
    issued = _issue(client, issuer, credential)
    assert issued.status_code == 422, issued.text
    assert issued.json()["code"] == "context.not_allowed"
