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


@dataclass
class PageRows:
    """The rows behind a page's cards, keyed for look-up by credential."""

    issuers: dict[int, Issuer] = field(default_factory=dict)
    revocations: dict[str, Revocation] = field(default_factory=dict)
    #: ``(credential id, purpose)`` → the credential's bit in its issuer's list.
    bits: dict[tuple[str, str], int] = field(default_factory=dict)
    deliverables: dict[int, list[Deliverable]] = field(default_factory=dict)
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
    out.issuers = {
        i.id or 0: i for i in session.exec(select(Issuer).where(col(Issuer.id).in_(issuer_ids)))
    }
    out.revocations = {
        r.credential_id: r
        for r in session.exec(select(Revocation).where(col(Revocation.credential_id).in_(ids)))
    }
    entries = list(session.exec(select(StatusEntry).where(col(StatusEntry.credential_id).in_(ids))))
    list_ids = sorted({e.list_id for e in entries})
    bits = dict(
        session.exec(
            select(StatusList.id, StatusList.bits).where(col(StatusList.id).in_(list_ids))
        ).all()
    )
    for entry in entries:
        if entry.list_id in bits:
            value = get_status(bits[entry.list_id], entry.index)
            out.bits[(entry.credential_id, entry.purpose)] = value
    project_ids = sorted({r.project_id for r in rows if r.project_id is not None})
    stmt_d = (
        select(Deliverable)
        .where(col(Deliverable.project_id).in_(project_ids))
        .order_by(col(Deliverable.id))
    )
    for d in session.exec(stmt_d):
        out.deliverables.setdefault(d.project_id, []).append(d)
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
            found = kept_readings.READINGS.get(origin, "endorsement", e.id, e.document)
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
