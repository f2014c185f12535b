"""Kept verification reports: what their key holds, what is never kept, and the bound."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from badgeworks.services.verification.kept import (
    FOREIGN,
    IMMUTABLE,
    KeptReports,
    date_sides,
    reaches_only,
    report_key,
)
from badgeworks.services.verification.pipeline import Check, Report

ORIGIN = "https://badges.example"
START = datetime(2025, 1, 1, tzinfo=UTC)
DOC = {
    "validFrom": "2025-01-01T00:00:00Z",
    "validUntil": "2026-01-01T00:00:00Z",
    "endorsement": [{"validFrom": "2025-06-01T00:00:00Z", "proof": {"created": "garbage"}}],
    "proof": {"verificationMethod": "did:web:badges.example:issuers:acme#key-1"},
}


def _report(outcome: str = "pass") -> Report:
    return Report([Check("proof", outcome, "proof.ok", "fine")])  # type: ignore[arg-type]


def test_date_sides_change_only_when_a_date_is_crossed() -> None:
    before = date_sides(DOC, START - timedelta(seconds=1))
    assert before == (-1, -1, -1)
    assert date_sides(DOC, START) == (0, -1, -1)
    inside = date_sides(DOC, START + timedelta(days=1))
    assert inside == date_sides(DOC, START + timedelta(days=100)) == (1, -1, -1)
    assert date_sides(DOC, START + timedelta(days=200)) == (1, -1, 1)
    assert date_sides(DOC, START + timedelta(days=400)) == (1, 1, 1)


def test_the_key_holds_the_text_the_keys_and_the_dates() -> None:
    did = "did:web:badges.example:issuers:acme"

    def key(text: str = "{}", fingerprint: str = "a", when: datetime = START) -> object:
        return report_key(
            origin=ORIGIN,
            kind="credential",
            ident="c1",
            text=text,
            document=DOC,
            keys={did: fingerprint},
            now=when,
        )

    assert key() == key()
    assert key(text="{ }") != key()
    assert key(fingerprint="b") != key()
    assert key(when=START + timedelta(days=400)) != key()


def test_what_could_not_be_checked_is_never_kept_and_the_bound_holds() -> None:
    kept = KeptReports(limit=2)
    calls: list[str] = []

    def compute(outcome: str) -> Report:
        calls.append(outcome)
        return _report(outcome)

    kept.get("busy", lambda: compute("indeterminate"))
    kept.get("busy", lambda: compute("indeterminate"))
    assert calls == ["indeterminate", "indeterminate"] and len(kept) == 0
    for name in ("a", "b", "c"):
        kept.get(name, lambda: compute("pass"))
    assert len(kept) == 2
    kept.get("c", lambda: compute("pass"))
    assert kept.reused == 1
    kept.get("a", lambda: compute("pass"))  # the least recently used left first
    assert kept.computed == 6


def test_threads_share_one_store() -> None:
    kept = KeptReports(limit=50)

    def work(n: int) -> None:
        for i in range(200):
            kept.get((n + i) % 80, _report)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kept) == 50 and kept.computed + kept.reused == 800


def test_only_a_document_that_reads_nothing_but_ours_may_be_kept() -> None:
    ours = "did:web:badges.example:mentors:1"
    doc = {
        "proof": {"verificationMethod": f"{ours}#key-1"},
        "credentialStatus": {"statusListCredential": f"{ORIGIN}/mentors/1/status/revocation/1"},
        "evidence": [{"id": f"{ORIGIN}/blobs/{'a' * 64}", "digestMultibase": "uEi"}],
    }
    assert reaches_only(doc, ORIGIN, {ours: "x"}, lists_known=True)
    assert not reaches_only(doc, ORIGIN, {ours: "x"}, lists_known=False)
    assert not reaches_only(doc, ORIGIN, {ours: FOREIGN}, lists_known=True)
    assert not reaches_only(doc, ORIGIN, {}, lists_known=True)
    elsewhere = {**doc, "evidence": [{"id": "https://x.example/f", "digestMultibase": "uEi"}]}
    assert not reaches_only(elsewhere, ORIGIN, {ours: "x"}, lists_known=True)
    listed_elsewhere = {
        **doc,
        "credentialStatus": {"statusListCredential": "https://x.example/list"},
    }
    assert not reaches_only(listed_elsewhere, ORIGIN, {ours: "x"}, lists_known=True)
    did_key = "did:key:z6Mkabc"
    keyed = {"proof": {"verificationMethod": f"{did_key}#z6Mkabc"}}
    assert reaches_only(keyed, ORIGIN, {did_key: IMMUTABLE}, lists_known=False)
