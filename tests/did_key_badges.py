"""An OB 3.0 credential issued by a did:key (the W3C vc-di-eddsa vector key unless told),
unsigned or signed with eddsa-rdfc-2022."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.identity import identity_object
from badgeworks.core.issue import issue
from badgeworks.core.loader import DocumentLoader
from tests.conftest import EDDSA, read_json

ISSUED = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


def vector_key() -> Ed25519KeyPair:
    pair = read_json(EDDSA / "keyPair.json")
    return Ed25519KeyPair.from_multibase(pair["publicKeyMultibase"], pair["privateKeyMultibase"])


KEY = vector_key()


def badge(key: Ed25519KeyPair = KEY, **overrides: Any) -> dict[str, Any]:
    """An unsigned OB 3.0 credential issued by ``key``'s did:key (``achievement_endorsement``
    goes into its achievement, every other override into the credential)."""
    achievement = ob.achievement(
        id="https://northwind.example/achievements/data-pipeline",
        name="Data Pipeline Micro-internship",
        description="Built a tested ingestion pipeline for a host company.",
        criteria_narrative="Deliver a pipeline and present it.",
        endorsement=overrides.pop("achievement_endorsement", None),
    )
    subject = ob.achievement_subject(
        achievement=achievement,
        identifier=[identity_object("ada@example.com", salt="s4lt")],
        role="Intern",
    )
    args: dict[str, Any] = {
        "id": "urn:uuid:6f1c2b1e-3c55-4a8e-9d43-2f0a8f6b7c11",
        "issuer": ob.profile(id=key.controller, name="Northwind Institute"),
        "valid_from": ob.xsd_datetime(ISSUED),
        "subject": subject,
        "name": "Data Pipeline Micro-internship",
        "credential_schema": False,
    }
    args.update(overrides)
    return ob.achievement_credential(**args)


def signed(loader: DocumentLoader, key: Ed25519KeyPair = KEY, **overrides: Any) -> dict[str, Any]:
    """``badge(**overrides)`` signed with eddsa-rdfc-2022."""
    return issue(badge(key, **overrides), key, loader, now=ISSUED)
