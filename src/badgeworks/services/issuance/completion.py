"""Issuance at completion: build the OB 3.0 credential, sign it, store the exact JSON.

The credential's ``id`` (``<base>/credentials/<uuid>``) is allocated before signing, so
the signed document names the URL it is served at. The stored text is what the hosted
URL returns, byte for byte; it is never rebuilt from columns, and the ``credential``
table rejects updates (docs/architecture.md, "Conventions the service follows"). A
completion signs holding no lock and stores with a compare-and-set on the project's state
(``complete_project``); one credential per project is also enforced by a unique
constraint, so two processes completing the same project cannot both issue.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from badgeworks.core import credential as ob
from badgeworks.core.identity import identity_object, plain_identity_object
from badgeworks.core.issue import issue
from badgeworks.db.endorsements import CredentialReservation
from badgeworks.db.engine import begin_write
from badgeworks.db.models import (
    Achievement,
    AchievementVersion,
    Candidate,
    Credential,
    Deliverable,
    Issuer,
    Project,
    Revocation,
)
from badgeworks.db.status import StatusEntry
from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements import workflow as endorsements
from badgeworks.services.errors import ConflictError, NotFoundError
from badgeworks.services.infra import audit, pagination
from badgeworks.services.infra.pagination import Page
from badgeworks.services.issuance import notices
from badgeworks.services.issuance.models import CredentialSummary, IssuedCredential
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs.achievements import (
    achievement_json,
    achievement_url,
    current_version,
    get_achievement,
    level_id,
    result_description_id,
)
from badgeworks.services.programs.candidates import get_candidate
from badgeworks.services.programs.issuers import profile, signing_key
from badgeworks.services.programs.projects import (
    check_results,
    deliverable_url,
    deliverables,
    get_project,
)

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def credential_url(ctx: ServiceContext, credential_id: str) -> str:
    """The hosted URL (and ``id``) of a credential."""
    return f"{ctx.base_url}/credentials/{credential_id}"


def _day(value: date | None) -> str | None:
    if value is None:
        return None
    return ob.xsd_datetime(datetime(value.year, value.month, value.day, tzinfo=UTC))


def _host_profile(host: dict[str, Any], project: Project, ctx: ServiceContext) -> dict[str, Any]:
    # A Profile needs an id; the host's own URL is the natural one. Without it, name the
    # host by a stable URN derived from this service and project.
    host_id = host.get("url") or (
        "urn:uuid:"
        + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{ctx.base_url}/projects/{project.id}#host"))
    )
    return ob.profile(
        id=host_id,
        name=host.get("name"),
        url=host.get("url"),
        email=host.get("email"),
        description=host.get("description"),
    )


def _results(ach_url: str, project: Project) -> list[dict[str, Any]]:
    return [
        ob.result(
            result_description=result_description_id(ach_url, r["result_description"]),
            achieved_level=(
                level_id(ach_url, r["result_description"], r["achieved_level"])
                if r.get("achieved_level")
                else None
            ),
            value=r.get("value"),
            status=r.get("status"),
        )
        for r in project.results
    ]


def _description(project: Project) -> str:
    """The credential's ``description``: the project, its host and mentors, and its
    summary, each one sentence ending once however the staff typed it (``ob.sentences``:
    a title ending in "." or a blank summary leaves no ".." or trailing space)."""
    host = str(project.host.get("name") or "").strip()
    mentors = [name for m in project.mentors if (name := str(m.get("name") or "").strip(" ,;\t\n"))]
    return ob.sentences(
        f"Project: {project.title}",
        f"Hosted by {host}" if host else None,
        f"Mentored by {', '.join(mentors)}" if mentors else None,
        project.summary,
    )


def _identifiers(issuer: Issuer, candidate: Candidate) -> list[dict[str, Any]]:
    """Who the credential is about: the salted email hashes, and the name unless the
    issuer keeps its credentials to hashes (``Issuer.name_in_credentials``).

    OB 3.0 "IdentityObject" allows a plain value (``hashed`` false). The name goes after
    the hashes, so a reader that takes the first identifier as the email's hash (as
    credentials before the name did) still finds it there (docs/credentials.md).
    """
    hashed = [identity_object(email, salt=candidate.salt) for email in candidate.emails]
    if issuer.name_in_credentials and candidate.name and candidate.name.strip():
        return [*hashed, plain_identity_object(candidate.name)]
    return hashed


def build_credential(
    ctx: ServiceContext,
    *,
    credential_id: str,
    issuer: Issuer,
    version: AchievementVersion,
    candidate: Candidate,
    project: Project,
    files: list[Deliverable],
    now: datetime,
    credential_status: dict[str, Any] | list[dict[str, Any]] | None = None,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    """The unsigned OpenBadgeCredential for a completed project.

    ``valid_until`` defaults to ``now`` plus the achievement version's
    ``default_validity_days`` (no expiry when that is unset).
    """
    # The version's own text, in its inLanguage, plus a ``related`` entry for each of its
    # language editions (OB 3.0): the signed text is always the original language.
    ach = achievement_json(ctx, issuer, version)
    ach_url = achievement_url(ctx, version.achievement_id, version.version)
    subject = ob.achievement_subject(
        achievement=ach,
        id=candidate.did,
        identifier=_identifiers(issuer, candidate),
        result=_results(ach_url, project),
        role=project.role,
        source=_host_profile(project.host, project, ctx),
        activity_start_date=_day(project.start_date),
        activity_end_date=_day(project.end_date),
    )
    evidence = [
        ob.evidence(
            id=deliverable_url(ctx, d),
            name=d.name,
            description=d.description,
            genre=d.genre,
        )
        for d in files
    ]
    related = []
    for d in files:
        if d.sha256:
            with ctx.blobs.open(d.sha256) as fh:
                digest = ob.digest_multibase(fh.read())
            related.append(
                ob.related_resource(
                    id=deliverable_url(ctx, d), digest_multibase=digest, media_type=d.media_type
                )
            )
    if valid_until is None and version.default_validity_days:
        valid_until = now + timedelta(days=version.default_validity_days)
    return ob.achievement_credential(
        id=credential_url(ctx, credential_id),
        issuer=profile(ctx, issuer),
        valid_from=ob.xsd_datetime(now),
        valid_until=ob.xsd_datetime(valid_until) if valid_until is not None else None,
        subject=subject,
        name=version.name,
        description=_description(project),
        evidence=evidence,
        related_resource=related,
        credential_status=credential_status,
    )


def serialize(document: dict[str, Any]) -> str:
    """The one way a signed credential becomes the text we store and serve."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _check_reserved_id_free(session: Session, project: Project, credential_id: str) -> None:
    # Ids callers supply are checked against reservations (services.vcapi), but a
    # database written before that check may hold another credential under this
    # project's reserved id. Completing would then claim status entries that can never
    # be claimed; say so at once instead.
    held = session.execute(
        select(
            or_(
                exists().where(col(Credential.id) == credential_id),
                exists().where(col(StatusEntry.credential_id) == credential_id),
            )
        )
    ).scalar()
    if held:
        raise ConflictError(
            f"the credential id {credential_id} reserved for project {project.id} (its "
            "endorsements name it) is already held by another credential on this service, "
            "so the project cannot be completed under it; ask the service operator to "
            "look into that credential",
            code="credential.id_taken",
        )


