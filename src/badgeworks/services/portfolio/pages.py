"""Portfolios: a candidate's permanent page (``/p/{handle}``) and what it shows.

The candidate chooses a handle (or keeps the unguessable default), whether the page is
``public`` (listed, indexable), ``unlisted`` (anyone with the link; ``noindex``) or
``hidden`` (404), whether their name shows, a headline, an optional photo (with its alt
text) and up to 5 profile links, and the visibility of each credential and deliverable.
The photo and the links are personal details, like the name: they show only while the
name does. A credential left off the portfolio still verifies at its own URL: its
page, JSON and downloads stay reachable for anyone the candidate gives the link to.

A portfolio never expires on a timer. Credentials may (``validUntil``), and the pages say
so about the credential, never about the link.

Until candidates have accounts, the candidate's issuer edits these choices on their
behalf through the API (``PATCH /api/v1/candidates/{id}/portfolio``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from badgeworks.core.credential import check_digest_multibase, parse_xsd_datetime
from badgeworks.core.errors import BadgeworksError
from badgeworks.core.verification.credential import verify
from badgeworks.core.verification.report import Check, Report
from badgeworks.db.models import (
    AchievementEdition,
    AchievementVersion,
    Candidate,
    Credential,
    Deliverable,
    Issuer,
)
from badgeworks.db.portfolio import Portfolio, PortfolioItem, default_handle
from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements import workflow as endorsement_service
from badgeworks.services.endorsements.markdown import render as render_markdown
from badgeworks.services.errors import ConflictError, NotFoundError, ValidationFailed
from badgeworks.services.infra import audit
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.models import Strict
from badgeworks.services.portfolio import photos, sharing
from badgeworks.services.programs import achievements
from badgeworks.services.verification import pipeline as verification
from badgeworks.services.verification.resolver import reading_with

Visibility = Literal["public", "unlisted", "hidden"]

HANDLE_MIN, HANDLE_MAX = 3, 40
# ASCII lowercase letters, digits and single hyphens, not at either end. Only ASCII, so a
# handle cannot be a look-alike of another (Cyrillic "а" for Latin "a", Kelvin "K"…).
_HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,38}[a-z0-9]$")
#: Handles that would read as ours, or clash with paths and roles.
RESERVED_HANDLES = frozenset(
    [
        "about",
        "admin",
        "administrator",
        "api",
        "app",
        "badge",
        "badges",
        "badgeworks",
        "blob",
        "blobs",
        "contact",
        "credential",
        "credentials",
        "docs",
        "download",
        "downloads",
        "help",
        "home",
        "issuer",
        "issuers",
        "login",
        "logout",
        "me",
        "mentor",
        "moderator",
        "null",
        "official",
        "p",
        "portfolio",
        "portfolios",
        "privacy",
        "root",
        "security",
        "settings",
        "signin",
        "signup",
        "static",
        "staff",
        "status",
        "support",
        "system",
        "terms",
        "undefined",
        "verify",
        "verifier",
        "www",
    ]
)
#: A few words no one may put in a permanent URL on our domain (checked as substrings).
_ABUSIVE = ("fuck", "shit", "cunt", "nigger", "faggot", "puta", "mierda", "nazi")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"})


class HandleError(ValidationFailed):
    """A handle that is malformed, reserved or abusive."""

    code = "portfolio.handle_invalid"


def check_handle(value: Any) -> str:
    """The handle in canonical (lowercase) form; ``HandleError`` if it cannot be one.

    The ASCII check comes before lowercasing: ``"\\u212a".lower()`` is a Latin ``k``.
    """
    if not isinstance(value, str) or not value.isascii():
        raise HandleError(
            "a handle uses only the letters a-z, digits and hyphens (no other characters, "
            "so no handle can imitate another)"
        )
    handle = value.strip().lower()
    if not HANDLE_MIN <= len(handle) <= HANDLE_MAX:
        raise HandleError(f"a handle is {HANDLE_MIN} to {HANDLE_MAX} characters long")
    if not _HANDLE.match(handle):
        raise HandleError(
            f"the handle {handle!r} is not allowed: use a-z, 0-9 and single hyphens, "
            "starting and ending with a letter or digit"
        )
    if handle in RESERVED_HANDLES:
        raise HandleError(f"the handle {handle!r} is reserved", code="portfolio.handle_reserved")
    squashed = handle.replace("-", "")
    if any(word in squashed for word in _ABUSIVE):
        raise HandleError(f"the handle {handle!r} is not allowed", code="portfolio.handle_abusive")
    return handle


# ------------------------------------------------------------------------------ profile links

MAX_LINKS = 5
LINK_LABEL_MAX = 60
LINK_URL_MAX = 300
PHOTO_CAPTION_MAX = 300
# No whitespace, control characters, quotes or angle brackets anywhere in an address.
_URL_CHARS = re.compile(r"^[^\s\x00-\x1f\x7f\"'<>\\`]+$")
_MAILTO = re.compile(r"^mailto:[^@\s?#/]+@[^@\s?#/]+\.[^@\s?#/]+$", re.IGNORECASE)
_HOSTNAME = re.compile(r"^[^\s@:/?#]+$")


def check_link_url(value: str) -> str:
    """``value`` if it is an ``https://`` address with a host, or ``mailto:`` an address.

    Anything else is refused (``javascript:``, ``data:``, plain ``http:``, relative paths,
    addresses with a user name before the host, which can disguise where a link goes).
    """
    if not _URL_CHARS.match(value):
        raise ValueError("a link's address may not contain spaces, quotes or control characters")
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if scheme == "mailto":
        if not _MAILTO.match(value):
            raise ValueError("a mailto: link is mailto: and one email address, nothing else")
        return "mailto:" + value[len("mailto:") :]
    if scheme != "https":
        raise ValueError("a link's address must start with https:// (or be mailto:)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise ValueError("the link's address is not a valid URL") from exc
    if not value.lower().startswith("https://") or not parts.hostname:
        raise ValueError("a link's address must be https:// and a host name")
    if "@" in parts.netloc:
        raise ValueError("a link's address may not have a user name before the host")
    if not _HOSTNAME.match(parts.hostname):
        raise ValueError("a link's address must name its host (no IP version 6 address)")
    return "https://" + value[len("https://") :]


def _check_label(value: str) -> str:
    if not value.isprintable():
        raise ValueError("a link's label may not contain control characters")
    return value


LinkLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=LINK_LABEL_MAX),
    AfterValidator(_check_label),
]
LinkUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=LINK_URL_MAX),
    AfterValidator(check_link_url),
]


class ProfileLink(Strict):
    """One profile link: a label (``GitHub``) and an https: or mailto: address."""

    label: LinkLabel
    url: LinkUrl


# ------------------------------------------------------------------------------ API models

Headline = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class PortfolioUpdate(Strict):
    """The candidate's choices; every field optional, unknown fields refused."""

    handle: Annotated[str, StringConstraints(max_length=200)] | None = None
    visibility: Visibility | None = None
    show_name: bool | None = None
    headline: Headline | None = None
    credentials: dict[Annotated[str, StringConstraints(max_length=64)], Visibility] | None = Field(
        default=None, max_length=500
    )
    deliverables: dict[Annotated[str, StringConstraints(max_length=64)], Visibility] | None = Field(
        default=None, max_length=2000
    )
    #: Replaces every profile link; ``[]`` or ``null`` removes them all.
    links: list[ProfileLink] | None = Field(default=None, max_length=MAX_LINKS)


