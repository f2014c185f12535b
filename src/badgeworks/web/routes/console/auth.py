"""Console sign-in, sign-out and the program chooser."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from badgeworks.core.errors import BadgeworksError
from badgeworks.services import staff
from badgeworks.web.routes.console.common import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    ConsoleRoute,
    Csrf,
    SessionDep,
    SignedInDep,
    cookie_secure,
    now,
    page,
)

router = APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)


def _safe_next(value: str | None) -> str:
    # Only console paths: never an absolute URL or a scheme-relative one (open redirect).
    if (
        value
        and value.startswith(PREFIX + "/")
        and not any(c in value for c in ("\\", "\n", "\r", "//"))
    ):
        return value
    return PREFIX + "/"


def _login_page(
    request: Request, *, status_code: int = 200, error: str = "", email: str = ""
) -> Response:
    # Before sign-in there is no session to bind a CSRF token to, so the sign-in form uses
    # a double-submit token: a random cookie that the form must repeat.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(
        request,
        "console/login.html",
        None,
        status_code=status_code,
        login_csrf=token,
        error=error,
        email=email,
        next=_safe_next(request.query_params.get("next")),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path=PREFIX,
    )
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    """The sign-in form."""
    return _login_page(request)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the password; on success start a session and go where the member was going."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_page(request, status_code=403, error="csrf", email=email)
    client = request.client.host if request.client else "unknown"
    try:
        member = staff.authenticate(session, email, password, client=client, now=now(request))
    except staff.RateLimited:
        return _login_page(request, status_code=429, error="rate_limited", email=email)
    except BadgeworksError:
        return _login_page(request, status_code=401, error="bad_login", email=email)
    token, _ = staff.start_session(session, member, now=now(request))
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(staff.ABSOLUTE_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path=PREFIX,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, session: SessionDep, who: SignedInDep) -> Response:
    """End the session (server-side) and clear the cookie."""
    staff.end_session(session, who.session_id, now=now(request))
    response = RedirectResponse(f"{PREFIX}/login?done=signed_out", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("/")
def choose_program(request: Request, session: SessionDep, who: SignedInDep) -> Response:
    """The programs the member belongs to (straight to it when there is only one)."""
    rows = staff.memberships(session, who.staff.id or 0)
    if len(rows) == 1:
        return RedirectResponse(f"{PREFIX}/{rows[0][1].slug}/", status_code=303)
    return page(
        request,
        "console/programs.html",
        None,
        who=who,
        programs=[{"slug": i.slug, "name": i.name, "role": m.role} for m, i in rows],
    )


@router.get("")
def console_root() -> Response:
    """``/console`` without the slash."""
    return RedirectResponse(f"{PREFIX}/", status_code=307)
