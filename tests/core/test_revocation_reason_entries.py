"""The issuing side of revocation reasons in the pure core: the messages of a multi-bit
revocation entry, the entry itself, and reading back which codes a signed entry offers
(W3C Bitstring Status List v1.0 §2.1)."""

from __future__ import annotations

from typing import Any

import pytest

from badgeworks.core.errors import StatusError
from badgeworks.core.status import (
    entry_reasons,
    reason_messages,
    size_for,
    status_entry,
)

URL = "https://badges.example/status/acme/revocation/2"


def test_sizes_cover_the_highest_code() -> None:
    assert [size_for(c) for c in (1, 2, 3, 4, 7, 8, 15)] == [1, 2, 2, 3, 3, 4, 4]


def test_every_value_has_a_message_and_unused_values_read_revoked() -> None:
    messages = reason_messages({2: "revoked: issued in error", 5: "revoked: misconduct"}, 3)
    assert messages == [
        "valid",
        "revoked",
        "revoked: issued in error",
        "revoked",
        "revoked",
        "revoked: misconduct",
        "revoked",
        "revoked",
    ]
    with pytest.raises(StatusError) as refused:
        reason_messages({4: "too wide"}, 2)
    assert refused.value.code == "status.value_out_of_range"
    with pytest.raises(StatusError):
        reason_messages({1: "code 1 is plain revoked"}, 2)


def test_the_entry_carries_size_messages_and_reference_and_reads_back() -> None:
    messages = reason_messages({2: "revoked: issued in error", 3: "revoked: misconduct"}, 2)
    entry = status_entry(
        status_list_credential=URL,
        index=7,
        purpose="revocation",
        status_size=2,
        status_messages=messages,
        status_reference="https://acme.example/reasons",
    )
    assert entry["id"] == f"{URL}#7" and entry["statusListIndex"] == "7"
    assert entry["statusSize"] == 2 and entry["statusReference"] == "https://acme.example/reasons"
    assert [m["status"] for m in entry["statusMessage"]] == ["0x0", "0x1", "0x2", "0x3"]
    size, codes = entry_reasons(entry)
    assert size == 2
    assert codes == {1: "revoked", 2: "revoked: issued in error", 3: "revoked: misconduct"}


def test_a_one_bit_entry_offers_code_1_only() -> None:
    entry = status_entry(status_list_credential=URL, index=3, purpose="revocation")
    assert "statusSize" not in entry and "statusReference" not in entry
    assert entry_reasons(entry) == (1, {1: "revoked"})


@pytest.mark.parametrize(
    "tampered",
    [
        {"statusSize": 2, "statusMessage": "not a list"},
        {"statusSize": 2, "statusMessage": [{"status": "0x0", "message": "valid"}]},
        {"statusSize": 2, "statusMessage": [{"status": "zz", "message": "x"}] * 4},
        {"statusSize": 2, "statusMessage": [{"status": "0x0"}] * 4},
        {"statusSize": 0},
        {"statusSize": 17},
        {"statusSize": "2"},
        {"statusSize": True},
    ],
)
def test_malformed_entries_are_refused(tampered: dict[str, Any]) -> None:
    entry = {"statusPurpose": "revocation", "statusListIndex": "1", **tampered}
    with pytest.raises(StatusError) as refused:
        entry_reasons(entry)
    assert refused.value.code == "status.entry_malformed"
