"""The program console (``/console``): the web interface program staff use.

``router`` gathers the console's pages; ``web/app.py`` includes it with one line. Every
page checks the signed-in member's role in the program it is about, and every change goes
through the same services the API uses.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from badgeworks.web.routes.console import (
    achievements,
    auth,
    bulk,
    candidates,
    credentials,
    dashboard,
    jobs,
    projects,
    settings,
)
from badgeworks.web.routes.console.common import console_router, error_page

#: The console's page modules, each with its own ``router``.
PAGES = (auth, dashboard, achievements, candidates, projects, bulk, credentials, settings, jobs)

router = APIRouter(include_in_schema=False)
for _module in PAGES:
    router.include_router(_module.router)

_fallback = console_router()


@_fallback.api_route("/{path:path}", methods=["GET", "POST"])
def not_found(request: Request, path: str) -> Response:
    """Any other console address: a friendly 404 page (never the API's JSON)."""
    return error_page(request, 404, "there is no such page in the console", "not_found")


router.include_router(_fallback)