def _lock_project(session: Session, issuer: Issuer, project_id: int) -> None:
    # Completions of one project take turns from the start: the first signs, and the
    # others, once it has committed, see a completed project and answer 409 without
    # claiming status entries or signing. Without this, every simultaneous request
    # does all the work only to fail at the commit, and a burst of them starves the
    # connection pool. PostgreSQL locks the project row; SQLite takes its write lock
    # (BEGIN IMMEDIATE) before anything is read, so what is read stays current (the
    # issuer, which the caller just read, is kept as it is: it is not read again).
    if session.get_bind().dialect.name == "sqlite":
        begin_write(session)
        for loaded in list(session.identity_map.values()):
            if loaded is not issuer:
                session.expire(loaded)
        return
    session.exec(
        select(Project)
        .where(Project.id == project_id, Project.issuer_id == (issuer.id or 0))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _current_version(session: Session, issuer_id: int, achievement_id: int) -> AchievementVersion:
    """The version of the issuer's achievement new credentials use, in one query."""
    found = session.exec(
        select(AchievementVersion)
        .join(Achievement, col(Achievement.id) == col(AchievementVersion.achievement_id))
        .where(
            Achievement.id == achievement_id,
            Achievement.issuer_id == issuer_id,
            col(AchievementVersion.version) == col(Achievement.current_version),
        )
    ).first()
    if found is not None:
        return found
    # Missing: the look-ups that say what is missing raise it.
    return current_version(session, get_achievement(session, issuer_id, achievement_id))


#: The project's columns a credential is built from: the write that marks the project
#: complete returns them, so an edit committed while the credential was being signed is
#: seen, and the credential built again from the edited project.
_SIGNED_FROM = (
    "achievement_id",
    "candidate_id",
    "title",
    "summary",
    "host",
    "role",
    "start_date",
    "end_date",
    "mentors",
    "results",
)
#: Times a completion builds and signs again (its index taken, its project or its
#: deliverables changed meanwhile).
_ATTEMPTS = 5


class _Again(Exception):
    """The credential signed cannot be stored as it is: build and sign it again."""

    def __init__(self, *, look: bool) -> None:
        super().__init__("again")
        self.look = look


def _deliverables_signed(session: Session, project_id: int) -> tuple[tuple[int, str | None], ...]:
    """What the credential binds of the project's deliverables: ids and digests, in order.

    A deliverable row is never edited (only added or removed), so its id stands for its
    name, description, genre and link, and the digest for its bytes. One statement.
    """
    rows = session.execute(
        select(Deliverable.id, Deliverable.sha256)
        .where(Deliverable.project_id == project_id)
        .order_by(col(Deliverable.id))
    ).all()
    return tuple((row[0] or 0, row[1]) for row in rows)


def _already_completed(session: Session, ctx: ServiceContext, project_id: int) -> ConflictError:
    existing = session.exec(
        select(Credential.id).where(Credential.project_id == project_id)
    ).first()
    where = f"; its credential is {credential_url(ctx, existing)}" if existing else ""
    return ConflictError(
        f"project {project_id} is already completed{where}",
        code="project.already_completed",
    )


def _read_draft(
    session: Session, issuer_id: int, project_id: int
) -> tuple[Project, Candidate, AchievementVersion]:
    """The project, its candidate and the version it is issued under, in one query."""
    found = session.exec(
        select(Project, Candidate, AchievementVersion)
        .join(
            Candidate,
            and_(
                col(Candidate.id) == col(Project.candidate_id),
                col(Candidate.issuer_id) == issuer_id,
            ),
        )
        .join(
            Achievement,
            and_(
                col(Achievement.id) == col(Project.achievement_id),
                col(Achievement.issuer_id) == issuer_id,
            ),
        )
        .join(
            AchievementVersion,
            and_(
                col(AchievementVersion.achievement_id) == col(Achievement.id),
                col(AchievementVersion.version) == col(Achievement.current_version),
            ),
        )
        .where(Project.id == project_id, Project.issuer_id == issuer_id)
        .execution_options(populate_existing=True)
    ).first()
    if found is not None:
        return found[0], found[1], found[2]
    # Something is missing: the look-ups that say what raise it.
    project = get_project(session, issuer_id, project_id)
    version = _current_version(session, issuer_id, project.achievement_id)
    return project, get_candidate(session, issuer_id, project.candidate_id), version


def _credential_id(session: Session, project: Project) -> tuple[str, bool]:
    """The credential's id, and whether it was reserved.

    A mentor's invite reserves the id (earlier endorsements name it), and it is checked to
    be free; without a reservation the id is a fresh UUID, which nothing can hold yet.
    """
    reservation = session.get(CredentialReservation, project.id)
    if reservation is None:
        return str(uuid.uuid4()), False
    _check_reserved_id_free(session, project, reservation.credential_id)
    return reservation.credential_id, True


def complete_project(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    project_id: int,
    *,
    actor: str,
    before_commit: Callable[[Credential], None] | None = None,
    in_one_transaction: bool = False,
    notify: bool = False,
) -> Credential:
    """Complete a draft project: issue, sign and store its credential.

    ``before_commit`` runs inside the transaction that stores the credential (the
    completion endpoint stages its ``Idempotency-Key`` response there), so whatever it
    writes is committed with the credential or not at all.

    Three steps, and only the short ones write (docs/performance.md, "Issuance"): the
    project and what the credential needs are read; the revocation index is reserved in
    a transaction of its own that commits at once (``status_lists.reserve``); the
    credential is built and signed holding no lock and no connection; then one short
    transaction marks the project complete with a compare-and-set on its state (still a
    draft, still the data that was signed), claims the index and stores the credential
    and its audit event. Of simultaneous completions of one project exactly one passes
    the compare-and-set; the others answer ``project.already_completed``. The session
    must have nothing pending: its transaction is committed on the way.

    ``in_one_transaction`` does all of it in the caller's transaction instead, holding
    the write lock throughout (bulk issuance, whose rows commit together).

    ``notify`` queues the candidate's email (``notices.queue_issued``) in the transaction
    that stores the credential; the outbox delivers it after the commit.
    """
    if in_one_transaction:
        return _complete_in_one_transaction(
            session,
            ctx,
            issuer,
            project_id,
            actor=actor,
            before_commit=before_commit,
            notify=notify,
        )
    look = False
    for _attempt in range(_ATTEMPTS):
        try:
            return _complete(
                session,
                ctx,
                issuer,
                project_id,
                actor=actor,
                before_commit=before_commit,
                look=look,
                notify=notify,
            )
        except _Again as again:
            look = look or again.look
    raise ConflictError(
        f"project {project_id} kept changing while its credential was being signed; retry",
        code="project.busy",
    )


def _complete(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    project_id: int,
    *,
    actor: str,
    before_commit: Callable[[Credential], None] | None,
    look: bool,
    notify: bool = False,
) -> Credential:
    issuer_id = issuer.id or 0
    # 1. Read, holding no write lock (SQLite reads outside a transaction; PostgreSQL in a
    # read transaction that the reservation's commit ends).
    project, candidate, version = _read_draft(session, issuer_id, project_id)
    if project.status != "draft":
        raise _already_completed(session, ctx, project_id)
    check_results(version, project.results)
    files = deliverables(session, project)
    credential_id, reserved_id = _credential_id(session, project)
    signed_from = tuple(getattr(project, name) for name in _SIGNED_FROM)
    signed_files = tuple((d.id or 0, d.sha256) for d in files)
    # 2. The revocation index, in a transaction of its own. Only one entry: the OB 3.0
    # JSON Schema allows a single credentialStatus object (see docs/lifecycle.md).
    reserved = status_lists.reserve(session, ctx, issuer, status_lists.OB_PURPOSES[0], look=look)
    # 3. Build and sign. The reads end their transaction before signing, so a completion
    # holds no pooled connection while it signs.
    now = ctx.clock()
    unsigned = build_credential(
        ctx,
        credential_id=credential_id,
        issuer=issuer,
        version=version,
        candidate=candidate,
        project=project,
        files=files,
        now=now,
        credential_status=status_lists.reserved_entry(ctx, issuer, reserved),
    )
    if reserved_id:
        # Endorsements made so far are embedded; endorsers' ratings become Results. An
        # endorsement is stored with the reservation of the id it names (one transaction,
        # endorsements.workflow), so a project without one has none to look for.
        unsigned = endorsements.attach(session, ctx, project, version, unsigned)
    key = signing_key(session, ctx, issuer)
    # Read with the rest, before the commit: signing then needs no connection.
    cryptosuite = issuer.cryptosuite
    session.commit()
    signed = issue(
        unsigned, key, ctx.loader, now=now, schemas=ctx.schemas(), cryptosuite=cryptosuite
    )
    # 4. Store: compare-and-set the project, claim the index, insert the credential and
    # its event, all in one short write transaction.
    row = Credential(
        id=credential_id,
        issuer_id=issuer_id,
        project_id=project.id,
        candidate_id=candidate.id or 0,
        achievement_version_id=version.id or 0,
        document=serialize(signed),
        issued_at=now,
    )
    conflict = ConflictError(
        f"project {project_id} was completed by another request at the same time",
        code="project.already_completed",
    )
    table: Any = Project.__table__  # type: ignore[attr-defined]
    try:
        begin_write(session)
        marked = session.execute(
            update(table)
            .where(
                table.c.id == project_id,
                table.c.issuer_id == issuer_id,
                table.c.status == "draft",
            )
            .values(status="completed", completed_at=now)
            .returning(*(table.c[name] for name in _SIGNED_FROM))
        ).first()
        if marked is None:
            session.rollback()
            raise _already_completed(session, ctx, project_id)
        if tuple(marked) != signed_from:
            raise _Again(look=False)
        # Deliverables are rows of their own, not among the compared columns: read them
        # again now that the project is marked. A change to them holds the project's row
        # (services/programs/projects.py), so one committed before the compare-and-set is
        # seen here and one after it is refused.
        if _deliverables_signed(session, project_id) != signed_files:
            raise _Again(look=False)
        if not status_lists.claim(session, issuer, reserved, credential_id):
            raise _Again(look=True)
    except BaseException:
        session.rollback()
        raise
    set_committed_value(project, "status", "completed")
    set_committed_value(project, "completed_at", now)
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="credential.issue",
        issuer_id=issuer_id,
        target=f"credential:{credential_id}",
        detail={"project": project.id, "achievement_version": version.version, "key": key.id},
        now=now,
    )

    stored = _on_store(
        session,
        ctx,
        row,
        notify=notify,
        issuer=issuer,
        candidate=candidate,
        version=version,
        now=now,
        before_commit=before_commit,
    )

    # Nothing to read back: every column of ``row`` was set here and the session does
    # not expire on commit. A unique clash (the credential id taken meanwhile) lands in
    # ``conflict`` once the flush runs.
    audit.save(session, conflict=conflict, before=stored)
    return row