class PortfolioPublic(BaseModel):
    """What the API returns about a portfolio."""

    candidate_id: int
    handle: str
    url: str
    visibility: Visibility
    show_name: bool
    headline: str | None
    #: Where the photo is served (``/p/{handle}/photo``) while the name shows; None: no photo.
    photo_url: str | None = None
    photo_caption: str | None = None
    links: list[ProfileLink] = []
    credentials: dict[str, Visibility]
    deliverables: dict[str, Visibility]


# ------------------------------------------------------------------------------ storage


def portfolio_url(ctx: ServiceContext, portfolio: Portfolio) -> str:
    """The permanent URL of a portfolio."""
    return f"{ctx.base_url}/p/{portfolio.handle}"


def find_for_candidate(session: Session, candidate_id: int) -> Portfolio | None:
    """The candidate's portfolio row, if one was made."""
    return session.exec(select(Portfolio).where(Portfolio.candidate_id == candidate_id)).first()


def get_or_create(session: Session, candidate: Candidate, *, create: bool = True) -> Portfolio:
    """The candidate's portfolio (made with the candidate since migration 0011).

    Kept as "get or create" for safety: a row missing anyway is made with an unguessable
    handle. With ``create=False`` (a read, which must not write) such a row is returned
    unsaved, with the defaults.
    """
    existing = find_for_candidate(session, candidate.id or 0)
    if existing is not None:
        return existing
    if not create:
        return Portfolio(candidate_id=candidate.id or 0, handle=default_handle())
    for _ in range(5):
        row = Portfolio(candidate_id=candidate.id or 0, handle=default_handle())
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            # Another request made it at the same moment (or, astronomically rarely, the
            # random handle is taken): take theirs, or try a new handle.
            session.rollback()
            existing = find_for_candidate(session, candidate.id or 0)
            if existing is not None:
                return existing
            continue
        session.refresh(row)
        return row
    raise ConflictError("could not allocate a portfolio handle; try again")  # pragma: no cover


