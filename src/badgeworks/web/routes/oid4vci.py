"""Issuance to a wallet over OpenID for Verifiable Credential Issuance 1.0 (docs/wallets.md).

Wallet endpoints (public; rate limited per client address, ``wallet_rate_*`` settings):

- ``GET /.well-known/openid-credential-issuer``: credential issuer metadata (§12.2).
- ``GET /.well-known/oauth-authorization-server``: authorization server metadata.
- ``GET /oid4vci/offers/{offer_id}``: the credential offer by reference (§4.1.3), and
  ``…/qr.png`` its QR code (the issuance email shows it).
- ``POST /oid4vci/token`` (form): the pre-authorized code (and PIN) for an access token.
- ``POST /oid4vci/nonce``: a ``c_nonce``.
- ``POST /oid4vci/credential`` (Bearer, JSON): the credential, bound to the wallet's key.

Their refusals have the OAuth / OpenID4VCI shape ``{"error": code, "error_description":
text}`` the wallets read (not the API's own error shape), with ``Cache-Control: no-store``.

The candidate's pages: ``GET /me/wallet/{credential_id}`` asks them to confirm (a page
that makes an offer on ``POST``, so a prefetching link checker makes none), ``POST`` shows
the offer (QR code, link, expiry, whether a PIN comes by email). Issuers choose the PIN at
``GET``/``PUT /api/v1/issuers/{slug}/wallet``.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from badgeworks.core.document import parse_json_document
from badgeworks.core.errors import BadgeworksError, InputError
from badgeworks.services.accounts import candidate_access as access
from badgeworks.services.exchange import oid4vci
from badgeworks.services.exchange.oid4vci import WalletError
from badgeworks.services.infra.rate_limit import Limiter, limiter_for, retry_after_header
from badgeworks.services.models import Strict
from badgeworks.web.deps import ContextDep, PrincipalDep, SessionDep
from badgeworks.web.errors import status_for
from badgeworks.web.pages import render
from badgeworks.web.routes.me import COOKIE, PREFIX, PRIVATE

router = APIRouter()

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
#: The largest credential request body we read (a proof is at most 8 KiB).
MAX_REQUEST_BYTES = 32 * 1024
#: The largest token request form.
MAX_FORM_FIELDS = 10
OfferId = Annotated[str, Path(max_length=64)]
CredentialId = Annotated[str, Path(max_length=36)]

_LIMIT_LOCK = threading.Lock()


def _limiter(request: Request) -> Limiter:
    """The wallet endpoints' rate limit, built from the app's settings on first use."""
    state = request.app.state
    with _LIMIT_LOCK:
        limiter = getattr(state, "wallet_limiter", None)
        if limiter is None:
            settings = state.settings
            limiter = limiter_for(
                "wallet",
                settings,
                per_minute=settings.wallet_rate_per_minute,
                burst=settings.wallet_rate_burst,
                session_factory=state.session_factory,
                clock=state.ctx.clock,
            )
            state.wallet_limiter = limiter
    assert limiter is not None
    return limiter


def _error(code: str, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": code, "error_description": message},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )


def _refused(exc: WalletError) -> Response:
    headers = {}
    if exc.status == 401:
        # RFC 6750 §3: the challenge names the error.
        headers["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    return _error(exc.code, exc.message, exc.status, headers)


def _limited(request: Request, session: Session) -> Response | None:
    wait = _limiter(request).take(request.client.host if request.client else None, session)
    if wait is None:
        return None
    return _error(
        "too_many_requests",
        "too many requests from this address; try again later",
        429,
        {"Retry-After": retry_after_header(wait)},
    )


# ------------------------------------------------------------------------------ metadata


@router.get("/.well-known/openid-credential-issuer", tags=["wallets"])
def credential_issuer_metadata(ctx: ContextDep) -> dict[str, Any]:
    """Credential issuer metadata (OpenID4VCI 1.0 §12.2)."""
    return oid4vci.issuer_metadata(ctx)


@router.get("/.well-known/oauth-authorization-server", tags=["wallets"])
def authorization_server_metadata(ctx: ContextDep) -> dict[str, Any]:
    """OAuth 2.0 authorization server metadata (RFC 8414) for the pre-authorized flow."""
    return oid4vci.authorization_server_metadata(ctx)


# ------------------------------------------------------------------------------ offers


@router.get("/oid4vci/offers/{offer_id}", tags=["wallets"])
def credential_offer(
    request: Request, offer_id: OfferId, session: SessionDep, ctx: ContextDep
) -> Response:
    """A credential offer by reference (§4.1.3): single use, expiring."""
    limited = _limited(request, session)
    if limited is not None:
        return limited
    try:
        offer = oid4vci.offer_document(session, ctx, offer_id)
    except BadgeworksError as exc:
        return _error("invalid_request", exc.message, status_for(exc))
    return JSONResponse(offer, headers=NO_STORE)


@router.get("/oid4vci/offers/{offer_id}/qr.png", tags=["wallets"])
def credential_offer_qr(
    request: Request, offer_id: OfferId, session: SessionDep, ctx: ContextDep
) -> Response:
    """The QR code of a live offer's ``openid-credential-offer://`` link."""
    limited = _limited(request, session)
    if limited is not None:
        return limited
    try:
        png = oid4vci.offer_qr_png(session, ctx, offer_id)
    except BadgeworksError as exc:
        return _error("invalid_request", exc.message, status_for(exc))
    return Response(png, media_type="image/png", headers={**NO_STORE, "X-Robots-Tag": "noindex"})


