"""Public, token-free pages: hosted credentials, DID documents, blobs, issued achievements."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlmodel import select

from badgeworks.adapters.pdf_preview import PreviewCache
from badgeworks.db.models import Achievement, AchievementVersion, Deliverable, Issuer
from badgeworks.services.errors import NotFoundError
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.portfolio import pages as portfolio
from badgeworks.services.programs import achievements, issuers
from badgeworks.web.deps import ContextDep, Id, SessionDep
from badgeworks.web.negotiation import JSON_TYPES, choose
from badgeworks.web.routes.credential_page import credential_page

router = APIRouter(tags=["public"])

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Types shown inline; every other blob (HTML, SVG, XHTML, scripts…) is an attachment.
_INERT_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/csv",
        "text/plain",
    }
)


@router.get(
    "/credentials/{credential_id}",
    responses={
        200: {
            "content": {
                "application/vc+ld+json": {},
                "application/json": {},
                "text/html": {},
            },
            "description": "The exact signed credential (JSON) or a readable page (HTML).",
        }
    },
)
def hosted_credential(
    credential_id: str, request: Request, session: SessionDep, ctx: ContextDep
) -> Response:
    """A credential at its id URL: the exact signed bytes as JSON, or an HTML page.

    ``Accept: application/vc+ld+json`` or ``application/json`` (or a ``.json`` suffix)
    returns the stored bytes; a browser's ``Accept`` gets the page.
    """
    force_json = credential_id.endswith(".json")
    row = issuance.get_credential(session, credential_id.removesuffix(".json"))
    media_type = (
        "application/vc+ld+json"
        if force_json
        else choose(request.headers.get("accept"), (*JSON_TYPES, "text/html"))
    )
    headers = {"Vary": "Accept", "Cache-Control": "public, max-age=300"}
    if media_type != "text/html":
        return Response(row.document.encode("utf-8"), media_type=media_type, headers=headers)
    # The page shows live status and the candidate's current privacy choices: browsers and
    # shared caches must revalidate it every time (the signed bytes above never change).
    headers["Cache-Control"] = "no-cache"
    document = json.loads(row.document)
    rev = issuance.revocation(session, row.id)
    # The page itself (layout, checks, downloads, sharing) is built in credential_page;
    # ``view`` and ``revoked`` are passed through for the status display.
    return credential_page(
        request,
        session,
        ctx,
        row,
        headers=headers,
        view=_page_view(document),
        json_url=issuance.credential_url(ctx, row.id) + ".json",
        revoked=rev,
        lifecycle=lifecycle.state(session, ctx, row).as_dict(),
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _page_view(doc: dict[str, Any]) -> dict[str, Any]:
    """Plain data for the page, read from the stored credential only."""
    subject = doc.get("credentialSubject") or {}
    ach = subject.get("achievement") or {}
    issuer = doc.get("issuer") if isinstance(doc.get("issuer"), dict) else {"id": doc.get("issuer")}
    levels = {
        lv.get("id"): lv.get("name")
        for rd in _as_list(ach.get("resultDescription"))
        for lv in _as_list(rd.get("rubricCriterionLevel"))
    }
    descriptions = {rd.get("id"): rd.get("name") for rd in _as_list(ach.get("resultDescription"))}
    digests = {r.get("id"): r.get("digestMultibase") for r in _as_list(doc.get("relatedResource"))}
    return {
        "id": doc.get("id"),
        "name": doc.get("name") or ach.get("name"),
        "description": doc.get("description"),
        "valid_from": doc.get("validFrom"),
        "issuer": issuer,
        "achievement": ach,
        "image": ach.get("image"),
        "criteria": (ach.get("criteria") or {}).get("narrative"),
        "alignments": _as_list(ach.get("alignment")),
        "role": subject.get("role"),
        "source": subject.get("source"),
        "start": subject.get("activityStartDate"),
        "end": subject.get("activityEndDate"),
        "recipient_did": subject.get("id"),
        "hashed_identifiers": len(_as_list(subject.get("identifier"))),
        "results": [
            {
                "name": descriptions.get(r.get("resultDescription"), "Result"),
                "value": levels.get(r.get("achievedLevel"))
                or r.get("value")
                or r.get("status")
                or "",
            }
            for r in _as_list(subject.get("result"))
        ],
        "evidence": [
            {**e, "digest": digests.get(e.get("id"))} for e in _as_list(doc.get("evidence"))
        ],
        "proof": _as_list(doc.get("proof")),
    }


@router.get("/issuers/{slug}/did.json")
def did_document(slug: str, session: SessionDep) -> JSONResponse:
    """The did:web DID document of an issuer hosted here (every key, rotated ones too)."""
    issuer = issuers.get_issuer(session, slug)
    if issuer.did_method != "web":
        raise NotFoundError(f"the issuer {slug!r} uses did:key; it has no did:web document")
    return JSONResponse(
        issuers.did_document_for(session, issuer),
        media_type="application/did+json",
        headers={"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/blobs/{sha256}/preview.png", include_in_schema=False)
def pdf_preview(sha256: str, session: SessionDep, ctx: ContextDep) -> Response:
    """A picture of an uploaded PDF deliverable's first page (rendered once, in an
    isolated process: ``adapters.pdf_preview``); 404 when there is none to show."""
    is_pdf = (
        _SHA256.match(sha256)
        and session.exec(
            select(Deliverable.id).where(
                Deliverable.sha256 == sha256, Deliverable.media_type == "application/pdf"
            )
        ).first()
    )
    if not is_pdf or not ctx.blobs.exists(sha256):
        raise NotFoundError(f"there is no PDF {sha256!r:.80} to preview", code="preview.not_found")

    def load() -> bytes:
        with ctx.blobs.open(sha256) as fh:
            return fh.read(ctx.settings.max_upload_bytes + 1)

    png = PreviewCache(ctx.settings.data_dir / "previews").get(sha256, load)
    if png is None:
        raise NotFoundError(
            "this PDF could not be pictured; download it instead", code="preview.unavailable"
        )
    return Response(
        png,
        media_type="image/png",
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/blobs/{sha256}")
def blob(sha256: str, session: SessionDep, ctx: ContextDep) -> FileResponse:
    """An uploaded file by its SHA-256: immutable, so cached forever."""
    if not _SHA256.match(sha256) or not ctx.blobs.exists(sha256):
        raise NotFoundError(f"there is no file {sha256!r:.80}", code="blob.not_found")
    media_type = (
        session.exec(select(Deliverable.media_type).where(Deliverable.sha256 == sha256)).first()
        or session.exec(
            select(AchievementVersion.image_media_type).where(
                AchievementVersion.image_sha256 == sha256
            )
        ).first()
    )
    if (
        media_type is None
        and session.exec(select(Issuer.id).where(Issuer.image_sha256 == sha256)).first()
    ):
        media_type = "image/png"
    if media_type is None and portfolio.is_portfolio_photo(session, sha256):
        # A candidate's photo is served only at /p/{handle}/photo, which respects their
        # choices (a hidden portfolio, a hidden name); never by its digest.
        raise NotFoundError(f"there is no file {sha256!r:.80}", code="blob.not_found")
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
        # Uploaded files are someone else's content: never let them run as our origin.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Access-Control-Allow-Origin": "*",
    }
    base_type = (media_type or "").split(";")[0].strip().lower()
    if base_type not in _INERT_TYPES:
        # HTML, SVG, scripts and anything unknown: a download, never a page of our origin.
        headers["Content-Disposition"] = f'attachment; filename="{sha256[:16]}"'
    return FileResponse(
        ctx.blobs.path(sha256),
        media_type=media_type or "application/octet-stream",
        headers=headers,
    )


@router.get("/achievements/{achievement_id}/versions/{version}")
def achievement_version(
    achievement_id: Id, version: Id, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    """An issued achievement version as OB 3.0 JSON (unissued drafts are not public)."""
    row = achievements.get_version(session, achievement_id, version)
    if not achievements.is_issued(session, row):
        raise NotFoundError(
            f"achievement {achievement_id} version {version} is not public",
            code="achievement.not_found",
        )
    achievement = session.get(Achievement, achievement_id)
    assert achievement is not None
    issuer = issuers.get_issuer_by_id(session, achievement.issuer_id)
    return JSONResponse(achievements.achievement_json(ctx, issuer, row))


@router.get("/achievements/{achievement_id}/versions/{version}/{lang}")
def achievement_edition(
    achievement_id: Id, version: Id, lang: str, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    """A language edition of an issued achievement version, as OB 3.0 JSON."""
    return JSONResponse(
        achievements.public_edition_json(session, ctx, achievement_id, version, lang)
    )
