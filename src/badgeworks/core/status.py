"""W3C Bitstring Status List v1.0: encode, decode, build, and check credential status.

A status list is a bitstring of at least 131,072 entries (16 KB), GZIP-compressed and
written as multibase base64url-no-pad (``u…``) in the ``encodedList`` of a signed
``BitstringStatusListCredential`` (spec §2.2). A credential points at one entry with a
``BitstringStatusListEntry`` (§2.1). Entry 0 is the left-most, most significant bit of
the first byte; an entry of ``statusSize`` bits is read most significant bit first.

The core never fetches: ``check_status`` asks an injected ``StatusResolver`` for the
status list credential. A resolver that does not handle a URL raises ``StatusError``
with code ``status.not_checked`` (reported as a warning); any other exception means the
list could not be retrieved (reported as a failure, ``status.unavailable``).
"""

from __future__ import annotations

import base64
import gzip
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from badgeworks.core.contexts import VC2_CONTEXT

from .credential import issuer_id, parse_xsd_datetime
from .errors import BadgeworksError, StatusError
from .loader import DocumentLoader
from .multibase import encode_base64url
from .proof import verify_proofs
from .verification.report import UNAVAILABLE_CODES, Check

#: statusListCredential URL -> the status list credential document (raise if unavailable).
StatusResolver = Callable[[str], Any]

ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"

#: §3.2 "Validate Algorithm": a list must hold at least this many entries.
MIN_ENTRIES = 131_072
DEFAULT_MAX_LIST_BYTES = 16 * 1024 * 1024
#: A bound on ``statusSize`` so that 2**statusSize stays a sensible number of messages.
MAX_STATUS_SIZE = 16

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_INDEX = re.compile(r"^[0-9]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")


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
    _check_size(status_size)
    if entries < MIN_ENTRIES:
        raise StatusError(
            f"a status list needs at least {MIN_ENTRIES} entries (spec §3.2), got {entries}",
            code="status.list_too_short",
        )
    return bytearray((entries * status_size + 7) // 8)


def _check_size(status_size: int) -> None:
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
    _check_size(status_size)
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
    id: str | None = None,
) -> dict[str, Any]:
    """A ``BitstringStatusListEntry`` for a credential's ``credentialStatus`` (§2.1).

    ``status_messages[v]`` is the message for value ``v``; there must be 2**statusSize.
    """
    entry: dict[str, Any] = {
        "id": id or f"{status_list_credential}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": status_list_credential,
    }
    size = 1 if status_size is None else status_size
    _check_size(size)
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
    return entry


# --- checking ----------------------------------------------------------------------------


def _types(node: Mapping[str, Any]) -> list[str]:
    value = node.get("type")
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for t in value if isinstance(t, str)]
    return []


def _fail(code: str, message: str, detail: dict[str, Any]) -> Check:
    return Check("status", "fail", code, message, detail)


def _entry_messages(entry: Mapping[str, Any], size: int) -> dict[int, str] | None:
    """``statusMessage`` as value -> message, validated per §2.1; None when absent."""
    raw = entry.get("statusMessage")
    if raw is None:
        if size > 1:
            raise StatusError(
                "statusMessage is required when statusSize is greater than 1",
                code="status.entry_malformed",
            )
        return None
    if not isinstance(raw, list) or len(raw) != 1 << size:
        raise StatusError(
            f"statusMessage must be a list of {1 << size} entries for statusSize {size}",
            code="status.entry_malformed",
        )
    messages: dict[int, str] = {}
    for item in raw:
        status = item.get("status") if isinstance(item, Mapping) else None
        message = item.get("message") if isinstance(item, Mapping) else None
        if not isinstance(status, str) or not _HEX.match(status) or not isinstance(message, str):
            raise StatusError(
                "each statusMessage entry needs a 'status' like '0x1' and a 'message' string",
                code="status.entry_malformed",
            )
        messages[int(status, 16)] = message
    return messages


def _entry_fields(entry: Mapping[str, Any]) -> tuple[str, int, str, int, dict[int, str] | None]:
    purpose = entry.get("statusPurpose")
    index = entry.get("statusListIndex")
    url = entry.get("statusListCredential")
    if not isinstance(purpose, str) or not purpose:
        raise StatusError("the status entry has no statusPurpose", code="status.entry_malformed")
    if not isinstance(index, str) or not _INDEX.match(index) or len(index) > 20:
        raise StatusError(
            f"statusListIndex must be a base-10 number written as a string, got {index!r:.40}",
            code="status.entry_malformed",
        )
    if not isinstance(url, str) or ":" not in url:
        raise StatusError(
            f"statusListCredential must be a URL, got {url!r:.80}", code="status.entry_malformed"
        )
    size = entry.get("statusSize", 1)
    _check_size(size)
    return purpose, int(index), url, size, _entry_messages(entry, size)


