"""Verification reports of the documents this service hosts, kept while they still hold.

A credential (or endorsement) we host is signed once and stored verbatim, so what its
verification says depends only on:

- the stored text (keyed by its SHA-256),
- the DID documents its proofs name (for the DIDs we host: the ``issuer``/``issuer_key``
  and ``endorser`` rows, read by ``hosted_keys`` in one query per table; a ``did:key`` never
  changes; a DID we do not host makes a report that reaches the network uncacheable),
- for a report that reads status lists: the ``version`` of each list involved (status rows
  carry ``version``, bumped with every bit flipped),
- and the clock, only through comparisons of ``now`` with the dates the document carries
  (``validFrom``, ``validUntil``, ``issuanceDate``, ``expirationDate``, a proof's
  ``created``/``expires``): the key holds which side of each date ``now`` is on
  (``date_sides``), so a report is re-used only where a fresh one would say the same.

``KeptReports`` keeps reports under such a key, in memory, bounded (least recently used
leave first). Every part of the key is read in the request itself, so each server process
with its own copy is correct without any message between processes: a revocation, a key
rotation or a date passing changes the key the next request computes. A report with a
check that could not run (``indeterminate``) is never kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import Session, col

from badgeworks.core.credential import parse_xsd_datetime
from badgeworks.core.errors import BadgeworksError
from badgeworks.core.verification.report import Report
from badgeworks.db.endorsements import Endorser
from badgeworks.db.models import Issuer, IssuerKey
from badgeworks.services.infra.memory import Recent

#: The keys whose values a verification compares with ``now``.
DATE_KEYS = frozenset(
    {"validFrom", "validUntil", "issuanceDate", "expirationDate", "created", "expires"}
)
#: How many reports one process keeps (about 2 KB each).
MAX_KEPT = 8192
#: The fingerprint of a DID whose document never changes (``did:key``).
IMMUTABLE = "immutable"
#: The fingerprint of a DID that is not ours (not resolved offline; fetched otherwise).
FOREIGN = "foreign"


def digest(text: str) -> str:
    """The SHA-256 (hex) of a stored document's text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every ``(key, value)`` pair of every object in ``node``, depth first, in order."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key, value in item.items():
                yield key, value
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(reversed(item))


def document_dates(document: Any) -> tuple[datetime, ...]:
    """The readable dates in ``document`` a verification compares with ``now``, in order."""
    dates: list[datetime] = []
    for key, value in _walk(document):
        if key not in DATE_KEYS or not isinstance(value, str):
            continue
        try:
            dates.append(parse_xsd_datetime(value))
        except (BadgeworksError, ValueError, TypeError, OverflowError):
            continue
    return tuple(dates)


def sides(dates: Iterable[datetime], now: datetime) -> tuple[int, ...]:
    """Which side of each of ``dates`` ``now`` is on: -1 before, 0 at, 1 after."""
    return tuple((now > when) - (now < when) for when in dates)


def date_sides(document: Any, now: datetime) -> tuple[int, ...]:
    """Which side of each date in ``document`` ``now`` is on: -1 before, 0 at, 1 after.

    Verification reads the clock only through such comparisons, so two instants with the
    same sides get the same report. An unreadable date compares the same at any instant.
    """
    return sides(document_dates(document), now)


def named_dids(document: Any) -> set[str]:
    """The DIDs of every ``verificationMethod`` in ``document`` (embedded proofs too)."""
    return {
        value.partition("#")[0]
        for key, value in _walk(document)
        if key == "verificationMethod" and isinstance(value, str)
    }


def named_strings(document: Any, key_name: str) -> set[str]:
    """Every string value of ``key_name`` anywhere in ``document``."""
    return {v for k, v in _walk(document) if k == key_name and isinstance(v, str)}


