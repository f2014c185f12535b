"""What every console route shares: who is signed in, which program, CSRF, HTML errors.

Console routes use ``ConsoleRoute``, which turns errors into friendly HTML pages (the API's
one JSON error shape is for API clients; a browser gets a page with a way back). A missing
or expired session redirects to the sign-in page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.console import StaffMembership
from badgeworks.db.models import Issuer
from badgeworks.services.accounts import staff
from badgeworks.services.context import ServiceContext
from badgeworks.services.field_problems import describe, describe_errors, problems_of
from badgeworks.services.programs.images import checked_png, safe_svg, sniff_image, store_image
from badgeworks.web.deps import SessionDep
from badgeworks.web.errors import CONSOLE, public_message, status_for
from badgeworks.web.i18n import Translator
from badgeworks.web.pages import page_language, render

log = logging.getLogger("badgeworks.console")

COOKIE = "bw_console"
LOGIN_CSRF_COOKIE = "bw_login_csrf"
PREFIX = CONSOLE


def console_router() -> APIRouter:
    """A router for console pages: under ``/console``, errors as pages, not in the API schema."""
    return APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)


class LoginRequired(Exception):
    """No live session: the route class redirects to the sign-in page."""


def error_page(request: Request, status: int, message: str, code: str = "") -> HTMLResponse:
    """A friendly HTML error page (status, what happened, a way back)."""
    return render(
        request,
        "console/error.html",
        status_code=status,
        status=status,
        message=message,
        code=code,
        me=None,
        program=None,
    )


class ConsoleRoute(APIRoute):
    """An ``APIRoute`` whose errors are HTML pages and whose missing session redirects."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired:
                target = request.url.path
                if request.method == "GET" and request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(
                    f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303
                )
            except BadgeworksError as exc:
                status = status_for(exc)
                if status >= 500:
                    log.error("console error %s on %s", exc.code, request.url.path)
                return error_page(request, status, public_message(exc), exc.code)
            except (RequestValidationError, ValidationError) as exc:
                lang = page_language(request)
                return error_page(request, 422, form_problems(exc, lang), "request.invalid")
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, str(exc.detail))

        return handler


def form_problems(exc: RequestValidationError | ValidationError, lang: str = "en") -> str:
    """What is wrong with a submitted form, every field at once, in words in ``lang``
    (``services/field_problems.py``: no patterns, paths or pydantic phrasing)."""
    problems = describe_errors(exc.errors(), lang)
    return " ".join(problems) or (
        "the form is invalid" if lang == "en" else "el formulario no es válido"
    )


def form_errors(
    exc: RequestValidationError | ValidationError, lang: str, fields: Mapping[str, str]
) -> list[dict[str, str]]:
    """Every refused field of a form as ``{"text", "field"}``: the sentence in ``lang``
    and the id of the input to fix (``fields`` maps a model field to its input's id; a
    field without an input has ``""``; ``parent.child`` names a nested field's input), so
    the page can link each problem to its field."""
    out = []
    for problem in problems_of(exc.errors(), limit=20):
        named = [p for p in problem.place if isinstance(p, str)]
        field = fields.get(".".join(named[:2]), "") or fields.get(named[0] if named else "", "")
        out.append({"text": describe(problem, lang), "field": field})
    return out


def refusal(exc: Exception, lang: str = "en") -> str:
    """What a page says about a refused form: the fields' problems, the service's message,
    or the text of any other error."""
    if isinstance(exc, RequestValidationError | ValidationError):
        return form_problems(exc, lang)
    if isinstance(exc, BadgeworksError):
        return exc.message
    return str(exc)


# ----------------------------------------------------------------------------- dependencies


def now(request: Request) -> Any:
    """The app's clock (tests fix it)."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx.clock()


def get_signed_in(request: Request, session: SessionDep) -> staff.SignedIn:
    """The signed-in staff member, or ``LoginRequired``."""
    who = staff.resume_session(session, request.cookies.get(COOKIE), now=now(request))
    if who is None:
        raise LoginRequired()
    return who


SignedInDep = Annotated[staff.SignedIn, Depends(get_signed_in)]


@dataclass
class Program:
    """The program (issuer) a console page is about, and the signed-in member's role in it."""

    who: staff.SignedIn
    issuer: Issuer
    membership: StaffMembership

    @property
    def issuer_id(self) -> int:
        """The issuer's database id."""
        return self.issuer.id or 0

    @property
    def actor(self) -> str:
        """The audit actor: the staff member."""
        return self.who.actor

    def require(self, role: str) -> None:
        """``ForbiddenError`` unless the member has ``role`` or a stronger one here."""
        staff.require_role(self.membership, role)

    def can(self, role: str) -> bool:
        """True if the member has ``role`` or a stronger one here."""
        return staff.has_role(self.membership, role)


def get_program(slug: str, session: SessionDep, who: SignedInDep) -> Program:
    """The program ``slug`` if the member belongs to it; another program is a 404."""
    membership, issuer = staff.membership_for(session, who.staff.id or 0, slug)
    return Program(who=who, issuer=issuer, membership=membership)


ProgramDep = Annotated[Program, Depends(get_program)]


