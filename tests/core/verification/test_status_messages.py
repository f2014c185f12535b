"""Bitstring Status List v1.0 entries wider than one bit: ``statusSize``, ``statusMessage``
and ``statusReference`` (§2.1), the list's own ``statusSize`` (§2.2), and the value read at
``statusListIndex`` × ``statusSize`` (§3.2, "Validate Algorithm"), under hostile input too.

Section numbers are those of W3C Bitstring Status List v1.0
(https://www.w3.org/TR/vc-bitstring-status-list/).
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.multibase import encode_base64url
from badgeworks.core.proof import add_proof
from badgeworks.core.status import (
    MIN_ENTRIES,
    encode_list,
    new_bitstring,
    set_status,
    status_entry,
    status_list_credential,
)
from badgeworks.core.verification.report import Check
from badgeworks.core.verification.status import check_status

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LIST_URL = "https://issuer.example/status/messages/1"
REFERENCE = "https://issuer.example/status/reasons"
REASONS = ["valid", "revoked: issued in error", "revoked: misconduct", "undefined"]
_STATUS_SIZE_TERM = {
    "@id": "https://www.w3.org/ns/credentials/status#statusSize",
    "@type": "https://www.w3.org/2001/XMLSchema#integer",
}
REVIEW = ["pending_review", "accepted", "rejected", "undefined"]


@pytest.fixture(scope="module")
def key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


def _list(
    key: Ed25519KeyPair,
    loader: DocumentLoader,
    *,
    purpose: str,
    values: dict[int, int] | None = None,
    status_size: int = 2,
    subject: dict[str, Any] | None = None,
    encoded: str | None = None,
) -> dict[str, Any]:
    bits = new_bitstring(status_size=status_size)
    for index, value in (values or {}).items():
        set_status(bits, index, value, status_size)
    unsigned = status_list_credential(
        id=LIST_URL,
        issuer=key.controller,
        purpose=purpose,
        encoded_list=encoded or encode_list(bits),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC),
    )
    if subject:
        # The VC 2.0 context defines statusSize only on entries; a list that states its
        # own defines the term in an inline context (as the VC 2.0 context defines it for entries).
        unsigned["@context"].append({"statusSize": _STATUS_SIZE_TERM})
        unsigned["credentialSubject"].update(subject)
    return add_proof(unsigned, key, loader, created=datetime(2025, 1, 1, tzinfo=UTC))


def _entry(
    index: int, purpose: str = "message", messages: list[str] = REVIEW, **extra: Any
) -> dict[str, Any]:
    entry = status_entry(
        status_list_credential=LIST_URL,
        index=index,
        purpose=purpose,
        status_size=2,
        status_messages=messages,
    )
    entry.update(extra)
    return entry


def _check(key: Ed25519KeyPair, entry: Any, listed: Any, loader: DocumentLoader) -> Check:
    credential = {"issuer": {"id": key.controller, "type": ["Profile"]}, "credentialStatus": entry}
    checks = check_status(credential, lambda url: listed, loader, now=NOW)
    assert len(checks) == 1
    return checks[0]


# --- §2.1 and §3.2: reading a wide entry and its message --------------------------------


def test_message_purpose_reads_index_times_size_and_reports_the_message(
    key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    """§3.2 step 10: the value is at statusListIndex × statusSize; steps 12-14 give the
    value, ``valid`` (value 0) and the entry's message for the value."""
    listed = _list(key, loader, purpose="message", values={4: 1, 5: 2, 6: 3})
    expected = {3: 0, 4: 1, 5: 2, 6: 3, 7: 0}
    for index, value in expected.items():
        check = _check(key, _entry(index, statusReference=REFERENCE), listed, loader)
        assert check.code == "status.message"
        assert check.outcome == ("pass" if value == 0 else "warning")
        assert check.detail["status"] == value
        assert check.detail["valid"] is (value == 0)
        assert check.detail["message"] == REVIEW[value]
        assert check.detail["statusSize"] == 2
        assert check.detail["statusReference"] == [REFERENCE]
        assert f'"{REVIEW[value]}"' in check.message