def _fingerprint(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def hosted_keys(session: Session, dids: Collection[str]) -> dict[str, str]:
    """A fingerprint of the DID document of each DID in ``dids``, read in two queries.

    Ours (an issuer, with its name and every key row, or an endorser the service holds
    keys for) fingerprint their rows, so a rotated key, a renamed issuer or a changed
    identity gives a new value; ``did:key`` DIDs are ``IMMUTABLE``; others ``FOREIGN``.
    """
    wanted = sorted(d for d in dids if not d.startswith("did:key:"))
    out = {d: IMMUTABLE for d in dids if d.startswith("did:key:")}
    if not wanted:
        return out
    issuer_parts: dict[str, list[Any]] = {}
    # Columns, not ORM objects: a page reads these on every view.
    stmt = (
        select_columns(
            col(Issuer.did),
            col(Issuer.id),
            col(Issuer.slug),
            col(Issuer.did_method),
            col(Issuer.name),
            col(Issuer.url),
            col(IssuerKey.number),
            col(IssuerKey.vm_id),
            col(IssuerKey.public_key_multibase),
            col(IssuerKey.retired_at),
        )
        .join(IssuerKey, col(IssuerKey.issuer_id) == col(Issuer.id), isouter=True)
        .where(col(Issuer.did).in_(wanted))
        .order_by(col(Issuer.id), col(IssuerKey.number))
    )
    for did, *issuer, number, vm_id, public_key, retired_at in session.execute(stmt):
        parts = issuer_parts.setdefault(did, list(issuer))
        if number is not None:  # an issuer without keys joins one row of NULLs
            parts.append([number, vm_id, public_key, retired_at])
    endorser_parts: dict[str, list[Any]] = {}
    stmt_e = select_columns(
        col(Endorser.did),
        col(Endorser.id),
        col(Endorser.kind),
        col(Endorser.key_custody),
        col(Endorser.vm_id),
        col(Endorser.public_key_multibase),
    ).where(col(Endorser.did).in_(wanted))
    for did, *endorser in session.execute(stmt_e):
        endorser_parts.setdefault(did, []).append(list(endorser))
    for did in wanted:
        if did in issuer_parts or did in endorser_parts:
            out[did] = _fingerprint([issuer_parts.get(did), endorser_parts.get(did)])
        else:
            out[did] = FOREIGN
    return out


def _checked(report: Report) -> bool:
    """A report may be kept unless something in it could not be checked."""
    return not report.unchecked()


class KeptReports(Recent[Hashable, Report]):
    """Reports by key, at most ``limit`` of them (the least recently used leave first);
    a report in which something could not be checked is not kept."""

    def __init__(self, limit: int = MAX_KEPT) -> None:
        super().__init__(limit)

    def get(
        self,
        key: Hashable,
        compute: Callable[[], Report],
        *,
        keep: Callable[[Report], bool] | None = None,
    ) -> Report:
        """The report kept under ``key``, or ``compute()`` (run outside the lock)."""
        return super().get(key, compute, keep=keep or _checked)


#: The reports this process keeps.
KEPT = KeptReports()


def report_key(
    *,
    origin: str,
    kind: str,
    ident: str,
    text: str,
    document: Any,
    keys: Mapping[str, str],
    now: datetime,
    extra: Hashable = (),
) -> Hashable:
    """The key of ``document``'s report: everything its verification depends on."""
    return key_of(
        origin=origin,
        kind=kind,
        ident=ident,
        text_digest=digest(text),
        dids=named_dids(document),
        dates=document_dates(document),
        keys=keys,
        now=now,
        extra=extra,
    )


def key_of(
    *,
    origin: str,
    kind: str,
    ident: str,
    text_digest: str,
    dids: Iterable[str],
    dates: Iterable[datetime],
    keys: Mapping[str, str],
    now: datetime,
    extra: Hashable = (),
) -> Hashable:
    """``report_key`` from what the stored text says (its SHA-256, the DIDs its proofs
    name, its dates), already read: the same key, without walking the document."""
    return (
        origin,
        kind,
        ident,
        text_digest,
        tuple((d, keys.get(d, FOREIGN)) for d in sorted(dids)),
        extra,
        sides(dates, now),
    )


def reaches_only(document: Any, origin: str, keys: Mapping[str, str], *, lists_known: bool) -> bool:
    """True when a ``network`` verification of ``document`` reads only what is ours.

    Every DID its proofs name is ours or a ``did:key`` (``keys`` from ``hosted_keys``),
    every status list it names is under ``origin`` and its versions were read
    (``lists_known``), and every resource with a digest is one of our blobs
    (content-addressed, so never different). Its report may then be kept.
    """
    return reaches_only_named(
        named_dids(document),
        named_strings(document, "statusListCredential"),
        digested_ids(document),
        origin,
        keys,
        lists_known=lists_known,
    )


def digested_ids(document: Any) -> tuple[str, ...]:
    """The ``id`` of every object in ``document`` that carries a digest of a resource."""
    return tuple(
        str(item.get("id", ""))
        for item in _objects(document)
        if "digestMultibase" in item or "digestSRI" in item
    )


def reaches_only_named(
    dids: Iterable[str],
    lists: Iterable[str],
    digested: Iterable[str],
    origin: str,
    keys: Mapping[str, str],
    *,
    lists_known: bool,
) -> bool:
    """``reaches_only`` from what the document names, already read: its DIDs, its status
    lists and the ids of the resources it gives a digest of."""
    if any(keys.get(d, FOREIGN) == FOREIGN for d in dids):
        return False
    named_lists = list(lists)
    if named_lists and not lists_known:
        return False
    if any(not url.startswith(f"{origin}/") for url in named_lists):
        return False
    blobs = f"{origin}/blobs/"
    return all(i.startswith(blobs) for i in digested)


def _objects(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every object in ``node``."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