def find_by_handle(session: Session, handle: str) -> Portfolio:
    """A visible portfolio by handle; unknown, malformed or hidden ones are all 404."""
    try:
        canonical = check_handle(handle)
    except HandleError:
        canonical = None
    row = (
        session.exec(select(Portfolio).where(Portfolio.handle == canonical)).first()
        if canonical
        else None
    )
    if row is None or row.visibility == "hidden":
        raise NotFoundError(f"there is no portfolio {handle!r:.60}", code="portfolio.not_found")
    return row


def item_visibility(session: Session, candidate_id: int) -> dict[tuple[str, str], str]:
    """Every explicit choice, keyed by ``(kind, ref)``; absent means ``public``."""
    stmt = select(PortfolioItem).where(PortfolioItem.candidate_id == candidate_id)
    return {(i.kind, i.ref): i.visibility for i in session.exec(stmt)}


def candidate_credentials(session: Session, candidate_id: int) -> list[Credential]:
    """The candidate's credentials, newest first."""
    stmt = (
        select(Credential)
        .where(Credential.candidate_id == candidate_id)
        .order_by(col(Credential.issued_at).desc(), col(Credential.id))
    )
    return list(session.exec(stmt))


def _candidate_deliverable_ids(session: Session, candidate_id: int) -> set[str]:
    from badgeworks.db.models import Project

    stmt = (
        select(Deliverable.id)
        .join(Project, col(Project.id) == col(Deliverable.project_id))
        .where(Project.candidate_id == candidate_id)
    )
    return {str(i) for i in session.exec(stmt)}


def to_public(
    session: Session, ctx: ServiceContext, candidate: Candidate, row: Portfolio
) -> PortfolioPublic:
    """The API view: the page settings and every credential's and deliverable's visibility."""
    choices = item_visibility(session, candidate.id or 0)
    creds = {
        c.id: choices.get(("credential", c.id), "public")
        for c in candidate_credentials(session, candidate.id or 0)
    }
    delivs = {
        d: choices.get(("deliverable", d), "public")
        for d in sorted(_candidate_deliverable_ids(session, candidate.id or 0), key=int)
    }
    return PortfolioPublic(
        candidate_id=candidate.id or 0,
        handle=row.handle,
        url=portfolio_url(ctx, row),
        visibility=row.visibility,  # type: ignore[arg-type]
        show_name=row.show_name,
        headline=row.headline,
        photo_url=f"{portfolio_url(ctx, row)}/photo" if row.photo_sha256 else None,
        photo_caption=row.photo_caption if row.photo_sha256 else None,
        links=[ProfileLink.model_validate(link) for link in stored_links(row)],
        credentials=creds,  # type: ignore[arg-type]
        deliverables=delivs,  # type: ignore[arg-type]
    )


def update(
    session: Session, candidate: Candidate, data: PortfolioUpdate, *, actor: str, now: datetime
) -> Portfolio:
    """Apply the candidate's choices; all or nothing."""
    row = get_or_create(session, candidate)
    cid = candidate.id or 0
    changes = data.model_dump(exclude_unset=True)
    if data.handle is not None:
        handle = check_handle(data.handle)
        taken = session.exec(
            select(Portfolio.id).where(Portfolio.handle == handle, Portfolio.id != row.id)
        ).first()
        if taken is not None:
            raise ConflictError(
                f"the handle {handle!r} is taken; choose another", code="portfolio.handle_taken"
            )
        row.handle = handle
    if data.visibility is not None:
        row.visibility = data.visibility
    if data.show_name is not None:
        row.show_name = data.show_name
    if "headline" in changes:
        row.headline = data.headline or None
    if "links" in changes:
        row.links = [link.model_dump() for link in data.links or []] or None
    wanted: list[tuple[str, str, str]] = []
    if data.credentials:
        own = {c.id for c in candidate_credentials(session, cid)}
        unknown = sorted(set(data.credentials) - own)
        if unknown:
            raise ValidationFailed(
                f"credentials: {unknown[0]!r:.60} is not one of this candidate's credentials",
                code="portfolio.unknown_item",
            )
        wanted += [("credential", k, v) for k, v in data.credentials.items()]
    if data.deliverables:
        own = _candidate_deliverable_ids(session, cid)
        unknown = sorted(set(data.deliverables) - own)
        if unknown:
            raise ValidationFailed(
                f"deliverables: {unknown[0]!r:.60} is not one of this candidate's deliverables",
                code="portfolio.unknown_item",
            )
        wanted += [("deliverable", k, v) for k, v in data.deliverables.items()]
    existing = {
        (i.kind, i.ref): i
        for i in session.exec(select(PortfolioItem).where(PortfolioItem.candidate_id == cid))
    }
    for kind, ref, vis in wanted:
        item = existing.get((kind, ref)) or PortfolioItem(candidate_id=cid, kind=kind, ref=ref)
        item.visibility = vis
        session.add(item)
    row.updated_at = now
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="portfolio.update",
        issuer_id=candidate.issuer_id,
        target=f"candidate:{cid}",
        detail={"fields": sorted(changes)},
        now=now,
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConflictError(
            "the handle was taken by another request at the same time; choose another",
            code="portfolio.handle_taken",
        ) from None
    session.refresh(row)
    return row