def _complete_in_one_transaction(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    project_id: int,
    *,
    actor: str,
    before_commit: Callable[[Credential], None] | None,
    notify: bool = False,
) -> Credential:
    issuer_id = issuer.id or 0
    _lock_project(session, issuer, project_id)
    project = get_project(session, issuer_id, project_id)
    if project.status != "draft":
        raise _already_completed(session, ctx, project_id)
    version = _current_version(session, issuer_id, project.achievement_id)
    check_results(version, project.results)
    candidate = get_candidate(session, issuer_id, project.candidate_id)
    files = deliverables(session, project)
    # Reserved when a mentor was invited, so earlier endorsements name this id.
    credential_id = endorsements.reserved_credential_id(session, project)
    _check_reserved_id_free(session, project, credential_id)
    now = ctx.clock()
    unsigned = build_credential(
        ctx,
        credential_id=credential_id,
        issuer=issuer,
        version=version,
        candidate=candidate,
        project=project,
        files=files,
        now=now,
        # A revocation entry, claimed in this transaction. Only one: the OB 3.0 JSON Schema
        # allows a single credentialStatus object (see docs/lifecycle.md).
        credential_status=status_lists.allocate_entries(
            session, ctx, issuer, credential_id, purposes=status_lists.OB_PURPOSES
        )[0],
    )
    # Endorsements made so far are embedded; endorsers' ratings become Results.
    unsigned = endorsements.attach(session, ctx, project, version, unsigned)
    key = signing_key(session, ctx, issuer)
    signed = issue(
        unsigned,
        key,
        ctx.loader,
        now=now,
        schemas=ctx.schemas(),
        cryptosuite=issuer.cryptosuite,
    )
    row = Credential(
        id=credential_id,
        issuer_id=issuer_id,
        project_id=project.id,
        candidate_id=candidate.id or 0,
        achievement_version_id=version.id or 0,
        document=serialize(signed),
        issued_at=now,
    )
    project.status = "completed"
    project.completed_at = now
    session.add(row)
    session.add(project)

    stored = _on_store(
        session,
        ctx,
        row,
        notify=notify,
        issuer=issuer,
        candidate=candidate,
        version=version,
        now=now,
        before_commit=before_commit,
    )

    # ``before`` runs once the unit of work is flushed, so a concurrent completion's
    # unique-constraint clash lands in ``conflict``.
    audit.commit(
        session,
        actor=actor,
        action="credential.issue",
        issuer_id=issuer_id,
        target=f"credential:{credential_id}",
        detail={
            "project": project.id,
            "achievement_version": version.version,
            "key": key.id,
        },
        now=now,
        # Nothing to read back: every column of ``row`` was set here and the session
        # does not expire on commit.
        conflict=ConflictError(
            f"project {project_id} was completed by another request at the same time",
            code="project.already_completed",
        ),
        before=stored,
    )
    return row


