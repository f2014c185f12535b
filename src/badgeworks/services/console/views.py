"""Read-side views the program console needs: counts, project states, search, trails.

Everything here reads; every change the console makes goes through the same service
functions the API calls (achievements, projects, issuance, issuers, tokens, bulk), so it
is validated and audited the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, or_, select

from badgeworks.db.console import BulkJob, BulkRow
from badgeworks.db.endorsements import ReviewInvite
from badgeworks.db.models import (
    Achievement,
    AchievementVersion,
    AuditEvent,
    Candidate,
    Credential,
    Deliverable,
    Issuer,
    Project,
    Revocation,
)
from badgeworks.services.endorsements import workflow as endorsements
from badgeworks.services.infra import pagination
from badgeworks.services.infra.pagination import Page
from badgeworks.services.issuance import bulk

#: The states a project moves through, in order.
PROJECT_STATES = ("in_progress", "awaiting_mentor", "ready", "issued")


def _count(session: Session, stmt: Any) -> int:
    return int(session.exec(stmt).one())


def counts(session: Session, issuer: Issuer, *, now: datetime) -> dict[str, int]:
    """Dashboard numbers for one issuer."""
    iid = issuer.id
    issued = _count(
        session, select(func.count()).select_from(Credential).where(Credential.issuer_id == iid)
    )
    revoked = _count(
        session,
        select(func.count())
        .select_from(Revocation)
        .where(Revocation.credential_id == Credential.id, Credential.issuer_id == iid),
    )
    states = {s: 0 for s in PROJECT_STATES}
    for project in session.exec(select(Project).where(Project.issuer_id == iid)):
        states[project_state(session, project, now=now)] += 1
    return {
        "achievements": _count(
            session,
            select(func.count()).select_from(Achievement).where(Achievement.issuer_id == iid),
        ),
        "candidates": _count(
            session, select(func.count()).select_from(Candidate).where(Candidate.issuer_id == iid)
        ),
        "issued": issued,
        "revoked": revoked,
        **{f"projects_{k}": v for k, v in states.items()},
    }


def project_state(session: Session, project: Project, *, now: datetime) -> str:
    """``in_progress`` (no deliverable yet) → ``awaiting_mentor`` → ``ready`` → ``issued``.

    A project waits for its mentor while a review invite is open (not yet used).
    """
    if project.status != "draft":
        return "issued"
    has_work = (
        session.exec(select(Deliverable.id).where(Deliverable.project_id == project.id)).first()
        is not None
    )
    if not has_work:
        return "in_progress"
    if mentor_review_pending(session, project, now):
        return "awaiting_mentor"
    return "ready"


def mentor_review_pending(session: Session, project: Project, now: datetime) -> bool:
    """True while a review invite of the project is open (not used, revoked or expired)."""
    for invite in session.exec(select(ReviewInvite).where(ReviewInvite.project_id == project.id)):
        if endorsements.invite_status(invite, now) == "pending":
            return True
    return False


@dataclass
class CredentialRow:
    """One line of the credentials list."""

    id: str
    candidate: str
    achievement: str
    version: int
    issued_at: Any
    revoked_at: Any
    project_id: int | None


def search_credentials(
    session: Session,
    issuer: Issuer,
    *,
    query: str = "",
    status: str = "",
    achievement_id: int | None = None,
    candidate_id: int | None = None,
    limit: int = 200,
) -> list[CredentialRow]:
    """The issuer's credentials matching a text query (candidate name or email, achievement
    name, credential id), a status (``active``/``revoked``), an achievement and a
    candidate."""
    stmt = (
        select(Credential, Candidate, AchievementVersion, Revocation)
        .join(Candidate, col(Candidate.id) == Credential.candidate_id)
        .join(AchievementVersion, col(AchievementVersion.id) == Credential.achievement_version_id)
        .join(Revocation, col(Revocation.credential_id) == Credential.id, isouter=True)
        .where(Credential.issuer_id == issuer.id)
        .order_by(col(Credential.issued_at).desc(), col(Credential.id))
    )
    if status == "revoked":
        stmt = stmt.where(col(Revocation.id).is_not(None))
    elif status == "active":
        stmt = stmt.where(col(Revocation.id).is_(None))
    if achievement_id is not None:
        stmt = stmt.where(AchievementVersion.achievement_id == achievement_id)
    if candidate_id is not None:
        stmt = stmt.where(Credential.candidate_id == candidate_id)
    text = query.strip().lower()[:200]
    if text:
        like = f"%{text}%"
        # Emails are a JSON list; match them in Python rather than in dialect-specific SQL.
        by_email = [
            c.id
            for c in session.exec(select(Candidate).where(Candidate.issuer_id == issuer.id))
            if any(text in e for e in c.emails)
        ]
        stmt = stmt.where(
            or_(
                func.lower(Candidate.name).like(like),
                func.lower(AchievementVersion.name).like(like),
                col(Credential.id).like(like),
                col(Credential.candidate_id).in_(by_email),
            )
        )
    return [
        CredentialRow(
            id=cred.id,
            candidate=cand.name,
            achievement=version.name,
            version=version.version,
            issued_at=cred.issued_at,
            revoked_at=rev.revoked_at if rev else None,
            project_id=cred.project_id,
        )
        for cred, cand, version, rev in session.exec(stmt.limit(limit))
    ]


@dataclass(frozen=True)
class CandidateRow:
    """A candidate as the console's list shows them."""

    id: int
    name: str
    emails: list[str]
    credentials: int


