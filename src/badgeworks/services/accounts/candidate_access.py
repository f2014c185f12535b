"""Candidates' own access: magic-link sign-in, sessions, and the export of what they hold.

A candidate types their email address; if any program has a candidate with that address,
a single-use link (``/me/link/<token>``, valid 30 minutes, stored only as its SHA-256) is
queued in the outbox in the same transaction. The answer never says whether the address
is known. Opening the link and confirming starts a server-side session tied to the email
address; the session reaches every candidate row with that address, and only those.

Besides the cap on live links per address, each client address may ask for only so many
links, and open or use only so many, per minute (``SignInLimits``): the first stops one
place from mailing many addresses, the second from guessing links.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import IO

from sqlalchemy import update
from sqlmodel import Session, col, select

from badgeworks.core.email import looks_like_email
from badgeworks.core.reading import read_credential
from badgeworks.db.candidate_access import CandidateLink, CandidateSession
from badgeworks.db.models import Candidate, Credential, Deliverable, Issuer, Project
from badgeworks.db.portfolio import Portfolio
from badgeworks.services.accounts import sign_in_sessions
from badgeworks.services.accounts.tokens import hash_token
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ForbiddenError, NotFoundError, ValidationFailed
from badgeworks.services.infra import outbox
from badgeworks.services.infra.rate_limit import Limiter, limiter_for
from badgeworks.settings import Settings

LINK_LIFETIME = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(hours=8)
#: At most this many links per address are live at once (no mail-bombing someone).
MAX_LIVE_LINKS = 3
#: The largest export (uncompressed) built in memory.
MAX_EXPORT_BYTES = 200 * 1024 * 1024
#: Candidates' sessions: no idle timeout, only the absolute lifetime.
SESSIONS: sign_in_sessions.SessionKind[CandidateSession] = sign_in_sessions.SessionKind(
    table=CandidateSession,
    lifetime=SESSION_LIFETIME,
    idle_timeout=None,
    csrf_message="the form was stale or did not come from this page; reload and try again",
    csrf_code="candidate.csrf",
)


@dataclass(frozen=True)
class SignInLimits:
    """The per-client rate limits on signing in (one set per app instance).

    ``links`` is spent by asking for a link, ``redeem`` by opening or using one. Both are
    the public verifier's kind of limit (``services.infra.rate_limit``: in memory, or in
    the database when several worker processes serve), keyed by the client address (IPv6
    by /64). The caller checks them before anything else, so a refused request reads and
    writes nothing else and cannot tell whether an address is known.
    """

    links: Limiter
    redeem: Limiter

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        session_factory: Callable[[], Session] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> SignInLimits:
        """The limits configured by ``candidate_sign_in_rate_*`` and ``candidate_link_rate_*``
        (kept in the database, through ``session_factory``, when ``rate_limit_store`` says
        so)."""
        return cls(
            links=limiter_for(
                "candidate.links",
                settings,
                per_minute=settings.candidate_sign_in_rate_per_minute,
                burst=settings.candidate_sign_in_rate_burst,
                session_factory=session_factory,
                clock=clock,
            ),
            redeem=limiter_for(
                "candidate.redeem",
                settings,
                per_minute=settings.candidate_link_rate_per_minute,
                burst=settings.candidate_link_rate_burst,
                session_factory=session_factory,
                clock=clock,
            ),
        )


class LinkGone(ValidationFailed):
    """A sign-in link that was used, has expired, or never existed."""

    code = "candidate.link_gone"


class ExportTooLarge(ValidationFailed):
    """The export would exceed ``MAX_EXPORT_BYTES``."""

    code = "candidate.export_too_large"


def normalise_email(value: str) -> str | None:
    """The address in the form candidates are stored with, or None if it is not one."""
    email = value.strip().lower()
    return email if looks_like_email(email) else None


def candidates_for(session: Session, email: str) -> list[Candidate]:
    """Every candidate row (of any program) with this address, oldest first."""
    rows = session.exec(select(Candidate).order_by(col(Candidate.id)))
    return [c for c in rows if email in (c.emails or [])]


def link_url(ctx: ServiceContext, token: str) -> str:
    """The magic link for ``token``."""
    return f"{ctx.base_url}/me/link/{token}"


def request_link(session: Session, ctx: ServiceContext, raw_email: str) -> bool:
    """Queue a sign-in link if the address belongs to a candidate; True if one was queued.

    The caller must answer the same way either way (no account enumeration).
    """
    email = normalise_email(raw_email)
    if email is None or not candidates_for(session, email):
        return False
    now = ctx.clock()
    live = session.exec(
        select(CandidateLink).where(
            CandidateLink.email == email,
            col(CandidateLink.used_at).is_(None),
            CandidateLink.expires_at > now,
        )
    ).all()
    if len(live) >= MAX_LIVE_LINKS:
        return False
    token = secrets.token_urlsafe(32)
    row = CandidateLink(
        email=email, token_hash=hash_token(token), created_at=now, expires_at=now + LINK_LIFETIME
    )
    session.add(row)
    session.flush()
    url = link_url(ctx, token)
    text = (
        "Someone (we hope you) asked to sign in to badgeworks to manage your portfolio.\n\n"
        f"Open this link within 30 minutes to sign in:\n{url}\n\n"
        "It works once. If you did not ask for it, ignore this message."
    )
    html = (
        "<p>Someone (we hope you) asked to sign in to badgeworks to manage your portfolio.</p>"
        f'<p><a href="{escape(url)}">Sign in</a> (within 30 minutes; the link works once).</p>'
        "<p>If you did not ask for it, ignore this message.</p>"
    )
    outbox.enqueue(
        session,
        to=email,
        subject="Your badgeworks sign-in link",
        text=text,
        html=html,
        reference=f"candidate_link:{row.id}",
        now=now,
    )
    session.commit()
    return True


def _live_link(session: Session, ctx: ServiceContext, token: str) -> CandidateLink:
    row = (
        session.exec(
            select(CandidateLink).where(CandidateLink.token_hash == hash_token(token))
        ).first()
        if token and len(token) <= 200
        else None
    )
    if row is None:
        raise LinkGone("this sign-in link is not valid", code="candidate.link_unknown")
    if row.used_at is not None:
        raise LinkGone("this sign-in link was already used", code="candidate.link_used")
    if ctx.clock() >= row.expires_at:
        raise LinkGone("this sign-in link has expired", code="candidate.link_expired")
    return row


def check_link(session: Session, ctx: ServiceContext, token: str) -> None:
    """``LinkGone`` unless ``token`` is a live link (nothing is changed)."""
    _live_link(session, ctx, token)


def link_nonce(ctx: ServiceContext, token: str, secret: str | None = None) -> str:
    """The confirm form's nonce, bound to the link (CSRF)."""
    secret = secret or ctx.key_secret
    key = hashlib.sha256(b"badgeworks candidate link\x00" + secret.encode()).digest()
    return hmac.new(key, hash_token(token).encode(), hashlib.sha256).hexdigest()[:32]