def _date(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise StatusError(f"the status list's {name} is not a date", code="status.list_malformed")
    try:
        parsed = parse_xsd_datetime(value)
    except (BadgeworksError, ValueError):
        raise StatusError(
            f"the status list's {name} {value!r:.40} is not a valid date",
            code="status.list_malformed",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _check_list_credential(
    listed: Any,
    credential: Mapping[str, Any],
    url: str,
    purpose: str,
    loader: DocumentLoader,
    now: datetime,
    detail: dict[str, Any],
) -> Check | str:
    """Validate the list credential; return a failed Check, or its ``encodedList``."""
    if not isinstance(listed, Mapping) or LIST_CREDENTIAL_TYPE not in _types(listed):
        return _fail(
            "status.list_malformed",
            f"The document at {url} is not a BitstringStatusListCredential, so we could not "
            "check whether this credential was revoked.",
            detail,
        )
    # §3.2 step 4: every proof on the status list must verify.
    results = verify_proofs(listed, loader, now=now)
    unchecked = next((r for r in results if r.code in UNAVAILABLE_CODES), None)
    if unchecked is not None:
        # The list's key could not be fetched (or read): the list was not checked, which
        # says nothing against it or the credential.
        return _unavailable(url, unchecked.message, detail)
    if not results or not all(r.verified for r in results):
        reason = next((r.message for r in results if not r.verified), "it has no signature")
        return _fail(
            "status.list_unverified",
            "The issuer's revocation list failed its own signature check, so it cannot be "
            f"trusted ({reason}).",
            detail,
        )
    # Our policy, stricter than §2.2 allows: only the credential's own issuer may revoke
    # it, and the list must be signed with a key that issuer controls.
    expected = issuer_id(credential)
    list_issuer = issuer_id(listed)
    controllers = {r.controller for r in results}
    if expected is None or list_issuer != expected or controllers != {expected}:
        return _fail(
            "status.issuer_mismatch",
            f"The revocation list at {url} was published by {list_issuer or 'an unknown party'}"
            f", not by this credential's issuer ({expected}), so we do not trust it.",
            {**detail, "listIssuer": list_issuer, "signers": sorted(str(c) for c in controllers)},
        )
    valid_from = _date(listed.get("validFrom", listed.get("issuanceDate")), "validFrom")
    valid_until = _date(listed.get("validUntil", listed.get("expirationDate")), "validUntil")
    if now_utc(now) < (valid_from or now_utc(now)):
        return _fail(
            "status.list_not_yet_valid",
            "The issuer's revocation list is dated in the future, so we could not use it.",
            detail,
        )
    if valid_until is not None and now_utc(now) > valid_until:
        return _fail(
            "status.list_expired",
            "The issuer's revocation list has expired; a current one is needed to check "
            "whether this credential was revoked.",
            detail,
        )
    subject = listed.get("credentialSubject")
    if not isinstance(subject, Mapping) or LIST_TYPE not in _types(subject):
        return _fail(
            "status.list_malformed",
            "The issuer's revocation list has no BitstringStatusList subject.",
            detail,
        )
    purposes = subject.get("statusPurpose")
    purposes = [purposes] if isinstance(purposes, str) else purposes
    if not isinstance(purposes, list) or purpose not in purposes:
        return _fail(
            "status.purpose_mismatch",
            f"The credential points to a '{purpose}' list, but the list at {url} is for "
            f"{purposes!r:.80}.",
            detail,
        )
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        return _fail("status.list_malformed", "The revocation list has no encodedList.", detail)
    return encoded


def now_utc(now: datetime) -> datetime:
    """``now`` as an aware datetime (a naive one is taken to be UTC)."""
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _outcome(
    purpose: str, value: int, message: str | None, url: str, detail: dict[str, Any]
) -> Check:
    said = f' The issuer\'s note for this status: "{message:.200}".' if message else ""
    if purpose == "revocation":
        if value == 0:
            return Check(
                "status",
                "pass",
                "status.ok",
                "Not revoked: the issuer's revocation list shows this credential as valid.",
                detail,
            )
        return _fail("status.revoked", f"This credential was revoked by its issuer.{said}", detail)
    if purpose == "suspension":
        if value == 0:
            return Check(
                "status",
                "pass",
                "status.ok",
                "Not suspended: the issuer's suspension list shows this credential as active.",
                detail,
            )
        return _fail(
            "status.suspended",
            f"This credential is currently suspended by its issuer.{said}",
            detail,
        )
    if purpose == "message":
        text = message if message is not None else ("unset" if value == 0 else "set")
        return Check(
            "status",
            "warning",
            "status.message",
            f'The issuer attached a status message to this credential: "{text:.200}" '
            f"(value {hex(value)}). Read it before relying on the credential.",
            {**detail, "message": text},
        )
    if value == 0:
        return Check(
            "status",
            "pass",
            "status.ok",
            f"The issuer's '{purpose:.40}' status list has nothing set for this credential.",
            detail,
        )
    return Check(
        "status",
        "warning",
        "status.set",
        f"The issuer set a '{purpose:.40}' status (value {hex(value)}) on this credential; "
        f"we do not know what that purpose means.{said}",
        detail,
    )


def _check_entry(
    entry: Any,
    credential: Mapping[str, Any],
    resolver: StatusResolver | None,
    loader: DocumentLoader,
    now: datetime,
) -> Check:
    if not isinstance(entry, Mapping):
        return _fail(
            "status.entry_malformed", "The credential's status entry is not an object.", {}
        )
    types = _types(entry)
    if ENTRY_TYPE not in types:
        kind = ", ".join(types) or "an untyped entry"
        return Check(
            "status",
            "warning",
            "status.unsupported_type",
            f"This credential uses a status method we can't check ({kind:.80}), so we don't "
            "know whether it was revoked.",
            {"type": types},
        )
    try:
        purpose, index, url, size, messages = _entry_fields(entry)
    except StatusError as exc:
        return _fail(exc.code, f"The credential's status entry is malformed: {exc}", {})
    detail: dict[str, Any] = {
        "statusListCredential": url,
        "statusListIndex": index,
        "statusPurpose": purpose,
    }
    if resolver is None:
        return _not_checked(url, detail)
    try:
        listed = resolver(url)
    except StatusError as exc:
        if exc.code == "status.not_checked":
            return _not_checked(url, detail)
        return _unavailable(url, str(exc), detail)
    except Exception as exc:  # the resolver is the caller's code; any failure is "unavailable"
        return _unavailable(url, str(exc) or type(exc).__name__, detail)
    try:
        found = _check_list_credential(listed, credential, url, purpose, loader, now, detail)
        if isinstance(found, Check):
            return found
        bits = decode_list(found)
        if len(bits) * 8 // size < MIN_ENTRIES:
            return _fail(
                "status.list_too_short",
                f"The issuer's status list holds only {len(bits) * 8 // size} entries; the "
                f"standard requires at least {MIN_ENTRIES} so that it protects holders' "
                "privacy.",
                detail,
            )
        value = get_status(bits, index, size)
    except StatusError as exc:
        return _fail(exc.code, f"We could not read the issuer's status list: {exc}.", detail)
    message = messages.get(value) if messages else None
    check = _outcome(purpose, value, message, url, {**detail, "status": value})
    if check.code == "status.revoked" and "EndorsementCredential" in _types(credential):
        # An endorser revoking their own endorsement is a withdrawal: say it that way.
        said = f' The endorser\'s note: "{message:.200}".' if message else ""
        return _fail(
            "status.revoked",
            f"This endorsement was withdrawn by its endorser (its revocation list says so).{said}",
            check.detail,
        )
    return check


def _not_checked(url: str, detail: dict[str, Any]) -> Check:
    return Check(
        "status",
        "warning",
        "status.not_checked",
        f"This credential has a revocation list ({url:.200}), but it was not checked, so we "
        "can't say whether the credential was revoked.",
        detail,
    )


def _unavailable(url: str, reason: str, detail: dict[str, Any]) -> Check:
    return _fail(
        "status.unavailable",
        f"We couldn't check whether this credential was revoked: its revocation list "
        f"({url:.200}) could not be retrieved ({reason:.200}).",
        detail,
    )


def check_status(
    credential: Mapping[str, Any],
    resolver: StatusResolver | None,
    loader: DocumentLoader,
    *,
    now: datetime,
) -> list[Check]:
    """One ``status`` check per ``credentialStatus`` entry (§3.2 "Validate Algorithm")."""
    status = credential.get("credentialStatus")
    if status is None:
        return [
            Check(
                "status",
                "pass",
                "status.none",
                "This credential has no revocation list: its issuer cannot revoke it.",
            )
        ]
    entries = status if isinstance(status, list) else [status]
    if not entries:
        return [_fail("status.entry_malformed", "The credential's credentialStatus is empty.", {})]
    return [_check_entry(entry, credential, resolver, loader, now) for entry in entries]
