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
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime

from badgeworks.core.reading import (
    CredentialView,
    EndorsementView,
    read_credential,
    read_endorsement,
)
from badgeworks.services.infra.memory import Recent
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

    def report_key(
        self,
        origin: str,
        kind: str,
        ident: str,
        keys: Mapping[str, str],
        now: datetime,
        extra: Hashable = (),
    ) -> Hashable:
        """The key its kept verification report is found under (``kept.key_of``)."""
        return kept.key_of(
            origin=origin,
            kind=kind,
            ident=ident,
            text_digest=self.digest,
            dids=self.dids,
            dates=self.dates,
            keys=keys,
            now=now,
            extra=extra,
        )


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


class KeptReadings(Recent[tuple[str, str, str, str], Reading]):
    """Readings by ``(origin, kind, id, SHA-256 of the text)``, at most ``limit``."""

    def __init__(self, limit: int = MAX_READINGS) -> None:
        super().__init__(limit)

    def read(self, origin: str, kind: str, ident: str, text: str) -> Reading:
        """The reading of ``text`` stored under ``ident``, read now if not kept.

        Raises ``ValueError`` when the text is not JSON (nothing is kept then).
        """
        text_digest = kept.digest(text)
        return self.get(
            (origin, kind, ident, text_digest),
            lambda: read_text(origin, kind, text, text_digest),
        )


#: The readings this process keeps.
READINGS = KeptReadings()
