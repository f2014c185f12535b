"""eddsa-jcs-2022 (W3C "Data Integrity EdDSA Cryptosuites v1.0" §3.3): the W3C test vectors
reproduced byte for byte, signing and verifying through the proof layer, and tampering.

Vectors: tests/vectors/vc-di-eddsa/eddsa-jcs-2022/ (provenance in tests/vectors/PROVENANCE.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.cryptosuites import (
    DEFAULT_CRYPTOSUITE,
    EDDSA_JCS_2022,
    SIGNING_CRYPTOSUITES,
    get_cryptosuite,
)
from badgeworks.core.errors import ProofError
from badgeworks.core.issue import issue
from badgeworks.core.jcs import canonicalize_jcs
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.multibase import decode_base58btc
from badgeworks.core.proof import add_proof, create_proof, verify_proofs
from badgeworks.core.verification.credential import verify
from badgeworks.core.verification.presentation import (
    create_presentation,
    sign_presentation,
    verify_presentation,
)
from tests.conftest import EDDSA, read_json
from tests.did_key_badges import badge

JCS = EDDSA / "eddsa-jcs-2022"
CHAIN = EDDSA / "proof-set-chain"
CREATED = "2023-02-24T23:36:38Z"
JCS_NAME = "eddsa-jcs-2022"
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _key(pair: dict[str, str]) -> Ed25519KeyPair:
    return Ed25519KeyPair.from_multibase(pair["publicKeyMultibase"], pair["privateKeyMultibase"])


def _text(path: Path) -> str:
    return path.read_text("utf-8")


def _hex(path: Path) -> bytes:
    return bytes.fromhex(_text(path).strip())


KEY = _key(read_json(EDDSA / "keyPair.json"))
SET_KEYS = {name: _key(pair) for name, pair in read_json(CHAIN / "multiKeyPairs.json").items()}


def _jcs_signed(loader: DocumentLoader, document: dict[str, Any] | None = None) -> dict[str, Any]:
    return add_proof(
        document if document is not None else read_json(EDDSA / "unsigned.json"),
        KEY,
        loader,
        created=CREATED,
        cryptosuite="eddsa-jcs-2022",
    )


def _one(document: dict[str, Any], loader: DocumentLoader) -> Any:
    [result] = verify_proofs(document, loader)
    return result


# ------------------------------------------------------------------ known answers


def test_every_intermediate_value(loader: DocumentLoader) -> None:
    """§3.3.3 Transformation, §3.3.5 Proof Configuration, §3.3.4 Hashing, §3.3.6 Proof
    Serialization: each intermediate value of the W3C vector, exactly."""
    suite = get_cryptosuite("eddsa-jcs-2022")
    document = read_json(EDDSA / "unsigned.json")
    proof_config = read_json(JCS / "proofConfigJCS.json")

    canonical_document = suite.canonicalize_document(document, loader)
    assert canonical_document == _text(JCS / "canonDocJCS.txt")
    canonical_config = suite.canonicalize_proof_config(proof_config, loader)
    assert canonical_config == _text(JCS / "proofCanonJCS.txt")

    hash_data = suite.hash_data(canonical_config, canonical_document)
    assert hash_data[:32] == _hex(JCS / "proofHashJCS.txt")
    assert hash_data[32:] == _hex(JCS / "docHashJCS.txt")
    assert hash_data == _hex(JCS / "combinedHashJCS.txt")

    # Ed25519 is deterministic, so the signature itself is a known answer.
    proof_value = _text(JCS / "sigBTC58JCS.txt").strip()
    assert KEY.sign(hash_data) == _hex(JCS / "sigHexJCS.txt")
    assert suite.sign(hash_data, KEY) == proof_value
    assert decode_base58btc(proof_value) == _hex(JCS / "sigHexJCS.txt")
    assert suite.verify(hash_data, proof_value, KEY.public_key)


def test_proof_options_take_the_documents_context(loader: DocumentLoader) -> None:
    """§3.3.1 Create Proof step 2: the proof gets the unsecured document's @context, which
    is how proofConfigJCS.json differs from the rdfc vector's proof configuration."""
    config = read_json(JCS / "proofConfigJCS.json")
    options = {k: v for k, v in config.items() if k != "@context"}
    assert EDDSA_JCS_2022.proof_options(options, read_json(EDDSA / "unsigned.json")) == config
    # Without an @context in the document the proof has none either.
    assert "@context" not in EDDSA_JCS_2022.proof_options(options, {"name": "x"})