def redeem_link(
    session: Session, ctx: ServiceContext, token: str, nonce: str | None
) -> tuple[str, str]:
    """Use the link once and start a session; returns ``(cookie value, CSRF token)``."""
    # A form shown before a rotation of the key secret is still accepted after it.
    if not nonce or not any(
        hmac.compare_digest(nonce.encode()[:64], link_nonce(ctx, token, secret).encode())
        for secret in ctx.key_secrets
    ):
        raise ForbiddenError("the form does not belong to this link", code="candidate.csrf")
    row = _live_link(session, ctx, token)
    now = ctx.clock()
    # Mark used with a conditional UPDATE, so two clicks at once cannot both succeed.

    result = session.execute(
        update(CandidateLink)
        .where(col(CandidateLink.id) == row.id, col(CandidateLink.used_at).is_(None))
        .values(used_at=now)
    )
    if getattr(result, "rowcount", 1) != 1:
        session.rollback()
        raise LinkGone("this sign-in link was already used", code="candidate.link_used")
    return sign_in_sessions.start(session, SESSIONS, now=now, email=row.email)


@dataclass(frozen=True)
class SignedInCandidate:
    """The person behind a ``/me`` request."""

    email: str
    session_id: int
    csrf_token: str

    @property
    def actor(self) -> str:
        """How the audit log names the candidate."""
        return f"candidate:{self.email}"