def project_of(session: Session, row: Credential) -> int | None:
    """The project a credential was issued for, following re-issues back to the original."""
    from badgeworks.db.status import StatusChange

    seen: set[str] = set()
    current: Credential | None = row
    while current is not None and current.id not in seen:
        if current.project_id is not None:
            return current.project_id
        seen.add(current.id)
        previous = session.exec(
            select(StatusChange.credential_id).where(StatusChange.replaced_by == current.id)
        ).first()
        current = session.get(Credential, previous) if previous else None
    return None


def current_version_id(session: Session, row: Credential) -> int | None:
    """The id of the current version of the achievement ``row`` was issued for."""
    if row.achievement_version_id is None:
        return None
    used = session.get(AchievementVersion, row.achievement_version_id)
    if used is None:
        return None
    achievement = get_achievement(session, row.issuer_id, used.achievement_id)
    return current_version(session, achievement).id


def rebuild_for_project(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    project_id: int,
    *,
    credential_id: str,
    valid_from: datetime,
    valid_until: datetime | None,
    purposes: tuple[str, ...],
) -> dict[str, Any]:
    """An unsigned replacement credential built from the project's current data."""
    issuer_id = issuer.id or 0
    project = get_project(session, issuer_id, project_id)
    version = current_version(session, get_achievement(session, issuer_id, project.achievement_id))
    entries = status_lists.allocate_entries(session, ctx, issuer, credential_id, purposes=purposes)
    return build_credential(
        ctx,
        credential_id=credential_id,
        issuer=issuer,
        version=version,
        candidate=get_candidate(session, issuer_id, project.candidate_id),
        project=project,
        files=deliverables(session, project),
        now=valid_from,
        credential_status=entries[0] if len(entries) == 1 else entries,
        valid_until=valid_until,
    )


