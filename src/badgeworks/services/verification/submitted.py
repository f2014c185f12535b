"""Reports of submitted documents that read only what we host, kept while that stays the same.

An employer (or a wallet, or a load balancer's health probe) often sends the same
credential again. When its verification read nothing but what this service holds, what
a fresh verification would answer depends only on:

- the document's text: the SHA-256 of its compact JSON text, keys in the order given
  (a report may list problems in the document's order, so two orders are two texts);
- what we host that it read (our issuers' DID documents and names, our status lists):
  all of it is covered by the database's ``hosted_version``, which triggers bump in every
  transaction that changes an issuer, a key or a list (``services.verification.hosted``),
  read once per verification anyway;
- our blobs it compared digests with: named by their SHA-256, so only their presence can
  change (checked again on every re-use, one ``stat`` each);
- the clock, only through comparisons of ``now`` with the dates the document and the
  status lists it read carry: the sides are kept, and re-checked against ``now``;
- the options of the request: the reach, the known issuers (equal mappings: usually the
  same shared one, so the comparison is one identity check), the ``challenge`` and
  ``domain``, and the verifier itself (its settings and loader).

``KeptVerifications`` keeps such reports, bounded (least recently used leave first), per
process. Nothing is kept when the verification reached the network (a DID, status list
or deliverable not ours, any fetch at all), when a check could not run
(``indeterminate``), for a VC-JWT, or when a recipient ``email`` was given (an address is
never kept, not even hashed). A re-used report is the same object a fresh verification
made, so the answer is byte for byte the same
(``tests/services/verification/test_submitted_reports.py`` compares them over many
documents, revoked, suspended, expired and altered ones among them).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from badgeworks.core.credential import parse_xsd_datetime
from badgeworks.core.errors import BadgeworksError
from badgeworks.core.verification.checks import KnownIssuer
from badgeworks.core.verification.document import Verification
from badgeworks.core.verification.report import Report
from badgeworks.services.verification.hosted import View, cached
from badgeworks.services.verification.kept import DATE_KEYS, sides

if TYPE_CHECKING:
    from badgeworks.services.context import ServiceContext
    from badgeworks.services.verification.capabilities import Verifier

T = TypeVar("T")

#: How many reports one process keeps (each a few KB: the report only, never the
#: document, which the request itself carries).
MAX_KEPT = 4096
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Reads:
    """What a document names that a verification may read, found in one walk."""

    dids: frozenset[str]
    lists: frozenset[str]
    digested: tuple[str, ...]
    dates: tuple[datetime, ...]


def reads_of(document: Any) -> Reads:
    """The DIDs of every ``verificationMethod``, every ``statusListCredential``, the ``id``
    of every object carrying a digest, and every readable date ``now`` is compared with,
    anywhere in ``document`` (embedded endorsements and proofs too), in one walk."""
    dids: set[str] = set()
    lists: set[str] = set()
    digested: list[str] = []
    dates: list[datetime] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "digestMultibase" in item or "digestSRI" in item:
                digested.append(str(item.get("id", "")))
            for key, value in item.items():
                if isinstance(value, str):
                    if key == "verificationMethod":
                        dids.add(value.partition("#")[0])
                    elif key == "statusListCredential":
                        lists.add(value)
                    elif key in DATE_KEYS:
                        with suppress(BadgeworksError, ValueError, TypeError, OverflowError):
                            dates.append(parse_xsd_datetime(value))
                elif isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return Reads(frozenset(dids), frozenset(lists), tuple(digested), tuple(dates))


def text_digest(document: Any) -> str | None:
    """The SHA-256 of ``document``'s compact JSON text (keys in the order given), or None
    for what JSON cannot write."""
    try:
        text = json.dumps(document, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Kept:
    """One kept report and everything that must still hold for it to be re-used."""

    verifier: weakref.ref[Verifier]
    known: Mapping[str, KnownIssuer] | None
    version: int
    dates: tuple[datetime, ...]
    sides: tuple[int, ...]
    blobs: tuple[str, ...]
    report: Report


class KeptVerifications:
    """Kept reports by (text, options), at most ``limit`` (the least recently used leave
    first); thread-safe. Each process keeps its own: every condition of re-use is read in
    the request itself, so no message between processes is needed."""

    def __init__(self, limit: int = MAX_KEPT) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._kept: OrderedDict[tuple[Any, ...], Kept] = OrderedDict()
        #: What was derived from each kept report and its text (the verifier's summary,
        #: the API's JSON), by the report's ``id``; it leaves with the report.
        self._derived: dict[int, tuple[Report, dict[Hashable, Any]]] = {}
        #: Re-used and kept reports (for tests and figures).
        self.reused = 0
        self.kept = 0

    def find(self, key: tuple[Any, ...]) -> Kept | None:
        """The entry under ``key`` (marked recently used), or None."""
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], entry: Kept) -> None:
        """Keep ``entry`` under ``key``, dropping the least recently used beyond the limit."""
        with self._lock:
            replaced = self._kept.get(key)
            if replaced is not None:
                self._derived.pop(id(replaced.report), None)
            self._kept[key] = entry
            self._kept.move_to_end(key)
            self._derived[id(entry.report)] = (entry.report, {})
            self.kept += 1
            while len(self._kept) > self._limit:
                _, dropped = self._kept.popitem(last=False)
                self._derived.pop(id(dropped.report), None)

    def derived(self, report: Report, name: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, kept with ``report`` while ``report`` is kept here.

        For values that depend only on a report and the text it was kept under (the
        verifier's summary of the credential, the API's JSON of both): a re-used report
        then costs no summary and no serialization either. A report not kept (or no longer
        kept) gets ``compute()`` every time.
        """
        with self._lock:
            found = self._derived.get(id(report))
            values = found[1] if found is not None and found[0] is report else None
            if values is not None and name in values:
                return values[name]  # type: ignore[no-any-return]
        value = compute()
        if values is not None:
            with self._lock:
                values[name] = value
        return value

    def clear(self) -> None:
        """Forget every report (tests)."""
        with self._lock:
            self._kept.clear()
            self._derived.clear()
            self.reused = self.kept = 0

    def __len__(self) -> int:
        return len(self._kept)


