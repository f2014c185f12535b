"""Ed25519VerificationKey2020 verification methods for DataIntegrityProof eddsa proofs.

vc-di-eddsa 1.0 §3 needs only the Ed25519 public key of the verification method. An
``Ed25519VerificationKey2020`` method (context https://w3id.org/security/suites/ed25519-2020/v1)
carries it as ``publicKeyMultibase``: base58btc of the ed25519-pub multicodec header
(0xed 0x01) and the 32-byte key, the same ``z6Mk…`` value a Multikey holds. Methods of other
types (``JsonWebKey2020``…) stay refused with ``proof.key_unsupported``.
"""

from __future__ import annotations

from typing import Any

import pytest

from badgeworks.core.contexts import ED25519_2020_CONTEXT
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.multibase import encode_base58btc
from badgeworks.core.proof import add_proof, verify_proofs
from tests.conftest import EDDSA, read_json

WEB_DID = "did:web:issuer.example"
VM_ID = WEB_DID + "#key-2020"
CREATED = "2024-05-01T12:00:00Z"
KEY = Ed25519KeyPair.generate(controller=WEB_DID, key_id=VM_ID)
SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]


def _loader(loader: DocumentLoader, method_type: str, public_key_multibase: str) -> DocumentLoader:
    did_document = {
        "@context": ["https://www.w3.org/ns/did/v1", ED25519_2020_CONTEXT],
        "id": WEB_DID,
        "verificationMethod": [
            {
                "id": VM_ID,
                "type": method_type,
                "controller": WEB_DID,
                "publicKeyMultibase": public_key_multibase,
            }
        ],
        "assertionMethod": [VM_ID],
    }

    def resolve(url: str) -> Any:
        return did_document if url.split("#")[0] == WEB_DID else None

    return loader.with_resolver(resolve)


def _signed(loader: DocumentLoader, cryptosuite: str) -> dict[str, Any]:
    return add_proof(
        read_json(EDDSA / "unsigned.json"), KEY, loader, created=CREATED, cryptosuite=cryptosuite
    )


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_an_ed25519_2020_key_verifies_eddsa_proofs(
    loader: DocumentLoader, cryptosuite: str
) -> None:
    web = _loader(loader, "Ed25519VerificationKey2020", KEY.public_key_multibase)
    [result] = verify_proofs(_signed(loader, cryptosuite), web)
    assert (result.verified, result.code) == (True, "proof.verified"), result.message
    assert result.controller == WEB_DID
    assert result.verification_method is not None
    assert result.verification_method["type"] == "Ed25519VerificationKey2020"


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_an_ed25519_2020_key_of_someone_else_fails(
    loader: DocumentLoader, cryptosuite: str
) -> None:
    other = Ed25519KeyPair.generate()
    web = _loader(loader, "Ed25519VerificationKey2020", other.public_key_multibase)
    [result] = verify_proofs(_signed(loader, cryptosuite), web)
    assert (result.verified, result.code) == (False, "proof.signature_invalid")


@pytest.mark.parametrize("cryptosuite", SUITES)
@pytest.mark.parametrize("method_type", ["JsonWebKey2020", "JsonWebKey", "EcdsaSecp256k1"])
def test_other_method_types_stay_refused(
    loader: DocumentLoader, cryptosuite: str, method_type: str
) -> None:
    web = _loader(loader, method_type, KEY.public_key_multibase)
    [result] = verify_proofs(_signed(loader, cryptosuite), web)
    assert (result.verified, result.code) == (False, "proof.key_unsupported")
    assert method_type in result.message
    assert "'Ed25519VerificationKey2020' or 'Multikey'" in result.message


def test_a_2020_key_without_the_multicodec_header_is_refused(loader: DocumentLoader) -> None:
    """The 2020 key's publicKeyMultibase carries the ed25519-pub header; a bare 32-byte
    key (as some early drafts wrote it) is not read as a key."""
    bare = encode_base58btc(KEY.public_key)
    web = _loader(loader, "Ed25519VerificationKey2020", bare)
    [result] = verify_proofs(_signed(loader, "eddsa-rdfc-2022"), web)
    assert (result.verified, result.code) == (False, "proof.key_unsupported")