def stored_links(row: Portfolio) -> list[dict[str, str]]:
    """The row's profile links, re-checked (a stored value that no longer passes is left out)."""
    out: list[dict[str, str]] = []
    for item in (row.links or [])[:MAX_LINKS]:
        try:
            link = ProfileLink.model_validate(item)
        except ValueError:
            continue
        out.append({"label": link.label, "url": link.url})
    return out


# ------------------------------------------------------------------------------ photo


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
    row.updated_at = ctx.clock()
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="portfolio.photo_set",
        issuer_id=candidate.issuer_id,
        target=f"candidate:{candidate.id or 0}",
        detail={"bytes": len(clean)},
        now=ctx.clock(),
    )
    session.commit()
    session.refresh(row)
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
        row.updated_at = now
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="portfolio.photo_caption",
            issuer_id=candidate.issuer_id,
            target=f"candidate:{candidate.id or 0}",
            now=now,
        )
        session.commit()
        session.refresh(row)
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
    row.updated_at = ctx.clock()
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="portfolio.photo_removed",
        issuer_id=candidate.issuer_id,
        target=f"candidate:{candidate.id or 0}",
        now=ctx.clock(),
    )
    session.commit()
    session.refresh(row)
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


def is_portfolio_photo(session: Session, sha256: str) -> bool:
    """True if the blob is someone's portfolio photo (served only at ``/p/{handle}/photo``)."""
    stmt = select(Portfolio.id).where(Portfolio.photo_sha256 == sha256)
    return session.exec(stmt).first() is not None


# ------------------------------------------------------------------------------ views


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def safe_href(value: Any) -> str | None:
    """``value`` if it is an http(s) URL we may put in an ``href``, else None."""
    if isinstance(value, str) and re.match(r"^https?://[^\s\"'<>]+$", value):
        return value
    return None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_xsd_datetime(value)
    except (BadgeworksError, ValueError):
        return None


@dataclass(frozen=True)
class Status:
    """The server-side status summary shown next to a credential."""

    state: str  # valid, revoked, expired, not_yet_valid, invalid
    signature_ok: bool
    revoked_at: datetime | None = None
    reason: str | None = None
    valid_until: datetime | None = None


def credential_status(
    session: Session, ctx: ServiceContext, row: Credential, doc: dict[str, Any]
) -> Status:
    """Check the stored credential now: its proof and structure, revocation and dates."""
    with reading_with(session):  # hosted keys on this request's connection, not a second one
        report = verify(doc, loader=ctx.loader, now=ctx.clock())
    return _status_from_report(session, ctx, row, doc, report)


def _status_from_report(
    session: Session, ctx: ServiceContext, row: Credential, doc: dict[str, Any], report: Report
) -> Status:
    # The report also carries one check per embedded endorsement, which the credential
    # card shows next to each endorsement, so the card verifies the credential only once.
    now = ctx.clock()
    failed = {c.check for c in report.checks if c.outcome == "fail"}
    # Dates and status are reported separately below; the rest must pass.
    signature_ok = not (failed - {"validity", "status", "endorsement"})
    # A check that could not run (the database was busy) says nothing against the badge.
    unchecked = any(
        c.outcome == "indeterminate" and c.check not in ("endorsement",) for c in report.checks
    )
    rev = issuance.revocation(session, row.id)
    valid_until = _when(doc.get("validUntil"))
    valid_from = _when(doc.get("validFrom"))
    if rev is not None:
        state = "revoked"
    elif not signature_ok:
        state = "invalid"
    elif unchecked:
        state = "unchecked"
    elif valid_until is not None and valid_until < now:
        state = "expired"
    elif valid_from is not None and valid_from > now:
        state = "not_yet_valid"
    else:
        state = "valid"
    return Status(
        state=state,
        signature_ok=signature_ok,
        revoked_at=rev.revoked_at if rev else None,
        reason=(rev.reason or None) if rev else None,
        valid_until=valid_until,
    )


def verify_url(ctx: ServiceContext, credential_url: str) -> str:
    """The public verifier, pre-filled with the credential's URL."""
    from urllib.parse import quote

    return f"{ctx.base_url}/verify?url={quote(credential_url, safe='')}"


def _deliverable_rows(session: Session, project_id: int | None) -> dict[str, Deliverable]:
    if project_id is None:
        return {}
    stmt = select(Deliverable).where(Deliverable.project_id == project_id)
    return {str(d.id): d for d in session.exec(stmt)}