def test_signed_document_is_reproduced(loader: DocumentLoader) -> None:
    expected = read_json(JCS / "signedJCS.json")
    assert _jcs_signed(loader) == expected
    proof = create_proof(
        read_json(EDDSA / "unsigned.json"),
        KEY,
        loader,
        created=CREATED,
        cryptosuite="eddsa-jcs-2022",
    )
    assert proof == expected["proof"]
    # The published proof keeps the key order of the vector (type first, proofValue last).
    assert list(proof) == list(expected["proof"])


def test_signed_vector_verifies(loader: DocumentLoader) -> None:
    result = _one(read_json(JCS / "signedJCS.json"), loader)
    assert result.verified, result.message
    assert result.code == "proof.verified"
    assert result.controller == KEY.controller


def test_both_suites_are_selectable_and_rdfc_is_the_default(loader: DocumentLoader) -> None:
    assert DEFAULT_CRYPTOSUITE == "eddsa-rdfc-2022"
    assert SIGNING_CRYPTOSUITES == ("eddsa-rdfc-2022", "eddsa-jcs-2022")
    unsigned = read_json(EDDSA / "unsigned.json")
    assert add_proof(unsigned, KEY, loader, created=CREATED)["proof"]["cryptosuite"] == (
        "eddsa-rdfc-2022"
    )
    # The issuing entry point passes the choice through, and verify() dispatches on it.
    credential = issue(badge(KEY), KEY, loader, now=NOW, cryptosuite="eddsa-jcs-2022")
    assert credential["proof"][0]["cryptosuite"] == "eddsa-jcs-2022"
    assert credential["proof"][0]["@context"] == credential["@context"]
    report = verify(credential, loader=loader, now=NOW)
    assert report.verified, report.as_dict()
    with pytest.raises(ProofError) as info:
        create_proof(unsigned, KEY, loader, created=CREATED, cryptosuite="eddsa-2022")
    assert "'eddsa-jcs-2022'" in str(info.value)


def test_a_presentation_signed_with_jcs_verifies(loader: DocumentLoader) -> None:
    """The holder's authentication proof may use either suite too, challenge and domain
    included in the hashed proof options (§3.3.5)."""
    credential = issue(badge(KEY), KEY, loader, now=NOW, cryptosuite="eddsa-jcs-2022")
    vp = create_presentation([credential], holder=KEY.controller, id="urn:uuid:vp-jcs")
    signed = sign_presentation(
        vp, KEY, loader, now=NOW, challenge="c-1", domain="https://v.example", cryptosuite=JCS_NAME
    )
    assert signed["proof"]["cryptosuite"] == JCS_NAME
    result = verify_presentation(
        signed, loader=loader, now=NOW, challenge="c-1", domain="https://v.example"
    )
    assert result["verified"] is True, result
    signed["proof"]["challenge"] = "c-2"
    wrong = verify_presentation(signed, loader=loader, now=NOW, challenge="c-2")
    assert wrong["verified"] is False


# ------------------------------------------------------------------ tampering


def test_a_changed_document_fails(loader: DocumentLoader) -> None:
    """§3.3.2 Verify Proof: the hash covers the whole JCS text of the document."""
    document = _jcs_signed(loader)
    document["credentialSubject"]["alumniOf"] = "The School of Forgeries"
    result = _one(document, loader)
    assert not result.verified
    assert result.code == "proof.signature_invalid"


def test_a_reordered_document_still_verifies(loader: DocumentLoader) -> None:
    """RFC 8785 §3.2.3: members are sorted, so the order keys arrive in is not signed."""
    document = _jcs_signed(loader)
    reordered = dict(reversed(list(document.items())))
    assert _one(reordered, loader).verified


def test_a_changed_proof_option_fails(loader: DocumentLoader) -> None:
    """§3.3.5 Proof Configuration: the proof options are hashed too."""
    document = _jcs_signed(loader)
    document["proof"]["created"] = "2023-02-24T23:36:39Z"
    assert _one(document, loader).code == "proof.signature_invalid"


def test_an_rdfc_proof_relabelled_jcs_fails(loader: DocumentLoader) -> None:
    document = add_proof(read_json(EDDSA / "unsigned.json"), KEY, loader, created=CREATED)
    document["proof"]["cryptosuite"] = "eddsa-jcs-2022"
    assert _one(document, loader).code == "proof.signature_invalid"


def test_a_proof_context_the_document_does_not_start_with_fails(loader: DocumentLoader) -> None:
    """§3.3.2 step 4.1: the document's @context must start with the proof's, in order."""
    document = _jcs_signed(loader)
    document["@context"] = list(reversed(document["@context"]))
    result = _one(document, loader)
    assert result.code == "proof.context_mismatch"
    assert "@context" in result.message


