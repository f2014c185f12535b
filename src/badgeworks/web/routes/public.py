"""Public, token-free pages: hosted credentials, DID documents, blobs, issued achievements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements import workflow
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.portfolio import files
from badgeworks.services.portfolio.page_memo import NOT_KEPT, Freshness
from badgeworks.services.programs import achievements, issuers
from badgeworks.web.deps import ContextDep, Id, SessionDep, in_own_session
from badgeworks.web.negotiation import hosted
from badgeworks.web.page_memo import memoized
from badgeworks.web.pages import render
from badgeworks.web.routes.credential_page import credential_page

router = APIRouter(tags=["public"])


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
async def hosted_credential(credential_id: str, request: Request, ctx: ContextDep) -> Response:
    """A credential at its id URL: the exact signed bytes as JSON, or an HTML page.

    ``Accept: application/vc+ld+json`` or ``application/json`` (or a ``.json`` suffix)
    returns the stored bytes; a browser's ``Accept`` gets the page. Either is read in one
    worker-thread call, which opens and closes its own session (a ``SessionDep`` and a
    plain ``def`` would cost three hand-offs between the event loop and the threads).
    """
    return await run_in_threadpool(
        in_own_session,
        request,
        lambda session: _hosted_credential(credential_id, request, session, ctx),
    )


def _hosted_credential(
    credential_id: str, request: Request, session: SessionDep, ctx: ServiceContext
) -> Response:
    answer = hosted(request, credential_id)
    if not answer.is_page:
        return answer.signed(issuance.get_credential(session, answer.id).document)

    def page() -> tuple[Response, Freshness]:
        if workflow.is_reserved(session, answer.id):
            # The id is reserved (a mentor's invitation, or the console's issue preview,
            # names it) and a mentor may have endorsed the work already: the
            # endorsement's "Endorses" link points here, so say the credential is still
            # to come (never kept: issuing it changes what this address shows).
            pending = render(
                request,
                "credential_pending.html",
                headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
                endorsed=workflow.endorsed_before_issue(session, answer.id),
            )
            return pending, NOT_KEPT
        row = issuance.get_credential(session, answer.id)
        # The page shows live status and the candidate's current privacy choices: browsers
        # and shared caches must revalidate it every time (the signed bytes never change).
        headers = {**answer.headers, "Cache-Control": "no-cache"}
        # The page itself (layout, checks, downloads, sharing) is built in credential_page;
        # ``revoked`` and ``lifecycle`` are passed through for the status display.
        return credential_page(
            request,
            session,
            ctx,
            row,
            headers=headers,
            json_url=issuance.credential_url(ctx, row.id) + ".json",
            revoked=issuance.revocation(session, row.id),
            lifecycle=lifecycle.state(session, ctx, row).as_dict(),
        )

    # An anonymous view is answered from the kept finished page while nothing it shows
    # has changed (``web/page_memo.py``).
    return memoized(request, session, ctx, page)


def did_response(document: dict[str, Any]) -> JSONResponse:
    """A did:web DID document (an issuer's, a mentor's, a host's): public, cached briefly."""
    return JSONResponse(
        document,
        media_type="application/did+json",
        headers={"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"},
    )


@router.get("/issuers/{slug}/did.json")
def did_document(slug: str, session: SessionDep) -> JSONResponse:
    """The did:web DID document of an issuer hosted here (every key, rotated ones too)."""
    return did_response(issuers.public_did_document(session, slug))


@router.get("/blobs/{sha256}/preview.png", include_in_schema=False)
def pdf_preview(sha256: str, session: SessionDep, ctx: ContextDep) -> Response:
    """A picture of an uploaded PDF deliverable's first page (rendered once, in an
    isolated process: ``adapters.pdf_preview``); 404 when there is none to show."""
    png = files.pdf_preview(session, ctx, sha256)
    return Response(
        png,
        media_type="image/png",
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


#: Bytes handed to the client at a time when a blob is streamed from the object store.
_BLOB_CHUNK = 256 * 1024


@router.get("/blobs/{sha256}", response_class=Response)
def blob(sha256: str, session: SessionDep, ctx: ContextDep) -> Response:
    """An uploaded file by its SHA-256: immutable, so cached forever.

    From an object store it is streamed once checked against its digest or, with
    ``BADGEWORKS_STORAGE_SIGNED_URLS``, redirected to a short-lived signed URL of it
    (docs/storage.md); a file whose bytes no longer match is refused (503 blob.corrupt).
    """
    found = files.served_file(session, ctx, sha256)
    attachment_name = sha256[:16] if found.attachment else None
    if ctx.settings.storage_signed_urls:
        url = ctx.blobs.signed_url(
            sha256,
            media_type=found.media_type,
            attachment_name=attachment_name,
            seconds=ctx.settings.storage_signed_url_seconds,
        )
        if url is not None:
            # The link expires, so the redirect itself is never cached.
            return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
        # Uploaded files are someone else's content: never let them run as our origin.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Access-Control-Allow-Origin": "*",
    }
    if found.attachment:
        # HTML, SVG, scripts and anything unknown: a download, never a page of our origin.
        headers["Content-Disposition"] = f'attachment; filename="{attachment_name}"'
    if found.path is not None:
        return FileResponse(found.path, media_type=found.media_type, headers=headers)
    handle = files.open_served(ctx, found)
    headers["Content-Length"] = str(handle.seek(0, 2))
    handle.seek(0)

    def chunks() -> Iterator[bytes]:
        with handle:
            yield from iter(lambda: handle.read(_BLOB_CHUNK), b"")

    return StreamingResponse(chunks(), media_type=found.media_type, headers=headers)


@router.get("/achievements/{achievement_id}/versions/{version}")
def achievement_version(
    achievement_id: Id, version: Id, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    """An issued achievement version as OB 3.0 JSON (unissued drafts are not public)."""
    return JSONResponse(achievements.public_version_json(session, ctx, achievement_id, version))


@router.get("/achievements/{achievement_id}/versions/{version}/{lang}")
def achievement_edition(
    achievement_id: Id, version: Id, lang: str, session: SessionDep, ctx: ContextDep
) -> JSONResponse:
    """A language edition of an issued achievement version, as OB 3.0 JSON."""
    return JSONResponse(
        achievements.public_edition_json(session, ctx, achievement_id, version, lang)
    )