def _preview(media_type: str | None, url: str | None, sha256: str | None) -> str:
    if sha256 and media_type in _IMAGE_TYPES:
        return "image"
    if media_type == "application/pdf":
        return "pdf"
    if sha256:
        return "file"
    return "link" if url else "none"


def digest_check(ctx: ServiceContext, resource_id: str, digest: str | None) -> str:
    """``ok`` / ``mismatch`` for a file we host, ``unavailable``, or ``none`` (no digest)."""
    if not digest:
        return "none"
    prefix = f"{ctx.base_url}/blobs/"
    sha = resource_id[len(prefix) :] if resource_id.startswith(prefix) else ""
    if not _SHA256.match(sha) or not ctx.blobs.exists(sha):
        return "unavailable"
    try:
        with ctx.blobs.open(sha) as fh:
            data = fh.read()
        return "ok" if check_digest_multibase(digest, data) else "mismatch"
    except (BadgeworksError, ValueError, OSError):
        return "mismatch"


#: The most endorsements a page shows per credential (embedded and later together).
MAX_ENDORSEMENTS = 50


def _endorsement_view(
    item: dict[str, Any], *, embedded: bool, verified: bool, message: str | None
) -> dict[str, Any]:
    """One endorsement as the pages show it, read from its signed JSON.

    The endorser's name, title (``description``) and organisation (``parentOrg``) are the
    ones they signed, so the page says exactly what a verifier sees.
    """
    subject = _dict(item.get("credentialSubject"))
    issuer = item.get("issuer")
    issuer = issuer if isinstance(issuer, dict) else {"id": issuer}
    parent = _dict(issuer.get("parentOrg"))
    quote = _str(subject.get("endorsementComment"))
    return {
        "id": _str(item.get("id")),
        # Our hosted endorsements (and any other http(s) id) are linked; a urn: is not.
        "href": safe_href(item.get("id")),
        "embedded": embedded,
        "verified": verified,
        "message": message,
        "quote": quote,
        "quote_html": render_markdown(quote),
        "by": _str(issuer.get("name")) or _str(issuer.get("id")) or "",
        "by_url": safe_href(issuer.get("url")),
        "title": _str(issuer.get("description")),
        "organization": _str(parent.get("name")),
        "organization_url": safe_href(parent.get("url")),
        "date": (_str(item.get("validFrom")) or "")[:10],
        "name": _str(item.get("name")),
    }


def _embedded_endorsements(doc: dict[str, Any]) -> list[Any]:
    # The order core.verify checks them in (credential, then achievement; the issuer's
    # own endorsements are about the program, not this badge, and are not shown).
    found = list(_list(doc.get("endorsement")))
    ach = _dict(_dict(doc.get("credentialSubject")).get("achievement"))
    return found + list(_list(ach.get("endorsement")))


def endorsements(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    doc: dict[str, Any],
    report: Report,
) -> list[dict[str, Any]]:
    """The endorsements a credential's pages show, as plain data, oldest kind first.

    - **Embedded** (``embedded: True``): signed into the badge at issuance. Each one's
      result is its ``endorsement`` check in ``report`` (the badge's own verification,
      which checks every embedded endorsement like a credential, and its subject).
    - **Later** (``embedded: False``): made after issuance, hosted at
      ``<base>/endorsements/<uuid>`` and listed by ``endorsements.for_credential``; each is
      verified on its own with the service's verifier, and must name this credential or
      its achievement.

    Withdrawn endorsements are left out, embedded ones included: the badge keeps its
    signed copy, but our pages respect the endorser's withdrawal.
    """
    try:
        listed = endorsement_service.for_credential(session, ctx, row.id)
    except NotFoundError:  # an id that is not a UUID (VC-API) has no endorsement rows
        listed = []
    withdrawn = {e["url"] for e in listed if e["withdrawn_at"] is not None}
    items = _embedded_endorsements(doc)
    checks: list[Check] = [
        c
        for c in report.checks
        if c.check == "endorsement" and c.code != "endorsement.jwt_unsupported"
    ]
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or item.get("id") in withdrawn:
            continue
        # One check per embedded endorsement, in order; if the stage could not run (an
        # internal error), the counts differ and none is claimed verified.
        check = checks[index] if len(checks) >= len(items) else None
        out.append(
            _endorsement_view(
                item,
                embedded=True,
                verified=check is not None and check.outcome == "pass",
                message=check.message if check is not None else None,
            )
        )
    subjects = {
        doc.get("id"),
        _dict(_dict(doc.get("credentialSubject")).get("achievement")).get("id"),
    }
    for entry in listed:
        if entry["embedded"] or entry["withdrawn_at"] is not None:
            continue
        if len(out) >= MAX_ENDORSEMENTS:
            break
        stored = endorsement_service.get_endorsement(session, entry["id"])
        document = json.loads(stored.document)
        with reading_with(session):
            result = verification.verify_credential(ctx, document)
        subject_id = _dict(document.get("credentialSubject")).get("id")
        verified = result.verified and subject_id in subjects
        first = result.failures()[0].message if result.failures() else None
        if result.verified and not verified:
            first = f"The endorsement is genuine, but it endorses {str(subject_id)!r:.200}."
        out.append(_endorsement_view(document, embedded=False, verified=verified, message=first))
    return out[:MAX_ENDORSEMENTS]