def resume(session: Session, ctx: ServiceContext, cookie: str | None) -> SignedInCandidate | None:
    """The live session for a cookie value, or None."""
    row = sign_in_sessions.look_up(session, SESSIONS, cookie, now=ctx.clock())
    if row is None:
        return None
    return SignedInCandidate(email=row.email, session_id=row.id or 0, csrf_token=row.csrf_token)


def end(session: Session, ctx: ServiceContext, who: SignedInCandidate) -> None:
    """Sign out: the session row is ended."""
    sign_in_sessions.end(session, SESSIONS, who.session_id, now=ctx.clock())


def check_csrf(who: SignedInCandidate, given: str | None) -> None:
    """``ForbiddenError`` unless ``given`` is the session's CSRF token."""
    sign_in_sessions.check_csrf(SESSIONS, who.csrf_token, given)


def own_candidate(session: Session, who: SignedInCandidate, candidate_id: int) -> Candidate:
    """One of the signed-in person's candidate rows; ``NotFoundError`` for anyone else's."""
    row = session.get(Candidate, candidate_id)
    if row is None or who.email not in (row.emails or []):
        raise NotFoundError(f"candidate {candidate_id} is not yours", code="candidate.not_yours")
    return row


def issuer_name(session: Session, candidate: Candidate) -> str:
    """The program's name, for headings."""
    issuer = session.get(Issuer, candidate.issuer_id)
    return issuer.name if issuer else ""


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe_name(value: str) -> str:
    return _UNSAFE.sub("_", value).strip("._")[:80] or "file"


#: An export up to this size is built in memory; a larger one spills to a temporary file.
EXPORT_SPOOL_BYTES = 1024 * 1024


def export_zip(
    session: Session, ctx: ServiceContext, who: SignedInCandidate, *, limit: int | None = None
) -> bytes:
    """``export_zip_file``'s bytes (small exports and tests)."""
    with export_zip_file(session, ctx, who, limit=limit) as handle:
        return handle.read()


def export_zip_file(
    session: Session, ctx: ServiceContext, who: SignedInCandidate, *, limit: int | None = None
) -> IO[bytes]:
    """Every credential (the exact stored JSON) and deliverable file, as a zip.

    The zip is written incrementally to a spooled temporary file (memory up to
    ``EXPORT_SPOOL_BYTES``, disk beyond), files copied in small chunks, so an export of
    hundreds of megabytes never sits in memory; the caller streams it and closes it.
    ``ExportTooLarge`` past ``limit`` (default ``MAX_EXPORT_BYTES``) of content.
    """
    handle: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=EXPORT_SPOOL_BYTES)  # noqa: SIM115 - returned open
    try:
        _write_export(session, ctx, who, handle, MAX_EXPORT_BYTES if limit is None else limit)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


