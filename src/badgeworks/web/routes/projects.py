"""``/api/v1/.../projects``: micro-internship projects, deliverables and completion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Request, Response, UploadFile

from badgeworks.db.models import Credential
from badgeworks.services.infra import idempotency
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.issuance.models import IssuedCredential
from badgeworks.services.programs import projects
from badgeworks.services.programs.models import (
    DeliverableLinkCreate,
    DeliverablePublic,
    ProjectCreate,
    ProjectPublic,
    ProjectUpdate,
)
from badgeworks.web.body import upload_chunks
from badgeworks.web.deps import ContextDep, Id, NoBody, PageDep, PrincipalDep, SessionDep
from badgeworks.web.idempotent import replayed, still_running
from badgeworks.web.pagination import send_page

router = APIRouter(prefix="/api/v1", tags=["projects"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retrying with the same key returns the first response instead of "
        "issuing again.",
    ),
]


@router.post("/issuers/{slug}/projects", response_model=ProjectPublic, status_code=201)
def create_project(
    slug: str, data: ProjectCreate, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> ProjectPublic:
    """Create a draft project for one of the issuer's candidates and achievements."""
    issuer = who.issuer_for(slug)
    project = projects.create_project(session, issuer, data, actor=who.actor, now=ctx.clock())
    return projects.to_public(session, ctx, issuer, project)


@router.get("/issuers/{slug}/projects", response_model=list[ProjectPublic])
def list_projects(
    slug: str, paging: PageDep, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> list[ProjectPublic]:
    """The issuer's projects (drafts included: only the issuer's own tokens see them)."""
    issuer = who.issuer_for(slug)
    page = projects.page_of_projects(session, issuer, **paging.window)
    return [projects.to_public(session, ctx, issuer, p) for p in send_page(paging, page)]


@router.get("/projects/{project_id}", response_model=ProjectPublic)
def get_project(
    project_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> ProjectPublic:
    """One project with its deliverables."""
    project = projects.get_project(session, who.issuer_id, project_id)
    return projects.to_public(session, ctx, who.issuer, project)


@router.patch("/projects/{project_id}", response_model=ProjectPublic)
def update_project(
    project_id: Id, data: ProjectUpdate, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> ProjectPublic:
    """Edit a draft project (a completed one is read-only)."""
    project = projects.get_project(session, who.issuer_id, project_id)
    project = projects.update_project(session, project, data, actor=who.actor, now=ctx.clock())
    return projects.to_public(session, ctx, who.issuer, project)


@router.post(
    "/projects/{project_id}/deliverables", response_model=DeliverablePublic, status_code=201
)
def upload_deliverable(
    project_id: Id,
    file: Annotated[UploadFile, File(description="The deliverable's bytes.")],
    name: Annotated[str, Form(min_length=1, max_length=300)],
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
    description: Annotated[str | None, Form(max_length=20000)] = None,
    genre: Annotated[
        str | None, Form(max_length=100, description="report, dataset, diagram, prototype…")
    ] = None,
) -> DeliverablePublic:
    """Upload a file (multipart): stored by SHA-256 and bound into the credential by digest."""
    project = projects.get_project(session, who.issuer_id, project_id)
    row = projects.add_file(
        session,
        ctx,
        project,
        upload_chunks(file),
        name=name,
        filename=file.filename,
        media_type=file.content_type,
        description=description,
        genre=genre,
        actor=who.actor,
    )
    return projects.deliverable_public(ctx, row)


@router.post("/projects/{project_id}/links", response_model=DeliverablePublic, status_code=201)
def add_link(
    project_id: Id,
    data: DeliverableLinkCreate,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> DeliverablePublic:
    """Add a deliverable that lives at a URL (it becomes Evidence without a digest)."""
    project = projects.get_project(session, who.issuer_id, project_id)
    return projects.deliverable_public(
        ctx, projects.add_link(session, project, data, actor=who.actor, now=ctx.clock())
    )


@router.delete("/projects/{project_id}/deliverables/{deliverable_id}", status_code=204)
def remove_deliverable(
    project_id: Id, deliverable_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> Response:
    """Remove a deliverable from a draft project."""
    project = projects.get_project(session, who.issuer_id, project_id)
    projects.remove_deliverable(session, project, deliverable_id, actor=who.actor, now=ctx.clock())
    return Response(status_code=204)


@router.post(
    "/projects/{project_id}/complete",
    response_model=IssuedCredential,
    status_code=201,
    dependencies=[NoBody],
    responses={
        409: {
            "description": "The project was already completed, or a request with the same "
            "Idempotency-Key is still running (idempotency.in_progress, with Retry-After)."
        }
    },
)
def complete_project(
    project_id: Id,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
    notify_candidate: Annotated[
        bool,
        Query(
            description="Email the candidate their credential's page, their portfolio, a "
            "sign-in link and how to share it (queued in the outbox with the credential; "
            "false sends nothing)."
        ),
    ] = True,
) -> Response:
    """Complete the project: build, sign and store its OB 3.0 credential, and return it."""
    # The default request keeps the fingerprint it always had, so a retry sent across an
    # upgrade is still recognised; asking for no notice is another request.
    path = request.url.path if notify_candidate else f"{request.url.path}?notify_candidate=false"
    fingerprint = idempotency.fingerprint("POST", path, b"")
    issuer_id = who.issuer_id
    staged: list[str] = []

    def respond(row: Credential) -> None:
        # The response is committed with the credential, so a retry after a success
        # always finds it (and replays it byte for byte).
        staged.append(issuance.issued(ctx, row).model_dump_json())
        slot.stage(session, 201, staged[-1])

    try:
        # The key is claimed on this request's own session: one pooled connection each.
        with idempotency.once(
            session, issuer_id, idempotency_key, fingerprint, clock=ctx.clock
        ) as slot:
            if slot.replay is not None:
                return replayed(slot.replay)
            row = issuance.complete_project(
                session,
                ctx,
                who.issuer,
                project_id,
                actor=who.actor,
                before_commit=respond,
                notify=notify_candidate,
            )
            body = staged[-1] if staged else issuance.issued(ctx, row).model_dump_json()
    except idempotency.InProgress as exc:
        return still_running(exc)
    return Response(body, status_code=201, media_type="application/json")
