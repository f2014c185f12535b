"""Known-answer tests: every intermediate value of the W3C vc-di-eddsa test vectors.

Vectors: tests/vectors/vc-di-eddsa/ (provenance in tests/vectors/PROVENANCE.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.cryptosuites import (
    ED25519_SIGNATURE_2020,
    EDDSA_RDFC_2022,
    Ed25519RdfcSuite,
    get_cryptosuite,
)
from badgeworks.core.errors import ContextError, ProofError
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.multibase import decode_base58btc
from badgeworks.core.proof import add_proof, create_proof, verify_proofs
from tests.conftest import EDDSA, read_json

RDFC = EDDSA / "eddsa-rdfc-2022"
ED2020 = EDDSA / "Ed25519Signature2020"
CHAIN = EDDSA / "proof-set-chain"
CREATED = "2023-02-24T23:36:38Z"


def _key(pair: dict[str, str]) -> Ed25519KeyPair:
    return Ed25519KeyPair.from_multibase(pair["publicKeyMultibase"], pair["privateKeyMultibase"])


def _text(path: Path) -> str:
    return path.read_text("utf-8")


def _hex(path: Path) -> bytes:
    return bytes.fromhex(_text(path).strip())


KEY = _key(read_json(EDDSA / "keyPair.json"))
SET_KEYS = {name: _key(pair) for name, pair in read_json(CHAIN / "multiKeyPairs.json").items()}


@pytest.mark.parametrize(
    ("suite", "folder", "suffix", "document_path"),
    [
        (EDDSA_RDFC_2022, RDFC, "DataInt", EDDSA / "unsigned.json"),
        (ED25519_SIGNATURE_2020, ED2020, "EdSig", ED2020 / "signedEdSig.json"),
    ],
    ids=["eddsa-rdfc-2022", "Ed25519Signature2020"],
)
def test_every_intermediate_value(
    loader: DocumentLoader,
    suite: Ed25519RdfcSuite,
    folder: Path,
    suffix: str,
    document_path: Path,
) -> None:
    document = {k: v for k, v in read_json(document_path).items() if k != "proof"}
    proof_config = read_json(folder / f"proofConfig{suffix}.json")

    canonical_document = suite.canonicalize_document(document, loader)
    assert canonical_document == _text(folder / f"canonDoc{suffix}.txt")
    canonical_config = suite.canonicalize_proof_config(proof_config, loader)
    assert canonical_config == _text(folder / f"proofCanon{suffix}.txt")

    hash_data = suite.hash_data(canonical_config, canonical_document)
    assert hash_data[:32] == _hex(folder / f"proofHash{suffix}.txt")
    assert hash_data[32:] == _hex(folder / f"docHash{suffix}.txt")
    assert hash_data == _hex(folder / f"combinedHash{suffix}.txt")

    # Ed25519 is deterministic, so the signature itself is a known answer.
    signature = KEY.sign(hash_data)
    assert signature == _hex(folder / f"sigHex{suffix}.txt")
    proof_value = _text(folder / f"sigBTC58{suffix}.txt").strip()
    assert EDDSA_RDFC_2022.sign(hash_data, KEY) == proof_value
    assert decode_base58btc(proof_value) == signature
    assert suite.verify(hash_data, proof_value, KEY.public_key)


def test_signed_document_is_reproduced(loader: DocumentLoader) -> None:
    signed = add_proof(read_json(EDDSA / "unsigned.json"), KEY, loader, created=CREATED)
    assert signed == read_json(RDFC / "signedDataInt.json")
    proof = create_proof(read_json(EDDSA / "unsigned.json"), KEY, loader, created=CREATED)
    assert proof == read_json(RDFC / "signedDataInt.json")["proof"]


@pytest.mark.parametrize(
    "path", [RDFC / "signedDataInt.json", ED2020 / "signedEdSig.json"], ids=lambda p: p.name
)
def test_signed_vectors_verify(loader: DocumentLoader, path: Path) -> None:
    [result] = verify_proofs(read_json(path), loader)
    assert result.verified, result.message
    assert result.code == "proof.verified"
    assert result.controller == KEY.controller
    assert result.verification_method is not None
    assert result.verification_method["id"] == KEY.id


def test_eddsa_2022_is_verify_only_with_the_same_algorithm(loader: DocumentLoader) -> None:
    suite = get_cryptosuite("eddsa-2022")
    assert not suite.can_sign
    assert suite.hash_data("a", "b") == EDDSA_RDFC_2022.hash_data("a", "b")
    with pytest.raises(ProofError) as info:
        create_proof(
            read_json(EDDSA / "unsigned.json"),
            KEY,
            loader,
            created=CREATED,
            cryptosuite="eddsa-2022",
        )
    assert info.value.code == "proof.unsupported_cryptosuite"


def _set_options(config: dict[str, Any]) -> dict[str, Any]:
    return {"created": config["created"], "proof_id": config.get("id")}


def test_proof_set_is_reproduced(loader: DocumentLoader) -> None:
    unsigned = read_json(CHAIN / "unsigned.json")
    config1 = read_json(CHAIN / "proofSetConfig1.json")
    config2 = read_json(CHAIN / "proofSetConfig2.json")
    set1 = add_proof(unsigned, SET_KEYS["keyPair1"], loader, **_set_options(config1))
    assert set1 == read_json(CHAIN / "signedProofSet1.json")
    assert set1["proof"] == read_json(CHAIN / "proofSetConfigSigned1.json")
    set2 = add_proof(set1, SET_KEYS["keyPair2"], loader, **_set_options(config2))
    assert set2 == read_json(CHAIN / "signedProofSet2.json")
    assert set2["proof"][1] == read_json(CHAIN / "proofSetConfigSigned2.json")
    assert "proof" not in unsigned and isinstance(set1["proof"], dict)  # inputs untouched


def test_proof_chain_is_reproduced(loader: DocumentLoader) -> None:
    set2 = read_json(CHAIN / "signedProofSet2.json")
    config1 = read_json(CHAIN / "proofChainConfig1.json")
    chain1 = add_proof(
        set2,
        SET_KEYS["keyPair3"],
        loader,
        previous_proof=config1["previousProof"],
        **_set_options(config1),
    )
    assert chain1 == read_json(CHAIN / "signedProofChain1.json")
    assert chain1["proof"][2] == read_json(CHAIN / "proofChainConfigSigned1.json")

    config2 = read_json(CHAIN / "proofChainConfig2.json")
    chain2 = add_proof(
        chain1,
        SET_KEYS["keyPair4"],
        loader,
        previous_proof=config2["previousProof"],
        **_set_options(config2),
    )
    assert chain2 == read_json(CHAIN / "signedProofChain2.json")
    assert chain2["proof"][3] == read_json(CHAIN / "proofChainConfigSigned2.json")


def test_chain_temp_documents_are_what_gets_signed(loader: DocumentLoader) -> None:
    # proofChainTempDoc{1,2}.json are the documents each chained proof signs: the
    # unsecured credential plus only the proofs its previousProof names.
    suite = EDDSA_RDFC_2022
    for n, key in ((1, "keyPair3"), (2, "keyPair4")):
        temp = read_json(CHAIN / f"proofChainTempDoc{n}.json")
        signed = read_json(CHAIN / f"proofChainConfigSigned{n}.json")
        config = {k: v for k, v in signed.items() if k != "proofValue"}
        config["@context"] = temp["@context"]
        hash_data = suite.hash_data(
            suite.canonicalize_proof_config(config, loader),
            suite.canonicalize_document(temp, loader),
        )
        assert suite.sign(hash_data, SET_KEYS[key]) == signed["proofValue"]


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("signedProofSet1", 1),
        ("signedProofSet2", 2),
        ("signedProofChain1", 3),
        ("signedProofChain2", 4),
    ],
)
def test_set_and_chain_vectors_verify(loader: DocumentLoader, name: str, count: int) -> None:
    results = verify_proofs(read_json(CHAIN / f"{name}.json"), loader)
    assert len(results) == count
    assert all(r.verified for r in results), [r.message for r in results]


def test_employ_vector_needs_an_unbundled_context(loader: DocumentLoader) -> None:
    [result] = verify_proofs(read_json(RDFC / "employ" / "signedDataInt.json"), loader)
    assert not result.verified
    assert result.code == "context.not_allowed"
    assert "https://w3id.org/citizenship/v4rc1" in result.message


def test_employ_proof_config_intermediates(loader: DocumentLoader) -> None:
    # The proof configuration of the employ/ vector uses the unbundled context too.
    config = read_json(RDFC / "employ" / "proofConfigDataInt.json")
    with pytest.raises(ContextError) as info:
        EDDSA_RDFC_2022.canonicalize_proof_config(config, loader)
    assert info.value.code == "context.not_allowed"
