"""Request dependencies: the session, the service context and the caller's token."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, File, Form, Path, Request, UploadFile
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from badgeworks.core.errors import ConfigError, InputError
from badgeworks.db.models import Issuer
from badgeworks.services.accounts import staff, tokens
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import (
    AuthError,
    ForbiddenError,
    UnsupportedMediaError,
    ValidationFailed,
)
from badgeworks.services.infra.rate_limit import RateLimiter, retry_after_header
from badgeworks.services.programs.issuers import get_issuer_by_id
from badgeworks.settings import Settings
from badgeworks.web.pagination import PageRequest, page_request

_T = TypeVar("_T")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed afterwards (services commit their own work)."""
    with request.app.state.session_factory() as session:
        yield session


def in_own_session(request: Request, work: Callable[[Session], _T]) -> _T:
    """``work`` in a session of its own, as ``get_session`` gives it, closed afterwards.

    For an ``async`` route that reads in one ``run_in_threadpool`` call: the route has no
    ``SessionDep`` (a generator dependency, entered and left on worker threads of its own).
    """
    with request.app.state.session_factory() as session:
        return work(session)


async def get_context(request: Request) -> ServiceContext:
    """The app's service context (``async``: read on the event loop, where a plain
    function would cost each request a hop to a worker thread and back)."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings (``async``, as ``get_context``)."""
    settings: Settings = request.app.state.settings
    return settings


#: A database id in a path: PostgreSQL integers stop at 2**31 - 1, so larger is a 422.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]

SessionDep = Annotated[Session, Depends(get_session)]
ContextDep = Annotated[ServiceContext, Depends(get_context)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
#: A list endpoint's ``limit`` and ``offset`` (``send_page`` sends the page they select).
PageDep = Annotated[PageRequest, Depends(page_request)]
#: A free-text form field (a description, a narrative, one item per line): long, but
#: bounded, so a form cannot carry an unbounded value into a page or a credential.
FormText = Annotated[str, Form(max_length=20000)]
#: An uploaded badge or issuer image, and the alt text it must come with.
ImageFile = Annotated[UploadFile, File(description="A PNG or SVG image.")]
ImageCaption = Annotated[str, Form(min_length=1, max_length=500, description="Alt text.")]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token, and the one issuer it acts for."""

    issuer: Issuer
    token_id: int
    label: str

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"token:{self.token_id}" + (f" ({self.label})" if self.label else "")

    @property
    def issuer_id(self) -> int:
        """The database id of the token's issuer."""
        return self.issuer.id or 0

    def issuer_for(self, slug: str) -> Issuer:
        """The token's issuer if it is ``slug``; ``ForbiddenError`` otherwise."""
        if self.issuer.slug != slug:
            raise ForbiddenError(
                f"this token belongs to issuer {self.issuer.slug!r}; it cannot act for "
                f"{slug!r:.80}. Use a token of that issuer",
                code="auth.wrong_issuer",
            )
        return self.issuer


def get_principal(request: Request, session: SessionDep) -> Principal:
    """Authenticate ``Authorization: Bearer <token>``; 401 if missing, unknown or revoked."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthError(
            "this endpoint needs an API token: send 'Authorization: Bearer <token>' "
            "(create one with 'badgeworks tokens create --issuer SLUG')",
            code="auth.missing_token",
        )
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthError("the Authorization header must be 'Bearer <token>'", code="auth.malformed")
    row = tokens.authenticate(session, value.strip())
    if row is None:
        raise AuthError("the API token is unknown or revoked", code="auth.invalid_token")
    issuer = get_issuer_by_id(session, row.issuer_id)
    # End the read, so the pooled connection goes back before the route runs: the route
    # runs in another worker thread, and requests that hold a connection while they wait
    # for a thread (while the threads wait for connections) deadlock a small pool.
    session.commit()
    return Principal(issuer=issuer, token_id=row.id or 0, label=row.label)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_optional_principal(request: Request) -> Principal | None:
    """No ``Authorization`` header: an anonymous caller (None), answered on the event
    loop. A header, even an empty one: it must be a valid token (401 otherwise), so
    sending one cannot be used to skip a rate limit (``optional_principal``, on a worker
    thread)."""
    if request.headers.get("authorization") is None:
        return None
    return await run_in_threadpool(optional_principal, request)


def optional_principal(request: Request) -> Principal | None:
    """``get_optional_principal``'s check, for code already off the event loop.

    The token is checked in a short session of its own, closed before the route runs: the
    verify endpoints that use this hold no database connection while they verify.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    if not header.strip():
        raise AuthError(
            "the Authorization header is empty: send 'Authorization: Bearer <token>', or "
            "leave the header out to call anonymously (rate-limited)",
            code="auth.malformed",
        )
    with request.app.state.session_factory() as session:
        return get_principal(request, session)


OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]


