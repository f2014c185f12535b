"""``verify()``: the report for good, tampered, expired, revoked and garbage documents."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.issue import issue
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.proof import add_proof
from badgeworks.core.status import (
    encode_list,
    new_bitstring,
    set_status,
    status_list_credential,
)
from badgeworks.core.verification.credential import verify
from badgeworks.core.verification.report import Check, Report
from tests.conftest import EDDSA, read_json
from tests.did_key_badges import ISSUED, badge, signed, vector_key

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LIST_URL = "https://northwind.example/status/revocation/1"


@pytest.fixture(scope="module")
def key() -> Ed25519KeyPair:
    return vector_key()


@pytest.fixture(scope="module")
def mentor_key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


def codes(report: Report, check: str | None = None) -> list[str]:
    return [c.code for c in report.checks if check is None or c.check == check]


def outcome(report: Report, code: str) -> str:
    found = [c for c in report.checks if c.code == code]
    assert found, f"{code} not in {codes(report)}"
    return found[0].outcome


def test_fresh_badge_verifies(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    report = verify(signed(loader, key), loader=loader, now=NOW, known_issuers={key.controller})
    assert report.verified, report.as_dict()
    assert report.verdict == "verified"
    assert [c.check for c in report.checks] == [
        "structure",
        "schema",
        "proof",
        "issuer",
        "issuer",
        "validity",
        "status",
    ]
    proof = next(c for c in report.checks if c.check == "proof")
    assert proof.message.startswith("The signature is intact")
    assert "Northwind Institute" in proof.message
    assert outcome(report, "issuer.key_match") == "pass"
    assert outcome(report, "issuer.known") == "pass"
    assert outcome(report, "status.none") == "pass"
    assert json.loads(json.dumps(report.as_dict()))["verified"] is True


def test_unknown_issuer_is_a_warning(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    report = verify(signed(loader, key), loader=loader, now=NOW)
    assert report.verified
    assert report.verdict == "verified_with_warnings"
    assert outcome(report, "issuer.unknown") == "warning"


def test_tampered_badge_fails(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    doc = signed(loader, key)
    doc["credentialSubject"]["achievement"]["name"] = "Senior Data Engineer"
    report = verify(doc, loader=loader, now=NOW)
    assert not report.verified
    assert report.verdict == "not_verified"
    proof = [c for c in report.checks if c.check == "proof"]
    assert [c.outcome for c in proof] == ["fail"]
    assert outcome(report, "issuer.not_checked") == "skipped"


def test_unsigned_badge_fails(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    report = verify(badge(key), loader=loader, now=NOW)
    assert outcome(report, "proof.missing") == "fail"


def test_expired_and_not_yet_valid(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    doc = signed(loader, key, valid_until="2025-05-31T00:00:00Z")
    report = verify(doc, loader=loader, now=NOW)
    assert not report.verified
    assert outcome(report, "validity.expired") == "fail"
    assert "expired on 31 May 2025" in report.failures()[0].message

    doc = signed(loader, key, valid_from="2025-07-01T00:00:00Z")
    report = verify(doc, loader=loader, now=NOW)
    assert outcome(report, "validity.not_yet_valid") == "fail"

    report = verify(signed(loader, key), loader=loader, now=NOW)
    assert outcome(report, "validity.ok") == "pass"


def _status_list(
    key: Ed25519KeyPair, loader: DocumentLoader, purpose: str, revoked: int | None
) -> dict[str, Any]:
    bits = new_bitstring()
    if revoked is not None:
        set_status(bits, revoked, 1)
    unsigned = status_list_credential(
        id=LIST_URL,
        issuer=key.controller,
        purpose=purpose,
        encoded_list=encode_list(bits),
        valid_from=ISSUED,
    )
    return add_proof(unsigned, key, loader, created=ISSUED)


@pytest.mark.parametrize(
    ("purpose", "code"), [("revocation", "status.revoked"), ("suspension", "status.suspended")]
)
def test_revoked_and_suspended(
    purpose: str, code: str, key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    entry = ob.bitstring_status_list_entry(list_url=LIST_URL, index=94567, purpose=purpose)
    doc = signed(loader, key, credential_status=entry)

    clean = _status_list(key, loader, purpose, None)
    report = verify(doc, loader=loader, now=NOW, status_resolver={LIST_URL: clean}.__getitem__)
    assert report.verified, report.as_dict()
    assert outcome(report, "status.ok") == "pass"

    hit = _status_list(key, loader, purpose, 94567)
    report = verify(doc, loader=loader, now=NOW, status_resolver={LIST_URL: hit}.__getitem__)
    assert not report.verified
    assert outcome(report, code) == "fail"

    report = verify(doc, loader=loader, now=NOW)
    assert report.verified
    assert outcome(report, "status.not_checked") == "warning"


def test_status_list_signed_by_another_issuer(
    key: Ed25519KeyPair, mentor_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    # The credential names the list; the list is genuine but signed by another DID: it
    # is read, with a warning (docs/verification.md, "What fails and what warns").
    entry = ob.bitstring_status_list_entry(list_url=LIST_URL, index=1)
    doc = signed(loader, key, credential_status=entry)
    foreign = _status_list(mentor_key, loader, "revocation", None)
    report = verify(doc, loader=loader, now=NOW, status_resolver=lambda url: foreign)
    assert outcome(report, "status.issuer_mismatch") == "warning"
    assert outcome(report, "status.ok") == "pass"
    assert report.verdict == "verified_with_warnings"
    # What such a list says still counts: a bit it sets revokes the credential.
    foreign = _status_list(mentor_key, loader, "revocation", 1)
    report = verify(doc, loader=loader, now=NOW, status_resolver=lambda url: foreign)
    assert outcome(report, "status.revoked") == "fail"
    assert report.verdict == "not_verified"


def test_w3c_vector_proof_valid_but_issuer_not_bound(loader: DocumentLoader) -> None:
    # tests/vectors/PROVENANCE.md: the proof verifies, but the did:key that signed is not
    # the issuer https://vc.example/issuers/5678.
    doc = read_json(EDDSA / "eddsa-rdfc-2022" / "signedDataInt.json")
    report = verify(doc, loader=loader, now=NOW)
    proof = [c for c in report.checks if c.check == "proof"]
    assert [c.outcome for c in proof] == ["pass"]
    assert outcome(report, "issuer.key_mismatch") == "fail"
    assert not report.verified


def test_vc_1_1_credential(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    # The OB 3.0 badge in VC Data Model 1.1 form: v1 context, issuanceDate/expirationDate.
    unsigned = badge(key)
    unsigned["@context"] = [
        "https://www.w3.org/2018/credentials/v1",
        unsigned["@context"][1],
        "https://w3id.org/security/data-integrity/v2",
    ]
    unsigned["issuanceDate"] = unsigned.pop("validFrom")
    unsigned["expirationDate"] = "2030-01-01T00:00:00Z"
    doc = add_proof(unsigned, key, loader, created=ISSUED)
    report = verify(doc, loader=loader, now=NOW)
    assert report.verified, report.as_dict()
    assert "1.1" in report.checks[0].message
    assert outcome(report, "validity.ok") == "pass"
    report = verify(doc, loader=loader, now=datetime(2031, 1, 1, tzinfo=UTC))
    assert outcome(report, "validity.expired") == "fail"


def _endorsement(mentor: Ed25519KeyPair, loader: DocumentLoader, subject_id: str) -> dict[str, Any]:
    unsigned = ob.endorsement_credential(
        id="urn:uuid:0d3c9d7e-1111-4c3b-9c41-5c1f2d8f9a01",
        issuer=ob.profile(id=mentor.controller, name="Grace, mentor at Acme Robotics"),
        valid_from=ob.xsd_datetime(ISSUED),
        subject_id=subject_id,
        name="Mentor endorsement",
        endorsement_comment="Ada shipped a robust pipeline ahead of schedule.",
        credential_schema=False,
    )
    return issue(unsigned, mentor, loader, now=ISSUED)


def test_endorsement_good_and_tampered(
    key: Ed25519KeyPair, mentor_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    achievement_id = "https://northwind.example/achievements/data-pipeline"
    endorsement = _endorsement(mentor_key, loader, achievement_id)
    doc = signed(loader, key, achievement_endorsement=[endorsement])
    report = verify(doc, loader=loader, now=NOW)
    assert report.verified, report.as_dict()
    check = next(c for c in report.checks if c.check == "endorsement")
    assert (check.outcome, check.code) == ("pass", "endorsement.ok")
    assert "Grace" in check.message
    assert check.detail["report"]["verified"] is True

    bad = copy.deepcopy(endorsement)
    bad["credentialSubject"]["endorsementComment"] = "Ada was late every day."
    doc = signed(loader, key, achievement_endorsement=[bad])
    report = verify(doc, loader=loader, now=NOW)
    # The endorsement fails on its own; the badge, whose own proof holds, still verifies.
    assert report.verified, report.as_dict()
    assert report.verdict == "verified_with_warnings"
    check = next(c for c in report.checks if c.check == "endorsement")
    assert (check.outcome, check.code) == ("warning", "endorsement.failed")
    assert check.detail["report"]["verified"] is False


def test_endorsement_of_something_else_is_a_warning(
    key: Ed25519KeyPair, mentor_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    endorsement = _endorsement(mentor_key, loader, "https://elsewhere.example/a/1")
    doc = signed(loader, key, endorsement=[endorsement])
    report = verify(doc, loader=loader, now=NOW)
    assert outcome(report, "endorsement.wrong_subject") == "warning"


def test_spec_example_with_bogus_endorsement_suites(loader: DocumentLoader) -> None:
    # fullOpenBadge.json is unsigned and its endorsements name "eddsa-rdf-2022".
    doc = read_json(__import__("pathlib").Path("tests/vectors/ob3-spec/fullOpenBadge.json"))
    report = verify(doc, loader=loader, now=NOW)
    assert not report.verified
    assert "internal.error" not in codes(report)


DEEP = json.loads("[" * 50 + "]" * 50)


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        [],
        [1, 2],
        "a string",
        42,
        {},
        {"proof": "nope"},
        {"proof": [None, 1, {}]},
        {"@context": 5, "type": {}, "issuer": [], "credentialSubject": "x", "proof": {}},
        {"@context": ["https://evil.example/ctx"], "proof": {"type": "DataIntegrityProof"}},
        {"validFrom": 12, "validUntil": "yesterday", "issuer": {"id": 5}},
        {"credentialStatus": [None, {"type": "BitstringStatusListEntry"}]},
        {"endorsement": [None, "x", {"endorsement": [{}]}]},
        {"credentialSubject": [{"achievement": {"endorsement": 7}}]},
        {"issuer": {"id": "did:example:1", "endorsement": {"issuer": 1}}},
        {"a": DEEP},
    ],
)
def test_garbage_never_raises(garbage: Any, loader: DocumentLoader) -> None:
    report = verify(garbage, loader=loader, now=NOW, status_resolver=lambda u: 1 / 0)
    assert isinstance(report, Report)
    assert not report.verified
    assert all(isinstance(c, Check) for c in report.checks)
    assert "internal.error" not in codes(report), report.as_dict()
    json.dumps(report.as_dict())


def test_deeply_nested_endorsements_stop(
    key: Ed25519KeyPair, mentor_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    inner: dict[str, Any] = {"endorsement": []}
    doc: dict[str, Any] = inner
    for _ in range(10):
        doc = {"endorsement": [doc]}
    report = verify(doc, loader=loader, now=NOW)
    assert "internal.error" not in codes(report)


def test_internal_errors_become_a_check(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    class Broken(dict[str, Any]):
        def get(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("boom")

    report = verify(Broken(signed(loader, key)), loader=loader, now=NOW)
    assert not report.verified
    assert "internal.error" in codes(report)


def test_naive_now_is_utc(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    report = verify(signed(loader, key), loader=loader, now=datetime(2025, 6, 1))
    assert report.verified


def test_every_code_in_core_is_documented() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    areas = (
        "badgeworks|baking|config|context|credential|did|endorsement|input|internal|issuer|jsonld|jwt|"
        "key|multibase|presentation|proof|rdfc|schema|status|structure|validity"
    )
    pattern = re.compile(rf'"((?:{areas})\.[a-z][a-z_]*)"')
    used = set()
    for path in (root / "src" / "badgeworks" / "core").rglob("*.py"):
        used |= set(pattern.findall(path.read_text("utf-8")))
    docs = (root / "docs" / "verification.md").read_text("utf-8")
    missing = sorted(code for code in used if f"`{code}`" not in docs)
    assert not missing, f"codes missing from docs/verification.md: {missing}"
