"""W3C Bitstring Status List v1.0: encode, decode and build status lists and their entries.

A status list is a bitstring of at least 131,072 entries (16 KB), GZIP-compressed and
written as multibase base64url-no-pad (``u…``) in the ``encodedList`` of a signed
``BitstringStatusListCredential`` (spec §2.2). A credential points at one entry with a
``BitstringStatusListEntry`` (§2.1). Entry 0 is the left-most, most significant bit of
the first byte; an entry of ``statusSize`` bits is read most significant bit first.

Checking a credential's status against its lists is verification
(``core.verification.status``).
"""

from __future__ import annotations

import base64
import gzip
import re
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from badgeworks.core.contexts import VC2_CONTEXT

from .errors import StatusError
from .multibase import encode_base64url

ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"

#: §3.2 "Validate Algorithm": a list must hold at least this many entries.
MIN_ENTRIES = 131_072
DEFAULT_MAX_LIST_BYTES = 16 * 1024 * 1024
#: A bound on ``statusSize`` so that 2**statusSize stays a sensible number of messages.
MAX_STATUS_SIZE = 16

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")


# --- the bitstring -----------------------------------------------------------------------


def encode_list(bits: bytes | bytearray) -> str:
    """``u`` + base64url-no-pad(GZIP(bits)) (§3.3). ``mtime=0`` keeps the output stable."""
    return encode_base64url(gzip.compress(bytes(bits), mtime=0))