async def no_body(request: Request) -> None:
    """Refuse a body on an endpoint that reads none, instead of ignoring it.

    A client that sends options to such an endpoint (or a body that is not even JSON)
    must learn that they were not read before anything is done. No body, or an empty
    JSON object or ``null`` (what many clients send by default), is fine.
    """
    body = await request.body()
    if not body.strip():
        return
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        what = repr(media_type[:100]) if media_type else "a body without a Content-Type"
        raise UnsupportedMediaError(
            f"this endpoint takes no request body, and {what} is not JSON; send no body "
            "(or the JSON object {})",
            code="input.unsupported_media_type",
        )
    try:
        value = json.loads(body)
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise InputError(
            f"the request body is not valid JSON: {reason}", code="input.not_json"
        ) from None
    if value not in ({}, None):
        raise ValidationFailed(
            "this endpoint takes no request body: send none (or the JSON object {}); see /docs",
            code="request.invalid",
        )


#: ``dependencies=[NoBody]`` on a POST that reads no body (see ``no_body``).
NoBody = Depends(no_body)


# ----------------------------------------------------------------------------- admin token

#: ``BADGEWORKS_ADMIN_TOKEN`` may create issuers and can be guessed at over the network, so
#: a shorter one refuses to start (``secrets.token_urlsafe(32)`` gives 43 characters).
MIN_ADMIN_TOKEN_LENGTH = 32
#: Wrong admin tokens each client address may send before it is locked out (1 minute,
#: doubling on each further lock, like console sign-in; services/accounts/staff.py).
ADMIN_FAILURES_PER_CLIENT = 10


def check_admin_token_setting(admin_token: str | None) -> None:
    """``ConfigError`` if an admin token is set but too short to withstand guessing."""
    if admin_token is not None and len(admin_token.strip()) < MIN_ADMIN_TOKEN_LENGTH:
        raise ConfigError(
            f"refusing to start: BADGEWORKS_ADMIN_TOKEN has {len(admin_token.strip())} "
            f"characters; it needs at least {MIN_ADMIN_TOKEN_LENGTH} (make one with: python -c "
            "'import secrets; print(secrets.token_urlsafe(32))'), or unset it to create "
            "issuers with the CLI only",
            code="config.admin_token",
        )


def require_admin(request: Request, session: SessionDep, settings: SettingsDep) -> None:
    """The caller sent ``Authorization: Bearer <BADGEWORKS_ADMIN_TOKEN>``.

    Each try is first charged to the client address (an atomic counter in the database,
    shared by every worker); after ``ADMIN_FAILURES_PER_CLIENT`` wrong tokens the address
    gets 429 without the token being compared. A right token gives the charge back.
    """
    admin = settings.admin_token.get_secret_value() if settings.admin_token else None
    if not admin:
        raise ForbiddenError(
            "creating issuers over the API is disabled; set BADGEWORKS_ADMIN_TOKEN or use "
            "'badgeworks issuers create'",
            code="auth.admin_disabled",
        )
    client = RateLimiter.client_key(request.client.host if request.client else None)
    key = f"admin:{client}"
    now = request.app.state.ctx.clock()
    wait = staff.claim_attempt(session, key, ADMIN_FAILURES_PER_CLIENT, now)
    if wait is not None:
        raise StarletteHTTPException(
            429,
            detail="too many wrong admin tokens from this address; wait and try again "
            "(see Retry-After)",
            headers={"Retry-After": retry_after_header(wait)},
        )
    _, _, given = (request.headers.get("authorization") or "").partition(" ")
    given = given.strip()
    if not given or not hmac.compare_digest(given.encode(), admin.encode()):
        raise AuthError("creating an issuer needs the admin token", code="auth.invalid_token")
    staff.release_attempt(session, key, forget=True)
    session.commit()


AdminDep = Depends(require_admin)