def get_credential(session: Session, credential_id: str) -> Credential:
    """A credential by id (public: hosted credentials need no token)."""
    row = session.get(Credential, credential_id) if _UUID.match(credential_id) else None
    if row is None:
        raise NotFoundError(
            f"there is no credential {credential_id!r:.60}", code="credential.not_found"
        )
    return row


def revocation(session: Session, credential_id: str) -> Revocation | None:
    """The revocation of a credential, if it was revoked."""
    return session.exec(select(Revocation).where(Revocation.credential_id == credential_id)).first()


def revoke_credential(
    session: Session,
    issuer: Issuer,
    credential_id: str,
    *,
    reason: str,
    actor: str,
    now: datetime,
) -> Revocation:
    """Revoke one of ``issuer``'s credentials (a new row; the credential is untouched)."""
    row = get_credential(session, credential_id)
    if row.issuer_id != issuer.id:
        raise NotFoundError(
            f"there is no credential {credential_id!r:.60}", code="credential.not_found"
        )
    existing = revocation(session, credential_id)
    if existing is not None:
        return existing
    rev = Revocation(credential_id=credential_id, reason=reason, actor=actor[:200], revoked_at=now)
    session.add(rev)
    try:
        audit.commit(
            session,
            actor=actor,
            action="credential.revoke",
            issuer_id=issuer.id,
            target=f"credential:{credential_id}",
            detail={"reason": reason},
            now=now,
            refresh=[rev],
        )
    except IntegrityError:
        session.rollback()
        found = revocation(session, credential_id)
        assert found is not None
        return found
    return rev


