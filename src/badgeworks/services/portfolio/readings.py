"""What a stored signed document says by its text alone, read once per process.

A credential or endorsement this service hosts is signed once and stored verbatim, so
what is derived from its text alone is the same at every view: its reading
(``core.reading``), the DIDs its proofs name, the dates a verification compares with the
clock, the status lists and digested resources it names. ``READINGS`` keeps these,
bounded (least recently used leave first), under the origin, the kind, the row id and the
SHA-256 of the stored text, so a page view parses and walks only texts it has not seen.
A different text under the same id is a different key, never a stale reading.

Everything that can change (status rows and list versions, revocations, key rows,
visibility choices, editions, the candidate's name, the clock) is read per request, as
before; the kept verification reports (``verification.kept``) still decide what the
signature says, with these readings as part of their key.

The parsed document itself is not kept: it is parsed again only when a verification
report must be computed (a ``kept.KEPT`` miss), so the verifier never shares a mutable
object with other requests, and each kept reading stays small.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from badgeworks.core.reading import (
    CredentialView,
    EndorsementView,
    read_credential,
    read_endorsement,
)
from badgeworks.services.verification import kept

#: How many readings one process keeps (a reading is a few KB: the text's fields, read).
MAX_READINGS = 8192


@dataclass(frozen=True)
class Reading:
    """What one stored text says, read once."""

    #: SHA-256 (hex) of the stored text.
    digest: str
    #: The text is a JSON object (anything else is verified afresh at each view).
    is_object: bool
    #: The DIDs of every ``verificationMethod`` (embedded proofs too).
    dids: frozenset[str]
    #: The readable dates a verification compares with ``now`` (``kept.document_dates``).
    dates: tuple[datetime, ...]
    #: Every ``statusListCredential`` URL it names.
    lists: frozenset[str]
    #: The ids of the resources it gives a digest of.
    digested: tuple[str, ...]
    #: The credential's reading (``kind == "credential"``), else None.
    credential: CredentialView | None = None
    #: The endorsement's reading (``kind == "endorsement"``), else None.
    endorsement: EndorsementView | None = None


def read_text(origin: str, kind: str, text: str, text_digest: str | None = None) -> Reading:
    """Read ``text`` (a stored credential or endorsement) without keeping anything.

    Raises ``ValueError`` when the text is not JSON.
    """
    document = json.loads(text)
    return Reading(
        digest=text_digest or kept.digest(text),
        is_object=isinstance(document, dict),
        dids=frozenset(kept.named_dids(document)),
        dates=kept.document_dates(document),
        lists=frozenset(kept.named_strings(document, "statusListCredential")),
        digested=kept.digested_ids(document),
        credential=read_credential(document, own_origin=origin) if kind == "credential" else None,
        endorsement=read_endorsement(document) if kind == "endorsement" else None,
    )


class KeptReadings:
    """Readings by ``(origin, kind, id, SHA-256 of the text)``, at most ``limit``."""

    def __init__(self, limit: int = MAX_READINGS) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._readings: OrderedDict[tuple[str, str, str, str], Reading] = OrderedDict()
        #: How many texts were read (misses) and re-used (hits): for tests and figures.
        self.read = 0
        self.reused = 0

    def get(self, origin: str, kind: str, ident: str, text: str) -> Reading:
        """The reading of ``text`` stored under ``ident``, read now if not kept.

        Raises ``ValueError`` when the text is not JSON (nothing is kept then).
        """
        text_digest = kept.digest(text)
        key = (origin, kind, ident, text_digest)
        with self._lock:
            found = self._readings.get(key)
            if found is not None:
                self._readings.move_to_end(key)
                self.reused += 1
                return found
        reading = read_text(origin, kind, text, text_digest)
        with self._lock:
            self.read += 1
            self._readings[key] = reading
            self._readings.move_to_end(key)
            while len(self._readings) > self._limit:
                self._readings.popitem(last=False)
        return reading

    def clear(self) -> None:
        """Forget every reading (tests)."""
        with self._lock:
            self._readings.clear()
            self.read = self.reused = 0

    def __len__(self) -> int:
        return len(self._readings)


#: The readings this process keeps.
READINGS = KeptReadings()