def test_revocation_with_reason_codes(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    """§2.1 statusSize > 1 for any purpose: any non-zero value revokes (§3.2 ``valid`` is
    ``status == 0``) and the message for the value is the issuer's reason."""
    listed = _list(key, loader, purpose="revocation", values={9: 1})
    check = _check(key, _entry(9, "revocation", REASONS), listed, loader)
    assert (check.outcome, check.code) == ("fail", "status.revoked")
    assert check.detail["message"] == "revoked: issued in error"
    assert "revoked: issued in error" in check.message
    check = _check(key, _entry(10, "revocation", REASONS), listed, loader)
    assert (check.outcome, check.code) == ("pass", "status.ok")
    assert check.detail["message"] == "valid"


def test_message_purpose_without_messages_reads_set_and_unset(
    key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    """§2.1 statusMessage: without the array, values 1 and 0 are "set" and "unset"."""
    listed = _list(key, loader, purpose="message", values={2: 1}, status_size=1)
    entry = status_entry(status_list_credential=LIST_URL, index=2, purpose="message")
    check = _check(key, entry, listed, loader)
    assert (check.outcome, check.detail["message"]) == ("warning", "set")
    entry = status_entry(status_list_credential=LIST_URL, index=3, purpose="message")
    check = _check(key, entry, listed, loader)
    assert (check.outcome, check.detail["message"]) == ("pass", "unset")


def test_list_status_size_must_match_the_entry(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    """§2.2: a list may state its own statusSize; it must be the entry's."""
    same = _list(key, loader, purpose="message", values={1: 3}, subject={"statusSize": 2})
    assert _check(key, _entry(1), same, loader).detail["status"] == 3
    other = _list(key, loader, purpose="message", subject={"statusSize": 4}, status_size=4)
    check = _check(key, _entry(1), other, loader)
    assert (check.outcome, check.code) == ("fail", "status.size_mismatch")
    assert check.detail["listStatusSize"] == 4
    for bad in (0, "2", 2.0, True, 10**40):
        broken = _list(key, loader, purpose="message", subject={"statusSize": bad})
        check = _check(key, _entry(1), broken, loader)
        assert (check.outcome, check.code) == ("fail", "status.list_malformed"), bad


def test_list_too_short_for_the_entry_size(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    """§3.2 step 9: 131,072 one-bit entries are only 65,536 entries of two bits. A short
    list is a privacy weakness of the list, not a verdict on the credential: it is read,
    and warned about."""
    listed = _list(key, loader, purpose="message", status_size=1)
    credential = {
        "issuer": {"id": key.controller, "type": ["Profile"]},
        "credentialStatus": _entry(1),
    }
    short, read = check_status(credential, lambda url: listed, loader, now=NOW)
    assert (short.outcome, short.code) == ("warning", "status.list_too_short")
    assert short.detail["entries"] == MIN_ENTRIES // 2
    assert (read.outcome, read.code) == ("pass", "status.message")


def test_index_beyond_the_list_is_a_range_error(
    key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    """§3.2 step 10: an index × size outside the bitstring is a RANGE_ERROR."""
    listed = _list(key, loader, purpose="message")
    assert _check(key, _entry(MIN_ENTRIES - 1), listed, loader).code == "status.message"
    for index in (MIN_ENTRIES, 10**19):
        check = _check(key, _entry(index), listed, loader)
        assert (check.outcome, check.code) == ("fail", "status.index_out_of_range")


def test_gzip_bomb_in_a_wide_list_is_refused(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    """§3.4 expansion is capped: 64 MiB of zeros compresses to about 64 KB."""
    bomb = encode_base64url(gzip.compress(bytes(64 * 1024 * 1024), mtime=0))
    listed = _list(key, loader, purpose="message", encoded=bomb)
    check = _check(key, _entry(1), listed, loader)
    assert (check.outcome, check.code) == ("fail", "status.list_too_large")


# --- hostile entries: each breaks a MUST of §2.1 ----------------------------------------


def _messages(*values: str) -> list[dict[str, str]]:
    return [{"status": value, "message": f"m{n}"} for n, value in enumerate(values)]


@pytest.mark.parametrize(
    "change",
    [
        {"statusSize": 0},
        {"statusSize": -2},
        {"statusSize": 1.5},
        {"statusSize": "2"},
        {"statusSize": True},
        {"statusSize": 10**100},
        {"statusSize": 17},  # 131,072 messages: beyond what we read
        {"statusSize": 3},  # the four messages do not match 2**3
        {"statusMessage": None},  # required when statusSize > 1
        {"statusMessage": _messages("0x0", "0x1", "0x2")},
        {"statusMessage": _messages(*(hex(v) for v in range(8)))},
        {"statusMessage": _messages("0x0", "0x1", "0x1", "0x3")},  # a value twice
        {"statusMessage": _messages("0x0", "0x1", "0x2", "0x4")},  # 4 does not fit 2 bits
        {"statusMessage": _messages("0x0", "0x1", "0x2", "0x" + "f" * 5000)},
        {"statusMessage": _messages("0", "1", "2", "3")},  # not 0x-prefixed hexadecimal
        {"statusMessage": [{"status": "0x0"}, {"status": "0x1"}, {}, {}]},
        {"statusMessage": {"status": "0x0", "message": "valid"}},
        {"statusReference": []},
        {"statusReference": 5},
        {"statusReference": "not a url"},
        {"statusReference": [REFERENCE, None]},
        {"statusReference": "https://x.example/" + "a" * 5000},
    ],
)
def test_malformed_wide_entries_are_refused(
    change: dict[str, Any], key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    listed = _list(key, loader, purpose="message", values={1: 1})
    entry = _entry(1)
    entry.update(change)
    if entry.get("statusMessage") is None:
        entry.pop("statusMessage", None)
    check = _check(key, entry, listed, loader)
    assert (check.outcome, check.code) == ("fail", "status.entry_malformed")
    assert "status" not in check.detail