def _skills(ach: dict[str, Any]) -> list[dict[str, Any]]:
    skills = []
    for a in _list(ach.get("alignment"))[:100]:
        a = _dict(a)
        if _str(a.get("targetName")):
            skills.append(
                {
                    "name": a["targetName"],
                    "url": safe_href(a.get("targetUrl")),
                    "framework": _str(a.get("targetFramework")),
                    "code": _str(a.get("targetCode")),
                    "description": _str(a.get("targetDescription")),
                }
            )
    return skills


def language_edition(
    session: Session, ctx: ServiceContext, row: Credential, ach: dict[str, Any], lang: str
) -> tuple[AchievementVersion, AchievementEdition] | None:
    """The issuer's edition of the credential's achievement in the visitor's language.

    Only when the visitor reads another language than the signed ``inLanguage`` (compared
    by primary subtag: an ``es-MX`` visitor reads ``es``) and the achievement is one this
    service hosts for the credential's issuer; editions are read from our database, so a
    credential issued before the edition existed shows it too. Nothing is ever fetched.
    """
    in_language = _str(ach.get("inLanguage"))
    if not in_language or achievements.primary_subtag(in_language) == (
        achievements.primary_subtag(lang)
    ):
        return None
    version = achievements.hosted_version(session, ctx, row, _str(ach.get("id")))
    if version is None:
        return None
    edition = achievements.pick_edition(achievements.editions_of(session, version), lang)
    return (version, edition) if edition is not None else None


