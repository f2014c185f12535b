"""Bitstring Status List v1.0: the bitstring codec and ``check_status``."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import StatusError
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.proof import add_proof
from badgeworks.core.status import (
    MIN_ENTRIES,
    decode_list,
    encode_list,
    get_status,
    new_bitstring,
    set_status,
    status_entry,
    status_list_credential,
)
from badgeworks.core.verification.status import check_status

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LIST_URL = "https://issuer.example/status/1"
ISSUER_PUB = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
ISSUER_SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"

# The encodedList of "Example BitstringStatusListCredential" in W3C Bitstring Status
# List v1.0 §2.2 (w3c/vc-bitstring-status-list index.html): 131,072 unset entries.
SPEC_ENCODED_LIST = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"


@pytest.fixture(scope="module")
def key() -> Ed25519KeyPair:
    return Ed25519KeyPair.from_multibase(ISSUER_PUB, ISSUER_SECRET)


@pytest.fixture(scope="module")
def other_key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


# --- the codec ---------------------------------------------------------------------------


def test_spec_example_decodes_to_16kb_of_zeros() -> None:
    bits = decode_list(SPEC_ENCODED_LIST)
    assert len(bits) == 16384
    assert not any(bits)
    assert get_status(bits, 0) == 0
    assert get_status(bits, MIN_ENTRIES - 1) == 0


def test_round_trip_and_determinism() -> None:
    bits = new_bitstring()
    for i in (0, 7, 8, 94567, MIN_ENTRIES - 1):
        set_status(bits, i, 1)
    encoded = encode_list(bits)
    assert encoded.startswith("u") and "=" not in encoded
    assert encode_list(bits) == encoded  # mtime=0: same bits, same string
    assert decode_list(encoded) == bytes(bits)


def test_bit_order_index_zero_is_most_significant_bit_of_first_byte() -> None:
    bits = new_bitstring()
    set_status(bits, 0, 1)
    assert bits[0] == 0x80
    set_status(bits, 7, 1)
    assert bits[0] == 0x81
    set_status(bits, 8, 1)
    assert bits[1] == 0x80
    set_status(bits, 0, 0)
    assert bits[0] == 0x01
    assert get_status(bits, 7) == 1 and get_status(bits, 6) == 0


def test_status_size_two_packs_msb_first() -> None:
    bits = new_bitstring(status_size=2)
    assert len(bits) == MIN_ENTRIES * 2 // 8
    set_status(bits, 1, 2, status_size=2)  # bits 2-3 = "10"
    set_status(bits, 2, 3, status_size=2)  # bits 4-5 = "11"
    assert bits[0] == 0b0010_1100
    assert get_status(bits, 1, 2) == 2
    assert get_status(bits, 2, 2) == 3
    assert get_status(bits, 0, 2) == 0
    with pytest.raises(StatusError) as exc:
        set_status(bits, 0, 4, status_size=2)
    assert exc.value.code == "status.value_out_of_range"


def test_index_bounds() -> None:
    bits = new_bitstring()
    with pytest.raises(StatusError) as exc:
        get_status(bits, MIN_ENTRIES)
    assert exc.value.code == "status.index_out_of_range"
    with pytest.raises(StatusError):
        get_status(bits, -1)


def test_new_bitstring_refuses_short_lists() -> None:
    with pytest.raises(StatusError) as exc:
        new_bitstring(1000)
    assert exc.value.code == "status.list_too_short"


def test_gzip_bomb_is_refused() -> None:
    bomb = encode_list(bytes(64 * 1024 * 1024))  # 64 MiB of zeros: ~64 KiB compressed
    assert len(bomb) < 200_000
    with pytest.raises(StatusError) as exc:
        decode_list(bomb)
    assert exc.value.code == "status.list_too_large"
    with pytest.raises(StatusError) as exc:
        decode_list(encode_list(bytes(5000)), max_bytes=4096)
    assert exc.value.code == "status.list_too_large"


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "u",
        "zH4sIAAAA",  # base58btc prefix
        SPEC_ENCODED_LIST[1:],  # no multibase prefix
        SPEC_ENCODED_LIST + "=",  # padding is not allowed
        "u!!!!",
        "uAAAA",  # base64url, but not GZIP
        SPEC_ENCODED_LIST[:30],  # truncated GZIP
        "u"
        + base64.urlsafe_b64encode(gzip.compress(b"", mtime=0)).decode().rstrip("="),  # empty list
        "u"
        + base64.urlsafe_b64encode(gzip.compress(b"\0", mtime=0) + b"junk").decode().rstrip("="),
    ],
)
def test_malformed_lists(encoded: str) -> None:
    with pytest.raises(StatusError) as exc:
        decode_list(encoded)
    assert exc.value.code == "status.list_malformed"


def test_decode_list_rejects_non_strings() -> None:
    with pytest.raises(StatusError):
        decode_list(None)  # type: ignore[arg-type]


def test_status_list_credential_shape() -> None:
    cred = status_list_credential(
        id=LIST_URL,
        issuer="did:example:1",
        purpose="revocation",
        encoded_list=SPEC_ENCODED_LIST,
        valid_from=NOW,
        ttl=300000,
    )
    assert cred["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert cred["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert cred["validFrom"] == "2025-06-01T12:00:00Z"
    assert cred["credentialSubject"] == {
        "id": LIST_URL + "#list",
        "type": "BitstringStatusList",
        "statusPurpose": "revocation",
        "encodedList": SPEC_ENCODED_LIST,
        "ttl": 300000,
    }


def test_status_entry_needs_messages_for_wide_entries() -> None:
    with pytest.raises(StatusError):
        status_entry(status_list_credential=LIST_URL, index=1, purpose="message", status_size=2)
    with pytest.raises(StatusError):
        status_entry(
            status_list_credential=LIST_URL,
            index=1,
            purpose="message",
            status_size=2,
            status_messages=["a", "b"],
        )
    entry = status_entry(
        status_list_credential=LIST_URL,
        index=5,
        purpose="message",
        status_size=2,
        status_messages=["pending_review", "accepted", "rejected", "undefined"],
    )
    assert entry["statusListIndex"] == "5"
    assert entry["statusMessage"][2] == {"status": "0x2", "message": "rejected"}


# --- check_status ------------------------------------------------------------------------


def _signed_list(
    key: Ed25519KeyPair,
    loader: DocumentLoader,
    *,
    set_bits: dict[int, int] | None = None,
    purpose: str = "revocation",
    status_size: int = 1,
    issuer: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    bits = new_bitstring(status_size=status_size)
    for index, value in (set_bits or {}).items():
        set_status(bits, index, value, status_size)
    unsigned = status_list_credential(
        id=LIST_URL,
        issuer=issuer or key.controller,
        purpose=purpose,
        encoded_list=encode_list(bits),
        valid_from=kwargs.pop("valid_from", datetime(2025, 1, 1, tzinfo=UTC)),
        **kwargs,
    )
    return add_proof(unsigned, key, loader, created=datetime(2025, 1, 1, tzinfo=UTC))


def _credential(issuer: str, entry: Any) -> dict[str, Any]:
    return {"issuer": {"id": issuer, "type": ["Profile"]}, "credentialStatus": entry}


def _entry(index: int = 42, purpose: str = "revocation", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{LIST_URL}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": LIST_URL,
        **extra,
    }


def _one(checks: list[Any]) -> Any:
    assert len(checks) == 1
    return checks[0]


def test_no_credential_status(loader: DocumentLoader) -> None:
    check = _one(check_status({"issuer": "did:example:1"}, None, loader, now=NOW))
    assert (check.outcome, check.code) == ("pass", "status.none")


def test_no_resolver_is_a_warning(loader: DocumentLoader) -> None:
    check = _one(check_status(_credential("did:example:1", _entry()), None, loader, now=NOW))
    assert (check.outcome, check.code) == ("warning", "status.not_checked")


def test_ok_revoked_and_suspended(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    lst = _signed_list(key, loader, set_bits={43: 1})
    cred = _credential(key.controller, _entry(42))
    check = _one(check_status(cred, {LIST_URL: lst}.__getitem__, loader, now=NOW))
    assert (check.outcome, check.code) == ("pass", "status.ok")
    cred = _credential(key.controller, _entry(43))
    check = _one(check_status(cred, {LIST_URL: lst}.__getitem__, loader, now=NOW))
    assert (check.outcome, check.code) == ("fail", "status.revoked")
    assert "revoked" in check.message

    # An endorser's revoked endorsement reads as a withdrawal (same code).
    endorsement = {**_credential(key.controller, _entry(43)), "type": ["EndorsementCredential"]}
    check = _one(check_status(endorsement, {LIST_URL: lst}.__getitem__, loader, now=NOW))
    assert (check.outcome, check.code) == ("fail", "status.revoked")
    assert check.message.startswith("This endorsement was withdrawn by its endorser")
    assert check.detail["status"] == 1

    suspended = _signed_list(key, loader, set_bits={43: 1}, purpose="suspension")
    cred = _credential(key.controller, _entry(43, "suspension"))
    check = _one(check_status(cred, lambda url: suspended, loader, now=NOW))
    assert (check.outcome, check.code) == ("fail", "status.suspended")


def test_status_message_with_status_size_two(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    lst = _signed_list(key, loader, set_bits={7: 2}, purpose="message", status_size=2)
    entry = status_entry(
        status_list_credential=LIST_URL,
        index=7,
        purpose="message",
        status_size=2,
        status_messages=["pending_review", "accepted", "rejected", "undefined"],
    )
    check = _one(check_status(_credential(key.controller, entry), lambda u: lst, loader, now=NOW))
    assert (check.outcome, check.code) == ("warning", "status.message")
    assert "rejected" in check.message
    assert check.detail["status"] == 2


def test_list_from_another_issuer_is_read_with_a_warning(
    key: Ed25519KeyPair, other_key: Ed25519KeyPair, loader: DocumentLoader
) -> None:
    # The credential names the list itself; a genuine list signed by another DID is read
    # and warned about (docs/verification.md, "What fails and what warns").
    lst = _signed_list(other_key, loader, set_bits={42: 1})
    cred = _credential(key.controller, _entry())
    warned, read = check_status(cred, lambda u: lst, loader, now=NOW)
    assert (warned.outcome, warned.code) == ("warning", "status.issuer_mismatch")
    assert warned.detail["signers"] == [other_key.controller]
    assert (read.outcome, read.code) == ("fail", "status.revoked")
    # A list that *claims* the right issuer but is signed with someone else's key is
    # named for who signed it, not for what it claims.
    forged = _signed_list(other_key, loader, issuer=key.controller)
    warned, read = check_status(cred, lambda u: forged, loader, now=NOW)
    assert (warned.outcome, warned.code) == ("warning", "status.issuer_mismatch")
    assert other_key.controller in warned.message
    assert (read.outcome, read.code) == ("pass", "status.ok")


def test_tampered_or_unsigned_list(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    lst = _signed_list(key, loader, set_bits={42: 1})
    lst["credentialSubject"]["encodedList"] = encode_list(new_bitstring())  # "un-revoke"
    cred = _credential(key.controller, _entry(42))
    check = _one(check_status(cred, lambda u: lst, loader, now=NOW))
    assert (check.outcome, check.code) == ("fail", "status.list_unverified")
    del lst["proof"]
    check = _one(check_status(cred, lambda u: lst, loader, now=NOW))
    assert (check.outcome, check.code) == ("fail", "status.list_unverified")


def test_list_validity_and_purpose(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    cred = _credential(key.controller, _entry())
    expired = _signed_list(key, loader, valid_until=datetime(2025, 2, 1, tzinfo=UTC))
    check = _one(check_status(cred, lambda u: expired, loader, now=NOW))
    assert check.code == "status.list_expired"
    future = _signed_list(key, loader, valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    check = _one(check_status(cred, lambda u: future, loader, now=NOW))
    assert check.code == "status.list_not_yet_valid"
    suspension = _signed_list(key, loader, purpose="suspension")
    check = _one(check_status(cred, lambda u: suspension, loader, now=NOW))
    assert check.code == "status.purpose_mismatch"


def test_index_out_of_range(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    lst = _signed_list(key, loader)
    cred = _credential(key.controller, _entry(MIN_ENTRIES))
    check = _one(check_status(cred, lambda u: lst, loader, now=NOW))
    assert (check.outcome, check.code) == ("fail", "status.index_out_of_range")


def test_resolver_failures(loader: DocumentLoader) -> None:
    cred = _credential("did:example:1", _entry())

    def broken(url: str) -> Any:
        raise OSError("connection refused")

    check = _one(check_status(cred, broken, loader, now=NOW))
    assert (check.outcome, check.code) == ("fail", "status.unavailable")
    assert "couldn't check" in check.message

    def declines(url: str) -> Any:
        raise StatusError("not mine", code="status.not_checked")

    check = _one(check_status(cred, declines, loader, now=NOW))
    assert (check.outcome, check.code) == ("warning", "status.not_checked")
    check = _one(check_status(cred, lambda u: ["not", "a", "credential"], loader, now=NOW))
    assert check.code == "status.list_malformed"


@pytest.mark.parametrize(
    "bad",
    [
        {"statusListIndex": 42},
        {"statusListIndex": "0x2a"},
        {"statusListIndex": "-1"},
        {"statusPurpose": ""},
        {"statusListCredential": None},
        {"statusSize": 0},
        {"statusSize": 2},  # without statusMessage
        {"statusMessage": [{"status": "0x0", "message": "ok"}]},  # needs 2 for size 1
    ],
)
def test_malformed_entries(bad: dict[str, Any], loader: DocumentLoader) -> None:
    cred = _credential("did:example:1", _entry(**{}) | bad)
    check = _one(check_status(cred, lambda u: {}, loader, now=NOW))
    assert (check.outcome, check.code) == ("fail", "status.entry_malformed")


@pytest.mark.parametrize("kind", ["1EdTechRevocationList", "RevocationList2020Status"])
def test_unsupported_status_types_are_warnings(kind: str, loader: DocumentLoader) -> None:
    cred = _credential("did:example:1", {"id": "https://x.example/r", "type": kind})
    check = _one(check_status(cred, lambda u: {}, loader, now=NOW))
    assert (check.outcome, check.code) == ("warning", "status.unsupported_type")
    assert kind in check.message


def test_several_entries_give_several_checks(key: Ed25519KeyPair, loader: DocumentLoader) -> None:
    lst = _signed_list(key, loader)
    cred = _credential(key.controller, [_entry(1), {"type": "1EdTechRevocationList"}, "junk"])
    checks = check_status(cred, lambda u: lst, loader, now=NOW)
    assert [c.code for c in checks] == [
        "status.ok",
        "status.unsupported_type",
        "status.entry_malformed",
    ]