def search_candidates(
    session: Session, issuer: Issuer, *, query: str = "", limit: int = 50, offset: int = 0
) -> Page[CandidateRow]:
    """One page of the issuer's candidates whose name or an email address contains
    ``query`` (case-insensitive), by name, each with how many credentials they hold."""
    stmt = (
        select(Candidate)
        .where(Candidate.issuer_id == issuer.id)
        .order_by(func.lower(Candidate.name), col(Candidate.id))
    )
    text = query.strip().lower()[:200]
    if text:
        # Emails are a JSON list; matched in Python, as ``search_credentials`` does.
        by_email = [
            c.id
            for c in session.exec(select(Candidate).where(Candidate.issuer_id == issuer.id))
            if any(text in e for e in c.emails)
        ]
        stmt = stmt.where(
            or_(func.lower(Candidate.name).like(f"%{text}%"), col(Candidate.id).in_(by_email))
        )
    found = pagination.page(session, stmt, limit=limit, offset=offset)
    ids = [c.id for c in found.rows]
    held = dict(
        session.exec(
            select(Credential.candidate_id, func.count())
            .where(col(Credential.candidate_id).in_(ids))
            .group_by(col(Credential.candidate_id))
        ).all()
    )
    rows = [
        CandidateRow(
            id=c.id or 0, name=c.name, emails=list(c.emails), credentials=held.get(c.id, 0)
        )
        for c in found.rows
    ]
    return Page(rows=rows, total=found.total, limit=found.limit, offset=found.offset)


@dataclass(frozen=True)
class IssuedRow:
    """A bulk row's credential, named: whose it is and for what."""

    line: int
    id: str
    candidate: str
    achievement: str
    revoked: bool = False


def credential_labels(
    session: Session, issuer: Issuer, ids: Iterable[str]
) -> dict[str, tuple[str, str, bool]]:
    """The candidate's name, the achievement's name and whether it is revoked, for each of
    the issuer's credentials ``ids`` (one query)."""
    wanted = sorted({i for i in ids if isinstance(i, str)})
    if not wanted:
        return {}
    stmt = (
        select(Credential.id, Candidate.name, AchievementVersion.name, Revocation.id)
        .join(Candidate, col(Candidate.id) == Credential.candidate_id)
        .join(AchievementVersion, col(AchievementVersion.id) == Credential.achievement_version_id)
        .join(Revocation, col(Revocation.credential_id) == Credential.id, isouter=True)
        .where(Credential.issuer_id == issuer.id, col(Credential.id).in_(wanted))
    )
    return {cid: (who, what, rev is not None) for cid, who, what, rev in session.exec(stmt)}


def named_rows(session: Session, issuer: Issuer, rows: Sequence[dict[str, Any]]) -> list[IssuedRow]:
    """A bulk job's ``issued`` or ``skipped`` list (``{"line", "id"}``) with names."""
    labels = credential_labels(session, issuer, (str(r.get("id") or "") for r in rows))
    out = []
    for r in rows:
        who, what, revoked = labels.get(r.get("id") or "", ("", "", False))
        out.append(IssuedRow(r.get("line", 0), r.get("id") or "", who, what, revoked))
    return out


def issued_before(session: Session, issuer: Issuer, job: BulkJob) -> list[IssuedRow]:
    """The rows of a validated bulk job that an earlier upload (or run) already issued, by
    their row key (``services/issuance/bulk.py``): issuing skips them, so the page says so
    before anyone presses Issue."""
    rows, _ = bulk.parse(job.csv_text.encode("utf-8"))
    lines = {row.key: line for row, line in zip(rows, job.line_map, strict=False)}
    if not lines:
        return []
    marks = session.exec(
        select(BulkRow.row_key, Credential.id)
        .join(Credential, col(Credential.project_id) == BulkRow.project_id)
        .where(BulkRow.issuer_id == issuer.id, col(BulkRow.row_key).in_(list(lines)))
    ).all()
    found = [{"line": lines[key], "id": cid} for key, cid in marks]
    return sorted(named_rows(session, issuer, found), key=lambda r: r.line)


def candidate_projects(session: Session, issuer: Issuer, candidate_id: int) -> list[Project]:
    """The candidate's projects in this program, newest first."""
    stmt = (
        select(Project)
        .where(Project.issuer_id == issuer.id, Project.candidate_id == candidate_id)
        .order_by(col(Project.id).desc())
    )
    return list(session.exec(stmt))


def trail(
    session: Session, issuer: Issuer, targets: list[str], limit: int = 200
) -> list[AuditEvent]:
    """Audit events of ``issuer`` about any of ``targets`` (e.g. ``credential:<id>``), oldest
    first."""
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.issuer_id == issuer.id, col(AuditEvent.target).in_(targets))
        .order_by(col(AuditEvent.id))
        .limit(limit)
    )
    return list(session.exec(stmt))


def credential_document(row: Credential) -> dict[str, Any]:
    """The stored credential, parsed (for display only; the text is what is served)."""
    document: dict[str, Any] = json.loads(row.document)
    return document


def target_link(slug: str, target: str) -> str | None:
    """The console page an audit event's target is about, if there is one."""
    kind, _, ident = target.partition(":")
    paths = {
        "credential": "credentials",
        "project": "projects",
        "achievement": "achievements",
        "candidate": "candidates",
    }
    if kind in paths and ident:
        return f"/console/{slug}/{paths[kind]}/{ident}"
    return None
