"""A StatusList2021Credential and a credential with a StatusList2021Entry, as the W3C CCG
Status List 2021 report writes them, signed with eddsa-rdfc-2022 by ``key``'s did:key."""

from __future__ import annotations

from typing import Any

from badgeworks.core.contexts import VC1_CONTEXT
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.proof import add_proof
from badgeworks.core.status import encode_list, set_status
from tests.did_key_badges import ISSUED

LIST_URL_2021 = "https://northwind.example/status/2021/7"
STATUS_2021 = "https://w3id.org/vc/status-list/2021/v1"
DATA_INTEGRITY = "https://w3id.org/security/data-integrity/v2"


def list_2021(
    key: Ed25519KeyPair,
    loader: DocumentLoader,
    *,
    set_bits: tuple[int, ...] = (),
    purpose: str = "revocation",
    entries: int = 131_072,
    standard_base64: bool = False,
) -> dict[str, Any]:
    """A StatusList2021Credential as the Status List 2021 report (§2.3) writes it:
    ``encodedList`` is the GZIP bitstring in base64, without a multibase prefix."""
    bits = bytearray(entries // 8)
    for index in set_bits:
        set_status(bits, index, 1)
    encoded = encode_list(bits)[1:]
    if standard_base64:
        encoded = encoded.replace("-", "+").replace("_", "/") + "=" * (-len(encoded) % 4)
    unsigned = {
        "@context": [VC1_CONTEXT, STATUS_2021, DATA_INTEGRITY],
        "id": LIST_URL_2021,
        "type": ["VerifiableCredential", "StatusList2021Credential"],
        "issuer": key.controller,
        "issuanceDate": "2025-05-01T09:00:00Z",
        "credentialSubject": {
            "id": f"{LIST_URL_2021}#list",
            "type": "StatusList2021",
            "statusPurpose": purpose,
            "encodedList": encoded,
        },
    }
    return add_proof(unsigned, key, loader, created=ISSUED)


def credential_2021(
    key: Ed25519KeyPair, loader: DocumentLoader, index: int, purpose: str = "revocation"
) -> dict[str, Any]:
    unsigned = {
        "@context": [VC1_CONTEXT, STATUS_2021, DATA_INTEGRITY],
        "id": "urn:uuid:4b7e1c0a-2f55-4f3e-9b0c-1d2e3f405162",
        "type": ["VerifiableCredential"],
        "issuer": key.controller,
        "issuanceDate": "2025-05-01T09:00:00Z",
        "credentialSubject": {"id": "did:example:ada"},
        "credentialStatus": {
            "id": f"{LIST_URL_2021}#{index}",
            "type": "StatusList2021Entry",
            "statusPurpose": purpose,
            "statusListIndex": str(index),
            "statusListCredential": LIST_URL_2021,
        },
    }
    return add_proof(unsigned, key, loader, created=ISSUED)
