"""Console settings: the issuer profile, its DID and key rotation, API tokens (created and
shown once), staff and roles, the outbox configuration and the trust registry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form, Request, Response
from pydantic import ValidationError

from badgeworks.core.cryptosuites import SIGNING_CRYPTOSUITES
from badgeworks.core.errors import BadgeworksError, ConfigError
from badgeworks.db.console import ROLES
from badgeworks.services.accounts import staff, tokens
from badgeworks.services.errors import ValidationFailed
from badgeworks.services.exchange import oid4vci
from badgeworks.services.lifecycle import reasons
from badgeworks.services.programs import issuers
from badgeworks.services.programs.models import IssuerUpdate
from badgeworks.services.verification.public import load_registry
from badgeworks.web.deps import ContextDep, Id, SessionDep
from badgeworks.web.pages import page_language
from badgeworks.web.routes.console.common import (
    AltText,
    Csrf,
    ImageFile,
    ImageRefused,
    Program,
    ProgramDep,
    back_to,
    confirm_page,
    console_router,
    form_errors,
    page,
    stored_image,
)
from badgeworks.web.routes.console.forms import none_if_blank

router = console_router()

#: The profile form's input for each field of ``IssuerUpdate`` (refusals link to them).
PROFILE_FIELDS = {
    "name": "p-name",
    "url": "p-url",
    "email": "p-email",
    "description": "p-description",
}

log = logging.getLogger("badgeworks.console")

#: The most trust registry entries the settings page lists (a registry may hold 10,000).
MAX_REGISTRY_SHOWN = 500


def _outbox(settings: Any) -> dict[str, Any]:
    # Shown, never the password: whether one is set is all staff need to know.
    host = getattr(settings, "smtp_host", None)
    return {
        "configured": bool(host),
        "console": bool(getattr(settings, "mail_console", False)),
        "interval": getattr(settings, "outbox_interval_seconds", 0) or 0,
        "host": host or "",
        "port": getattr(settings, "smtp_port", ""),
        "sender": getattr(settings, "smtp_from", ""),
        "security": getattr(settings, "smtp_security", ""),
        "user": getattr(settings, "smtp_user", None) or "",
        "password_set": bool(getattr(settings, "smtp_password", None)),
    }


def _trust_registry(settings: Any) -> dict[str, Any]:
    """The operator's trust registry as the public verifier reads it, for reading only.

    The file is read with the verifier's own loader, so the page shows exactly what the
    verifier accepts. A file it refuses is reported without its path or the reason (those
    are for the operator, in the log): staff of every role can read this page.
    """
    path = getattr(settings, "verify_trust_registry", None)
    if path is None:
        return {"configured": False, "entries": [], "total": 0, "unusable": False}
    try:
        known = load_registry(path)
    except ConfigError as exc:
        log.warning("settings page: %s", exc.message)
        return {"configured": True, "entries": [], "total": 0, "unusable": True}
    entries = sorted(known.values(), key=lambda k: ((k.name or "").casefold(), k.id))
    return {
        "configured": True,
        "entries": entries[:MAX_REGISTRY_SHOWN],
        "total": len(entries),
        "unusable": False,
    }


def _settings_page(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: Program,
    *,
    error: str | list[dict[str, str]] = "",
    new_token: str = "",
    status_code: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    owner = program.can("owner")
    return page(
        request,
        "console/settings.html",
        program,
        section="settings",
        status_code=status_code,
        error=error,
        new_token=new_token,
        typed=typed or {},
        public=issuers.to_public(session, ctx, program.issuer),
        tokens=tokens.list_tokens(session, program.issuer) if owner else [],
        staff_rows=staff.issuer_staff(session, program.issuer) if owner else [],
        roles=ROLES,
        cryptosuites=SIGNING_CRYPTOSUITES,
        outbox=_outbox(ctx.settings),
        trust=_trust_registry(ctx.settings),
        revocation_reasons=reasons.of(program.issuer),
        wallet_pin_required=oid4vci.pin_required(session, program.issuer.id or 0),
    )


@router.get("/{slug}/settings")
def settings_page(
    request: Request, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Everything about the program itself."""
    return _settings_page(request, session, ctx, program)


