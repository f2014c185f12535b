"""Checking a credential's status: its status list entries against their lists.

W3C Bitstring Status List v1.0 §3.2 "Validate Algorithm", for ``BitstringStatusListEntry``
and for its predecessor ``StatusList2021Entry`` (W3C CCG "Verifiable Credentials Status
List v2021", which the Digital Credentials Consortium and many Open Badges 3.0 issuers
publish with): the same entry fields and the same bitstring, in a
``StatusList2021Credential`` whose ``encodedList`` is base64 without the multibase ``u``.

What fails and what warns (docs/verification.md): a credential that is revoked or
suspended, or whose list cannot be trusted to say so (a list whose signature fails, that
has expired, or that cannot be read at the entry's index) is not verified. A list that is
genuine but short of the 131,072-entry minimum, or signed by someone other than the
credential's issuer (the credential itself names the list), is read and warned about.

The core never fetches:
``check_status`` asks an injected ``StatusResolver`` for the status list credential. A
resolver that does not handle a URL raises ``StatusError`` with code
``status.not_checked`` (reported as a warning); any other exception means the list could
not be retrieved (reported as a failure, ``status.unavailable``). The list codec and
builders are ``core.status``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..credential import issuer_id, parse_xsd_datetime
from ..errors import BadgeworksError, StatusError
from ..loader import DocumentLoader
from ..proof import verify_proofs
from ..status import (
    ENTRY_TYPE,
    LIST_CREDENTIAL_TYPE,
    LIST_TYPE,
    MAX_STATUS_SIZE,
    MIN_ENTRIES,
    check_size,
    decode_list,
    get_status,
)
from ..values import types_of
from .report import UNAVAILABLE_CODES, Check

#: W3C CCG Status List 2021: the entry, list credential and list types.
ENTRY_TYPE_2021 = "StatusList2021Entry"
LIST_CREDENTIAL_TYPE_2021 = "StatusList2021Credential"
LIST_TYPE_2021 = "StatusList2021"


@dataclass(frozen=True)
class _Flavour:
    """What differs between Bitstring Status List v1.0 and Status List 2021."""

    entry_type: str
    list_credential_type: str
    list_type: str
    #: Whether ``encodedList`` carries the multibase ``u`` prefix (v1.0 §2.2) or is plain
    #: base64 of the GZIP bytes (Status List 2021 §2.3; implementations write base64url).
    multibase: bool


_BITSTRING = _Flavour(ENTRY_TYPE, LIST_CREDENTIAL_TYPE, LIST_TYPE, multibase=True)
_2021 = _Flavour(ENTRY_TYPE_2021, LIST_CREDENTIAL_TYPE_2021, LIST_TYPE_2021, multibase=False)
_FLAVOURS = (_BITSTRING, _2021)


def _decode(encoded: str, flavour: _Flavour) -> bytes:
    """The list's bitstring; Status List 2021 lists are read as base64 or base64url."""
    if not flavour.multibase:
        if not isinstance(encoded, str) or not re.fullmatch(r"[A-Za-z0-9+/_-]+={0,2}", encoded):
            raise StatusError(
                "the status list's encodedList is not base64", code="status.list_malformed"
            )
        # One decoder for both: standard base64 rewritten in the URL-safe alphabet.
        encoded = "u" + encoded.rstrip("=").replace("+", "-").replace("/", "_")
    return decode_list(encoded)


#: statusListCredential URL -> the status list credential document (raise if unavailable).
StatusResolver = Callable[[str], Any]

_INDEX = re.compile(r"^[0-9]+$")

#: How many verified list versions a ``ListProofMemo`` keeps by default.
LIST_PROOF_MEMO_SIZE = 256
#: How long a remembered list proof counts (a remote issuer may take its key back).
LIST_PROOF_MEMO_AGE = timedelta(minutes=10)