def _write_export(
    session: Session, ctx: ServiceContext, who: SignedInCandidate, target: IO[bytes], limit: int
) -> None:
    total = 0
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for candidate in candidates_for(session, who.email):
            cid = candidate.id or 0
            for cred in session.exec(
                select(Credential)
                .where(Credential.candidate_id == cid)
                .order_by(col(Credential.id))
            ):
                data = cred.document.encode("utf-8")
                total += len(data)
                if total > limit:
                    raise ExportTooLarge("the export is too large to build at once")
                archive.writestr(f"credentials/{cred.id}.json", data)
            stmt = (
                select(Deliverable)
                .join(Project, col(Project.id) == col(Deliverable.project_id))
                .where(Project.candidate_id == cid)
                .order_by(col(Deliverable.id))
            )
            for d in session.exec(stmt):
                if not d.sha256 or not ctx.blobs.exists(d.sha256):
                    continue
                total += ctx.blobs.size(d.sha256)
                if total > limit:
                    raise ExportTooLarge("the export is too large to build at once")
                name = _safe_name(d.filename or d.name)
                _write_blob(archive, ctx, d.sha256, f"deliverables/{d.project_id}-{d.id}-{name}")
            page = session.exec(select(Portfolio).where(Portfolio.candidate_id == cid)).first()
            if page is not None:
                # The portfolio choices and photo are theirs too.
                choices = {
                    "handle": page.handle,
                    "visibility": page.visibility,
                    "show_name": page.show_name,
                    "headline": page.headline,
                    "links": page.links or [],
                    "photo_caption": page.photo_caption if page.photo_sha256 else None,
                }
                archive.writestr(
                    f"portfolio/{cid}/settings.json", json.dumps(choices, indent=2) + "\n"
                )
                if page.photo_sha256 and ctx.blobs.exists(page.photo_sha256):
                    total += ctx.blobs.size(page.photo_sha256)
                    if total > limit:
                        raise ExportTooLarge("the export is too large to build at once")
                    _write_blob(archive, ctx, page.photo_sha256, f"portfolio/{cid}/photo.jpg")


def _write_blob(archive: zipfile.ZipFile, ctx: ServiceContext, sha256: str, name: str) -> None:
    """Copy the blob ``sha256`` into ``archive`` as ``name`` (from the local disk or the
    bucket, checked against its digest either way)."""
    with ctx.blobs.open(sha256) as source, archive.open(name, "w") as target:
        shutil.copyfileobj(source, target, 256 * 1024)


def credential_names(session: Session, candidate_id: int) -> dict[str, str]:
    """Each of the candidate's credentials' display names (from the stored JSON)."""
    out: dict[str, str] = {}
    for cred in session.exec(select(Credential).where(Credential.candidate_id == candidate_id)):
        try:
            doc = json.loads(cred.document)
        except ValueError:
            doc = {}
        ach = (doc.get("credentialSubject") or {}).get("achievement") or {}
        name = doc.get("name") or (ach.get("name") if isinstance(ach, dict) else None)
        out[cred.id] = name if isinstance(name, str) and name else cred.id
    return out


@dataclass(frozen=True)
class OwnCredential:
    """One of the candidate's credentials as ``/me`` lists it: its name, its page and its
    image (the achievement's image the credential carries, else its link preview), shown
    beside its name, so the image itself needs no alt text of its own."""

    id: str
    name: str
    page: str
    image: str


def own_credentials(session: Session, origin: str, candidate_id: int) -> list[OwnCredential]:
    """The candidate's credentials, newest first, read from their stored JSON (a page may
    show only the images ``core.reading`` allows: https, this service's own, or inline)."""
    stmt = (
        select(Credential)
        .where(Credential.candidate_id == candidate_id)
        .order_by(col(Credential.issued_at).desc(), col(Credential.id))
    )
    out: list[OwnCredential] = []
    for cred in session.exec(stmt):
        try:
            view = read_credential(json.loads(cred.document), own_origin=origin)
        except ValueError:
            view = None
        name = (view.name or view.achievement.name) if view else None
        image = view.achievement.image if view else None
        page = f"/credentials/{cred.id}"
        out.append(
            OwnCredential(
                id=cred.id,
                name=name or cred.id,
                page=page,
                image=image.url if image and image.url else f"{page}/preview.png",
            )
        )
    return out


def deliverable_names(session: Session, candidate_id: int) -> dict[str, str]:
    """Each of the candidate's deliverables' names, by id (as a string)."""
    stmt = (
        select(Deliverable)
        .join(Project, col(Project.id) == col(Deliverable.project_id))
        .where(Project.candidate_id == candidate_id)
    )
    return {str(d.id): d.name for d in session.exec(stmt)}
