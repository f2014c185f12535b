"""Builders, XML Schema dateTimes and digestMultibase."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from badgeworks.core import contexts
from badgeworks.core import credential as c
from badgeworks.core.errors import CredentialError
from badgeworks.core.identity import matches_identity
from badgeworks.core.structure import credential_problems

from .conftest import DELIVERABLES, ISSUER_DID, STATUS_LIST


def test_xsd_datetime_formats_utc_without_microseconds() -> None:
    dt = datetime(2026, 10, 1, 11, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert c.xsd_datetime(dt) == "2026-10-01T09:00:00Z"
    assert c.xsd_datetime(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2010-01-01T00:00:00Z", datetime(2010, 1, 1, tzinfo=UTC)),
        ("2010-01-01T00:00:00.123456789Z", datetime(2010, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2010-01-01T02:00:00+02:00", datetime(2010, 1, 1, tzinfo=UTC)),
        ("2009-12-31T19:00:00-05:00", datetime(2010, 1, 1, tzinfo=UTC)),
        ("2009-12-31T24:00:00Z", datetime(2010, 1, 1, tzinfo=UTC)),
        # XML Schema allows no time zone; we read it as UTC (docs/credentials.md).
        ("2010-01-01T00:00:00", datetime(2010, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_xsd_datetime(text: str, expected: datetime) -> None:
    assert c.parse_xsd_datetime(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2010-01-01",
        "2010-01-01 00:00:00Z",
        "2010-13-01T00:00:00Z",
        "2010-02-30T00:00:00Z",
        "2010-01-01T00:00:00+15:00",
        "2010-01-01T24:00:01Z",
        "0000-01-01T00:00:00Z",
        "2010-01-01T00:00Z",
        "yesterday",
    ],
)
def test_parse_xsd_datetime_rejects(text: str) -> None:
    with pytest.raises(CredentialError) as exc:
        c.parse_xsd_datetime(text)
    assert exc.value.code == "credential.invalid_datetime"


def test_parse_xsd_datetime_can_require_a_timezone() -> None:
    with pytest.raises(CredentialError, match="time zone"):
        c.parse_xsd_datetime("2010-01-01T00:00:00", require_timezone=True)


def test_digest_multibase_is_a_sha256_multihash() -> None:
    value = c.digest_multibase(b"")
    # 0x12 0x20 + SHA-256("") in base64url: every such value starts "uEi".
    assert value == "uEiDjsMRCmPwcFJr79MiZb7kkJ65B5GSbk0yklZkbeFK4VQ"
    assert c.decode_digest_multibase(value) == ("sha2-256", hashlib.sha256(b"").digest())
    z = c.digest_multibase(b"", base="z")
    assert z.startswith("zQm")  # the familiar base58 sha2-256 multihash prefix
    assert c.check_digest_multibase(z, b"")


@pytest.mark.parametrize("alg", ["sha2-256", "sha2-384", "sha2-512"])
def test_digest_multibase_round_trip_and_tamper(alg: Any) -> None:
    data = b"final report, version 3"
    value = c.digest_multibase(data, alg)
    assert c.check_digest_multibase(value, data)
    assert not c.check_digest_multibase(value, data + b" ")
    flipped = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert not c.check_digest_multibase(flipped, data)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x123",
        "u!!!",
        "uEiA",  # header only
        "u" + "A" * 43,  # 32 bytes without a multihash header
        c.digest_multibase(b"x")[:-3],  # truncated
    ],
)
def test_decode_digest_multibase_rejects(value: str) -> None:
    assert not c.check_digest_multibase(value, b"x")
    with pytest.raises(CredentialError) as exc:
        c.decode_digest_multibase(value)
    assert exc.value.code == "credential.related_resource"


def test_builders_omit_nulls_and_empty_arrays() -> None:
    assert c.evidence(id="https://e.example/1", name=None, genre=None) == {
        "id": "https://e.example/1",
        "type": ["Evidence"],
    }
    a = c.achievement(id="https://a.example/1", name="A", description="D", alignment=[])
    assert "alignment" not in a and a["criteria"] == {}
    assert c.image(id="https://i.example/1.png") == {
        "id": "https://i.example/1.png",
        "type": "Image",
    }


def test_subject_needs_id_or_identifier() -> None:
    a = c.achievement(id="https://a.example/1", name="A", description="D")
    with pytest.raises(CredentialError) as exc:
        c.achievement_subject(achievement=a)
    assert exc.value.code == "credential.achievement_subject"


def test_related_resource_needs_a_digest() -> None:
    with pytest.raises(CredentialError) as exc:
        c.related_resource(id="https://e.example/1")
    assert exc.value.code == "credential.related_resource"
    sri = c.related_resource(id="https://e.example/1", digestSRI="sha256-" + "A" * 43 + "=")
    assert "digestSRI" in sri


def test_status_list_entry() -> None:
    entry = c.bitstring_status_list_entry(list_url=STATUS_LIST, index=94567)
    assert entry == {
        "id": f"{STATUS_LIST}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": STATUS_LIST,
    }
    with pytest.raises(CredentialError):
        c.bitstring_status_list_entry(list_url=STATUS_LIST, index=-1)


def test_micro_internship_badge(ob3_credential: dict[str, Any]) -> None:
    cred = ob3_credential
    assert cred["@context"] == [
        contexts.VC2_CONTEXT,
        contexts.OB3_CONTEXT,
        c.OB3_EXTENSIONS_CONTEXT,
    ]
    assert cred["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert c.issuer_id(cred) == ISSUER_DID
    assert cred["issuer"]["image"]["type"] == "Image"
    subject = cred["credentialSubject"]
    assert "id" not in subject and subject["role"] == "Intern"
    assert subject["source"]["type"] == ["Profile"]
    assert matches_identity(subject["identifier"][0], "intern@example.com", "emailAddress")
    achievement = subject["achievement"]
    assert achievement["achievementType"] == "Fieldwork"
    assert achievement["criteria"]["narrative"] and achievement["image"]["caption"]
    assert len(achievement["alignment"]) == 2
    assert len(achievement["resultDescription"][0]["rubricCriterionLevel"]) == 3
    assert [r.get("status") for r in subject["result"]] == [None, "Completed"]
    assert [e["id"] for e in cred["evidence"]] == list(DELIVERABLES)
    for entry, data in zip(cred["relatedResource"], DELIVERABLES.values(), strict=True):
        assert c.check_digest_multibase(entry["digestMultibase"], data)
    assert cred["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert cred["credentialSchema"] == [
        {"id": c.OB3_SCHEMA_URL, "type": "1EdTechJsonSchemaValidator2019"}
    ]
    assert credential_problems(cred) == []


def test_endorsement_credential_builder() -> None:
    e = c.endorsement_credential(
        id="urn:uuid:1b0a2d8e-9a43-4b57-8b1b-3d2f1f6f0e01",
        issuer=c.profile(id="https://acme-robotics.example.com", name="Acme Robotics"),
        valid_from="2026-10-02T00:00:00Z",
        subject_id="urn:uuid:0c9a1c1e-5d1b-4f55-8a57-3a3e1b9c2f10",
        name="Host company endorsement",
        endorsement_comment="An excellent intern.",
    )
    assert e["type"] == ["VerifiableCredential", "EndorsementCredential"]
    assert e["credentialSubject"]["type"] == ["EndorsementSubject"]
    assert c.OB3_EXTENSIONS_CONTEXT in e["@context"]
    assert credential_problems(e) == []
    bare = c.endorsement_credential(
        id="urn:uuid:1b0a2d8e-9a43-4b57-8b1b-3d2f1f6f0e02",
        issuer="https://acme-robotics.example.com",
        valid_from="2026-10-02T00:00:00Z",
        subject_id="https://badges.example.org",
        name="Endorsement",
        credential_schema=False,
    )
    assert bare["@context"] == [contexts.VC2_CONTEXT, contexts.OB3_CONTEXT]
