"""Projects (micro-internship engagements) and their deliverables.

A project is a draft until it is completed; from then on it and its deliverables are
read-only, because the credential describes them. Every change to a project or its
deliverables first takes the project's row with a guarded write (``_hold_draft``) in the
transaction that makes the change, so a completion's compare-and-set either comes after
the change has committed (and sees it) or before it (and the change is refused).
Uploaded deliverables are stored content-addressed (SHA-256) and served at
``<base>/blobs/<sha256>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from badgeworks.db.engine import begin_write
from badgeworks.db.models import (
    AchievementVersion,
    Credential,
    Deliverable,
    Issuer,
    Project,
)
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError, ValidationFailed
from badgeworks.services.infra import audit, jobs, ownership, pagination
from badgeworks.services.infra.pagination import Page
from badgeworks.services.programs.achievements import current_version, get_achievement
from badgeworks.services.programs.candidates import get_candidate
from badgeworks.services.programs.models import (
    DeliverableLinkCreate,
    DeliverablePublic,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
)

_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,99}$")
_FILENAME_UNSAFE = re.compile(r"[^\w .()+-]")


def clean_media_type(value: str | None) -> str:
    """The declared media type without parameters, or ``application/octet-stream``."""
    value = (value or "").split(";", 1)[0].strip().lower()
    return value if _MEDIA_TYPE.match(value) else "application/octet-stream"


def clean_filename(value: str | None) -> str | None:
    """A display-safe file name (no path, no control or odd characters)."""
    if not value:
        return None
    name = value.replace("\\", "/").rsplit("/", 1)[-1]
    return _FILENAME_UNSAFE.sub("_", name)[:200] or None


def check_results(version: AchievementVersion, results: list[dict[str, Any]]) -> None:
    """Every result must name a ResultDescription of the achievement (and one of its levels)."""
    described = {rd["key"]: rd for rd in version.result_descriptions}
    for index, result in enumerate(results):
        key = result.get("result_description")
        rd = described.get(str(key))
        if rd is None:
            raise ValidationFailed(
                f"results[{index}].result_description {key!r} is not one of the achievement's "
                f"result descriptions ({', '.join(sorted(described)) or 'none defined'})",
                code="project.unknown_result_description",
            )
        level = result.get("achieved_level")
        levels = {lv["key"] for lv in rd.get("levels", [])}
        if level is not None and level not in levels:
            raise ValidationFailed(
                f"results[{index}].achieved_level {level!r} is not a level of {key!r} "
                f"({', '.join(sorted(levels)) or 'no levels defined'})",
                code="project.unknown_level",
            )
        if rd["result_type"] == "Status" and not result.get("status"):
            raise ValidationFailed(
                f"results[{index}] needs a status, because {key!r} has resultType Status",
                code="project.status_required",
            )


def _check_dates(project: Project) -> None:
    if project.start_date and project.end_date and project.end_date < project.start_date:
        raise ValidationFailed(
            f"end_date {project.end_date} is before start_date {project.start_date}",
            code="project.dates",
        )


def create_project(
    session: Session, issuer: Issuer, data: ProjectCreate, *, actor: str, now: datetime
) -> Project:
    """Create a draft project for one of the issuer's candidates and achievements."""
    issuer_id = issuer.id or 0
    achievement = get_achievement(session, issuer_id, data.achievement_id)
    get_candidate(session, issuer_id, data.candidate_id)
    dumped = data.model_dump(mode="json")
    check_results(current_version(session, achievement), dumped["results"])
    project = Project(
        issuer_id=issuer_id,
        achievement_id=data.achievement_id,
        candidate_id=data.candidate_id,
        title=data.title,
        summary=data.summary,
        host=dumped["host"],
        role=data.role,
        start_date=data.start_date,
        end_date=data.end_date,
        mentors=dumped["mentors"],
        results=dumped["results"],
        created_at=now,
    )
    _check_dates(project)
    session.add(project)
    session.flush()
    audit.commit(
        session,
        actor=actor,
        action="project.create",
        issuer_id=issuer_id,
        target=f"project:{project.id}",
        now=now,
        refresh=[project],
    )
    return project