async def _csrf_form(request: Request) -> str | None:
    form = await request.form()
    value = form.get("csrf_token")
    return value if isinstance(value, str) else None


async def check_csrf(request: Request, who: SignedInDep) -> None:
    """Every console form carries the session's CSRF token; anything else is refused."""
    staff.check_csrf(who, await _csrf_form(request))


Csrf = Depends(check_csrf)


def page(
    request: Request,
    template: str,
    program: Program | None,
    *,
    section: str = "",
    status_code: int = 200,
    **data: Any,
) -> HTMLResponse:
    """Render a console page with the shared context (member, program, role, CSRF token)."""
    flash_key = request.query_params.get("done", "")
    who = program.who if program else data.pop("who", None)
    response = render(
        request,
        template,
        status_code=status_code,
        me=who.staff if who else None,
        csrf=who.csrf_token if who else "",
        program=program.issuer if program else None,
        role=program.membership.role if program else None,
        can_issue=program.can("issuer") if program else False,
        is_owner=program.can("owner") if program else False,
        section=section,
        flash=flash_key if flash_key.replace("_", "").isalnum() else "",
        **data,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def back_to(program: Program, path: str, done: str = "") -> RedirectResponse:
    """A 303 redirect to a page of this program, with an optional flash message key."""
    url = f"{PREFIX}/{program.issuer.slug}{path}"
    if done:
        url += ("&" if "?" in url else "?") + f"done={done}"
    return RedirectResponse(url, status_code=303)


def cookie_secure(request: Request) -> bool:
    """Cookies are ``Secure`` when the service is reached over HTTPS."""
    base: str = request.app.state.settings.base_url
    return base.startswith("https://")


def confirm_page(
    request: Request,
    program: Program,
    *,
    section: str,
    question: str,
    action: str,
    cancel: str,
    subject: str,
    button: str = "",
    reason: bool = False,
    codes: Mapping[int, str] | None = None,
    error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The page that asks before a change: what it is about (``subject``), what it does
    (the ``console.confirm.<question>`` words) and a button that posts to ``action``.

    ``action`` and ``cancel`` are paths in this program, as for ``back_to``; the button says
    ``console.confirm.<question>_button`` unless ``button`` names other words. ``codes``
    (revocation reason codes and their messages) adds a choice of code; ``error`` is a
    refusal to show above the form.
    """
    base = f"{PREFIX}/{program.issuer.slug}"
    return page(
        request,
        "console/confirm.html",
        program,
        section=section,
        action=base + action,
        cancel=base + cancel,
        heading=f"console.confirm.{question}",
        explain=f"console.confirm.{question}_explain",
        subject=subject,
        button=button or f"console.confirm.{question}_button",
        reason=reason,
        codes=codes or {},
        error=error,
        status_code=status_code,
    )


# ----------------------------------------------------------------------------- images

#: An uploaded image file (PNG or SVG for badges and issuers).
ImageFile = Annotated[UploadFile, File()]
#: The alt text an uploaded image must come with.
AltText = Annotated[str, Form(max_length=500)]


class ImageRefused(Exception):
    """An image upload the page refuses. ``errors`` holds every reason at once:
    ``alt_required`` (no alt text) and the image check's refusal, if any; ``error`` is
    the first; ``codes`` are their codes (``alt_required`` and the check's error code)."""

    def __init__(self, errors: list[str], codes: list[str] | None = None) -> None:
        super().__init__(errors[0])
        self.errors = errors
        self.error = errors[0]
        self.codes = codes or list(errors)

    def problems(self, lang: str, *, file_id: str, caption_id: str) -> list[dict[str, str]]:
        """Each reason in ``lang``, linked to the input to fix (``ui.refused``'s list)."""
        t = Translator(lang)
        out = []
        for code, message in zip(self.codes, self.errors, strict=True):
            if code == "alt_required":
                out.append({"text": t("forms.image.alt_required"), "field": caption_id})
            else:
                key = f"forms.image.{code}"
                text = t(key)
                out.append({"text": message if text == key else text, "field": file_id})
        return out


def _checked(data: bytes) -> None:
    """The image checks ``store_image`` makes, without storing anything."""
    if not data:
        raise BadgeworksError("the image is empty", code="input.empty")
    if sniff_image(data) == "image/png":
        checked_png(data)
    else:
        safe_svg(data)


def stored_image(ctx: ServiceContext, file: UploadFile, caption: str) -> tuple[str, str]:
    """Store an uploaded image that has its alt text: its SHA-256 and media type.

    No alt text, or a file the image store refuses, is an ``ImageRefused`` that names
    both problems when both apply (the image is then checked but not stored).
    """
    data = file.file.read(ctx.settings.max_upload_bytes + 1)
    if not caption.strip():
        errors, codes = ["alt_required"], ["alt_required"]
        try:
            if len(data) > ctx.settings.max_upload_bytes:
                store_image(ctx, data)  # refuses the size before anything is stored
            _checked(data)
        except BadgeworksError as exc:
            errors.append(exc.message)
            codes.append(exc.code)
        raise ImageRefused(errors, codes)
    try:
        return store_image(ctx, data)
    except BadgeworksError as exc:
        raise ImageRefused([exc.message], [exc.code]) from exc