#: The reports this process keeps.
KEPT = KeptVerifications()


def derived(report: Report, name: Hashable, compute: Callable[[], T]) -> T:
    """``KEPT.derived``: ``compute()``, kept with ``report`` while it is kept."""
    return KEPT.derived(report, name, compute)


@dataclass
class Attempt:
    """One verification's look at the kept reports: the re-usable report, or what it
    needs to keep the one it is about to compute (``keep``)."""

    ctx: ServiceContext
    verifier: Verifier
    view: View
    key: tuple[Any, ...]
    known: Mapping[str, KnownIssuer] | None
    document: dict[str, Any]
    now: datetime
    found: Verification | None = None

    def keep(self, result: Verification, *, reached_network: bool) -> None:
        """Keep ``result`` if everything it read is ours and every check ran."""
        if reached_network or result.credential is not self.document or result.report.unchecked():
            return
        reads = reads_of(self.document)
        if not all(d.startswith("did:key:") for d in reads.dids):
            try:
                hosted = self.verifier.hosted()
            except Exception:  # the hosted issuers could not be read: keep nothing
                return
            if any(not d.startswith("did:key:") and d not in hosted for d in reads.dids):
                return
        origin = self.ctx.base_url + "/"
        list_dates: list[datetime] = []
        for url in sorted(reads.lists):
            if not url.startswith(origin):
                return
            # The list as this verification read it (capabilities.hosted_status_lists
            # keeps it under this key at the version read): its dates count too.
            text = cached(("status-list", url), lambda: None)
            if not isinstance(text, str):
                return
            list_dates.extend(reads_of(json.loads(text)).dates)
        blobs = _our_blobs(reads.digested, self.ctx.base_url)
        if blobs is None:
            return
        dates = reads.dates + tuple(list_dates)
        KEPT.put(
            self.key,
            Kept(
                verifier=weakref.ref(self.verifier),
                known=self.known,
                version=self.view.version,
                dates=dates,
                sides=sides(dates, self.now),
                blobs=blobs,
                report=result.report,
            ),
        )


def _our_blobs(ids: Iterable[str], base_url: str) -> tuple[str, ...] | None:
    """The SHA-256 names of our blobs among ``ids``, or None if any id is not one."""
    prefix = base_url + "/blobs/"
    out = []
    for item in ids:
        name = item[len(prefix) :] if item.startswith(prefix) else ""
        if not _SHA256.match(name):
            return None
        out.append(name)
    return tuple(out)


def attempt(
    ctx: ServiceContext,
    view: View | None,
    document: Any,
    *,
    reach: str,
    known: Mapping[str, KnownIssuer] | None,
    email: str | None,
    now: datetime,
    challenge: str | None,
    domain: str | None,
    verifier_of: Callable[[], Verifier],
) -> Attempt | None:
    """The kept report for this verification, or how to keep the one it computes; None
    when nothing may be kept (no ``hosted_version`` read, a VC-JWT, an email given)."""
    if view is None or email is not None or not isinstance(document, dict):
        return None
    digest = text_digest(document)
    if digest is None:
        return None
    try:
        verifier = verifier_of()
    except Exception:  # the pipeline reports it
        return None
    key = (id(verifier), digest, reach, challenge, domain)
    result = Attempt(ctx, verifier, view, key, known, document, now)
    entry = KEPT.find(key)
    if (
        entry is not None
        and entry.verifier() is verifier
        and (entry.known is known or entry.known == known)
        and entry.version == view.version
        and sides(entry.dates, now) == entry.sides
        and all(ctx.blobs.exists(name) for name in entry.blobs)
    ):
        KEPT.reused += 1
        result.found = Verification(entry.report, document)
    return result