def get_project(session: Session, issuer_id: int, project_id: int) -> Project:
    """A project of ``issuer_id``; another issuer's looks like a missing one."""
    return ownership.issuer_row(session, Project, project_id, issuer_id, "project")


def _completed(project: Project) -> ConflictError:
    return ConflictError(
        f"project {project.id} is completed; its credential describes it as it was",
        code="project.completed",
    )


def _hold_draft(session: Session, project: Project) -> None:
    """Hold ``project``'s row for this transaction's change, or refuse a completed one.

    Checking ``project.status`` as read is not enough: a completion may mark the project
    complete between that read and the change's commit, and the change would then land on
    a project whose credential describes it otherwise. A write that changes nothing, only
    where the row is still a draft, locks the row until the commit (SQLite: the database's
    write lock, taken first with ``BEGIN IMMEDIATE``). A completion's compare-and-set
    (services/issuance/completion.py) waits for this transaction and then sees the change;
    one that came first leaves no draft row here, and the change is refused.
    """
    if project.status != "draft":
        raise _completed(project)
    begin_write(session)
    table: Any = Project.__table__  # type: ignore[attr-defined]
    held = session.execute(
        update(table)
        .where(table.c.id == project.id, table.c.status == "draft")
        .values(status=table.c.status)
    )
    if held.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise _completed(project)


def update_project(
    session: Session, project: Project, data: ProjectUpdate, *, actor: str, now: datetime
) -> Project:
    """Edit a draft project."""
    _hold_draft(session, project)
    # Read again under the hold, so the checks below see what another edit committed.
    session.refresh(project)
    changes = data.model_dump(exclude_unset=True, mode="json")
    typed = data.model_dump(exclude_unset=True)
    try:
        if "achievement_id" in changes:
            get_achievement(session, project.issuer_id, changes["achievement_id"])
        if "candidate_id" in changes:
            get_candidate(session, project.issuer_id, changes["candidate_id"])
        for name, value in changes.items():
            if value is None and name in ("host", "mentors", "results", "title", "role"):
                continue
            # Dates go in as date objects; nested models as their JSON form.
            setattr(project, name, typed[name] if name in ("start_date", "end_date") else value)
        _check_dates(project)
        achievement = get_achievement(session, project.issuer_id, project.achievement_id)
        check_results(current_version(session, achievement), project.results)
    except BaseException:
        # A refused edit releases the project at once, and leaves it as it was.
        session.rollback()
        raise
    session.add(project)
    audit.commit(
        session,
        actor=actor,
        action="project.update",
        issuer_id=project.issuer_id,
        target=f"project:{project.id}",
        detail={"fields": sorted(changes)},
        now=now,
        refresh=[project],
    )
    return project


def _listed(issuer: Issuer) -> SelectOfScalar[Project]:
    """The issuer's projects by id: the one query their list and its total read."""
    return select(Project).where(Project.issuer_id == issuer.id).order_by(col(Project.id))


def list_projects(
    session: Session, issuer: Issuer, *, limit: int = 100, offset: int = 0
) -> list[Project]:
    """The issuer's projects by id."""
    return list(session.exec(_listed(issuer).offset(offset).limit(limit)))


def page_of_projects(session: Session, issuer: Issuer, *, limit: int, offset: int) -> Page[Project]:
    """One page of the issuer's projects, and how many there are."""
    return pagination.page(session, _listed(issuer), limit=limit, offset=offset)


def deliverables(session: Session, project: Project) -> list[Deliverable]:
    """The project's deliverables in the order they were added."""
    stmt = (
        select(Deliverable)
        .where(Deliverable.project_id == project.id)
        .order_by(col(Deliverable.id))
    )
    return list(session.exec(stmt))