# ------------------------------------------------------------------------------ token, nonce


@router.post("/oid4vci/token", tags=["wallets"])
async def token(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """The token endpoint (§6): ``grant_type``, ``pre-authorized_code``, ``tx_code``."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    values: dict[str, str] = {}
    problem: str | None = None
    if media != "application/x-www-form-urlencoded":
        problem = "send the token request as application/x-www-form-urlencoded"
    else:
        try:
            form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
        except Exception:
            form = None
            problem = "the token request is not a readable form"
        for name, value in form.multi_items() if form is not None else ():
            if not isinstance(value, str):
                problem = "the token request holds no files"
            elif name in values:
                # RFC 6749 §3.2: parameters MUST NOT be included more than once.
                problem = f"the parameter {name[:40]!r} is repeated"
            values[name] = str(value)

    def answer() -> Response:
        # The limit is counted first, whatever the request holds.
        limited = _limited(request, session)
        if limited is not None:
            return limited
        if problem is not None:
            return _error("invalid_request", problem, 400)
        try:
            tokens = oid4vci.redeem(
                session,
                ctx,
                grant_type=values.get("grant_type"),
                code=values.get("pre-authorized_code"),
                tx_code=values.get("tx_code"),
            )
        except WalletError as exc:
            return _refused(exc)
        return JSONResponse(tokens, headers=NO_STORE)

    # One hand-off to a worker thread: the database is never used on the event loop.
    return await run_in_threadpool(answer)


@router.post("/oid4vci/nonce", tags=["wallets"])
def nonce(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """The nonce endpoint (§7): a fresh ``c_nonce`` for the wallet's key proof."""
    limited = _limited(request, session)
    if limited is not None:
        return limited
    return JSONResponse({"c_nonce": oid4vci.new_nonce(session, ctx)}, headers=NO_STORE)


# ------------------------------------------------------------------------------ credential


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@router.post("/oid4vci/credential", tags=["wallets"])
async def credential(request: Request, session: SessionDep, ctx: ContextDep) -> Response:
    """The credential endpoint (§8): the credential bound to the wallet's proven key."""
    access_token = _bearer(request)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    raw = await request.body() if access_token is not None and media == "application/json" else b""

    def answer() -> Response:
        limited = _limited(request, session)
        if limited is not None:
            return limited
        if access_token is None:
            return _refused(
                WalletError(
                    "the request has no Bearer access token", code="invalid_token", status=401
                )
            )
        if media != "application/json":
            return _error(
                "invalid_credential_request",
                "send the credential request as application/json",
                400,
            )
        if len(raw) > MAX_REQUEST_BYTES:
            return _error(
                "invalid_credential_request",
                f"the credential request is over {MAX_REQUEST_BYTES // 1024} KiB",
                413,
            )
        try:
            body = parse_json_document(raw, max_bytes=MAX_REQUEST_BYTES)
        except InputError as exc:
            return _error("invalid_credential_request", f"the request is not JSON: {exc}", 400)
        try:
            issued = oid4vci.issue(session, ctx, access_token=access_token, body=body)
        except WalletError as exc:
            return _refused(exc)
        return JSONResponse(issued, headers=NO_STORE)

    return await run_in_threadpool(answer)


# ------------------------------------------------------------------------------ /me


def _who(request: Request, session: Session, ctx: ContextDep) -> access.SignedInCandidate | None:
    return access.resume(session, ctx, request.cookies.get(COOKIE))


#: The page's words for each refusal of an offer (the general one otherwise).
_GONE = {
    "candidate.not_yours": "wallet.not_yours",
    "wallet.not_offered": "wallet.not_yours",
    "credential_request_denied": "wallet.withdrawn",
}


def _gone(request: Request, exc: BadgeworksError) -> Response:
    status = exc.status if isinstance(exc, WalletError) else status_for(exc)
    return render(
        request,
        "me_gone.html",
        status_code=status,
        headers=PRIVATE,
        message_key=_GONE.get(exc.code, "candidate.error"),
        code=exc.code,
    )


@router.get(f"{PREFIX}/wallet/{{credential_id}}", include_in_schema=False)
def wallet_confirm(
    request: Request, credential_id: CredentialId, session: SessionDep, ctx: ContextDep
) -> Response:
    """Confirm before making an offer (a GET makes nothing)."""
    who = _who(request, session, ctx)
    if who is None:
        return RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=PRIVATE)
    return render(
        request,
        "me_wallet.html",
        headers=PRIVATE,
        offer=None,
        action=f"{PREFIX}/wallet/{credential_id}",
        csrf_token=who.csrf_token,
    )


