"""Uploaded files served by their digest (``/blobs/{sha256}``), and pictures of PDFs.

A blob is a deliverable, an achievement's or a program's image, or a candidate's photo.
It is served with the media type recorded where it was uploaded; a type that could run as
a page of our origin (HTML, SVG, scripts, anything unknown) is served as a download. A
candidate's photo is never served by its digest, only at ``/p/{handle}/photo``, which
respects their choices (a hidden portfolio, a hidden name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlmodel import Session, select

from badgeworks.adapters.pdf_preview import PreviewCache
from badgeworks.db.models import AchievementVersion, Deliverable, Issuer
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import NotFoundError
from badgeworks.services.portfolio.portrait import is_portfolio_photo

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Types shown inline; every other blob (HTML, SVG, XHTML, scripts…) is an attachment.
INERT_TYPES = frozenset(
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


@dataclass(frozen=True)
class ServedFile:
    """A stored file that may be served: where it is, as what, and whether inline."""

    sha256: str
    #: The local file; None when the blob is in an object store (read it with ``open``).
    path: Path | None
    media_type: str
    #: True for a type that must be downloaded, never shown as a page of our origin.
    attachment: bool


def _media_type(session: Session, sha256: str) -> str | None:
    """The recorded media type: a deliverable's, an achievement image's, a program's PNG."""
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
    return media_type


def served_file(session: Session, ctx: ServiceContext, sha256: str) -> ServedFile:
    """The file ``sha256`` as ``/blobs/`` serves it; ``blob.not_found`` if it may not be."""
    if not _SHA256.match(sha256) or not ctx.blobs.exists(sha256):
        raise NotFoundError(f"there is no file {sha256!r:.80}", code="blob.not_found")
    media_type = _media_type(session, sha256)
    if media_type is None and is_portfolio_photo(session, sha256):
        raise NotFoundError(f"there is no file {sha256!r:.80}", code="blob.not_found")
    base_type = (media_type or "").split(";")[0].strip().lower()
    return ServedFile(
        sha256=sha256,
        path=ctx.blobs.local_path(sha256),
        media_type=media_type or "application/octet-stream",
        attachment=base_type not in INERT_TYPES,
    )


def open_served(ctx: ServiceContext, found: ServedFile) -> BinaryIO:
    """The served file's bytes, checked against its digest (``blob.corrupt`` if they no
    longer match); ``blob.not_found`` if it went away since ``served_file``."""
    try:
        return ctx.blobs.open(found.sha256)
    except FileNotFoundError:
        raise NotFoundError(
            f"there is no file {found.sha256!r:.80}", code="blob.not_found"
        ) from None


def pdf_preview(session: Session, ctx: ServiceContext, sha256: str) -> bytes:
    """A PNG of an uploaded PDF deliverable's first page (rendered once, in an isolated
    process: ``adapters.pdf_preview``); ``preview.not_found`` when there is none to show,
    ``preview.unavailable`` when the PDF could not be pictured."""
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
    return png
