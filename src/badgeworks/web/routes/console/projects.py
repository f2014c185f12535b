"""Console projects: create a micro-internship, add deliverables, assess it against the
rubric, preview the exact credential and issue it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import File, Form, Request, Response, UploadFile
from pydantic import ValidationError

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.models import Project
from badgeworks.services.console import issue_preview
from badgeworks.services.console import views as console
from badgeworks.services.endorsements import ratings as signed_ratings
from badgeworks.services.endorsements import workflow as endorsements
from badgeworks.services.errors import ConflictError, NotFoundError
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.programs import achievements, candidates, projects
from badgeworks.services.programs.models import (
    CandidateCreate,
    DeliverableLinkCreate,
    ProjectCreate,
    ProjectUpdate,
)
from badgeworks.web.deps import ContextDep, FormText, Id, SessionDep
from badgeworks.web.i18n import Translator
from badgeworks.web.pages import page_language
from badgeworks.web.routes.console.common import (
    Csrf,
    Program,
    ProgramDep,
    back_to,
    confirm_page,
    console_router,
    form_errors,
    page,
    refusal,
)
from badgeworks.web.routes.console.forms import format_mentors, none_if_blank, parse_mentors

router = console_router()

#: The project form's input for each field it fills, so each refusal links to its input.
PROJECT_FIELDS = {
    "achievement_id": "achievement_id",
    "candidate_id": "candidate_id",
    "title": "title",
    "summary": "summary",
    "host.name": "host_name",
    "host.url": "host_url",
    "host": "host_name",
    "role": "role",
    "start_date": "start_date",
    "end_date": "end_date",
    "mentors": "mentors",
}
CANDIDATE_FIELDS = {"name": "candidate_name", "emails": "candidate_email"}

Short = Annotated[str, Form(max_length=2000)]


def _choices(session: Any, program: Program) -> dict[str, Any]:
    return {
        "achievement_choices": [
            (a.id, achievements.current_version(session, a).name)
            for a in achievements.list_achievements(session, program.issuer, limit=500)
        ],
        "candidate_choices": [
            (c.id, c.name, ", ".join(c.emails))
            for c in candidates.list_candidates(session, program.issuer, limit=1000)
        ],
    }


@router.get("/{slug}/projects")
def list_projects(
    request: Request, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Every project with its state."""
    now = ctx.clock()
    rows = []
    names = {a: n for a, n in _choices(session, program)["achievement_choices"]}
    for p in projects.list_projects(session, program.issuer, limit=500):
        cand = candidates.get_candidate(session, program.issuer_id, p.candidate_id)
        rows.append(
            {
                "project": p,
                "candidate": cand.name,
                "achievement": names.get(p.achievement_id, ""),
                "state": console.project_state(session, p, now=now),
            }
        )
    state = request.query_params.get("state", "")
    if state in console.PROJECT_STATES:
        rows = [r for r in rows if r["state"] == state]
    return page(
        request,
        "console/projects.html",
        program,
        section="projects",
        rows=rows,
        state=state,
        states=console.PROJECT_STATES,
    )


@router.get("/{slug}/projects/new")
def new_project(request: Request, session: SessionDep, program: ProgramDep) -> Response:
    """The empty project form."""
    program.require("issuer")
    return page(
        request,
        "console/project_form.html",
        program,
        section="projects",
        values={"role": "Intern"},
        error="",
        **_choices(session, program),
    )


