"""issue(): validate, then sign; refuse what a verifier would reject."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import CredentialError, JsonLdError, SchemaError
from badgeworks.core.issue import issue
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.proof import verify_proofs

from .conftest import build_ob3_credential
from .test_schema import schema_documents

NOW = datetime(2026, 10, 1, 9, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


@pytest.fixture
def unsigned(key: Ed25519KeyPair) -> dict[str, Any]:
    return build_ob3_credential(issuer_id=key.controller)


def test_issue_signs_a_verifiable_credential(
    unsigned: dict[str, Any], key: Ed25519KeyPair, strict_loader: DocumentLoader
) -> None:
    before = copy.deepcopy(unsigned)
    signed = issue(unsigned, key, strict_loader, now=NOW, schemas=schema_documents())
    assert unsigned == before  # the input is not mutated
    (proof,) = signed["proof"]  # an OB credential's proof is issued as an array
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["created"] == "2026-10-01T09:00:00Z"
    assert proof["verificationMethod"] == key.id
    results = verify_proofs(signed, strict_loader, now=NOW)
    assert [r.verified for r in results] == [True]


def test_issue_refuses_an_already_signed_credential(
    unsigned: dict[str, Any], key: Ed25519KeyPair, strict_loader: DocumentLoader
) -> None:
    signed = issue(unsigned, key, strict_loader, now=NOW, proof_id="urn:uuid:proof-1")
    with pytest.raises(CredentialError) as exc:
        issue(signed, key, strict_loader, now=NOW)
    assert exc.value.code == "credential.already_signed"
    twice = issue(signed, key, strict_loader, now=NOW, allow_existing_proof=True)
    assert len(twice["proof"]) == 2


def test_issue_refuses_a_key_the_issuer_does_not_control(
    ob3_credential: dict[str, Any], key: Ed25519KeyPair, strict_loader: DocumentLoader
) -> None:
    with pytest.raises(CredentialError) as exc:
        issue(ob3_credential, key, strict_loader, now=NOW)
    assert exc.value.code == "credential.issuer_key_mismatch"
    assert key.controller in exc.value.message


def test_issue_raises_the_first_structural_problem(
    unsigned: dict[str, Any], key: Ed25519KeyPair, strict_loader: DocumentLoader
) -> None:
    del unsigned["credentialSubject"]["achievement"]["criteria"]
    with pytest.raises(CredentialError) as exc:
        issue(unsigned, key, strict_loader, now=NOW)
    assert exc.value.code == "credential.achievement"


def test_issue_raises_schema_problems(
    unsigned: dict[str, Any], key: Ed25519KeyPair, strict_loader: DocumentLoader
) -> None:
    unsigned["credentialSubject"]["creditsEarned"] = "three"
    with pytest.raises(SchemaError) as exc:
        issue(unsigned, key, strict_loader, now=NOW, schemas=schema_documents())
    assert exc.value.code == "schema.invalid"
    with pytest.raises(SchemaError) as exc:
        issue(unsigned, key, strict_loader, now=NOW, schemas={})
    assert exc.value.code == "schema.unknown"


def test_issue_lets_strict_jsonld_errors_through(
    unsigned: dict[str, Any], key: Ed25519KeyPair, strict_loader: DocumentLoader
) -> None:
    unsigned["credentialSubject"]["favouriteColour"] = "green"
    with pytest.raises(JsonLdError) as exc:
        issue(unsigned, key, strict_loader, now=NOW)
    assert exc.value.code == "jsonld.dropped_term"


def test_issue_rejects_non_objects(key: Ed25519KeyPair, strict_loader: DocumentLoader) -> None:
    with pytest.raises(CredentialError) as exc:
        issue([], key, strict_loader, now=NOW)  # type: ignore[arg-type]
    assert exc.value.code == "credential.not_object"
