"""What fails and what warns (docs/verification.md): a credential is "not verified" when it
is not authentic or not currently valid, and "verified with warnings" when it is authentic
and valid but not fully conformant. Each case quotes the text that makes it so."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.adapters.resources import schema_documents
from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.issue import issue
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.proof import add_proof
from badgeworks.core.status import encode_list, set_status, status_list_credential
from badgeworks.core.structure import credential_findings, credential_problems
from badgeworks.core.verification.credential import verify
from badgeworks.core.verification.report import Report
from tests.did_key_badges import ISSUED, badge, vector_key
from tests.status_lists_2021 import credential_2021, list_2021

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LIST_URL = "https://northwind.example/status/revocation/7"


@pytest.fixture(scope="module")
def key() -> Ed25519KeyPair:
    return vector_key()


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return schema_documents()


@pytest.fixture(scope="module")
def other_key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


def _signed(loader: DocumentLoader, document: dict[str, Any], key: Ed25519KeyPair) -> Any:
    # add_proof, not issue(): issuing refuses every finding, conformance notes included.
    return add_proof(document, key, loader, created=ISSUED)


def _found(report: Report, code: str) -> str:
    found = [c.outcome for c in report.checks if c.code == code]
    assert found, f"{code} not in {[c.code for c in report.checks]}"
    return found[0]


# --- conformance: verified with warnings ---------------------------------------------


def test_subject_with_neither_id_nor_identifier_is_a_warning(
    key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    """OB 3.0 B.1.3 AchievementSubject, ``id``: "Either id or at least one identifier MUST
    be supplied." The claim is still signed and readable; only the holder cannot be
    matched to it."""
    doc = badge(key)
    del doc["credentialSubject"]["identifier"]
    report = verify(_signed(loader, doc, key), loader=loader, now=NOW)
    assert _found(report, "credential.subject_unidentified") == "warning"
    assert _found(report, "structure.ok") == "pass"
    assert report.verdict == "verified_with_warnings"
    # Issuing stays strict: we never write such a credential ourselves.
    assert [p.code for p in credential_problems(doc)] == ["credential.subject_unidentified"]


def test_issuer_image_as_a_plain_url_is_a_warning(
    key: Ed25519KeyPair, loader: DocumentLoader, schemas: dict[str, Any]
) -> None:
    """OB 3.0 B.1.14 Profile: "image Image An image representing the issuer." B.1.13
    Image: "These properties can typically be represented as just the id string of the
    image" - the string is accepted, with a warning, even where the JSON Schema (which
    asks for the object) is checked."""
    doc = badge(key, credential_schema=True)
    doc["issuer"]["image"] = "https://northwind.example/logo.png"
    report = verify(_signed(loader, doc, key), loader=loader, now=NOW, schemas=schemas)
    assert _found(report, "credential.image_url") == "warning"
    assert _found(report, "schema.invalid") == "warning"
    assert report.verdict == "verified_with_warnings", report.as_dict()
    # An image that is neither an object nor a URL still cannot be read: a failure.
    doc["issuer"]["image"] = 42
    report = verify(_signed(loader, doc, key), loader=loader, now=NOW)
    assert _found(report, "credential.image") == "fail"
    assert report.verdict == "not_verified"


def test_credential_schema_of_another_type_is_a_warning(
    key: Ed25519KeyPair, loader: DocumentLoader, schemas: dict[str, Any]
) -> None:
    """OB 3.0 B.1.21 CredentialSchema, ``type``: "One instance of CredentialSchema MUST
    have a type of '1EdTechJsonSchemaValidator2019'." VC 2.0 §4.11 allows any type, so
    another type is not wrong for the credential, only not one we are asked to run."""
    doc = badge(key)
    doc["credentialSchema"] = [
        {"id": "https://northwind.example/schemas/badge.json", "type": "JsonSchema"}
    ]
    report = verify(_signed(loader, doc, key), loader=loader, now=NOW, schemas=schemas)
    assert _found(report, "credential.schema_type") == "warning"
    assert report.verdict == "verified_with_warnings", report.as_dict()


def test_status_list_signed_by_another_did_is_read_with_a_warning(
    key: Ed25519KeyPair, other_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    """Bitstring Status List §2.2 lets a party other than the credential's issuer issue
    the list; the credential itself names it (in its signed ``statusListCredential``)."""
    entry = ob.bitstring_status_list_entry(list_url=LIST_URL, index=7)
    doc = _signed(loader, badge(key, credential_status=entry), key)
    for revoked, verdict in ((None, "verified_with_warnings"), (7, "not_verified")):
        listed = _bitstring_list(other_key, loader, revoked=revoked)
        report = verify(doc, loader=loader, now=NOW, status_resolver={LIST_URL: listed}.get)
        assert _found(report, "status.issuer_mismatch") == "warning"
        assert report.verdict == verdict


def test_status_list_shorter_than_the_minimum_is_read_with_a_warning(
    key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    """Bitstring Status List §3.2 step 9: a list of fewer than 131,072 entries (the
    privacy minimum) is STATUS_LIST_LENGTH_ERROR. The Digital Credentials Consortium's
    lists hold 100,000; the bit for the credential is still there to read."""
    entry = ob.bitstring_status_list_entry(list_url=LIST_URL, index=7)
    doc = _signed(loader, badge(key, credential_status=entry), key)
    for revoked, code, verdict in (
        (None, "status.ok", "verified_with_warnings"),
        (7, "status.revoked", "not_verified"),
    ):
        listed = _bitstring_list(key, loader, revoked=revoked, entries=100_000)
        report = verify(doc, loader=loader, now=NOW, status_resolver={LIST_URL: listed}.get)
        assert _found(report, "status.list_too_short") == "warning"
        assert [
            c.detail["entries"] for c in report.checks if c.code == "status.list_too_short"
        ] == [100_000]
        assert _found(report, code) in ("pass", "fail")
        assert report.verdict == verdict
    # An index the short list does not reach is still a range error: a failure.
    far = ob.bitstring_status_list_entry(list_url=LIST_URL, index=120_000)
    doc = _signed(loader, badge(key, credential_status=far), key)
    report = verify(doc, loader=loader, now=NOW, status_resolver=lambda url: listed)
    assert _found(report, "status.index_out_of_range") == "fail"


def _endorsement(
    mentor: Ed25519KeyPair, loader: DocumentLoader, subject_id: str, **extra: Any
) -> dict[str, Any]:
    unsigned = ob.endorsement_credential(
        id="urn:uuid:0d3c9d7e-1111-4c3b-9c41-5c1f2d8f9a02",
        issuer=ob.profile(id=mentor.controller, name="Grace, mentor at Acme Robotics"),
        valid_from=ob.xsd_datetime(ISSUED),
        subject_id=subject_id,
        name="Mentor endorsement",
        endorsement_comment="Ada shipped a robust pipeline ahead of schedule.",
        credential_schema=False,
        **extra,
    )
    return issue(unsigned, mentor, loader, now=ISSUED)


ACHIEVEMENT = "https://northwind.example/achievements/data-pipeline"


def test_genuine_but_expired_endorsement_is_a_warning(
    key: Ed25519KeyPair, other_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    """OB 3.0 "EndorsementCredential Verification" runs the credential's own steps on the
    endorsement; its validUntil ("After this time, the credential should be considered
    invalid", B.1.7) ends the endorsement, not the credential it is attached to."""
    expired = _endorsement(other_key, loader, ACHIEVEMENT, valid_until="2025-05-15T00:00:00Z")
    doc = _signed(loader, badge(key, achievement_endorsement=[expired]), key)
    report = verify(doc, loader=loader, now=NOW)
    (check,) = [c for c in report.checks if c.check == "endorsement"]
    assert (check.outcome, check.code) == ("warning", "endorsement.expired")
    assert check.detail["report"]["verified"] is False
    assert report.verdict == "verified_with_warnings"


def test_failed_endorsement_fails_only_itself(
    key: Ed25519KeyPair, other_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    """A tampered endorsement does not verify, and says so; the credential's own proof
    covers the endorsement as it is, so the credential's verdict is not failed by it."""
    bad = _endorsement(other_key, loader, ACHIEVEMENT)
    bad["credentialSubject"]["endorsementComment"] = "Ada was late every day."
    doc = _signed(loader, badge(key, achievement_endorsement=[bad]), key)
    report = verify(doc, loader=loader, now=NOW)
    (check,) = [c for c in report.checks if c.check == "endorsement"]
    assert (check.outcome, check.code) == ("warning", "endorsement.failed")
    assert "did not verify" in check.message
    assert check.detail["report"]["verified"] is False
    assert report.verified and report.verdict == "verified_with_warnings"
    # The same tampering on the credential itself is a failure of the credential.
    tampered = copy.deepcopy(doc)
    tampered["credentialSubject"]["achievement"]["name"] = "Senior Data Engineer"
    assert verify(tampered, loader=loader, now=NOW).verdict == "not_verified"


def test_a_malformed_embedded_endorsement_counts_against_itself(
    key: Ed25519KeyPair, other_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    endorsement = _endorsement(other_key, loader, ACHIEVEMENT)
    del endorsement["name"]  # EndorsementCredential B.1.7: "name ... [1]"
    doc = _signed(loader, badge(key, achievement_endorsement=[endorsement]), key)
    problems, _ = credential_findings(doc)
    assert problems == []
    report = verify(doc, loader=loader, now=NOW)
    assert _found(report, "structure.ok") == "pass"
    assert _found(report, "endorsement.failed") == "warning"
    assert report.verified


# --- authenticity and validity: not verified -----------------------------------------


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"valid_until": "2025-05-31T00:00:00Z"}, "validity.expired"),
        ({"valid_from": "2025-07-01T00:00:00Z"}, "validity.not_yet_valid"),
    ],
)
def test_not_currently_valid_is_not_verified(
    change: dict[str, str], code: str, key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    doc = _signed(loader, badge(key, **change), key)
    report = verify(doc, loader=loader, now=NOW)
    assert _found(report, code) == "fail"
    assert report.verdict == "not_verified"


def test_unidentified_subject_does_not_hide_a_revocation(
    key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    entry = ob.bitstring_status_list_entry(list_url=LIST_URL, index=7)
    doc = badge(key, credential_status=entry)
    del doc["credentialSubject"]["identifier"]
    doc = _signed(loader, doc, key)
    listed = _bitstring_list(key, loader, revoked=7)
    report = verify(doc, loader=loader, now=NOW, status_resolver=lambda url: listed)
    assert _found(report, "status.revoked") == "fail"
    assert report.verdict == "not_verified"


# --- Status List 2021 ------------------------------------------------------------------


def _bitstring_list(
    key: Ed25519KeyPair,
    loader: DocumentLoader,
    *,
    revoked: int | None,
    entries: int = 131_072,
) -> dict[str, Any]:
    bits = bytearray(entries // 8)
    if revoked is not None:
        set_status(bits, revoked, 1)
    unsigned = status_list_credential(
        id=LIST_URL,
        issuer=key.controller,
        purpose="revocation",
        encoded_list=encode_list(bits),
        valid_from=ISSUED,
    )
    return add_proof(unsigned, key, loader, created=ISSUED)


@pytest.mark.parametrize(
    ("purpose", "code"), [("revocation", "status.revoked"), ("suspension", "status.suspended")]
)
@pytest.mark.parametrize("standard_base64", [False, True])
def test_status_list_2021_entries_are_checked(
    purpose: str,
    code: str,
    standard_base64: bool,
    key: Ed25519KeyPair,
    loader: DocumentLoader,
) -> None:
    """Status List 2021 §2.1 StatusList2021Entry (statusPurpose, statusListIndex,
    statusListCredential) and §2.2 StatusList2021Credential, read like Bitstring Status
    List v1.0 entries."""
    listed = list_2021(key, loader, set_bits=(5,), purpose=purpose, standard_base64=standard_base64)
    for index, outcome, verdict in ((4, "status.ok", "verified"), (5, code, "not_verified")):
        doc = credential_2021(key, loader, index, purpose)
        report = verify(
            doc,
            loader=loader,
            now=NOW,
            status_resolver=lambda url: listed,
            known_issuers={key.controller},
        )
        assert _found(report, outcome) in ("pass", "fail")
        assert report.verdict == verdict, report.as_dict()
        (status,) = [c for c in report.checks if c.check == "status"]
        assert status.detail["type"] == "StatusList2021Entry"
        assert status.detail["statusListIndex"] == index


def test_status_list_2021_entry_needs_a_2021_list(
    key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    doc = credential_2021(key, loader, 4)
    listed = _bitstring_list(key, loader, revoked=None)
    report = verify(doc, loader=loader, now=NOW, status_resolver=lambda url: listed)
    assert _found(report, "status.list_malformed") == "fail"
    assert "StatusList2021Credential" in report.failures()[0].message


def test_status_list_2021_with_a_broken_encoded_list_is_not_verified(
    key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    listed = list_2021(key, loader)
    listed["credentialSubject"]["encodedList"] = "not base64!"
    doc = credential_2021(key, loader, 4)
    report = verify(doc, loader=loader, now=NOW, status_resolver=lambda url: listed)
    # The proof no longer holds over the changed list, which is reported first.
    assert report.verdict == "not_verified"
    assert {c.code for c in report.failures()} <= {
        "status.list_unverified",
        "status.list_malformed",
    }


def test_short_status_list_2021_is_read_with_a_warning(
    key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    listed = list_2021(key, loader, set_bits=(2, 6, 8), entries=100_000)
    doc = credential_2021(key, loader, 9)
    report = verify(
        doc,
        loader=loader,
        now=NOW,
        status_resolver=lambda url: listed,
        known_issuers={key.controller},
    )
    assert _found(report, "status.list_too_short") == "warning"
    assert _found(report, "status.ok") == "pass"
    assert report.verdict == "verified_with_warnings"