@router.post("/{slug}/projects/new", dependencies=[Csrf])
def create_project(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    achievement_id: Annotated[str, Form(max_length=12)] = "",
    candidate_id: Annotated[str, Form(max_length=12)] = "",
    candidate_name: Annotated[str, Form(max_length=200)] = "",
    candidate_email: Annotated[str, Form(max_length=320)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    summary: FormText = "",
    host_name: Annotated[str, Form(max_length=200)] = "",
    host_url: Short = "",
    role: Annotated[str, Form(max_length=100)] = "Intern",
    start_date: Annotated[str, Form(max_length=10)] = "",
    end_date: Annotated[str, Form(max_length=10)] = "",
    mentors: FormText = "",
) -> Response:
    """Create the project (and its candidate, when a new one is named)."""
    program.require("issuer")
    values = {
        "achievement_id": achievement_id,
        "candidate_id": candidate_id,
        "candidate_name": candidate_name,
        "candidate_email": candidate_email,
        "title": title,
        "summary": summary,
        "host_name": host_name,
        "host_url": host_url,
        "role": role,
        "start_date": start_date,
        "end_date": end_date,
        "mentors": mentors,
    }
    new_candidate = not candidate_id
    payload = {
        "achievement_id": achievement_id or None,
        "candidate_id": candidate_id or 1,  # checked below once the candidate exists
        "title": title,
        "summary": none_if_blank(summary),
        "host": {"name": host_name, "url": none_if_blank(host_url)},
        "role": role or "Intern",
        "start_date": none_if_blank(start_date),
        "end_date": none_if_blank(end_date),
        "mentors": parse_mentors(mentors),
    }
    # Every field is checked before anything is refused, so the page lists all problems.
    lang = page_language(request)
    problems: list[dict[str, str]] = []
    try:
        data = ProjectCreate.model_validate(payload)
        if data.start_date and data.end_date and data.end_date < data.start_date:
            problems.append(
                {"text": Translator(lang)("forms.end_before_start"), "field": "end_date"}
            )
    except ValidationError as exc:
        problems += form_errors(exc, lang, PROJECT_FIELDS)
    cand_data = None
    if new_candidate:
        try:
            emails = [candidate_email] if candidate_email else []
            cand_data = CandidateCreate(name=candidate_name, emails=emails)
        except ValidationError as exc:
            problems += form_errors(exc, lang, CANDIDATE_FIELDS)
    if problems:
        return page(
            request,
            "console/project_form.html",
            program,
            section="projects",
            status_code=422,
            values=values,
            error=problems,
            **_choices(session, program),
        )
    try:
        achievements.get_achievement(session, program.issuer_id, data.achievement_id)
        if cand_data is not None:
            candidate = candidates.create_candidate(
                session, program.issuer, cand_data, actor=program.actor, now=ctx.clock()
            )
            data = data.model_copy(update={"candidate_id": candidate.id})
        project = projects.create_project(
            session, program.issuer, data, actor=program.actor, now=ctx.clock()
        )
    except (ValidationError, BadgeworksError, ValueError) as exc:
        return page(
            request,
            "console/project_form.html",
            program,
            section="projects",
            status_code=422,
            values=values,
            error=refusal(exc, lang),
            **_choices(session, program),
        )
    return back_to(program, f"/projects/{project.id}", "project_created")


def _detail(
    request: Request,
    session: Any,
    ctx: Any,
    program: Program,
    project: Project,
    *,
    error: str = "",
    status_code: int = 200,
    review_link: str = "",
    invite_values: dict[str, str] | None = None,
) -> Response:
    achievement = achievements.get_achievement(session, program.issuer_id, project.achievement_id)
    version = achievements.current_version(session, achievement)
    candidate = candidates.get_candidate(session, program.issuer_id, project.candidate_id)
    results = {r["result_description"]: r.get("achieved_level") or "" for r in project.results}
    credential_id = projects.to_public(session, ctx, program.issuer, project).credential_id
    invites = [
        endorsements.invite_public(session, ctx, i)
        for i in endorsements.list_invites(session, program.issuer, project.id or 0)
    ]
    return page(
        request,
        "console/project.html",
        program,
        section="projects",
        status_code=status_code,
        project=project,
        version=version,
        candidate=candidate,
        state=console.project_state(session, project, now=ctx.clock()),
        deliverables=[
            projects.deliverable_public(ctx, d) for d in projects.deliverables(session, project)
        ],
        results=results,
        assessment=(
            signed_ratings.assessment(session, project, version)
            if project.status == "draft"
            else None
        ),
        mentors_text=format_mentors(project.mentors),
        credential_id=credential_id,
        error=error,
        invites=invites,
        review_link=review_link,
        invite_values=invite_values or _next_invite(project, invites),
    )


def _next_invite(project: Project, invites: list[dict[str, Any]]) -> dict[str, str]:
    """The invitation form's values: the project's first mentor not invited yet (a
    revoked invitation does not count), so the form never offers the same mentor twice."""
    invited = {str(i["endorser"]["name"]).casefold() for i in invites if i["status"] != "revoked"}
    values = {"name": "", "email": "", "title": "", "organization": project.host.get("name") or ""}
    for mentor in project.mentors:
        if str(mentor.get("name") or "").casefold() not in invited:
            values.update(
                name=mentor.get("name") or "",
                email=mentor.get("email") or "",
                title=mentor.get("title") or "",
            )
            break
    return values


def _refused(
    request: Request,
    session: Any,
    ctx: Any,
    program: Program,
    project: Project,
    exc: Exception,
    *,
    status_code: int = 422,
    invite_values: dict[str, str] | None = None,
) -> Response:
    """The project page again, saying why the form was refused (in the page's language),
    with the invitation form as it was typed when that was the form refused."""
    return _detail(
        request,
        session,
        ctx,
        program,
        project,
        error=refusal(exc, page_language(request)),
        status_code=status_code,
        invite_values=invite_values,
    )


@router.get("/{slug}/projects/{project_id}")
def show_project(
    request: Request, project_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """One project: its state, deliverables, assessment and the way to issue."""
    project = projects.get_project(session, program.issuer_id, project_id)
    return _detail(request, session, ctx, program, project)


def _chunks(upload: UploadFile, size: int = 1024 * 1024) -> Iterator[bytes]:
    while chunk := upload.file.read(size):
        yield chunk


@router.post("/{slug}/projects/{project_id}/deliverables", dependencies=[Csrf])
def upload_deliverable(
    request: Request,
    project_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    file: Annotated[UploadFile, File()],
    name: Annotated[str, Form(max_length=300)] = "",
    description: FormText = "",
    genre: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Upload a deliverable file (stored by SHA-256, bound into the credential by digest)."""
    program.require("issuer")
    project = projects.get_project(session, program.issuer_id, project_id)
    if not name.strip():
        return _detail(
            request, session, ctx, program, project, error="name_required", status_code=422
        )
    try:
        projects.add_file(
            session,
            ctx,
            project,
            _chunks(file),
            name=name.strip(),
            filename=file.filename,
            media_type=file.content_type,
            description=none_if_blank(description),
            genre=none_if_blank(genre),
            actor=program.actor,
        )
    except BadgeworksError as exc:
        return _refused(request, session, ctx, program, project, exc)
    return back_to(program, f"/projects/{project_id}", "deliverable_added")


@router.post("/{slug}/projects/{project_id}/links", dependencies=[Csrf])
def add_link(
    request: Request,
    project_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    name: Annotated[str, Form(max_length=300)] = "",
    url: Short = "",
    genre: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Add a deliverable that lives at a URL."""
    program.require("issuer")
    project = projects.get_project(session, program.issuer_id, project_id)
    try:
        data = DeliverableLinkCreate(name=name, url=url, genre=none_if_blank(genre))
        projects.add_link(session, project, data, actor=program.actor, now=ctx.clock())
    except ValidationError as exc:
        return _refused(request, session, ctx, program, project, exc)
    return back_to(program, f"/projects/{project_id}", "deliverable_added")


@router.get("/{slug}/projects/{project_id}/deliverables/{deliverable_id}/remove")
def confirm_remove(
    request: Request,
    project_id: Id,
    deliverable_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
) -> Response:
    """Ask before removing a deliverable."""
    program.require("issuer")
    project = projects.get_project(session, program.issuer_id, project_id)
    found = [d for d in projects.deliverables(session, project) if d.id == deliverable_id]
    if not found:
        raise NotFoundError(
            f"project {project_id} has no deliverable {deliverable_id}",
            code="deliverable.not_found",
        )
    return confirm_page(
        request,
        program,
        section="projects",
        question="remove_deliverable",
        action=f"/projects/{project_id}/deliverables/{deliverable_id}/remove",
        cancel=f"/projects/{project_id}",
        subject=found[0].name,
        button="console.confirm.remove_button",
    )


@router.post(
    "/{slug}/projects/{project_id}/deliverables/{deliverable_id}/remove", dependencies=[Csrf]
)
def remove_deliverable(
    project_id: Id, deliverable_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Remove a deliverable from a project that is not issued yet."""
    program.require("issuer")
    project = projects.get_project(session, program.issuer_id, project_id)
    projects.remove_deliverable(
        session, project, deliverable_id, actor=program.actor, now=ctx.clock()
    )
    return back_to(program, f"/projects/{project_id}", "deliverable_removed")


@router.post("/{slug}/projects/{project_id}/assessment", dependencies=[Csrf])
async def assess(
    request: Request, project_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Record the achieved rubric level for each criterion (and the mentors)."""
    program.require("issuer")
    form = await request.form()
    project = projects.get_project(session, program.issuer_id, project_id)
    achievement = achievements.get_achievement(session, program.issuer_id, project.achievement_id)
    version = achievements.current_version(session, achievement)
    results = []
    for rd in version.result_descriptions:
        level = form.get(f"level_{rd['key']}")
        if isinstance(level, str) and level:
            results.append({"result_description": rd["key"], "achieved_level": level})
    mentors_text = form.get("mentors")
    try:
        update = ProjectUpdate.model_validate(
            {
                "results": results,
                "mentors": parse_mentors(mentors_text if isinstance(mentors_text, str) else ""),
            }
        )
        projects.update_project(session, project, update, actor=program.actor, now=ctx.clock())
    except ValidationError as exc:
        return _refused(request, session, ctx, program, project, exc)
    return back_to(program, f"/projects/{project_id}", "assessment_saved")


@router.get("/{slug}/projects/{project_id}/issue")
def preview_issue(
    request: Request, project_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """The exact credential that will be signed (built by the issuance service, its id
    reserved), rendered as the credential page renders it with its JSON one click away,
    and the button that signs it."""
    program.require("issuer")
    project = projects.get_project(session, program.issuer_id, project_id)
    achievement = achievements.get_achievement(session, program.issuer_id, project.achievement_id)
    version = achievements.current_version(session, achievement)
    candidate = candidates.get_candidate(session, program.issuer_id, project.candidate_id)
    error = ""
    preview: issue_preview.IssuePreview | None = None
    if project.status != "draft":
        error = "already_issued"
    else:
        try:
            preview = issue_preview.issue_preview(session, ctx, program.issuer, project)
        except BadgeworksError as exc:
            error = refusal(exc, page_language(request))
    return page(
        request,
        "console/issue.html",
        program,
        section="projects",
        project=project,
        candidate=candidate,
        version=version,
        state=console.project_state(session, project, now=ctx.clock()),
        preview=preview,
        c=preview.card if preview else None,
        document=json.dumps(preview.document, indent=2, ensure_ascii=False) if preview else "",
        error=error,
    )


@router.post("/{slug}/projects/{project_id}/issue", dependencies=[Csrf])
def issue(
    project_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    # A checkbox the page ticks: unticked, the browser sends nothing, so absent is no.
    notify_candidate: Annotated[bool, Form()] = False,
) -> Response:
    """Sign and store the credential (the same ``complete_project`` the API calls), and
    email the candidate if the box is ticked."""
    program.require("issuer")
    row = issuance.complete_project(
        session, ctx, program.issuer, project_id, actor=program.actor, notify=notify_candidate
    )
    return back_to(program, f"/credentials/{row.id}", "issued")


@router.post("/{slug}/projects/{project_id}/reviews", dependencies=[Csrf])
def invite_reviewer(
    request: Request,
    project_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    title: Annotated[str, Form(max_length=200)] = "",
    organization: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Invite a mentor to review and endorse the project (the same ``endorsements.invite``
    the API calls: the link is mailed through the outbox and shown here once)."""
    program.require("issuer")
    project = projects.get_project(session, program.issuer_id, project_id)
    typed = {"name": name, "email": email, "title": title, "organization": organization}
    try:
        data = endorsements.ReviewCreate(
            kind="mentor",
            name=name,
            email=none_if_blank(email),
            title=none_if_blank(title),
            organization=none_if_blank(organization),
        )
        _, _, link = endorsements.invite(
            session, ctx, program.issuer, project_id, data, actor=program.actor
        )
    except ValidationError as exc:
        return _refused(request, session, ctx, program, project, exc, invite_values=typed)
    except BadgeworksError as exc:
        return _refused(
            request, session, ctx, program, project, exc, status_code=409, invite_values=typed
        )
    return _detail(request, session, ctx, program, project, review_link=link)


@router.get("/{slug}/projects/{project_id}/reviews/{invite_id}/revoke")
def confirm_revoke_review(
    request: Request,
    project_id: Id,
    invite_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
) -> Response:
    """Ask before revoking a mentor's pending review invitation."""
    program.require("issuer")
    found = [
        i
        for i in endorsements.list_invites(session, program.issuer, project_id)
        if i.id == invite_id
    ]
    if not found:
        raise NotFoundError(
            f"project {project_id} has no review invite {invite_id}", code="review.not_found"
        )
    invite = endorsements.invite_public(session, ctx, found[0])
    if invite["status"] != "pending":
        raise ConflictError(
            f"review invite {invite_id} is {invite['status']}; only a pending invitation can "
            "be revoked",
            code="review.not_pending",
        )
    endorser = invite["endorser"]
    return confirm_page(
        request,
        program,
        section="projects",
        question="revoke_review",
        action=f"/projects/{project_id}/reviews/{invite_id}/revoke",
        cancel=f"/projects/{project_id}",
        subject=endorser.get("name") or "",
    )


@router.post("/{slug}/projects/{project_id}/reviews/{invite_id}/revoke", dependencies=[Csrf])
def revoke_review(
    project_id: Id, invite_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Revoke a pending review link (the same ``endorsements.revoke_invite`` as the API's
    ``DELETE /api/v1/projects/{id}/reviews/{invite}``); a used one is a 409 page."""
    program.require("issuer")
    endorsements.revoke_invite(
        session, ctx, program.issuer, project_id, invite_id, actor=program.actor
    )
    return back_to(program, f"/projects/{project_id}", "review_revoked")
