"""What the portfolio and credential pages read about their credentials, in set queries.

``load`` reads, for every credential a page shows at once, the rows its cards need:
signers, revocations, status bits (with each list's ``version``), deliverables, later
endorsements (with their endorsers' list versions), the fingerprints of the DID documents
their proofs name and, for a visitor in another language, the achievement editions.
Each is one query over all the credentials (``IN (…)``), so a page costs the same number
of statements whatever the number of credentials (docs/performance.md, "Pages").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from badgeworks.core.status import get_status
from badgeworks.db.endorsements import Endorsement
from badgeworks.db.models import (
    AchievementEdition,
    AchievementVersion,
    Credential,
    Deliverable,
    EndorserStatusEntry,
    EndorserStatusList,
    Issuer,
    Revocation,
)
from badgeworks.db.status import StatusEntry, StatusList
from badgeworks.services.portfolio import readings as kept_readings
from badgeworks.services.portfolio.readings import Reading
from badgeworks.services.programs import achievements
from badgeworks.services.verification.kept import hosted_keys


@dataclass(frozen=True)
class Signer:
    """What a card shows of the issuer that signed: its registered name and site."""

    name: str
    url: str | None


@dataclass(frozen=True)
class Revoked:
    """A credential's revocation, as a card shows it."""

    revoked_at: datetime
    reason: str


@dataclass(frozen=True)
class File:
    """A deliverable, as a card's evidence list uses it."""

    id: int
    project_id: int
    sha256: str | None
    url: str | None
    media_type: str | None


@dataclass
class PageRows:
    """The rows behind a page's cards, keyed for look-up by credential.

    Rows whose few columns a card shows are read as those columns (``Signer``,
    ``Revoked``, ``File``), not as ORM objects: building an object per row was most of
    the cost of those queries.
    """

    issuers: dict[int, Signer] = field(default_factory=dict)
    revocations: dict[str, Revoked] = field(default_factory=dict)
    #: ``(credential id, purpose)`` → the credential's bit in its issuer's list.
    bits: dict[tuple[str, str], int] = field(default_factory=dict)
    deliverables: dict[int, list[File]] = field(default_factory=dict)
    #: Endorsements naming each credential (embedded and later), oldest first.
    endorsements: dict[str, list[Endorsement]] = field(default_factory=dict)
    #: Endorsement id → ``((list id, version), …)`` of the endorser lists it has entries in.
    endorsement_lists: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    #: DID → fingerprint of its DID document (``kept.hosted_keys``).
    keys: dict[str, str] = field(default_factory=dict)
    #: Achievement versions and their editions, read when the visitor may need an edition.
    versions: dict[int, AchievementVersion] = field(default_factory=dict)
    editions: dict[int, list[AchievementEdition]] = field(default_factory=dict)
    #: Each credential's reading (``readings.READINGS``), by credential id.
    readings: dict[str, Reading] = field(default_factory=dict)
    #: Each later endorsement's reading, by endorsement id (absent when not JSON).
    endorsement_readings: dict[str, Reading] = field(default_factory=dict)


def _needs_edition(reading: Reading, lang: str) -> bool:
    tag = reading.credential.achievement.in_language if reading.credential else None
    return bool(tag) and achievements.primary_subtag(tag) != achievements.primary_subtag(lang)


def load(
    session: Session,
    rows: Sequence[Credential],
    readings: dict[str, Reading],
    *,
    origin: str,
    lang: str,
) -> PageRows:
    """The rows behind the cards of ``rows`` (whose ``readings`` the caller took from
    ``readings.READINGS``); the later endorsements' texts are read there too."""
    out = PageRows(readings=readings)
    ids = [r.id for r in rows]
    issuer_ids = sorted({r.issuer_id for r in rows})
    stmt_i = select(Issuer.id, Issuer.name, Issuer.url).where(col(Issuer.id).in_(issuer_ids))
    out.issuers = {iid or 0: Signer(name, url) for iid, name, url in session.exec(stmt_i)}
    stmt_r = select(Revocation.credential_id, Revocation.revoked_at, Revocation.reason).where(
        col(Revocation.credential_id).in_(ids)
    )
    out.revocations = {cid: Revoked(at, reason) for cid, at, reason in session.exec(stmt_r)}
    stmt_s = select(
        StatusEntry.credential_id, StatusEntry.purpose, StatusEntry.list_id, StatusEntry.index
    ).where(col(StatusEntry.credential_id).in_(ids))
    entries = list(session.exec(stmt_s))
    list_ids = sorted({lid for _, _, lid, _ in entries})
    bits = {
        lid: (data, size)
        for lid, data, size in session.exec(
            select(StatusList.id, StatusList.bits, StatusList.status_size).where(
                col(StatusList.id).in_(list_ids)
            )
        ).all()
    }
    for credential_id, purpose, lid, index in entries:
        if lid in bits:
            # A revocation with a reason code holds the code: any value but 0 is revoked.
            data, size = bits[lid]
            out.bits[(credential_id, purpose)] = get_status(data, index, size or 1)
    project_ids = sorted({r.project_id for r in rows if r.project_id is not None})
    stmt_d = (
        select_columns(
            col(Deliverable.id),
            col(Deliverable.project_id),
            col(Deliverable.sha256),
            col(Deliverable.url),
            col(Deliverable.media_type),
        )
        .where(col(Deliverable.project_id).in_(project_ids))
        .order_by(col(Deliverable.id))
    )
    for did, project_id, sha256, url, media_type in session.execute(stmt_d):
        out.deliverables.setdefault(project_id, []).append(
            File(did or 0, project_id, sha256, url, media_type)
        )
    stmt_e = (
        select(Endorsement)
        .where(col(Endorsement.credential_id).in_(ids))
        .order_by(col(Endorsement.created_at), col(Endorsement.invite_id))
    )
    later: list[Endorsement] = []
    for e in session.exec(stmt_e):
        out.endorsements.setdefault(e.credential_id, []).append(e)
        later.append(e)
    stmt_l = (
        select(EndorserStatusEntry.credential_id, EndorserStatusList.id, EndorserStatusList.version)
        .join(EndorserStatusList, col(EndorserStatusList.id) == col(EndorserStatusEntry.list_id))
        .where(col(EndorserStatusEntry.credential_id).in_([e.id for e in later]))
        .order_by(col(EndorserStatusList.id))
    )
    lists: dict[str, list[tuple[int, int]]] = {}
    for endorsement_id, list_id, version in session.exec(stmt_l):
        lists.setdefault(endorsement_id, []).append((list_id or 0, version))
    out.endorsement_lists = {k: tuple(v) for k, v in lists.items()}
    dids: set[str] = set()
    for reading in readings.values():
        dids |= reading.dids
    for e in later:
        try:
            found = kept_readings.READINGS.read(origin, "endorsement", e.id, e.document)
        except ValueError:
            continue
        out.endorsement_readings[e.id] = found
        dids |= found.dids
    out.keys = hosted_keys(session, dids)
    wanted = sorted(
        {
            r.achievement_version_id
            for r in rows
            if r.achievement_version_id is not None and _needs_edition(readings[r.id], lang)
        }
    )
    if wanted:
        out.versions = {
            v.id or 0: v
            for v in session.exec(
                select(AchievementVersion).where(col(AchievementVersion.id).in_(wanted))
            )
        }
        stmt_ed = (
            select(AchievementEdition)
            .where(col(AchievementEdition.achievement_version_id).in_(wanted))
            .order_by(col(AchievementEdition.lang))
        )
        for edition in session.exec(stmt_ed):
            out.editions.setdefault(edition.achievement_version_id, []).append(edition)
    return out