@router.post(f"{PREFIX}/wallet/{{credential_id}}", include_in_schema=False)
async def wallet_offer(
    request: Request, credential_id: CredentialId, session: SessionDep, ctx: ContextDep
) -> Response:
    """Make a single-use offer of one of the candidate's credentials and show it."""
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    csrf = form.get("csrf_token")

    def answer() -> Response:
        # Making offers (and emailing their PINs) counts against the wallet limit too.
        wait = _limiter(request).take(request.client.host if request.client else None, session)
        if wait is not None:
            seconds = retry_after_header(wait)
            return render(
                request,
                "me_limited.html",
                status_code=429,
                headers={**PRIVATE, "Retry-After": seconds},
                message_key="wallet.limited",
                wait_seconds=int(seconds),
                retry_href=f"{PREFIX}/wallet/{credential_id}",
            )
        who = _who(request, session, ctx)
        if who is None:
            return RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=PRIVATE)
        try:
            access.check_csrf(who, csrf if isinstance(csrf, str) else None)
            offer = oid4vci.offer_for_candidate(session, ctx, who.email, credential_id)
        except BadgeworksError as exc:
            return _gone(request, exc)
        return render(
            request,
            "me_wallet.html",
            headers=PRIVATE,
            offer=offer,
            action=f"{PREFIX}/wallet/{credential_id}",
            csrf_token=who.csrf_token,
        )

    return await run_in_threadpool(answer)


# ------------------------------------------------------------------------------ issuer setting


class WalletSettings(Strict):
    """An issuer's wallet choices."""

    pin_required: bool


@router.get("/api/v1/issuers/{slug}/wallet", tags=["wallets"])
def get_wallet_settings(slug: str, session: SessionDep, who: PrincipalDep) -> WalletSettings:
    """Whether the issuer's wallet offers need a PIN, sent to the candidate by email."""
    issuer = who.issuer_for(slug)
    return WalletSettings(pin_required=oid4vci.pin_required(session, issuer.id or 0))


@router.put("/api/v1/issuers/{slug}/wallet", tags=["wallets"])
def set_wallet_settings(
    slug: str, data: WalletSettings, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> WalletSettings:
    """Turn the PIN on or off for offers made from now on."""
    value = oid4vci.set_pin_required(
        session, who.issuer_for(slug), data.pin_required, actor=who.actor, now=ctx.clock()
    )
    return WalletSettings(pin_required=value)
