"""Console candidates: the program's recipients as a page of their own.

- ``GET /console/<slug>/candidates?q=&page=``: every candidate by name, searchable by name
  or email address, fifty to a page, with how many credentials each holds.
- ``GET``/``POST /console/<slug>/candidates/new``: add a candidate.
- ``GET /console/<slug>/candidates/<id>``: one candidate: the edit form, their projects and
  their credentials; ``POST`` saves the edit.

Every member of the program may look; adding and editing need the ``issuer`` role, as for
projects. Changes go through ``services.programs.candidates``, the functions the API calls,
so they are validated and audited the same way.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request, Response
from pydantic import ValidationError

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.models import Candidate
from badgeworks.services.console import views as console
from badgeworks.services.infra.pagination import MAX_OFFSET
from badgeworks.services.programs import candidates
from badgeworks.services.programs.models import CandidateCreate, CandidateUpdate
from badgeworks.web.deps import ContextDep, Id, SessionDep
from badgeworks.web.i18n import Translator
from badgeworks.web.pages import page_language
from badgeworks.web.routes.console.common import (
    Csrf,
    Program,
    ProgramDep,
    back_to,
    console_router,
    page,
)

router = console_router()

#: Candidates on one page of the list.
PER_PAGE = 50
#: The refused field's sentence, by the field pydantic names first.
_FIELD_ERRORS = {
    "name": "console.candidates.error_name",
    "emails": "console.candidates.error_emails",
    "did": "console.candidates.error_did",
}
#: The service's refusals, by code.
_CODE_ERRORS = {"candidate.no_identity": "console.candidates.error_identity"}

Name = Annotated[str, Form(max_length=400)]
Emails = Annotated[str, Form(max_length=4000)]
DidText = Annotated[str, Form(max_length=2100)]


def _page_number(raw: str | None) -> int:
    """``?page=``: a page number from 1; anything else is the first page."""
    if not raw or not raw.isdigit() or len(raw) > 9:
        return 1
    return max(1, min(int(raw), MAX_OFFSET // PER_PAGE))


@router.get("/{slug}/candidates")
def list_candidates(request: Request, session: SessionDep, program: ProgramDep) -> Response:
    """The candidates, searched and paged."""
    query = (request.query_params.get("q") or "").strip()[:200]
    number = _page_number(request.query_params.get("page"))
    found = console.search_candidates(
        session, program.issuer, query=query, limit=PER_PAGE, offset=(number - 1) * PER_PAGE
    )
    pages = max(1, -(-found.total // PER_PAGE))
    return page(
        request,
        "console/candidates.html",
        program,
        section="candidates",
        rows=found.rows,
        total=found.total,
        q=query,
        page_number=number,
        pages=pages,
    )


def _emails(text: str) -> list[str]:
    """The email addresses typed one per line, or separated by commas or spaces."""
    return [e for e in text.replace(",", " ").split() if e]


def _values(candidate: Candidate | None) -> dict[str, str]:
    if candidate is None:
        return {"name": "", "emails": "", "did": ""}
    return {
        "name": candidate.name,
        "emails": "\n".join(candidate.emails),
        "did": candidate.did or "",
    }


def _refusal(request: Request, exc: Exception) -> tuple[str, str]:
    """What is wrong, in the page's language, and the id of the field to fix."""
    t = Translator(page_language(request))
    if isinstance(exc, ValidationError):
        loc = exc.errors()[0].get("loc", ())
        field = str(loc[0]) if loc else ""
        key = _FIELD_ERRORS.get(field)
        return (t(key) if key else t("console.candidates.error_form")), (
            f"candidate-{field}" if key else ""
        )
    if isinstance(exc, BadgeworksError):
        key = _CODE_ERRORS.get(exc.code)
        return (t(key) if key else exc.message), ("candidate-emails" if key else "")
    raise exc  # pragma: no cover - only the two kinds above are caught


def _form_page(
    request: Request,
    session: SessionDep,
    program: Program,
    candidate: Candidate | None,
    values: dict[str, str],
    *,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
) -> Response:
    data: dict[str, Any] = {}
    if candidate is not None:
        cid = candidate.id or 0
        data = {
            "projects": console.candidate_projects(session, program.issuer, cid),
            "credentials": console.search_credentials(
                session, program.issuer, candidate_id=cid, limit=500
            ),
        }
    return page(
        request,
        "console/candidate.html",
        program,
        section="candidates",
        status_code=status_code,
        candidate=candidate,
        values=values,
        error=error,
        error_field=error_field,
        **data,
    )


@router.get("/{slug}/candidates/new")
def new_candidate(request: Request, session: SessionDep, program: ProgramDep) -> Response:
    """The empty candidate form."""
    program.require("issuer")
    return _form_page(request, session, program, None, _values(None))


@router.post("/{slug}/candidates/new", dependencies=[Csrf])
def create_candidate(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    name: Name = "",
    emails: Emails = "",
    did: DidText = "",
) -> Response:
    """Add a candidate."""
    program.require("issuer")
    values = {"name": name, "emails": emails, "did": did}
    try:
        data = CandidateCreate.model_validate(
            {"name": name.strip(), "emails": _emails(emails), "did": did.strip() or None}
        )
        made = candidates.create_candidate(
            session, program.issuer, data, actor=program.actor, now=ctx.clock()
        )
    except (ValidationError, BadgeworksError) as exc:
        session.rollback()
        error, field = _refusal(request, exc)
        return _form_page(
            request, session, program, None, values, error=error, error_field=field, status_code=422
        )
    return back_to(program, f"/candidates/{made.id}", "candidate_saved")


@router.get("/{slug}/candidates/{candidate_id}")
def show_candidate(
    request: Request, session: SessionDep, program: ProgramDep, candidate_id: Id
) -> Response:
    """One candidate: the edit form, their projects and their credentials."""
    candidate = candidates.get_candidate(session, program.issuer_id, candidate_id)
    return _form_page(request, session, program, candidate, _values(candidate))


@router.post("/{slug}/candidates/{candidate_id}", dependencies=[Csrf])
def edit_candidate(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    candidate_id: Id,
    name: Name = "",
    emails: Emails = "",
    did: DidText = "",
) -> Response:
    """Save a candidate's name, email addresses and DID (credentials already issued keep
    the identity they were issued to)."""
    program.require("issuer")
    candidate = candidates.get_candidate(session, program.issuer_id, candidate_id)
    values = {"name": name, "emails": emails, "did": did}
    try:
        data = CandidateUpdate.model_validate(
            {"name": name.strip(), "emails": _emails(emails), "did": did.strip() or None}
        )
        candidates.update_candidate(session, candidate, data, actor=program.actor, now=ctx.clock())
    except (ValidationError, BadgeworksError) as exc:
        session.rollback()
        error, field = _refusal(request, exc)
        candidate = candidates.get_candidate(session, program.issuer_id, candidate_id)
        return _form_page(
            request,
            session,
            program,
            candidate,
            values,
            error=error,
            error_field=field,
            status_code=422,
        )
    return back_to(program, f"/candidates/{candidate_id}", "candidate_saved")