def _listed(issuer: Issuer) -> SelectOfScalar[Credential]:
    """The issuer's credentials, newest first: the one query their list and its total read."""
    return (
        select(Credential)
        .where(Credential.issuer_id == issuer.id)
        .order_by(col(Credential.issued_at).desc(), col(Credential.id))
    )


def page_of_credentials(
    session: Session, issuer: Issuer, *, limit: int, offset: int
) -> Page[Credential]:
    """One page of the issuer's credentials, newest first, and how many there are."""
    return pagination.page(session, _listed(issuer), limit=limit, offset=offset)


def summary(
    session: Session, ctx: ServiceContext, issuer: Issuer, row: Credential
) -> CredentialSummary:
    """A list entry for a credential."""
    rev = revocation(session, row.id)
    return CredentialSummary(
        id=row.id,
        url=credential_url(ctx, row.id),
        issuer=issuer.slug,
        project_id=row.project_id,
        candidate_id=row.candidate_id,
        achievement_version_id=row.achievement_version_id,
        issued_at=row.issued_at,
        revoked_at=rev.revoked_at if rev else None,
    )


def issued(ctx: ServiceContext, row: Credential) -> IssuedCredential:
    """What the completion endpoint returns: the stored credential and its URLs."""
    document = json.loads(row.document)
    related = document.get("relatedResource") or []
    url = credential_url(ctx, row.id)
    return IssuedCredential(
        id=row.id,
        url=url,
        html_url=url,
        json_url=url + ".json",
        blob_urls=[r["id"] for r in related if isinstance(r, dict) and "id" in r],
        credential=document,
    )


def _on_store(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    *,
    notify: bool,
    issuer: Issuer,
    candidate: Candidate,
    version: AchievementVersion,
    now: datetime,
    before_commit: Callable[[Credential], None] | None,
) -> Callable[[], None]:
    """What runs in the storing transaction once the credential is flushed: the
    candidate's notice queued in the outbox (committed with the credential, or not at
    all) and the caller's own step."""

    def stored() -> None:
        if notify:
            notices.queue_issued(
                session,
                ctx,
                issuer=issuer,
                candidate=candidate,
                version=version,
                credential_url=credential_url(ctx, row.id),
                credential_id=row.id,
                now=now,
            )
        if before_commit is not None:
            before_commit(row)

    return stored
