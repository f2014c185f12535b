"""A credential whose signature failed shows no "passed" for what it says of itself: its
issuer, dates and status are ``skipped`` ``*.not_checked``, in machine form."""

from __future__ import annotations

from datetime import UTC, datetime

from badgeworks.core.loader import DocumentLoader
from badgeworks.core.verification.credential import verify
from badgeworks.core.verification.report import Report
from tests.did_key_badges import signed, vector_key

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _by_check(report: Report) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for c in report.checks:
        found.setdefault(c.check, []).append((c.outcome, c.code))
    return found


def test_a_tampered_credential_reports_its_own_claims_as_not_checked(
    loader: DocumentLoader,
) -> None:
    key = vector_key()
    doc = signed(loader, key)
    good = _by_check(verify(doc, loader=loader, now=NOW, known_issuers={key.controller}))
    assert ("pass", "issuer.known") in good["issuer"]
    assert good["validity"] == [("pass", "validity.ok")]

    doc["credentialSubject"]["achievement"]["name"] = "Senior Data Engineer"
    report = verify(doc, loader=loader, now=NOW, known_issuers={key.controller})
    assert report.verdict == "not_verified"
    found = _by_check(report)
    assert [outcome for outcome, _ in found["proof"]] == ["fail"]
    assert found["issuer"] == [("skipped", "issuer.not_checked")]
    assert found["validity"] == [("skipped", "validity.not_checked")]
    assert found["status"] == [("skipped", "status.not_checked")]
    # Nothing but the form of the document is reported as passed.
    passed = {c.check for c in report.checks if c.outcome == "pass"}
    assert passed <= {"structure", "schema"}
    for c in report.checks:
        if c.code.endswith(".not_checked"):
            assert c.as_dict()["detail"] == {"because": "proof.failed"}
            assert c.message.startswith("Not checked: the signature failed")


def test_an_expired_tampered_credential_is_not_reported_as_expired(
    loader: DocumentLoader,
) -> None:
    """An altered credential's dates are its forger's: neither "valid" nor "expired"."""
    doc = signed(loader, vector_key(), valid_until="2025-05-31T00:00:00Z")
    doc["validUntil"] = "2030-01-01T00:00:00Z"
    report = verify(doc, loader=loader, now=NOW)
    codes = [c.code for c in report.checks]
    assert "validity.not_checked" in codes
    assert "validity.ok" not in codes and "validity.expired" not in codes
