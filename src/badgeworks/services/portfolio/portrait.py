"""The candidate's portfolio photo: storing, describing, removing and serving it.

``photos`` re-encodes the upload; this module keeps the result as a blob, with its
required alt text, deletes the file it replaces (unless something else uses the same
bytes) and hands it out only while the portfolio shows the candidate's name.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.models import AchievementVersion, Candidate, Deliverable, Issuer
from badgeworks.db.portfolio import Portfolio
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import NotFoundError, ValidationFailed
from badgeworks.services.portfolio import photos
from badgeworks.services.portfolio.store import commit_change, get_or_create

PHOTO_CAPTION_MAX = 300
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def photo_max_bytes(ctx: ServiceContext) -> int:
    """The largest photo upload accepted (the smaller of the two size settings)."""
    return min(ctx.settings.portfolio_photo_max_bytes, ctx.settings.max_upload_bytes)


def check_caption(value: Any) -> str:
    """The photo's alt text, stripped; required (like an achievement image's)."""
    caption = value.strip() if isinstance(value, str) else ""
    if not caption:
        raise ValidationFailed(
            "describe the photo for people who cannot see it (alt text): it is required",
            code="portfolio.photo_alt_required",
        )
    if len(caption) > PHOTO_CAPTION_MAX:
        raise ValidationFailed(
            f"the photo's alt text is at most {PHOTO_CAPTION_MAX} characters",
            code="portfolio.photo_alt_too_long",
        )
    if not caption.isprintable():
        raise ValidationFailed(
            "the photo's alt text may not contain control characters",
            code="portfolio.photo_alt_invalid",
        )
    return caption


def _photo_in_use(session: Session, sha256: str) -> bool:
    """True if any row refers to the blob (another portfolio, a deliverable, an image)."""
    return any(
        session.exec(stmt).first() is not None
        for stmt in (
            select(Portfolio.id).where(Portfolio.photo_sha256 == sha256),
            select(Deliverable.id).where(Deliverable.sha256 == sha256),
            select(AchievementVersion.id).where(AchievementVersion.image_sha256 == sha256),
            select(Issuer.id).where(Issuer.image_sha256 == sha256),
        )
    )


def _release_photo(session: Session, ctx: ServiceContext, sha256: str | None) -> None:
    """Delete a replaced or removed photo's file, unless something else still uses it."""
    if sha256 and not _photo_in_use(session, sha256):
        ctx.blobs.delete(sha256)


def set_photo(
    session: Session,
    ctx: ServiceContext,
    candidate: Candidate,
    data: bytes,
    caption: Any,
    *,
    actor: str,
) -> Portfolio:
    """Store the candidate's photo, re-encoded without metadata (``services.photos``).

    The alt text is checked first and the image fully processed before anything is
    written, so a refused upload stores nothing. The previous photo's file is deleted.
    """
    text = check_caption(caption)
    clean = photos.process(data, max_bytes=photo_max_bytes(ctx))
    row = get_or_create(session, candidate)
    old = row.photo_sha256
    row.photo_sha256 = ctx.blobs.put(clean)
    row.photo_caption = text
    commit_change(
        session,
        candidate,
        row,
        "portfolio.photo_set",
        actor=actor,
        now=ctx.clock(),
        detail={"bytes": len(clean)},
    )
    if old != row.photo_sha256:
        _release_photo(session, ctx, old)
    return row


def set_photo_caption(
    session: Session, candidate: Candidate, caption: Any, *, actor: str, now: datetime
) -> Portfolio:
    """Change the alt text of the photo already there (``portfolio.no_photo`` if none)."""
    text = check_caption(caption)
    row = get_or_create(session, candidate)
    if not row.photo_sha256:
        raise ValidationFailed(
            "there is no photo to describe; choose one", code="portfolio.no_photo"
        )
    if row.photo_caption != text:
        row.photo_caption = text
        commit_change(session, candidate, row, "portfolio.photo_caption", actor=actor, now=now)
    return row


def remove_photo(
    session: Session, ctx: ServiceContext, candidate: Candidate, *, actor: str
) -> Portfolio:
    """Remove the photo and delete its file; with no photo, nothing is written."""
    row = get_or_create(session, candidate, create=False)
    old = row.photo_sha256
    if row.id is None or not old:
        return row
    row.photo_sha256 = None
    row.photo_caption = None
    commit_change(session, candidate, row, "portfolio.photo_removed", actor=actor, now=ctx.clock())
    _release_photo(session, ctx, old)
    return row


def photo_bytes(ctx: ServiceContext, row: Portfolio) -> bytes | None:
    """The stored photo's bytes, or None (no photo, or its file is missing)."""
    sha = row.photo_sha256
    if not sha or not _SHA256.match(sha):
        return None
    try:
        with ctx.blobs.open(sha) as fh:
            return fh.read()
    except (FileNotFoundError, BadgeworksError):
        return None


def public_photo(ctx: ServiceContext, row: Portfolio) -> bytes | None:
    """The photo visitors may see: only while the name shows (the page's visibility is the
    caller's ``find_by_handle``)."""
    return photo_bytes(ctx, row) if row.show_name else None


def served_photo(ctx: ServiceContext, row: Portfolio) -> tuple[bytes, str]:
    """The photo visitors may see and its media type; ``portfolio.photo_not_found`` if none.

    The caller has found the portfolio visible (``store.find_by_handle``).
    """
    data = public_photo(ctx, row)
    if data is None:
        raise NotFoundError("this portfolio shows no photo", code="portfolio.photo_not_found")
    try:
        return data, photos.sniff(data)
    except BadgeworksError:  # pragma: no cover - only our own re-encoded JPEGs are stored
        raise NotFoundError(
            "this portfolio shows no photo", code="portfolio.photo_not_found"
        ) from None


def is_portfolio_photo(session: Session, sha256: str) -> bool:
    """True if the blob is someone's portfolio photo (served only at ``/p/{handle}/photo``)."""
    stmt = select(Portfolio.id).where(Portfolio.photo_sha256 == sha256)
    return session.exec(stmt).first() is not None
