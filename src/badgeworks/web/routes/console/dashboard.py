"""The console dashboard: counts and recent activity, with links."""

from __future__ import annotations

from fastapi import Request, Response

from badgeworks.services.console import activity
from badgeworks.services.console import views as console
from badgeworks.services.infra import audit
from badgeworks.web.deps import ContextDep, SessionDep
from badgeworks.web.routes.console.common import (
    ProgramDep,
    console_router,
    page,
)

router = console_router()


@router.get("/{slug}/")
def dashboard(
    request: Request, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Counts of achievements, projects by state, credentials issued and revoked; the
    latest audit events."""
    events = audit.list_events(session, program.issuer_id, limit=15)
    return page(
        request,
        "console/dashboard.html",
        program,
        section="dashboard",
        counts=console.counts(session, program.issuer, now=ctx.clock()),
        events=activity.describe(session, program.issuer, events),
    )
