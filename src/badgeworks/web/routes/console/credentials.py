"""Console credentials: search and filter, one credential with its audit trail, and the
lifecycle actions (revoke; suspend, unsuspend and re-issue once the lifecycle service is
there), each behind a confirmation page that says what will happen."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Request, Response

from badgeworks.db.models import Credential
from badgeworks.services.console import activity
from badgeworks.services.console import views as console
from badgeworks.services.errors import NotFoundError
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.lifecycle import reasons
from badgeworks.services.programs import achievements, candidates
from badgeworks.web.deps import ContextDep, SessionDep
from badgeworks.web.pages import page_language
from badgeworks.web.routes.console.common import (
    Csrf,
    Program,
    ProgramDep,
    back_to,
    confirm_page,
    console_router,
    page,
)

router = console_router()


def _own(session: SessionDep, program: Program, credential_id: str) -> Credential:
    row = issuance.get_credential(session, credential_id)
    if row.issuer_id != program.issuer_id:
        raise NotFoundError(
            f"there is no credential {credential_id!r:.60}", code="credential.not_found"
        )
    return row


@router.get("/{slug}/credentials")
def list_credentials(request: Request, session: SessionDep, program: ProgramDep) -> Response:
    """Search by candidate, email, achievement or id; filter by status and achievement."""
    query = request.query_params.get("q", "")[:200]
    status = request.query_params.get("status", "")
    status = status if status in ("active", "revoked") else ""
    raw_achievement = request.query_params.get("achievement", "")
    achievement_id = int(raw_achievement) if raw_achievement.isdigit() else None
    if achievement_id is not None and achievement_id > 2_147_483_647:
        achievement_id = None
    rows = console.search_credentials(
        session, program.issuer, query=query, status=status, achievement_id=achievement_id
    )
    choices = [
        (a.id, achievements.current_version(session, a).name)
        for a in achievements.list_achievements(session, program.issuer, limit=500)
    ]
    return page(
        request,
        "console/credentials.html",
        program,
        section="credentials",
        rows=rows,
        q=query,
        status=status,
        achievement_id=achievement_id,
        achievement_choices=choices,
    )


@router.get("/{slug}/credentials/{credential_id}")
def show_credential(
    request: Request,
    credential_id: str,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
) -> Response:
    """One credential: what it says, its status, its audit trail and its actions."""
    row = _own(session, program, credential_id)
    document = console.credential_document(row)
    current = lifecycle.state(session, ctx, row)
    targets = [f"credential:{row.id}"]
    if row.project_id:
        targets.append(f"project:{row.project_id}")
    return page(
        request,
        "console/credential.html",
        program,
        section="credentials",
        row=row,
        candidate=candidates.get_candidate(session, program.issuer_id, row.candidate_id or 0),
        document=document,
        url=issuance.credential_url(ctx, row.id),
        revocation=issuance.revocation(session, row.id),
        state=current,
        allowed=[
            name
            for name, (_, states) in ACTIONS.items()
            if current.label in states
            # Suspension needs a suspension status entry, which OB 3.0 badges do not carry.
            and ("suspend" not in name or "suspension" in current.status_entries)
        ],
        trail=activity.describe(
            session, program.issuer, console.trail(session, program.issuer, targets)
        ),
    )


#: Lifecycle actions: the service function, and which states allow it.
ACTIONS = {
    "revoke": (lifecycle.revoke, ("active", "suspended", "expired")),
    "suspend": (lifecycle.suspend, ("active",)),
    "unsuspend": (lifecycle.unsuspend, ("suspended",)),
    "reissue": (lifecycle.reissue, ("active", "suspended", "expired")),
}


def _action(name: str) -> Any:
    if name not in ACTIONS:
        raise NotFoundError(f"there is no action {name!r:.20}", code="not_found")
    return ACTIONS[name]


@router.get("/{slug}/credentials/{credential_id}/{action}")
def confirm_action(
    request: Request,
    credential_id: str,
    action: str,
    session: SessionDep,
    program: ProgramDep,
) -> Response:
    """Say what the action does, ask for a reason and a confirmation."""
    _action(action)
    program.require("issuer")
    row = _own(session, program, credential_id)
    return _confirm(request, program, row, action)


def _confirm(
    request: Request,
    program: Program,
    row: Credential,
    action: str,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    document = console.credential_document(row)
    # A revocation offers the reason codes the credential's own entry lists, if any.
    codes = reasons.codes_of(row) if action == "revoke" else {}
    return confirm_page(
        request,
        program,
        section="credentials",
        question=action,
        action=f"/credentials/{row.id}/{action}",
        cancel=f"/credentials/{row.id}",
        subject=f"{document.get('name', '')} — {row.id}",
        reason=True,
        codes=codes if len(codes) > 1 else None,
        error=error,
        status_code=status_code,
    )


@router.post("/{slug}/credentials/{credential_id}/{action}", dependencies=[Csrf])
def perform_action(
    credential_id: str,
    action: str,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    request: Request,
    reason: Annotated[str, Form(max_length=500)] = "",
    reason_code: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Revoke, suspend, unsuspend or re-issue: the same ``services.lifecycle`` functions the
    API calls, audited with the staff member as the actor. A revocation may carry one of
    the credential's reason codes."""
    operation, _ = _action(action)
    program.require("issuer")
    row = _own(session, program, credential_id)
    extra: dict[str, Any] = {}
    if action == "revoke" and reason_code.strip():
        code = reason_code.strip()
        extra["reason_code"] = int(code) if code.isdigit() else -1
    try:
        result = operation(
            session,
            ctx,
            program.issuer,
            row.id,
            reason=reason.strip(),
            actor=program.actor,
            **extra,
        )
    except reasons.RevocationRefused as exc:
        words = exc.words(page_language(request))
        return _confirm(request, program, row, action, error=words, status_code=422)
    target = result.id if action == "reissue" else row.id
    return back_to(
        program, f"/credentials/{target}", f"{action}d" if action != "reissue" else "reissued"
    )