def test_contexts_appended_after_signing_are_not_signed(loader: DocumentLoader) -> None:
    """§3.3.2 step 4.2: the document is read with the proof's @context, so a context
    appended to the document later does not break the proof (and is not covered by it)."""
    document = _jcs_signed(loader)
    document["@context"] = [*document["@context"], "https://w3id.org/security/data-integrity/v2"]
    assert _one(document, loader).verified


def test_a_proof_without_its_context_fails(loader: DocumentLoader) -> None:
    """§3.3.2 step 2: the proof options are the proof as published, so removing the
    @context the signer put in it changes what is hashed."""
    document = _jcs_signed(loader)
    del document["proof"]["@context"]
    assert _one(document, loader).code == "proof.signature_invalid"


def test_values_jcs_cannot_represent_are_refused(loader: DocumentLoader) -> None:
    """RFC 8785 §3.2.2.3: numbers must be exact IEEE 754 doubles; a bigger integer is
    refused when signing and reported (not raised) when verifying."""
    unsigned = read_json(EDDSA / "unsigned.json")
    unsigned["credentialSubject"]["studentNumber"] = 2**60
    with pytest.raises(ProofError) as info:
        _jcs_signed(loader, unsigned)
    assert info.value.code == "proof.jcs_unsupported"
    document = _jcs_signed(loader)
    document["credentialSubject"]["studentNumber"] = 2**60
    result = _one(document, loader)
    assert (result.verified, result.code) == (False, "proof.jcs_unsupported")
    with pytest.raises(ProofError):
        canonicalize_jcs({"bad": "\ud800"})


def test_numbers_are_serialized_as_ecmascript_does(loader: DocumentLoader) -> None:
    """RFC 8785 §3.2.2.3 (and its Appendix B examples): 1.0 is written 1, 1e21 as 1e+21."""
    assert canonicalize_jcs({"b": [1.0, 1e21, -0.0, 0.000001], "a": "€"}) == (
        '{"a":"€","b":[1,1e+21,0,0.000001]}'
    )
    unsigned = read_json(EDDSA / "unsigned.json")
    unsigned["credentialSubject"]["grades"] = [1.0, 2.5, 1e21]
    assert _one(_jcs_signed(loader, unsigned), loader).verified


# ------------------------------------------------------------------ sets and chains


def test_a_proof_set_may_mix_the_two_suites(loader: DocumentLoader) -> None:
    """VC Data Integrity "Add Proof Set/Chain": each proof of a set signs the document
    without the other proofs, whatever its cryptosuite."""
    unsigned = read_json(CHAIN / "unsigned.json")
    config1 = read_json(CHAIN / "proofSetConfig1.json")
    first = add_proof(
        unsigned, SET_KEYS["keyPair1"], loader, created=CREATED, proof_id=config1["id"]
    )
    both = add_proof(
        first, SET_KEYS["keyPair2"], loader, created=CREATED, cryptosuite="eddsa-jcs-2022"
    )
    results = verify_proofs(both, loader)
    assert [(r.verified, r.controller) for r in results] == [
        (True, SET_KEYS["keyPair1"].controller),
        (True, SET_KEYS["keyPair2"].controller),
    ]
    # The first (rdfc) proof still reads as the vector's: adding a jcs proof changed nothing.
    assert both["proof"][0] == read_json(CHAIN / "signedProofSet1.json")["proof"]
    both["proof"][1]["created"] = "2024-01-01T00:00:00Z"
    assert [r.code for r in verify_proofs(both, loader)] == [
        "proof.verified",
        "proof.signature_invalid",
    ]


def test_a_jcs_proof_chain(loader: DocumentLoader) -> None:
    """VC Data Integrity "Add Proof Set/Chain": a chained jcs proof signs the document
    with the proofs its previousProof names, so changing that proof breaks the chain."""
    start = read_json(CHAIN / "signedProofSet2.json")
    previous = start["proof"][0]["id"]
    chained = add_proof(
        start,
        SET_KEYS["keyPair3"],
        loader,
        created=CREATED,
        cryptosuite="eddsa-jcs-2022",
        proof_id="urn:uuid:7f7b6a8e-6c1a-4d3a-9d0e-1c2f3a4b5c6d",
        previous_proof=previous,
    )
    assert all(r.verified for r in verify_proofs(chained, loader))
    # Re-signing the proof the chain points at (a different created) leaves that proof
    # valid on its own but breaks the chained proof that covered it.
    chained["proof"][0] = create_proof(
        start,
        SET_KEYS["keyPair1"],
        loader,
        created="2024-01-01T00:00:00Z",
        proof_id=previous,
    )
    assert [r.code for r in verify_proofs(chained, loader)] == [
        "proof.verified",
        "proof.verified",
        "proof.signature_invalid",
    ]
