"""Downloads of a credential: baked PNG/SVG badges, the PDF certificate, QR codes.

All are public, like the credential's own URL: anyone the candidate gives the link to
can download and verify. Each download is derived from the stored, signed text; none
changes it. A revoked or suspended credential's images are stamped with its status in the
visitor's language, and its certificate is a notice instead (``services/portfolio``); so
that a change shows within about a minute, downloads are cached for 60 seconds, as the
status lists are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from badgeworks.adapters import qr
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.portfolio import badges, certificate, standing
from badgeworks.services.portfolio.cards import verify_url
from badgeworks.web.deps import ContextDep, SessionDep
from badgeworks.web.i18n import Translator
from badgeworks.web.pages import page_language

router = APIRouter(tags=["public"])

Scale = Annotated[int | None, Query(ge=1, le=qr.MAX_SCALE, description="Pixels per module.")]
Target = Annotated[
    Literal["page", "verify"],
    Query(description="Where the code points: the credential page or the public verifier."),
]

_CACHE = {"Cache-Control": "public, max-age=60", "X-Content-Type-Options": "nosniff"}
#: A withdrawn credential's images and certificate are worded in the visitor's language.
_VARY = {"Vary": "Accept-Language, Cookie"}


def _file_name(name: str) -> str:
    """A safe ASCII file name stem from the achievement name."""
    stem = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in name.lower())
    return "-".join(part for part in stem.split("-") if part)[:60] or "badge"


def _attachment(filename: str) -> dict[str, str]:
    return {**_CACHE, "Content-Disposition": f'attachment; filename="{filename}"'}


def _mark(request: Request, now: standing.Standing) -> str | None:
    """The word a withdrawn credential's images are stamped with, in the page language."""
    if now.state is None:
        return None
    return Translator(page_language(request))(f"standing.mark_{now.state}")


def _stem(name: str, row_id: str, now: standing.Standing) -> str:
    """A download's file name without extension; a withdrawn credential's says so."""
    suffix = f"-{now.state}" if now.state else ""
    return f"{_file_name(name)}-{row_id[:8]}{suffix}"


@router.get("/credentials/{credential_id}/badge.png", response_class=Response)
def baked_png(
    credential_id: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    """The badge image (PNG) with the signed credential baked in (OB 3.0 baking)."""
    row = issuance.get_credential(session, credential_id)
    name = badges.badge_name(row)
    now = standing.standing(session, row)
    return Response(
        badges.baked_png(session, ctx, row, name, mark=_mark(request, now)),
        media_type="image/png",
        headers={**_attachment(f"{_stem(name, row.id, now)}.png"), **_VARY},
    )


@router.get("/credentials/{credential_id}/badge.svg", response_class=Response)
def baked_svg(
    credential_id: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    """The badge image (SVG) with the signed credential baked in (OB 3.0 baking)."""
    row = issuance.get_credential(session, credential_id)
    name = badges.badge_name(row)
    now = standing.standing(session, row)
    return Response(
        badges.baked_svg(session, ctx, row, name, mark=_mark(request, now)).encode("utf-8"),
        media_type="image/svg+xml",
        headers={
            **_attachment(f"{_stem(name, row.id, now)}.svg"),
            **_VARY,
            # Served from our origin: an SVG must never run script here.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:; sandbox",
        },
    )


@router.get("/credentials/{credential_id}/preview.png", response_class=Response)
def preview_png(
    credential_id: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    """The image link previews show (Open Graph / Twitter card); not baked."""
    row = issuance.get_credential(session, credential_id)
    mark = _mark(request, standing.standing(session, row))
    return Response(
        badges.og_image_png(session, ctx, row, badges.badge_name(row), mark=mark),
        media_type="image/png",
        headers={**_CACHE, **_VARY},
    )


@router.get("/credentials/{credential_id}/certificate.pdf", response_class=Response)
def certificate_pdf(
    credential_id: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    """A printable PDF certificate (in the page language) with a QR code to the credential;
    for a revoked or suspended credential, a notice saying so, when and why, instead."""
    row = issuance.get_credential(session, credential_id)
    lang = page_language(request)
    data = certificate.certificate_pdf(session, ctx, row, t=Translator(lang), lang=lang)
    stem = _stem(badges.badge_name(row), row.id, standing.standing(session, row))
    return Response(
        data,
        media_type="application/pdf",
        headers={
            **_attachment(f"{stem}-{lang}.pdf"),
            "Vary": "Accept-Language, Cookie",
        },
    )


#: The image kinds a QR code is downloaded as: each has its own path, ``qr.<kind>``.
QR_KINDS = ("png", "svg")


def qr_response(data: str, kind: str, scale: int | None, title: str, stem: str) -> Response:
    """A QR code download (PNG or SVG) at ``scale`` pixels per module."""
    if kind == "svg":
        return Response(
            qr.svg(data, scale=scale, title=title).encode("utf-8"),
            media_type="image/svg+xml",
            headers={
                **_CACHE,
                "Content-Disposition": f'inline; filename="{stem}.svg"',
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )
    return Response(
        qr.png(data, scale=scale),
        media_type="image/png",
        headers={**_CACHE, "Content-Disposition": f'inline; filename="{stem}.png"'},
    )


def add_qr_routes(
    to: APIRouter,
    path: str,
    name: str,
    endpoint_for: Callable[[str], Callable[..., Response]],
    *,
    include_in_schema: bool = True,
) -> None:
    """Add ``{path}/qr.png`` and ``{path}/qr.svg`` to ``to``, named ``{name}_png`` and
    ``{name}_svg``, each answered by ``endpoint_for(kind)``."""
    for kind in QR_KINDS:
        to.add_api_route(
            f"{path}/qr.{kind}",
            endpoint_for(kind),
            methods=["GET"],
            response_class=Response,
            name=f"{name}_{kind}",
            include_in_schema=include_in_schema,
        )


def _credential_qr(kind: str) -> Callable[..., Response]:
    def credential_qr(
        credential_id: str,
        session: SessionDep,
        ctx: ContextDep,
        scale: Scale = None,
        target: Target = "page",
    ) -> Response:
        row = issuance.get_credential(session, credential_id)
        url = issuance.credential_url(ctx, row.id)
        data = verify_url(ctx, url) if target == "verify" else url
        return qr_response(data, kind, scale, data, f"qr-{row.id[:8]}")

    credential_qr.__doc__ = (
        f"A QR code to the credential page (or ``target=verify``: the verifier), {kind.upper()}."
    )
    return credential_qr


add_qr_routes(router, "/credentials/{credential_id}", "credential_qr", _credential_qr)