def decode_list(encoded: str, *, max_bytes: int = DEFAULT_MAX_LIST_BYTES) -> bytes:
    """Expand an ``encodedList`` (§3.4), refusing GZIP bombs larger than ``max_bytes``."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusError(
            "the status list's encodedList must be a base64url multibase string starting "
            f"with 'u', got {encoded!r:.60}",
            code="status.list_malformed",
        )
    body = encoded[1:]
    if not _BASE64URL.match(body):
        raise StatusError(
            "the status list's encodedList is not valid base64url (without padding)",
            code="status.list_malformed",
        )
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:  # binascii.Error: a length no base64 string can have
        raise StatusError(
            "the status list's encodedList is not valid base64url",
            code="status.list_malformed",
        ) from None
    # wbits=31 accepts exactly a GZIP wrapper (RFC 1952). Decompress in bounded steps so
    # that a few kilobytes of input cannot expand into gigabytes of memory.
    inflater = zlib.decompressobj(wbits=31)
    out = bytearray()
    pending = compressed
    try:
        while pending and not inflater.eof:
            out += inflater.decompress(pending, max_bytes + 1 - len(out))
            if len(out) > max_bytes:
                raise StatusError(
                    f"the status list expands to more than {max_bytes} bytes; refusing it",
                    code="status.list_too_large",
                )
            pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise StatusError(
            f"the status list is not valid GZIP data ({exc})", code="status.list_malformed"
        ) from None
    if not inflater.eof or inflater.unused_data:
        raise StatusError(
            "the status list's GZIP data is truncated or has trailing bytes",
            code="status.list_malformed",
        )
    if not out:
        raise StatusError("the status list is empty", code="status.list_malformed")
    return bytes(out)


def new_bitstring(entries: int = MIN_ENTRIES, status_size: int = 1) -> bytearray:
    """An all-zero list of ``entries`` statuses of ``status_size`` bits each."""
    check_size(status_size)
    if entries < MIN_ENTRIES:
        raise StatusError(
            f"a status list needs at least {MIN_ENTRIES} entries (spec §3.2), got {entries}",
            code="status.list_too_short",
        )
    return bytearray((entries * status_size + 7) // 8)


def check_size(status_size: int) -> None:
    if (
        not isinstance(status_size, int)
        or isinstance(status_size, bool)
        or not 1 <= status_size <= MAX_STATUS_SIZE
    ):
        raise StatusError(
            f"statusSize must be an integer from 1 to {MAX_STATUS_SIZE}, got {status_size!r:.40}",
            code="status.entry_malformed",
        )


def _check_index(bits: bytes | bytearray, index: int, status_size: int) -> None:
    check_size(status_size)
    if index < 0 or (index + 1) * status_size > len(bits) * 8:
        raise StatusError(
            f"status index {index} is outside the list, which holds "
            f"{len(bits) * 8 // status_size} entries",
            code="status.index_out_of_range",
            index=index,
        )


def get_status(bits: bytes | bytearray, index: int, status_size: int = 1) -> int:
    """The value of entry ``index``: ``status_size`` bits, most significant first."""
    _check_index(bits, index, status_size)
    start = index * status_size
    value = 0
    for position in range(start, start + status_size):
        value = (value << 1) | ((bits[position // 8] >> (7 - position % 8)) & 1)
    return value


def set_status(bits: bytearray, index: int, value: int, status_size: int = 1) -> None:
    """Set entry ``index`` to ``value`` (0 ≤ value < 2**status_size), in place."""
    _check_index(bits, index, status_size)
    if not 0 <= value < (1 << status_size):
        raise StatusError(
            f"status value {value} does not fit in {status_size} bit(s)",
            code="status.value_out_of_range",
        )
    start = index * status_size
    for offset in range(status_size):
        position = start + offset
        mask = 0x80 >> (position % 8)
        if (value >> (status_size - 1 - offset)) & 1:
            bits[position // 8] |= mask
        else:
            bits[position // 8] &= ~mask & 0xFF


# --- builders ----------------------------------------------------------------------------


def _xsd(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_list_credential(
    *,
    id: str,
    issuer: str,
    purpose: str | Sequence[str],
    encoded_list: str,
    valid_from: datetime | str,
    valid_until: datetime | str | None = None,
    ttl: int | None = None,
) -> dict[str, Any]:
    """An unsigned ``BitstringStatusListCredential`` (§2.2), VC 2.0 context only.

    ``statusSize`` and ``statusMessage`` belong on each credential's entry (§2.1; the
    VC 2.0 context defines them only there), so they are parameters of ``status_entry``.
    """
    subject: dict[str, Any] = {
        "id": f"{id}#list",
        "type": LIST_TYPE,
        "statusPurpose": purpose if isinstance(purpose, str) else list(purpose),
        "encodedList": encoded_list,
    }
    if ttl is not None:
        subject["ttl"] = ttl
    credential: dict[str, Any] = {
        "@context": [VC2_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": issuer,
        "validFrom": _xsd(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = _xsd(valid_until)
    credential["credentialSubject"] = subject
    return credential


def status_entry(
    *,
    status_list_credential: str,
    index: int,
    purpose: str,
    status_size: int | None = None,
    status_messages: Sequence[str] | None = None,
    status_reference: str | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    """A ``BitstringStatusListEntry`` for a credential's ``credentialStatus`` (§2.1).

    ``status_messages[v]`` is the message for value ``v``; there must be 2**statusSize.
    ``status_reference`` is the §2.1 ``statusReference`` URL that explains the values.
    """
    entry: dict[str, Any] = {
        "id": id or f"{status_list_credential}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": status_list_credential,
    }
    size = 1 if status_size is None else status_size
    check_size(size)
    if status_size is not None:
        entry["statusSize"] = status_size
    if status_messages is not None:
        if len(status_messages) != 1 << size:
            raise StatusError(
                f"statusMessage needs {1 << size} messages for statusSize {size}, "
                f"got {len(status_messages)}",
                code="status.entry_malformed",
            )
        entry["statusMessage"] = [
            {"status": hex(value), "message": message}
            for value, message in enumerate(status_messages)
        ]
    elif size > 1:
        raise StatusError(
            "statusMessage is required when statusSize is greater than 1",
            code="status.entry_malformed",
        )
    if status_reference is not None:
        entry["statusReference"] = status_reference
    return entry


# --- revocation reasons ------------------------------------------------------------------

#: The message of value 0 in a revocation entry with reasons: not revoked.
VALID_MESSAGE = "valid"
#: The message of value 1 (a revocation without a reason code) and of every value the
#: issuer gave no reason for.
REVOKED_MESSAGE = "revoked"


def size_for(highest_code: int) -> int:
    """The ``statusSize`` whose values reach ``highest_code`` (at least 1)."""
    return max(1, int(highest_code).bit_length())


def reason_messages(reasons: Mapping[int, str], status_size: int) -> list[str]:
    """The ``statusMessage`` texts of a revocation entry, value 0 to 2**size − 1.

    Value 0 is ``valid``, value 1 is a plain ``revoked``, and each issuer's reason code
    its own message; values no reason uses read ``revoked`` too, so any value but 0
    still says the credential is revoked.
    """
    check_size(status_size)
    out = [VALID_MESSAGE] + [REVOKED_MESSAGE] * ((1 << status_size) - 1)
    for code, message in reasons.items():
        if not 2 <= code < 1 << status_size:
            raise StatusError(
                f"reason code {code} does not fit in {status_size} bit(s) (codes start at 2)",
                code="status.value_out_of_range",
            )
        out[code] = message
    return out


def entry_reasons(entry: Mapping[str, Any]) -> tuple[int, dict[int, str]]:
    """A revocation entry's ``statusSize`` and the codes it can be set to, with messages.

    Value 1 (plain ``revoked``) is always there; a value above 1 counts when the entry's
    ``statusMessage`` gives it a message of its own (not the one of value 1). An entry
    without ``statusSize`` (1 bit) has value 1 only. Raises ``StatusError`` for an entry
    that is not well formed.
    """
    size = entry.get("statusSize", 1)
    check_size(size)
    if size == 1:
        return 1, {1: REVOKED_MESSAGE}
    raw = entry.get("statusMessage")
    if not isinstance(raw, list) or len(raw) != 1 << size:
        raise StatusError(
            f"statusMessage must list {1 << size} messages for statusSize {size}",
            code="status.entry_malformed",
        )
    messages: dict[int, str] = {}
    for item in raw:
        status = item.get("status") if isinstance(item, Mapping) else None
        message = item.get("message") if isinstance(item, Mapping) else None
        if not isinstance(status, str) or not isinstance(message, str):
            raise StatusError(
                "each statusMessage entry needs a 'status' and a 'message'",
                code="status.entry_malformed",
            )
        try:
            value = int(status, 16)
        except ValueError:
            raise StatusError(
                f"statusMessage status {status!r:.20} is not hexadecimal",
                code="status.entry_malformed",
            ) from None
        messages[value] = message
    plain = messages.get(1, REVOKED_MESSAGE)
    codes = {1: plain}
    codes.update({v: m for v, m in messages.items() if 2 <= v < 1 << size and m != plain})
    return size, dict(sorted(codes.items()))