def document_digest(document: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of ``document``'s canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ListProofMemo:
    """Status list credentials whose proofs all verified: ``(url, digest)`` -> signers.

    Bounded (the least recently used entry goes first) and safe to share between threads.
    An entry counts for ``max_age`` after the check that made it (by the ``now`` each
    verification is given); a list whose proof carries ``expires`` is never remembered.
    Only passes are kept: a list that failed or could not be checked is checked again.
    """

    def __init__(
        self, size: int = LIST_PROOF_MEMO_SIZE, max_age: timedelta = LIST_PROOF_MEMO_AGE
    ) -> None:
        self.size = size
        self.max_age = max_age
        self._entries: OrderedDict[tuple[str, str], tuple[frozenset[Any], datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def signers(self, url: str, digest: str, now: datetime) -> frozenset[Any] | None:
        """The controllers of the keys that signed list ``(url, digest)``, if remembered."""
        with self._lock:
            found = self._entries.get((url, digest))
            if found is None:
                return None
            signers, checked = found
            if not checked <= now_utc(now) < checked + self.max_age:
                del self._entries[(url, digest)]
                return None
            self._entries.move_to_end((url, digest))
            return signers

    def remember(self, url: str, digest: str, signers: frozenset[Any], now: datetime) -> None:
        """Record that every proof of list ``(url, digest)`` verified, signed by ``signers``."""
        with self._lock:
            self._entries[(url, digest)] = (signers, now_utc(now))
            self._entries.move_to_end((url, digest))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@dataclass(frozen=True)
class RememberingResolver:
    """A ``StatusResolver`` whose lists' proofs are checked once per version (``proofs``)."""

    resolve: StatusResolver
    proofs: ListProofMemo = field(default_factory=ListProofMemo)

    def __call__(self, url: str) -> Any:
        return self.resolve(url)


def _has_expiring_proof(listed: Mapping[str, Any]) -> bool:
    proofs = listed.get("proof")
    items = proofs if isinstance(proofs, list) else [proofs]
    return any(isinstance(p, Mapping) and "expires" in p for p in items)


def _list_signers(
    listed: Mapping[str, Any],
    url: str,
    loader: DocumentLoader,
    now: datetime,
    memo: ListProofMemo | None,
    detail: dict[str, Any],
) -> frozenset[Any] | Check:
    """§3.2 step 4, every proof on the status list must verify: the signers, or the
    failed Check. Remembered in ``memo`` (when given) for the list's URL and digest."""
    digest = document_digest(listed) if memo is not None else ""
    if memo is not None:
        known = memo.signers(url, digest, now)
        if known is not None:
            return known
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
    signers = frozenset(r.controller for r in results)
    if memo is not None and not _has_expiring_proof(listed):
        memo.remember(url, digest, signers, now)
    return signers


_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
#: The longest ``statusReference`` URL we accept (a bound, not a spec limit).
_MAX_URL = 2048


def _fail(code: str, message: str, detail: dict[str, Any]) -> Check:
    return Check("status", "fail", code, message, detail)


def _entry_messages(entry: Mapping[str, Any], size: int) -> dict[int, str] | None:
    """``statusMessage`` as value -> message, validated per §2.1; None when absent.

    §2.1 "statusMessage": an array whose length equals the number of values ``statusSize``
    bits can hold (2**statusSize), required when ``statusSize`` > 1, each element with a
    ``status`` (the value in hexadecimal, prefixed ``0x``) and a ``message`` string. We
    also require each value to appear exactly once, so every value has one message.
    """
    raw = entry.get("statusMessage")
    if raw is None:
        if size > 1:
            raise StatusError(
                "statusMessage is required when statusSize is greater than 1",
                code="status.entry_malformed",
            )
        return None
    if not isinstance(raw, list) or len(raw) != 1 << size:
        count = f"{len(raw)} entries" if isinstance(raw, list) else "no list"
        raise StatusError(
            f"statusMessage must be a list of {1 << size} entries for statusSize {size}, "
            f"got {count}",
            code="status.entry_malformed",
        )
    messages: dict[int, str] = {}
    for item in raw:
        status = item.get("status") if isinstance(item, Mapping) else None
        message = item.get("message") if isinstance(item, Mapping) else None
        if (
            not isinstance(status, str)
            or len(status) > 2 + MAX_STATUS_SIZE
            or not _HEX.match(status)
            or not isinstance(message, str)
        ):
            raise StatusError(
                "each statusMessage entry needs a 'status' like '0x1' and a 'message' string",
                code="status.entry_malformed",
            )
        value = int(status, 16)
        if value >= 1 << size or value in messages:
            raise StatusError(
                f"statusMessage gives status {status!r:.20} "
                + ("twice" if value in messages else f"which does not fit in {size} bit(s)"),
                code="status.entry_malformed",
            )
        messages[value] = message
    return messages


def _entry_references(entry: Mapping[str, Any]) -> list[str]:
    """``statusReference`` as a list of URLs (§2.1: "a URL or an array of URLs")."""
    raw = entry.get("statusReference")
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    if not items or not all(
        isinstance(url, str) and 0 < len(url) <= _MAX_URL and ":" in url for url in items
    ):
        raise StatusError(
            f"statusReference must be a URL or a list of URLs, got {raw!r:.80}",
            code="status.entry_malformed",
        )
    return list(items)


@dataclass(frozen=True)
class _Entry:
    """A ``BitstringStatusListEntry`` as validated against §2.1."""

    purpose: str
    index: int
    url: str
    size: int
    messages: dict[int, str] | None
    references: list[str]


def _entry_fields(entry: Mapping[str, Any]) -> _Entry:
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
    # §2.1 "statusSize": absent means 1; present, an integer greater than zero. We read
    # up to MAX_STATUS_SIZE bits (2**16 messages), and refuse wider entries.
    size = entry.get("statusSize", 1)
    check_size(size)
    return _Entry(
        purpose, int(index), url, size, _entry_messages(entry, size), _entry_references(entry)
    )


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
    # A date without a time zone reads as UTC (``parse_xsd_datetime``).
    return parsed


def _check_list_credential(
    listed: Any,
    credential: Mapping[str, Any],
    url: str,
    purpose: str,
    loader: DocumentLoader,
    now: datetime,
    detail: dict[str, Any],
    memo: ListProofMemo | None = None,
    size: int = 1,
    flavour: _Flavour = _BITSTRING,
    notes: list[Check] | None = None,
) -> Check | str:
    """Validate the list credential; return a failed Check, or its ``encodedList``.

    Findings that do not stop the list from being read (warnings) go into ``notes``.
    """
    if not isinstance(listed, Mapping) or flavour.list_credential_type not in types_of(listed):
        return _fail(
            "status.list_malformed",
            f"The document at {url} is not a {flavour.list_credential_type}, so we could not "
            "check whether this credential was revoked.",
            detail,
        )
    signers = _list_signers(listed, url, loader, now, memo, detail)
    if isinstance(signers, Check):
        return signers
    # Every proof on the list verified (§3.2 step 4). The list is the one the credential
    # itself names, signed by its issuer; §2.2 lets another party issue a list, so a list
    # issued or signed by someone else is read, with a warning that says who it was.
    expected = issuer_id(credential)
    list_issuer = issuer_id(listed)
    controllers = set(signers)
    if expected is None or list_issuer != expected or controllers != {expected}:
        signed_by = ", ".join(sorted(str(c) for c in controllers)) or "an unknown party"
        (notes if notes is not None else []).append(
            Check(
                "status",
                "warning",
                "status.issuer_mismatch",
                f"The status list at {url:.200} is signed by {signed_by:.200}, not by this "
                f"credential's issuer ({expected}). The credential itself names this list, "
                "so it was read; make sure you trust whoever runs it.",
                {
                    **detail,
                    "listIssuer": list_issuer,
                    "signers": sorted(str(c) for c in controllers),
                },
            )
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
    if not isinstance(subject, Mapping) or flavour.list_type not in types_of(subject):
        return _fail(
            "status.list_malformed",
            f"The issuer's revocation list has no {flavour.list_type} subject.",
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
    # §2.2 asks for the list's own statusSize with purpose "message"; when a list states
    # one, it must be the entry's, or the entry would read someone else's bits.
    listed_size = subject.get("statusSize")
    if listed_size is not None:
        try:
            check_size(listed_size)
        except StatusError as exc:
            return _fail(
                "status.list_malformed", f"The issuer's status list is malformed: {exc}.", detail
            )
        if listed_size != size:
            return _fail(
                "status.size_mismatch",
                f"The credential's status entry is {size} bit(s) wide, but the list at "
                f"{url:.200} holds entries of {listed_size} bit(s), so we could not read it.",
                {**detail, "listStatusSize": listed_size},
            )
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        return _fail("status.list_malformed", "The revocation list has no encodedList.", detail)
    return encoded


def now_utc(now: datetime) -> datetime:
    """``now`` as an aware datetime (a naive one is taken to be UTC)."""
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def _outcome(purpose: str, value: int, message: str | None, detail: dict[str, Any]) -> Check:
    """The check for an entry whose value is ``value`` (§3.2 steps 10-14: ``valid`` is
    ``status == 0``; purpose ``message`` gives the entry's message for the value)."""
    said = f' The issuer\'s note for this status: "{message:.200}".' if message else ""
    if purpose == "revocation":
        if value == 0:
            return Check(
                "status",
                "pass",
                "status.ok",
                "Not revoked: the issuer's revocation list shows this credential as valid." + said,
                detail,
            )
        return _fail("status.revoked", f"This credential was revoked by its issuer.{said}", detail)
    if purpose == "suspension":
        if value == 0:
            return Check(
                "status",
                "pass",
                "status.ok",
                "Not suspended: the issuer's suspension list shows this credential as active."
                + said,
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
            "pass" if value == 0 else "warning",
            "status.message",
            f'The issuer\'s status for this credential is "{text:.200}" (value {hex(value)}).'
            + ("" if value == 0 else " Read it before relying on the credential."),
            detail,
        )
    if value == 0:
        return Check(
            "status",
            "pass",
            "status.ok",
            f"The issuer's '{purpose:.40}' status list has nothing set for this credential." + said,
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
) -> list[Check]:
    """The checks for one entry: its outcome last, after any warnings about its list."""
    notes: list[Check] = []
    check = _entry_outcome(entry, credential, resolver, loader, now, notes)
    return [*notes, check]


def _entry_outcome(
    entry: Any,
    credential: Mapping[str, Any],
    resolver: StatusResolver | None,
    loader: DocumentLoader,
    now: datetime,
    notes: list[Check],
) -> Check:
    if not isinstance(entry, Mapping):
        return _fail(
            "status.entry_malformed", "The credential's status entry is not an object.", {}
        )
    types = types_of(entry)
    flavour = next((f for f in _FLAVOURS if f.entry_type in types), None)
    if flavour is None:
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
        fields = _entry_fields(entry)
    except StatusError as exc:
        return _fail(exc.code, f"The credential's status entry is malformed: {exc}", {})
    purpose, index, url, size = fields.purpose, fields.index, fields.url, fields.size
    detail: dict[str, Any] = {
        "statusListCredential": url,
        "statusListIndex": index,
        "statusPurpose": purpose,
    }
    if flavour is _2021:
        detail["type"] = ENTRY_TYPE_2021
    if size != 1:
        detail["statusSize"] = size
    if fields.references:
        detail["statusReference"] = fields.references
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
        memo = resolver.proofs if isinstance(resolver, RememberingResolver) else None
        found = _check_list_credential(
            listed, credential, url, purpose, loader, now, detail, memo, size, flavour, notes
        )
        if isinstance(found, Check):
            return found
        bits = _decode(found, flavour)
        # §3.2 step 9: the bitstring's length divided by statusSize is the entry count. The
        # minimum protects holders' privacy (a short list narrows down who is who); it
        # says nothing about whether this credential was revoked, so a short list is read
        # and warned about.
        entries = len(bits) * 8 // size
        if entries < MIN_ENTRIES:
            notes.append(
                Check(
                    "status",
                    "warning",
                    "status.list_too_short",
                    f"The issuer's status list holds only {entries} entries; the standard "
                    f"asks for at least {MIN_ENTRIES} so that the list does not help tell "
                    "holders apart. It was still read.",
                    {**detail, "entries": entries},
                )
            )
        # §3.2 step 10: the value at statusListIndex × statusSize (RANGE_ERROR outside).
        value = get_status(bits, index, size)
    except StatusError as exc:
        return _fail(exc.code, f"We could not read the issuer's status list: {exc}.", detail)
    # §3.2 steps 11-14: the result in machine form: the value, whether it means valid, and
    # the message the entry gives for it (§2.1: "set"/"unset" without statusMessage).
    message = fields.messages.get(value) if fields.messages else None
    result: dict[str, Any] = {**detail, "status": value, "valid": value == 0}
    if message is not None:
        result["message"] = message
    elif purpose == "message":
        result["message"] = "unset" if value == 0 else "set"
    check = _outcome(purpose, value, message, result)
    if check.code == "status.revoked" and "EndorsementCredential" in types_of(credential):
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
    return [c for entry in entries for c in _check_entry(entry, credential, resolver, loader, now)]