def credential_card(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    *,
    lang: str,
    choices: dict[tuple[str, str], str] | None = None,
    candidate_name: str | None = None,
    original: bool = False,
) -> dict[str, Any]:
    """Everything a page shows about one credential, read from the stored JSON.

    When the issuer has an edition of the achievement in the visitor's language
    (``language_edition``), its name, description, criteria, image alt text and rubric
    names are shown instead of the signed ones, unless ``original`` asks for the signed
    text; ``edition`` then says which languages are involved, for the page's note. Every
    other line is the signed credential's.
    """
    doc = json.loads(row.document)
    if choices is None:
        choices = item_visibility(session, row.candidate_id) if row.candidate_id else {}
    subject = _dict(doc.get("credentialSubject"))
    ach = _dict(subject.get("achievement"))
    issuer = doc.get("issuer") if isinstance(doc.get("issuer"), dict) else {"id": doc.get("issuer")}
    source = _dict(subject.get("source"))
    url = issuance.credential_url(ctx, row.id)
    name = _str(doc.get("name")) or _str(ach.get("name")) or "Open Badge"
    image = (
        _dict(ach.get("image"))
        if isinstance(ach.get("image"), dict)
        else ({"id": ach.get("image")} if isinstance(ach.get("image"), str) else {})
    )
    in_language = _str(ach.get("inLanguage"))
    found = language_edition(session, ctx, row, ach, lang)
    edition = found[1] if found is not None and not original else None
    signed_name = name
    name_lang = in_language if name == _str(ach.get("name")) else None
    image_alt = _str(image.get("caption")) or name
    image_alt_lang = in_language if _str(image.get("caption")) else name_lang
    rubric_names: dict[str, str] = {}
    if edition is not None and found is not None:
        if name == _str(ach.get("name")):
            name, name_lang = edition.name, edition.lang
        if edition.image_caption:
            image_alt, image_alt_lang = edition.image_caption, edition.lang
        elif not _str(image.get("caption")):
            image_alt, image_alt_lang = name, name_lang
        rubric_names = achievements.edition_rubric_names(
            _str(ach.get("id")) or "", found[0], edition
        )
    issued = _when(doc.get("validFrom"))
    expires = _when(doc.get("validUntil"))
    with reading_with(session):  # hosted keys on this request's connection, not a second one
        report = verify(doc, loader=ctx.loader, now=ctx.clock())
    status = _status_from_report(session, ctx, row, doc, report)
    digests = {_dict(r).get("id"): _dict(r) for r in _list(doc.get("relatedResource")) if _dict(r)}
    files = _deliverable_rows(session, row.project_id)
    by_url = {
        (f"{ctx.base_url}/blobs/{d.sha256}" if d.sha256 else d.url): d for d in files.values()
    }
    evidence = []
    for e in _list(doc.get("evidence"))[:200]:
        e = _dict(e)
        eid = _str(e.get("id")) or ""
        related = digests.get(eid, {})
        d = by_url.get(eid)
        visible = d is None or choices.get(("deliverable", str(d.id)), "public") == "public"
        media_type = _str(related.get("mediaType")) or (d.media_type if d else None)
        evidence.append(
            {
                "id": eid,
                "href": safe_href(eid),
                "name": _str(e.get("name")) or eid,
                "description": _str(e.get("description")),
                "genre": _str(e.get("genre")),
                "media_type": media_type,
                "digest": _str(related.get("digestMultibase")),
                "digest_check": digest_check(ctx, eid, _str(related.get("digestMultibase"))),
                "preview": _preview(media_type, eid, d.sha256 if d else None)
                if visible
                else "none",
                "visible": visible,
                "deliverable_id": d.id if d else None,
            }
        )
    descriptions = {_dict(rd).get("id"): _dict(rd) for rd in _list(ach.get("resultDescription"))}
    results = []
    for r in _list(subject.get("result"))[:100]:
        r = _dict(r)
        rd = descriptions.get(r.get("resultDescription"), {})
        levels = {_dict(lv).get("id"): _dict(lv) for lv in _list(rd.get("rubricCriterionLevel"))}
        level = levels.get(r.get("achievedLevel"), {})
        rd_name = rubric_names.get(str(r.get("resultDescription")))
        level_name = rubric_names.get(str(r.get("achievedLevel")))
        results.append(
            {
                "name": rd_name or _str(rd.get("name")) or "",
                "name_lang": edition.lang if edition and rd_name else in_language,
                "level": level_name or _str(level.get("name")),
                "level_lang": edition.lang if edition and level_name else in_language,
                "level_description": _str(level.get("description")),
                "level_description_lang": in_language,
                "value": _str(r.get("value")) or _str(r.get("status")),
            }
        )
    # The program that signed, by its registered name and site: a VC-API caller chooses
    # the ``issuer`` object it sends, and may copy another program's name into it.
    signer = session.get(Issuer, row.issuer_id)
    org = signer.name if signer is not None else _str(issuer.get("id")) or ""
    other_languages = [
        {"lang": _str(rel.get("inLanguage")), "href": safe_href(rel.get("id"))}
        for rel in (_dict(x) for x in _list(ach.get("related")))
        if _str(rel.get("inLanguage")) and safe_href(rel.get("id"))
    ]
    preferred = next((o for o in other_languages if o["lang"] and o["lang"][:2] == lang), None)
    if found is not None:
        # Our own edition is shown on the page itself (or offered as a toggle), so the
        # link to another service's edition is not needed.
        preferred = None
    ach_view: dict[str, Any] = {
        "name": _str(ach.get("name")) or signed_name,
        "description": _str(ach.get("description")),
        "criteria": _str(_dict(ach.get("criteria")).get("narrative")),
        "lang": in_language,
        "criteria_lang": in_language,
    }
    if edition is not None:
        ach_view = {
            "name": edition.name,
            "description": edition.description,
            "criteria": edition.criteria_narrative or ach_view["criteria"],
            "lang": edition.lang,
            "criteria_lang": edition.lang if edition.criteria_narrative else in_language,
        }
    return {
        "row_id": row.id,
        "id": _str(doc.get("id")) or url,
        "url": url,
        "json_url": url + ".json",
        "name": name,
        "description": _str(doc.get("description")),
        "name_lang": name_lang,
        "achievement": {
            **ach_view,
            "type": _str(ach.get("achievementType")),
            "tags": [t for t in _list(ach.get("tag")) if isinstance(t, str)][:50],
            "other_languages": other_languages,
            "preferred_edition": preferred if in_language and in_language[:2] != lang else None,
        },
        # Which text is shown: an edition (``shown``) or, with ``original``, the signed text
        # while an edition exists. None when there is no edition for this visitor.
        "edition": {
            "shown": edition is not None,
            "lang": found[1].lang,
            "original_lang": in_language,
            "url": achievements.edition_url(
                ctx, found[0].achievement_id, found[0].version, found[1].lang
            ),
        }
        if found is not None
        else None,
        "image": safe_href(image.get("id")),
        "image_alt": image_alt,
        "image_alt_lang": image_alt_lang,
        "issuer": {
            "id": _str(issuer.get("id")),
            "name": org,
            "url": safe_href(signer.url) if signer is not None else None,
        },
        "host": {"name": _str(source.get("name")), "url": safe_href(source.get("url"))}
        if source
        else None,
        "role": _str(subject.get("role")),
        "start": (_str(subject.get("activityStartDate")) or "")[:10],
        "end": (_str(subject.get("activityEndDate")) or "")[:10],
        "issued": issued,
        "expires": expires,
        "recipient_did": _str(subject.get("id")),
        "hashed_identifiers": len(_list(subject.get("identifier"))),
        "candidate_name": candidate_name,
        "skills": _skills(ach),
        "results": results,
        "evidence": evidence,
        "endorsements": endorsements(session, ctx, row, doc, report),
        "proofs": [
            {
                "cryptosuite": _str(_dict(p).get("cryptosuite")) or _str(_dict(p).get("type")),
                "method": _str(_dict(p).get("verificationMethod")),
            }
            for p in _list(doc.get("proof"))
        ],
        "status": status,
        "verify_url": verify_url(ctx, url),
        # The certification record on LinkedIn names the credential as signed.
        "linkedin": sharing.linkedin_add_to_profile(
            name=signed_name,
            organization=org,
            issued=issued,
            expires=expires,
            cert_url=url,
            cert_id=row.id,
        ),
        "shares": sharing.share_links(url, f"{name} — {org}"),
        "downloads": {
            "json": url + ".json",
            "png": f"{url}/badge.png",
            "svg": f"{url}/badge.svg",
            "pdf": f"{url}/certificate.pdf",
            "qr_png": f"{url}/qr.png",
            "qr_svg": f"{url}/qr.svg",
            "qr_print": f"{url}/qr.png?scale=40",
        },
        "og_image": f"{url}/preview.png",
    }