@router.post("/{slug}/settings/profile", dependencies=[Csrf])
def update_profile(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    name: Annotated[str, Form(max_length=200)] = "",
    url: Annotated[str, Form(max_length=2000)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    description: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    """Edit the issuer's profile (credentials already issued keep the old one)."""
    program.require("owner")
    try:
        data = IssuerUpdate(
            name=name,
            url=none_if_blank(url),
            email=none_if_blank(email),
            description=none_if_blank(description),
        )
    except ValidationError as exc:
        problems = form_errors(exc, page_language(request), PROFILE_FIELDS)
        return _settings_page(request, session, ctx, program, error=problems, status_code=422)
    issuers.update_issuer(session, program.issuer, data, actor=program.actor, now=ctx.clock())
    return back_to(program, "/settings", "profile_saved")


@router.post("/{slug}/settings/cryptosuite", dependencies=[Csrf])
def update_cryptosuite(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    cryptosuite: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The cryptosuite the program signs with from now on (issued credentials keep theirs)."""
    program.require("owner")
    try:
        issuers.update_issuer(
            session,
            program.issuer,
            IssuerUpdate(cryptosuite=cryptosuite),
            actor=program.actor,
            now=ctx.clock(),
        )
    except ValidationFailed as exc:
        # The page says it in the reader's language (console.settings.*).
        known = exc.code == "issuer.cryptosuite_unsupported"
        error = "cryptosuite_unsupported" if known else exc.message
        return _settings_page(request, session, ctx, program, error=error, status_code=422)
    return back_to(program, "/settings", "cryptosuite_saved")


def _reason_lines(text: str) -> tuple[list[dict[str, Any]], int | None]:
    """The form's lines ``CODE: message`` as reason items, and the first line (1-based)
    that is not of that form (None when every non-blank line is)."""
    items: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        code, sep, message = line.partition(":")
        if not sep or not code.strip().isdigit() or len(code.strip()) > 3:
            return items, number
        items.append({"code": int(code.strip()), "message": message.strip()})
    return items, None


@router.post("/{slug}/settings/revocation-reasons", dependencies=[Csrf])
def update_revocation_reasons(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    reasons_text: Annotated[str, Form(max_length=4000)] = "",
    reference: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """The program's revocation reason codes (credentials issued from now on carry them)."""
    program.require("owner")
    lang = page_language(request)
    typed = {"reasons_text": reasons_text, "reference": reference}
    items, bad_line = _reason_lines(reasons_text)
    if bad_line is not None:
        error = [{"text": reasons.line_problem(bad_line, lang), "field": "r-reasons"}]
        return _settings_page(
            request, session, ctx, program, error=error, status_code=422, typed=typed
        )
    try:
        reasons.define(
            session, program.issuer, items, reference, actor=program.actor, now=ctx.clock()
        )
    except reasons.ReasonsRefused as exc:
        field = "r-reference" if exc.kind == "reference" else "r-reasons"
        error = [{"text": exc.words(lang), "field": field}]
        return _settings_page(
            request, session, ctx, program, error=error, status_code=422, typed=typed
        )
    return back_to(program, "/settings", "reasons_saved")


@router.post("/{slug}/settings/names", dependencies=[Csrf])
def update_names(
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    # A checkbox: unticked, the browser sends nothing, so absent is "hashes only".
    name_in_credentials: Annotated[bool, Form()] = False,
) -> Response:
    """Whether credentials signed from now on name the candidate (issued ones keep theirs)."""
    program.require("owner")
    issuers.update_issuer(
        session,
        program.issuer,
        IssuerUpdate(name_in_credentials=name_in_credentials),
        actor=program.actor,
        now=ctx.clock(),
    )
    return back_to(program, "/settings", "names_saved")


@router.post("/{slug}/settings/wallet", dependencies=[Csrf])
def update_wallet(
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    # A checkbox: unticked, the browser sends nothing, so absent is "no PIN".
    pin_required: Annotated[bool, Form()] = False,
) -> Response:
    """Whether wallet offers made from now on need a PIN emailed to the candidate."""
    program.require("owner")
    oid4vci.set_pin_required(
        session, program.issuer, pin_required, actor=program.actor, now=ctx.clock()
    )
    return back_to(program, "/settings", "wallet_saved")


@router.post("/{slug}/settings/image", dependencies=[Csrf])
def update_image(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    file: ImageFile,
    caption: AltText = "",
) -> Response:
    """The issuer's image (PNG or SVG) with its required alt text."""
    program.require("owner")
    try:
        sha256, _ = stored_image(ctx, file, caption)
    except ImageRefused as exc:
        lang = page_language(request)
        problems = exc.problems(lang, file_id="i-file", caption_id="i-caption")
        return _settings_page(
            request,
            session,
            ctx,
            program,
            error=problems,
            status_code=422,
            typed={"caption": caption},
        )
    issuers.set_image(
        session, program.issuer, sha256, caption.strip(), actor=program.actor, now=ctx.clock()
    )
    return back_to(program, "/settings", "image_saved")


@router.get("/{slug}/settings/keys/rotate")
def confirm_rotate(request: Request, program: ProgramDep) -> Response:
    """Explain key rotation before doing it."""
    program.require("owner")
    return confirm_page(
        request,
        program,
        section="settings",
        question="rotate",
        action="/settings/keys/rotate",
        cancel="/settings",
        subject=program.issuer.did,
    )


@router.post("/{slug}/settings/keys/rotate", dependencies=[Csrf])
def rotate(session: SessionDep, ctx: ContextDep, program: ProgramDep) -> Response:
    """Rotate the signing key (old keys stay in the DID document)."""
    program.require("owner")
    issuers.rotate_key(session, ctx, program.issuer, actor=program.actor)
    return back_to(program, "/settings", "key_rotated")


@router.post("/{slug}/settings/tokens", dependencies=[Csrf])
def create_token(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    label: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create an API token; this response is the only place it is ever shown."""
    program.require("owner")
    _, token = tokens.create_token(
        session, program.issuer, label=label.strip(), actor=program.actor, now=ctx.clock()
    )
    return _settings_page(request, session, ctx, program, new_token=token)


@router.get("/{slug}/settings/tokens/{token_id}/revoke")
def confirm_revoke_token(
    request: Request, token_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Ask before revoking a token."""
    program.require("owner")
    found = [t for t in tokens.list_tokens(session, program.issuer) if t.id == token_id]
    if not found:
        # Not found: the service raises the 404.
        tokens.revoke_token(session, program.issuer, token_id, actor=program.actor, now=ctx.clock())
    return confirm_page(
        request,
        program,
        section="settings",
        question="revoke_token",
        action=f"/settings/tokens/{token_id}/revoke",
        cancel="/settings",
        subject=f"#{token_id} {found[0].label}",
    )


@router.post("/{slug}/settings/tokens/{token_id}/revoke", dependencies=[Csrf])
def revoke_token(
    token_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Revoke a token (it stops working at once)."""
    program.require("owner")
    tokens.revoke_token(session, program.issuer, token_id, actor=program.actor, now=ctx.clock())
    return back_to(program, "/settings", "token_revoked")


def _change_staff(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: Program,
    change: Callable[[], object],
    *,
    done: str,
    status_of: Callable[[BadgeworksError], int] = lambda exc: 409,
) -> Response:
    """Make one change to a staff member of this program, then back to the settings with
    the ``done`` flash. A refused change is the settings page with the reason, at the
    status ``status_of`` gives; an unknown member stays a 404 page."""
    try:
        change()
    except BadgeworksError as exc:
        if exc.code == "staff.not_found":
            raise
        return _settings_page(
            request, session, ctx, program, error=exc.message, status_code=status_of(exc)
        )
    return back_to(program, "/settings", done)


def _set_role(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: Program,
    staff_id: int,
    role: str | None,
    *,
    done: str,
) -> Response:
    """Give a staff member ``role`` in this program (``None`` removes them from it)."""
    return _change_staff(
        request,
        session,
        ctx,
        program,
        lambda: staff.change_role(
            session, program.issuer, staff_id, role, actor=program.actor, now=ctx.clock()
        ),
        done=done,
    )


def _grant_flash(grant: staff.StaffGrant) -> str:
    """The words for what adding someone did (console.flash.*)."""
    if grant.created:
        return "staff_created" if grant.password_set else "staff_invited"
    if grant.pending:
        return "staff_pending"
    return "staff_existing_ignored" if grant.password_ignored else "staff_existing"


@router.post("/{slug}/settings/staff", dependencies=[Csrf])
def add_staff(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=16)] = "viewer",
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Give someone a role in this program.

    A new account takes the first password typed here, or without one gets a link to
    choose it. An existing account keeps its own password, and the page says so.
    """
    program.require("owner")
    try:
        grant = staff.create_or_add_staff(
            session,
            program.issuer,
            email,
            role,
            password=password or None,
            actor=program.actor,
            base_url=ctx.base_url,
            now=ctx.clock(),
        )
    except BadgeworksError as exc:
        return _settings_page(request, session, ctx, program, error=exc.message, status_code=422)
    return back_to(program, "/settings", _grant_flash(grant))


@router.post("/{slug}/settings/staff/{staff_id}/password", dependencies=[Csrf])
def set_staff_password(
    request: Request,
    staff_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Set the password of an account that works in this program only (sessions end)."""
    program.require("owner")
    return _change_staff(
        request,
        session,
        ctx,
        program,
        lambda: staff.reset_password_by_owner(
            session, program.issuer, staff_id, password, actor=program.actor, now=ctx.clock()
        ),
        done="staff_password_set",
        status_of=lambda exc: 403 if exc.code == "staff.shared_account" else 422,
    )


@router.post("/{slug}/settings/staff/{staff_id}", dependencies=[Csrf])
def change_staff(
    request: Request,
    staff_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    role: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Change someone's role in this program."""
    program.require("owner")
    return _set_role(request, session, ctx, program, staff_id, role, done="staff_saved")


@router.get("/{slug}/settings/staff/{staff_id}/remove")
def confirm_remove_staff(
    request: Request, staff_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Ask before removing someone from the program."""
    program.require("owner")
    found = [s for m, s in staff.issuer_staff(session, program.issuer) if s.id == staff_id]
    if not found:
        # Not found: the service raises the 404.
        staff.change_role(
            session, program.issuer, staff_id, None, actor=program.actor, now=ctx.clock()
        )
    return confirm_page(
        request,
        program,
        section="settings",
        question="remove_staff",
        action=f"/settings/staff/{staff_id}/remove",
        cancel="/settings",
        subject=found[0].email,
    )


@router.post("/{slug}/settings/staff/{staff_id}/remove", dependencies=[Csrf])
def remove_staff(
    request: Request, staff_id: Id, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """Remove someone from the program (their account stays, for other programs)."""
    program.require("owner")
    return _set_role(request, session, ctx, program, staff_id, None, done="staff_removed")
