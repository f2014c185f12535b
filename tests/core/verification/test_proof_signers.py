"""Proof sets and chains with other signers (witnesses, co-signers), as ``verify()`` reports them.

VC Data Integrity 1.0 "Add Proof Set/Chain" and "Verify Proof Sets and Chains": a proof set
holds proofs made independently, possibly by different keys, and each proof is verified
on its own. The credential's issuer is bound by Open Badges 3.0 "Key provenance": the rule
here is that every proof must verify, at least one must be made with a key the issuer
controls, and the report names who signed each proof.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.issue import issue
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.proof import add_proof
from badgeworks.core.verification.credential import verify
from badgeworks.core.verification.report import Check, Report
from tests.did_key_badges import ISSUED, KEY, badge

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
WITNESS = Ed25519KeyPair.generate()
SECOND_WITNESS = Ed25519KeyPair.generate()
SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]


def _issued(loader: DocumentLoader, cryptosuite: str = "eddsa-rdfc-2022") -> dict[str, Any]:
    return issue(
        badge(KEY),
        KEY,
        loader,
        now=ISSUED,
        cryptosuite=cryptosuite,
        proof_id="urn:uuid:0e0b4a8c-2f6b-4a53-9f51-7b1c0c0a0001",
    )


def _cosign(
    document: dict[str, Any],
    key: Ed25519KeyPair,
    loader: DocumentLoader,
    cryptosuite: str = "eddsa-rdfc-2022",
    **options: Any,
) -> dict[str, Any]:
    return add_proof(document, key, loader, created=ISSUED, cryptosuite=cryptosuite, **options)


def _checks(report: Report, check: str) -> list[Check]:
    return [c for c in report.checks if c.check == check]


@pytest.mark.parametrize("witness_suite", SUITES)
@pytest.mark.parametrize("issuer_suite", SUITES)
def test_a_cosigned_credential_verifies_and_names_each_signer(
    loader: DocumentLoader, issuer_suite: str, witness_suite: str
) -> None:
    document = _cosign(_issued(loader, issuer_suite), WITNESS, loader, witness_suite)
    report = verify(document, loader=loader, now=NOW)
    assert report.verified, report.as_dict()

    issuer_proof, witness_proof = _checks(report, "proof")
    assert (issuer_proof.code, witness_proof.code) == ("proof.verified", "proof.verified")
    assert issuer_proof.message.endswith(f"since {badge(KEY)['issuer']['name']} signed it.")
    # The co-signer's proof names the co-signer and its key, never the issuer.
    assert WITNESS.controller in witness_proof.message
    assert WITNESS.id in witness_proof.message
    assert KEY.controller not in witness_proof.message
    assert witness_proof.detail["signer"] == WITNESS.controller
    assert issuer_proof.detail["signer"] == KEY.controller

    binding = [(c.code, c.outcome) for c in _checks(report, "issuer")]
    assert binding[:2] == [("issuer.key_match", "pass"), ("issuer.cosigned", "pass")]
    cosigned = next(c for c in report.checks if c.code == "issuer.cosigned")
    assert WITNESS.controller in cosigned.message


def test_the_order_of_the_set_does_not_matter(loader: DocumentLoader) -> None:
    signed = _cosign(_issued(loader), WITNESS, loader)
    signed["proof"] = list(reversed(signed["proof"]))
    report = verify(signed, loader=loader, now=NOW)
    assert report.verified, report.as_dict()
    assert [c.code for c in _checks(report, "issuer")][:2] == [
        "issuer.cosigned",
        "issuer.key_match",
    ]


def test_a_chained_witness_proof_verifies(loader: DocumentLoader) -> None:
    """ "Add Proof Set/Chain": the witness signs the document together with the issuer's
    proof (``previousProof``)."""
    issued = _issued(loader)
    chained = _cosign(issued, WITNESS, loader, previous_proof=issued["proof"][0]["id"])
    report = verify(chained, loader=loader, now=NOW)
    assert report.verified, report.as_dict()
    assert "issuer.cosigned" in [c.code for c in report.checks]


@pytest.mark.parametrize("witness_suite", SUITES)
def test_a_broken_cosignature_fails_the_credential(
    loader: DocumentLoader, witness_suite: str
) -> None:
    """ "Verify Proof Sets and Chains": every proof must verify; a broken co-signature is
    not ignored because the issuer's own proof is good."""
    document = _cosign(_issued(loader), WITNESS, loader, witness_suite)
    document["proof"][1]["created"] = "2025-05-02T09:00:00Z"  # signed over another date
    report = verify(document, loader=loader, now=NOW)
    assert not report.verified
    assert [(c.code, c.outcome) for c in _checks(report, "proof")] == [
        ("proof.verified", "pass"),
        ("proof.signature_invalid", "fail"),
    ]


def test_a_changed_credential_fails_every_proof(loader: DocumentLoader) -> None:
    document = _cosign(_issued(loader), WITNESS, loader)
    document["credentialSubject"]["achievement"]["name"] = "Something Else"
    report = verify(document, loader=loader, now=NOW)
    assert not report.verified
    assert {c.code for c in _checks(report, "proof")} == {"proof.signature_invalid"}


def test_a_set_with_no_issuer_proof_fails(loader: DocumentLoader) -> None:
    """Key provenance: signatures that all verify, none by the issuer's key, do not show
    that the issuer issued it."""
    unsigned = badge(KEY)
    document = _cosign(_cosign(unsigned, WITNESS, loader), SECOND_WITNESS, loader)
    report = verify(document, loader=loader, now=NOW)
    assert not report.verified
    assert {c.code for c in _checks(report, "proof")} == {"proof.verified"}
    mismatches = [c for c in report.checks if c.code == "issuer.key_mismatch"]
    assert [c.detail["controller"] for c in mismatches] == [
        WITNESS.controller,
        SECOND_WITNESS.controller,
    ]
    assert "issuer.cosigned" not in [c.code for c in report.checks]


def test_an_issuer_proof_that_fails_does_not_let_a_witness_stand_in(
    loader: DocumentLoader,
) -> None:
    document = _cosign(_issued(loader), WITNESS, loader)
    document["proof"][0]["proofPurpose"] = "authentication"
    report = verify(document, loader=loader, now=NOW)
    assert not report.verified
    assert "issuer.key_mismatch" in [c.code for c in report.checks]
    assert "issuer.key_match" not in [c.code for c in report.checks]


def test_a_single_proof_by_another_key_still_fails(loader: DocumentLoader) -> None:
    document = _cosign(badge(KEY), WITNESS, loader)
    report = verify(document, loader=loader, now=NOW)
    [proof] = _checks(report, "proof")
    assert proof.code == "proof.verified" and WITNESS.controller in proof.message
    mismatch = next(c for c in report.checks if c.code == "issuer.key_mismatch")
    assert (mismatch.outcome, mismatch.detail["controller"]) == ("fail", WITNESS.controller)
