"""Console sign-in, sign-out, passwords (set through an emailed link, or changed by the
signed-in person) and the program chooser."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from badgeworks.core.errors import BadgeworksError
from badgeworks.services.accounts import staff
from badgeworks.services.infra.rate_limit import retry_after_header
from badgeworks.web.deps import SessionDep
from badgeworks.web.routes.console.common import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    Csrf,
    SignedInDep,
    console_router,
    cookie_secure,
    now,
    page,
)
from badgeworks.web.routes.double_submit import form_token, token_matches

router = console_router()


def _safe_next(value: str | None) -> str:
    # Only console paths: never an absolute URL or a scheme-relative one (open redirect).
    if (
        value
        and value.startswith(PREFIX + "/")
        and not any(c in value for c in ("\\", "\n", "\r", "//"))
    ):
        return value
    return PREFIX + "/"


def _set_login_csrf(request: Request, response: Response, token: str) -> None:
    """The double-submit cookie that forms shown before sign-in must repeat."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path=PREFIX,
    )


def _login_page(
    request: Request, *, status_code: int = 200, error: str = "", email: str = ""
) -> Response:
    # Before sign-in there is no session to bind a CSRF token to, so the sign-in form uses
    # a double-submit token: a random cookie that the form must repeat.
    token = form_token(request, LOGIN_CSRF_COOKIE)
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
    _set_login_csrf(request, response, token)
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
    if not token_matches(request, LOGIN_CSRF_COOKIE, csrf_token):
        return _login_page(request, status_code=403, error="csrf", email=email)
    client = request.client.host if request.client else "unknown"
    try:
        member = staff.authenticate(session, email, password, client=client, now=now(request))
    except staff.RateLimited as exc:
        response = _login_page(request, status_code=429, error="rate_limited", email=email)
        response.headers["Retry-After"] = retry_after_header(exc.retry_after)
        return response
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


def _password_page(
    request: Request,
    *,
    token: str = "",
    who: staff.SignedIn | None = None,
    status_code: int = 200,
    error: str = "",
    message: str = "",
) -> Response:
    # The link form has no session yet, so it uses the sign-in form's double-submit token.
    login_csrf = form_token(request, LOGIN_CSRF_COOKIE)
    response = page(
        request,
        "console/password.html",
        None,
        who=who,
        status_code=status_code,
        token=token,
        login_csrf=login_csrf,
        error=error,
        message=message,
        min_length=staff.MIN_PASSWORD_LENGTH,
    )
    if who is None:
        _set_login_csrf(request, response, login_csrf)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/password/{token}")
def password_link_form(request: Request, session: SessionDep, token: str) -> Response:
    """The form behind a set-password link (the link itself is used only on submit)."""
    try:
        staff.check_password_link(session, token, now=now(request))
    except BadgeworksError:
        return _password_page(request, status_code=410, error="link_gone")
    return _password_page(request, token=token)


@router.post("/password/{token}")
def password_link_submit(
    request: Request,
    session: SessionDep,
    token: str,
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Choose a password through the link: every session of the account ends."""
    if not token_matches(request, LOGIN_CSRF_COOKIE, csrf_token):
        return _password_page(request, token=token, status_code=403, error="csrf")
    try:
        staff.redeem_password_link(session, token, password, now=now(request))
    except BadgeworksError as exc:
        if exc.code == "staff.weak_password":
            return _password_page(
                request, token=token, status_code=422, error="weak", message=exc.message
            )
        return _password_page(request, status_code=410, error="link_gone")
    response = RedirectResponse(f"{PREFIX}/login?done=password_set", status_code=303)
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("/account/password")
def own_password_form(request: Request, who: SignedInDep) -> Response:
    """The signed-in person's change-password form."""
    return _password_page(request, who=who)


@router.post("/account/password", dependencies=[Csrf])
def own_password_submit(
    request: Request,
    session: SessionDep,
    who: SignedInDep,
    current: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change one's own password; every other session of the account ends."""
    try:
        staff.change_own_password(
            session, who.staff, current, password, session_id=who.session_id, now=now(request)
        )
    except BadgeworksError as exc:
        error = "current_wrong" if exc.code == "auth.bad_password" else "weak"
        return _password_page(request, who=who, status_code=422, error=error, message=exc.message)
    return RedirectResponse(f"{PREFIX}/?done=password_changed", status_code=303)


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
        done = request.query_params.get("done", "")
        suffix = f"?done={done}" if done.replace("_", "").isalnum() else ""
        return RedirectResponse(f"{PREFIX}/{rows[0][1].slug}/{suffix}", status_code=303)
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
