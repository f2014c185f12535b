"""Adding and verifying proofs: every way a proof can be wrong gives its own code."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from badgeworks.core import did_key
from badgeworks.core.contexts import DATA_INTEGRITY_V2
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import JsonLdError, KeyFormatError, ProofError
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.multibase import encode_base58btc
from badgeworks.core.proof import (
    ProofResult,
    add_proof,
    create_proof,
    parse_date_time_stamp,
    verify_proofs,
)
from tests.conftest import EDDSA, read_json

CREATED = "2024-05-01T10:00:00Z"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
KEY = Ed25519KeyPair.generate()
OTHER = Ed25519KeyPair.generate()


def unsigned() -> dict[str, Any]:
    return read_json(EDDSA / "unsigned.json")


def signed(loader: DocumentLoader, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("created", CREATED)
    return add_proof(unsigned(), KEY, loader, **kwargs)


def one(document: Any, loader: DocumentLoader, **kwargs: Any) -> ProofResult:
    kwargs.setdefault("now", NOW)
    [result] = verify_proofs(document, loader, **kwargs)
    return result


def assert_code(result: ProofResult, code: str) -> None:
    assert (result.verified, result.code) == (code == "proof.verified", code), result.message
    assert result.message and result.message[0].isupper()


def test_round_trip(loader: DocumentLoader) -> None:
    document = signed(loader)
    assert_code(one(document, loader), "proof.verified")


def test_add_proof_does_not_mutate(loader: DocumentLoader) -> None:
    document = unsigned()
    before = copy.deepcopy(document)
    add_proof(document, KEY, loader, created=CREATED)
    assert document == before


def test_created_datetime_is_written_in_utc(loader: DocumentLoader) -> None:
    when = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    proof = create_proof(unsigned(), KEY, loader, created=when)
    assert proof["created"] == CREATED
    with pytest.raises(ProofError):
        create_proof(unsigned(), KEY, loader, created=datetime(2024, 5, 1))


# ----------------------------------------------------------------- tampering


def test_changed_value(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["credentialSubject"]["alumniOf"] = "Another School"
    assert_code(one(document, loader), "proof.signature_invalid")


def test_changed_proof_option(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["proof"]["created"] = "2024-05-02T10:00:00Z"
    assert_code(one(document, loader), "proof.signature_invalid")


def test_changed_proof_value(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["proof"]["proofValue"] = encode_base58btc(KEY.sign(b"something else"))
    assert_code(one(document, loader), "proof.signature_invalid")


def test_swapped_key(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["proof"]["verificationMethod"] = OTHER.id
    assert_code(one(document, loader), "proof.signature_invalid")


def test_undefined_term_added_after_signing(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    result = one(document, loader)
    assert not result.verified
    assert result.code.startswith("jsonld.")


@pytest.mark.parametrize("proof", [None, []])
def test_removed_proof(loader: DocumentLoader, proof: Any) -> None:
    document = signed(loader)
    if proof is None:
        del document["proof"]
    else:
        document["proof"] = proof
    assert_code(one(document, loader), "proof.missing")


@pytest.mark.parametrize("document", [None, "text", [1, 2]])
def test_not_a_document(loader: DocumentLoader, document: Any) -> None:
    assert_code(one(document, loader), "proof.malformed")


def test_wrong_purpose(loader: DocumentLoader) -> None:
    document = signed(loader)
    assert_code(one(document, loader, proof_purpose="authentication"), "proof.purpose_mismatch")


def test_authentication_purpose(loader: DocumentLoader) -> None:
    document = signed(loader, proof_purpose="authentication", challenge="abc", domain="x.example")
    result = one(
        document, loader, proof_purpose="authentication", challenge="abc", domain="x.example"
    )
    assert_code(result, "proof.verified")
    assert_code(
        one(document, loader, proof_purpose="authentication", challenge="abd"),
        "proof.challenge_mismatch",
    )
    assert_code(
        one(document, loader, proof_purpose="authentication", domain="y.example"),
        "proof.domain_mismatch",
    )


def test_challenge_expected_but_absent(loader: DocumentLoader) -> None:
    assert_code(one(signed(loader), loader, challenge="abc"), "proof.challenge_mismatch")


def test_domain_list(loader: DocumentLoader) -> None:
    document = signed(loader, domain=["a.example", "b.example"])
    assert_code(one(document, loader, domain="b.example"), "proof.verified")
    assert_code(one(document, loader, domain="c.example"), "proof.domain_mismatch")


def test_expired(loader: DocumentLoader) -> None:
    document = signed(loader, expires="2024-05-31T00:00:00Z")
    assert_code(one(document, loader), "proof.expired")
    assert_code(one(document, loader, now=datetime(2024, 5, 30, tzinfo=UTC)), "proof.verified")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created", "2024-05-01"),
        ("created", "yesterday"),
        ("expires", "2024-13-01T00:00:00Z"),
        ("created", 1714557600),
    ],
)
def test_bad_dates(loader: DocumentLoader, field: str, value: Any) -> None:
    document = signed(loader)
    document["proof"][field] = value
    result = one(document, loader)
    assert_code(result, "proof.malformed")
    assert field in result.message


def test_unknown_cryptosuite(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["proof"]["cryptosuite"] = "ecdsa-rdfc-2019"
    assert_code(one(document, loader), "proof.unsupported_cryptosuite")
    with pytest.raises(ProofError) as info:
        create_proof(unsigned(), KEY, loader, created=CREATED, cryptosuite="ecdsa-rdfc-2019")
    assert info.value.code == "proof.unsupported_cryptosuite"


def test_unknown_type(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["proof"]["type"] = "RsaSignature2018"
    assert_code(one(document, loader), "proof.unsupported_type")


@pytest.mark.parametrize(
    "value", ["not-multibase", "z0OIl", "z" + "1" * 10, encode_base58btc(b"\1" * 65), 42]
)
def test_malformed_proof_value(loader: DocumentLoader, value: Any) -> None:
    document = signed(loader)
    document["proof"]["proofValue"] = value
    result = one(document, loader)
    assert_code(result, "proof.malformed")
    assert "proofValue" in result.message


@pytest.mark.parametrize("field", ["verificationMethod", "proofPurpose", "cryptosuite", "type"])
def test_missing_proof_field(loader: DocumentLoader, field: str) -> None:
    document = signed(loader)
    del document["proof"][field]
    assert_code(one(document, loader), "proof.malformed")


def test_proof_entry_not_an_object(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["proof"] = [document["proof"], "junk"]
    results = verify_proofs(document, loader, now=NOW)
    assert [r.code for r in results] == ["proof.verified", "proof.malformed"]


def test_unresolvable_verification_method(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["proof"]["verificationMethod"] = "https://issuer.example/keys/1"
    result = one(document, loader)
    # Nothing here fetches keys: the key was not found; no context was refused.
    assert_code(result, "proof.key_not_found")
    assert "https://issuer.example/keys/1" in result.message


def test_did_key_with_wrong_fragment(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["proof"]["verificationMethod"] = KEY.controller + "#other"
    assert_code(one(document, loader), "did.not_found")


# ----------------------------------------------------------------- controller documents

WEB_DID = "did:web:issuer.example"


def web_loader(loader: DocumentLoader, key: Ed25519KeyPair, **relationships: Any) -> DocumentLoader:
    method = {
        "id": key.id,
        "type": "Multikey",
        "controller": WEB_DID,
        "publicKeyMultibase": key.public_key_multibase,
    }
    did_document = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": WEB_DID,
        "verificationMethod": [method],
        **relationships,
    }

    def resolve(url: str) -> Any:
        return did_document if url.split("#")[0] == WEB_DID else None

    return loader.with_resolver(resolve)


def test_controller_document_authorizes(loader: DocumentLoader) -> None:
    key = Ed25519KeyPair.generate(controller=WEB_DID, key_id=WEB_DID + "#key-1")
    web = web_loader(loader, key, assertionMethod=["#key-1"])
    document = add_proof(unsigned(), key, web, created=CREATED)
    result = one(document, web)
    assert_code(result, "proof.verified")
    assert result.controller == WEB_DID


def test_controller_document_without_relationship(loader: DocumentLoader) -> None:
    key = Ed25519KeyPair.generate(controller=WEB_DID, key_id=WEB_DID + "#key-1")
    web = web_loader(loader, key, authentication=[WEB_DID + "#key-1"])
    document = add_proof(unsigned(), key, web, created=CREATED)
    assert_code(one(document, web), "proof.key_unauthorized")
    assert_code(one(document, web, proof_purpose="authentication"), "proof.purpose_mismatch")


def test_controller_document_missing_the_method(loader: DocumentLoader) -> None:
    key = Ed25519KeyPair.generate(controller=WEB_DID, key_id=WEB_DID + "#key-1")
    web = web_loader(loader, key, assertionMethod=["#key-1"])
    document = add_proof(unsigned(), key, web, created=CREATED)
    document["proof"]["verificationMethod"] = WEB_DID + "#key-2"
    assert_code(one(document, web), "proof.key_not_found")


def test_wrong_method_type(loader: DocumentLoader) -> None:
    document = signed(loader)

    def resolve(url: str) -> Any:
        if url == "https://issuer.example/key":
            return {
                "id": url,
                "type": "JsonWebKey2020",
                "controller": "https://issuer.example",
                "publicKeyMultibase": KEY.public_key_multibase,
            }
        return None

    document["proof"]["verificationMethod"] = "https://issuer.example/key"
    assert_code(one(document, loader.with_resolver(resolve)), "proof.key_unsupported")


def test_did_key_method_authorized_via_did_document(loader: DocumentLoader) -> None:
    doc = loader.load(KEY.controller)
    assert doc == did_key.resolve(KEY.controller)
    assert_code(one(signed(loader), loader), "proof.verified")


# ----------------------------------------------------------------- sets and chains


def test_proof_set_each_proof_independent(loader: DocumentLoader) -> None:
    document = add_proof(signed(loader), OTHER, loader, created=CREATED)
    assert isinstance(document["proof"], list) and len(document["proof"]) == 2
    results = verify_proofs(document, loader, now=NOW)
    assert [r.code for r in results] == ["proof.verified", "proof.verified"]
    document["proof"][1]["proofValue"] = document["proof"][0]["proofValue"]
    results = verify_proofs(document, loader, now=NOW)
    assert [r.code for r in results] == ["proof.verified", "proof.signature_invalid"]


def test_chain_with_missing_previous_proof(loader: DocumentLoader) -> None:
    first = signed(loader, proof_id="urn:uuid:first")
    chained = add_proof(first, OTHER, loader, created=CREATED, previous_proof="urn:uuid:first")
    results = verify_proofs(chained, loader, now=NOW)
    assert [r.code for r in results] == ["proof.verified", "proof.verified"]
    chained["proof"] = [chained["proof"][1]]
    assert_code(one(chained, loader), "proof.previous_missing")
    with pytest.raises(ProofError) as info:
        add_proof(first, OTHER, loader, created=CREATED, previous_proof="urn:uuid:nope")
    assert info.value.code == "proof.previous_missing"


def test_chain_detects_a_changed_previous_proof(loader: DocumentLoader) -> None:
    first = signed(loader, proof_id="urn:uuid:first")
    chained = add_proof(first, OTHER, loader, created=CREATED, previous_proof="urn:uuid:first")
    chained["proof"][0]["created"] = "2024-05-01T10:00:01Z"
    results = verify_proofs(chained, loader, now=NOW)
    assert [r.code for r in results] == ["proof.signature_invalid", "proof.signature_invalid"]


def test_signed_chain_vector_with_dangling_reference(loader: DocumentLoader) -> None:
    document = read_json(EDDSA / "proof-set-chain" / "signedProofChain2.json")
    del document["proof"][2]
    codes = [r.code for r in verify_proofs(document, loader)]
    assert codes == ["proof.verified", "proof.verified", "proof.previous_missing"]


# ----------------------------------------------------------------- contexts and keys


def test_vc_1_1_document_gets_the_data_integrity_context(loader: DocumentLoader) -> None:
    document = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            {"alumniOf": "https://schema.org/alumniOf"},
        ],
        "type": ["VerifiableCredential"],
        "issuer": KEY.controller,
        "issuanceDate": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:abc", "alumniOf": "Example University"},
    }
    with pytest.raises(ProofError) as info:
        create_proof(document, KEY, loader, created=CREATED)
    assert info.value.code == "proof.context_missing"
    secured = add_proof(document, KEY, loader, created=CREATED)
    assert secured["@context"][-1] == DATA_INTEGRITY_V2
    assert_code(one(secured, loader), "proof.verified")


def test_document_without_context_is_refused(loader: DocumentLoader) -> None:
    with pytest.raises(ProofError) as info:
        add_proof({"name": "x"}, KEY, loader, created=CREATED)
    assert info.value.code == "proof.context_missing"


def test_signing_refuses_dropped_terms(loader: DocumentLoader) -> None:
    document = unsigned()
    document["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    with pytest.raises(JsonLdError):
        add_proof(document, KEY, loader, created=CREATED)


def test_verify_only_key_cannot_sign(loader: DocumentLoader) -> None:
    public_only = Ed25519KeyPair.from_multibase(KEY.public_key_multibase)
    with pytest.raises(KeyFormatError):
        add_proof(unsigned(), public_only, loader, created=CREATED)


def test_ed25519_signature_2020_needs_its_context(loader: DocumentLoader) -> None:
    document = read_json(EDDSA / "Ed25519Signature2020" / "signedEdSig.json")
    document["@context"] = document["@context"][:2]
    assert_code(one(document, loader), "proof.malformed")


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2024-01-01T00:00:00Z", True),
        ("2024-01-01T00:00:00.123456789+02:00", True),
        ("2024-01-01T00:00:00", False),
        ("2024-02-30T00:00:00Z", False),
        ("", False),
    ],
)
def test_date_time_stamp(text: str, ok: bool) -> None:
    assert (parse_date_time_stamp(text) is not None) is ok