def display_name(portfolio: Portfolio | None, candidate: Candidate) -> str | None:
    """The candidate's name if they show it (no portfolio row yet: shown, the default)."""
    if portfolio is not None and not portfolio.show_name:
        return None
    return candidate.name


def credential_page_data(
    session: Session, ctx: ServiceContext, row: Credential, *, lang: str, original: bool = False
) -> dict[str, Any]:
    """The credential page's data: the card, plus the portfolio link and indexing choice.

    ``original`` shows the signed achievement text even when the issuer has an edition in
    the visitor's language (the page's "see the original" link).
    """
    # A credential issued through the VC-API has no candidate row (and so no portfolio).
    cid = row.candidate_id
    candidate = session.get(Candidate, cid) if cid else None
    portfolio = find_for_candidate(session, cid) if cid else None
    choices = item_visibility(session, cid) if cid else {}
    name = display_name(portfolio, candidate) if candidate else None
    card = credential_card(
        session, ctx, row, lang=lang, choices=choices, candidate_name=name, original=original
    )
    item = choices.get(("credential", row.id), "public")
    listed = portfolio is not None and portfolio.visibility != "hidden" and item == "public"
    return {
        "c": card,
        "portfolio_url": portfolio_url(ctx, portfolio) if listed and portfolio else None,
        # Only a credential the candidate lists on a public portfolio may be indexed.
        "noindex": not (listed and portfolio is not None and portfolio.visibility == "public"),
    }


def portfolio_page_data(
    session: Session, ctx: ServiceContext, portfolio: Portfolio, *, lang: str
) -> dict[str, Any]:
    """The portfolio page's data: who, and the credentials the candidate shows."""
    candidate = session.get(Candidate, portfolio.candidate_id)
    if candidate is None:  # pragma: no cover - the foreign key prevents it
        raise NotFoundError("there is no such portfolio", code="portfolio.not_found")
    issuer = session.get(Issuer, candidate.issuer_id)
    choices = item_visibility(session, portfolio.candidate_id)
    name = display_name(portfolio, candidate)
    cards = [
        credential_card(session, ctx, row, lang=lang, choices=choices, candidate_name=name)
        for row in candidate_credentials(session, portfolio.candidate_id)
        if choices.get(("credential", row.id), "public") == "public"
    ]
    url = portfolio_url(ctx, portfolio)
    # The photo and the links are personal details, like the name: shown only with it.
    photo = None
    if portfolio.show_name:
        data = public_photo(ctx, portfolio)
        size = photos.dimensions(data) if data else None
        if size is not None:
            photo = {
                "url": f"{url}/photo",
                "alt": portfolio.photo_caption or "",
                "width": size[0],
                "height": size[1],
            }
    hosts = sorted({c["host"]["name"] for c in cards if c["host"] and c["host"]["name"]})
    programs = sorted({c["issuer"]["name"] for c in cards if c["issuer"]["name"]})
    skills = sorted({s["name"] for c in cards for s in c["skills"]}, key=str.lower)
    return {
        "portfolio": {
            "handle": portfolio.handle,
            "url": url,
            "name": name,
            "headline": portfolio.headline,
            "photo": photo,
            "links": stored_links(portfolio) if portfolio.show_name else [],
            "issuer_name": issuer.name if issuer else None,
            "qr_png": f"{url}/qr.png",
            "qr_svg": f"{url}/qr.svg",
            "qr_print": f"{url}/qr.png?scale=40",
            "shares": sharing.share_links(url, name or "Portfolio"),
            "hosts": hosts,
            "programs": programs,
            "skills": skills,
        },
        "cards": cards,
        "noindex": portfolio.visibility != "public",
    }