def add_file(
    session: Session,
    ctx: ServiceContext,
    project: Project,
    chunks: Iterable[bytes],
    *,
    name: str,
    filename: str | None,
    media_type: str | None,
    description: str | None = None,
    genre: str | None = None,
    actor: str,
) -> Deliverable:
    """Store an uploaded file (content-addressed) and attach it to a draft project."""
    if project.status != "draft":
        raise _completed(project)
    # The bytes are stored before the project is held: an upload holds no lock while it
    # streams. A blob no deliverable names is harmless (blobs are content-addressed).
    sha256, size = ctx.blobs.put_stream(chunks, max_bytes=ctx.settings.max_upload_bytes)
    if size == 0:
        raise ValidationFailed("the uploaded file is empty", code="deliverable.empty")
    _hold_draft(session, project)
    row = Deliverable(
        project_id=project.id or 0,
        name=name,
        description=description,
        genre=genre,
        sha256=sha256,
        size=size,
        media_type=clean_media_type(media_type),
        filename=clean_filename(filename),
        created_at=ctx.clock(),
    )
    if row.media_type == "application/pdf":
        # A worker pictures the first page now, so the first visitor does not wait for it
        # (the page still renders it itself if the worker has not yet).
        jobs.enqueue(
            session,
            "pdf.preview",
            {"sha256": sha256},
            now=row.created_at,
            issuer_id=project.issuer_id,
        )
    return _add(session, project, row, actor, row.created_at)


def add_link(
    session: Session, project: Project, data: DeliverableLinkCreate, *, actor: str, now: datetime
) -> Deliverable:
    """Attach a deliverable that lives elsewhere (a URL; no digest can bind it)."""
    _hold_draft(session, project)
    row = Deliverable(
        project_id=project.id or 0,
        name=data.name,
        description=data.description,
        genre=data.genre,
        url=data.url,
        created_at=now,
    )
    return _add(session, project, row, actor, now)


def _add(
    session: Session, project: Project, row: Deliverable, actor: str, now: datetime
) -> Deliverable:
    session.add(row)
    session.flush()
    audit.commit(
        session,
        actor=actor,
        action="deliverable.add",
        issuer_id=project.issuer_id,
        target=f"project:{project.id}",
        detail={"deliverable": row.id, "sha256": row.sha256, "url": row.url},
        now=now,
        refresh=[row],
    )
    return row


def remove_deliverable(
    session: Session, project: Project, deliverable_id: int, *, actor: str, now: datetime
) -> None:
    """Detach a deliverable from a draft project (the blob itself stays: it is immutable)."""
    _hold_draft(session, project)
    row = session.get(Deliverable, deliverable_id)
    if row is None or row.project_id != project.id:
        session.rollback()  # releases the project
        raise NotFoundError(
            f"project {project.id} has no deliverable {deliverable_id}",
            code="deliverable.not_found",
        )
    session.delete(row)
    audit.commit(
        session,
        actor=actor,
        action="deliverable.remove",
        issuer_id=project.issuer_id,
        target=f"project:{project.id}",
        detail={"deliverable": deliverable_id},
        now=now,
    )


def deliverable_url(ctx: ServiceContext, row: Deliverable) -> str:
    """Where the deliverable is: our blob URL for uploads, else the given link."""
    if row.sha256:
        return f"{ctx.base_url}/blobs/{row.sha256}"
    return row.url or ""


def deliverable_public(ctx: ServiceContext, row: Deliverable) -> DeliverablePublic:
    """The API view of a deliverable."""
    return DeliverablePublic(
        id=row.id or 0,
        name=row.name,
        description=row.description,
        genre=row.genre,
        url=deliverable_url(ctx, row),
        sha256=row.sha256,
        size=row.size,
        media_type=row.media_type,
        filename=row.filename,
    )


def to_public(
    session: Session, ctx: ServiceContext, issuer: Issuer, project: Project
) -> ProjectPublic:
    """The API view of a project with its deliverables and credential id."""
    credential_id = session.exec(
        select(Credential.id).where(Credential.project_id == project.id)
    ).first()
    return ProjectPublic(
        id=project.id or 0,
        issuer=issuer.slug,
        achievement_id=project.achievement_id,
        candidate_id=project.candidate_id,
        title=project.title,
        summary=project.summary,
        host=dict(project.host),
        role=project.role,
        start_date=project.start_date,
        end_date=project.end_date,
        mentors=list(project.mentors),
        results=list(project.results),
        status=project.status,
        completed_at=project.completed_at,
        credential_id=credential_id,
        deliverables=[deliverable_public(ctx, d) for d in deliverables(session, project)],
        created_at=project.created_at,
    )
