"""Console staff: accounts, roles per issuer, password sign-in, sessions and CSRF tokens.

Sign-in is by password, hashed with scrypt (``hashlib.scrypt``: n=2**15, r=8, p=1, a
16-byte random salt, 32-byte key; the parameters are stored with each hash so they can be
raised later). A session is a random 32-byte cookie stored only as its SHA-256, with an
idle timeout and an absolute lifetime; each session has its own CSRF token (synchronizer
token pattern) that every console form must send back. Sign-in attempts are rate limited
per email address and per client address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from badgeworks.db.console import (
    ROLES,
    StaffLoginAttempt,
    StaffMember,
    StaffMembership,
    StaffSession,
)
from badgeworks.db.models import Issuer, utcnow
from badgeworks.services import audit
from badgeworks.services.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailed,
)

#: A session ends after this long without a request…
IDLE_TIMEOUT = timedelta(hours=2)
#: …and at the latest this long after sign-in.
ABSOLUTE_LIFETIME = timedelta(hours=12)
#: Failed sign-ins allowed per email address, and per client address, in ``LOGIN_WINDOW``.
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 20
LOGIN_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RateLimited(ForbiddenError):
    """Too many failed sign-ins; try again later."""

    code = "auth.rate_limited"


# ----------------------------------------------------------------------------- passwords


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$key``: a fresh salt each time."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=64 * 1024 * 1024,
        dklen=32,
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(key)}"


def check_password(password: str, stored: str | None) -> bool:
    """True if ``password`` matches ``stored`` (constant-time comparison)."""
    if not stored:
        # Spend the same time as a real check so a missing account is not faster.
        hash_password(password)
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(key)
        derived = hashlib.scrypt(
            password.encode("utf-8"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, expected)


def check_password_strength(password: str) -> None:
    """``ValidationFailed`` for a password too short to be safe."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            code="staff.weak_password",
        )
    if len(password) > 1000:
        raise ValidationFailed("the password is too long", code="staff.weak_password")


# ----------------------------------------------------------------------------- accounts


def normalize_email(email: str) -> str:
    """An email address as stored (trimmed, lower-case); ``ValidationFailed`` if malformed."""
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 320:
        raise ValidationFailed(f"{email!r:.80} is not an email address", code="staff.email")
    return value


def check_role(role: str) -> str:
    """``role`` if it is one of ``ROLES``."""
    if role not in ROLES:
        raise ValidationFailed(
            f"role {role!r:.40} is not one of {', '.join(ROLES)}", code="staff.role"
        )
    return role


def find_staff(session: Session, email: str) -> StaffMember | None:
    """The staff member with ``email`` (any case), if any."""
    value = email.strip().lower()
    return session.exec(select(StaffMember).where(StaffMember.email == value)).first()


def create_or_add_staff(
    session: Session,
    issuer: Issuer,
    email: str,
    role: str,
    *,
    password: str | None,
    name: str = "",
    actor: str,
) -> tuple[StaffMember, StaffMembership]:
    """Create a staff member (or reuse one) and give them ``role`` in ``issuer``.

    A new password replaces the old one; an existing membership gets the new role.
    """
    value = normalize_email(email)
    check_role(role)
    if password is not None:
        check_password_strength(password)
    member = find_staff(session, value)
    if member is None:
        member = StaffMember(email=value, name=name.strip()[:200], created_at=utcnow())
        session.add(member)
        session.flush()
    elif name:
        member.name = name.strip()[:200]
    if password is not None:
        member.password_hash = hash_password(password)
    session.add(member)
    membership = session.exec(
        select(StaffMembership).where(
            StaffMembership.staff_id == member.id, StaffMembership.issuer_id == issuer.id
        )
    ).first()
    if membership is None:
        membership = StaffMembership(
            staff_id=member.id or 0, issuer_id=issuer.id or 0, role=role, created_at=utcnow()
        )
    membership.role = role
    session.add(membership)
    audit.record(
        session,
        actor=actor,
        action="staff.grant",
        issuer_id=issuer.id,
        target=f"staff:{member.id}",
        detail={"email": value, "role": role},
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConflictError(
            f"{value} was added by another request at the same time; try again",
            code="staff.race",
        ) from None
    session.refresh(member)
    session.refresh(membership)
    return member, membership


def memberships(session: Session, staff_id: int) -> list[tuple[StaffMembership, Issuer]]:
    """The issuers a staff member belongs to, with the role in each, by issuer name."""
    stmt = (
        select(StaffMembership, Issuer)
        .where(StaffMembership.staff_id == staff_id, StaffMembership.issuer_id == Issuer.id)
        .order_by(col(Issuer.name))
    )
    return [(m, i) for m, i in session.exec(stmt)]


def membership_for(session: Session, staff_id: int, slug: str) -> tuple[StaffMembership, Issuer]:
    """The staff member's membership in issuer ``slug``.

    Another program looks exactly like a missing one (``NotFoundError``): staff of one
    program never learn which other programs exist.
    """
    stmt = select(StaffMembership, Issuer).where(
        StaffMembership.staff_id == staff_id,
        StaffMembership.issuer_id == Issuer.id,
        Issuer.slug == slug,
    )
    row = session.exec(stmt).first()
    if row is None:
        raise NotFoundError(f"there is no program {slug!r:.80}", code="issuer.not_found")
    return row[0], row[1]


def has_role(membership: StaffMembership, needed: str) -> bool:
    """True if the membership's role is ``needed`` or stronger."""
    return ROLES.index(membership.role) >= ROLES.index(needed)


def require_role(membership: StaffMembership, needed: str) -> None:
    """``ForbiddenError`` unless the membership's role is ``needed`` or stronger."""
    if not has_role(membership, needed):
        raise ForbiddenError(
            f"this needs the {needed} role; you are a {membership.role} in this program",
            code="auth.role",
        )


def issuer_staff(session: Session, issuer: Issuer) -> list[tuple[StaffMembership, StaffMember]]:
    """Everyone with a role in ``issuer``, by email."""
    stmt = (
        select(StaffMembership, StaffMember)
        .where(StaffMembership.issuer_id == issuer.id, StaffMembership.staff_id == StaffMember.id)
        .order_by(col(StaffMember.email))
    )
    return [(m, s) for m, s in session.exec(stmt)]


def _owners(session: Session, issuer: Issuer) -> int:
    stmt = select(func.count()).where(
        StaffMembership.issuer_id == issuer.id, StaffMembership.role == "owner"
    )
    return int(session.exec(stmt).one())


def change_role(
    session: Session, issuer: Issuer, staff_id: int, role: str | None, *, actor: str
) -> None:
    """Give ``staff_id`` a new role in ``issuer``, or remove them (``role=None``).

    The last owner cannot be demoted or removed: someone must be able to manage staff.
    """
    membership = session.exec(
        select(StaffMembership).where(
            StaffMembership.issuer_id == issuer.id, StaffMembership.staff_id == staff_id
        )
    ).first()
    if membership is None:
        raise NotFoundError(f"there is no staff member {staff_id}", code="staff.not_found")
    if role is not None:
        check_role(role)
    if membership.role == "owner" and role != "owner" and _owners(session, issuer) <= 1:
        raise ConflictError(
            "this is the program's last owner; make someone else an owner first",
            code="staff.last_owner",
        )
    if role is None:
        session.delete(membership)
    else:
        membership.role = role
        session.add(membership)
    audit.record(
        session,
        actor=actor,
        action="staff.remove" if role is None else "staff.role",
        issuer_id=issuer.id,
        target=f"staff:{staff_id}",
        detail={"role": role},
    )
    session.commit()


# ----------------------------------------------------------------------------- sign-in


def _failures_since(session: Session, column: object, value: str, since: datetime) -> int:
    stmt = select(func.count()).where(
        column == value,
        col(StaffLoginAttempt.ok).is_(False),
        col(StaffLoginAttempt.at) >= since,
    )
    return int(session.exec(stmt).one())


def authenticate(
    session: Session, email: str, password: str, *, client: str, now: datetime
) -> StaffMember:
    """The staff member for a correct email and password; ``AuthError`` otherwise.

    Every attempt is recorded; too many recent failures for the email address or the
    client address refuse further attempts (``RateLimited``) without checking the password.
    """
    value = email.strip().lower()[:320]
    client = client[:100]
    since = now - LOGIN_WINDOW
    if (
        _failures_since(session, StaffLoginAttempt.email, value, since) >= MAX_FAILURES_PER_EMAIL
        or _failures_since(session, StaffLoginAttempt.client, client, since)
        >= MAX_FAILURES_PER_CLIENT
    ):
        raise RateLimited(
            "too many failed sign-ins; wait 15 minutes and try again", code="auth.rate_limited"
        )
    member = find_staff(session, value)
    ok = check_password(password, member.password_hash if member else None)
    if member is not None and member.disabled_at is not None:
        ok = False
    session.add(StaffLoginAttempt(email=value, client=client, ok=ok, at=now))
    session.commit()
    if not ok or member is None:
        raise AuthError("the email address or the password is wrong", code="auth.bad_login")
    return member


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, member: StaffMember, *, now: datetime) -> tuple[str, str]:
    """A new session; returns ``(cookie value, CSRF token)``. The cookie is not stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    row = StaffSession(
        token_hash=_hash_token(token),
        staff_id=member.id or 0,
        csrf_token=csrf,
        created_at=now,
        last_seen_at=now,
        expires_at=now + ABSOLUTE_LIFETIME,
    )
    session.add(row)
    session.commit()
    return token, csrf


@dataclass(frozen=True)
class SignedIn:
    """The staff member behind a request, and their session's CSRF token."""

    staff: StaffMember
    session_id: int
    csrf_token: str

    @property
    def actor(self) -> str:
        """How the audit log names this staff member."""
        return f"staff:{self.staff.email}"


def resume_session(session: Session, token: str | None, *, now: datetime) -> SignedIn | None:
    """The live session for a cookie value, or None (unknown, ended, idle or expired)."""
    if not token or len(token) > 200:
        return None
    row = session.exec(
        select(StaffSession).where(StaffSession.token_hash == _hash_token(token))
    ).first()
    if row is None or row.ended_at is not None:
        return None
    if now >= row.expires_at or now - row.last_seen_at >= IDLE_TIMEOUT:
        return None
    member = session.get(StaffMember, row.staff_id)
    if member is None or member.disabled_at is not None:
        return None
    # Touch the session at most once a minute, so reads do not all become writes.
    if now - row.last_seen_at >= timedelta(minutes=1):
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return SignedIn(staff=member, session_id=row.id or 0, csrf_token=row.csrf_token)


def end_session(session: Session, session_id: int, *, now: datetime) -> None:
    """Sign out: the session row is ended and its cookie stops working."""
    row = session.get(StaffSession, session_id)
    if row is not None and row.ended_at is None:
        row.ended_at = now
        session.add(row)
        session.commit()


def check_csrf(signed_in: SignedIn, given: str | None) -> None:
    """``ForbiddenError`` unless ``given`` is this session's CSRF token."""
    if not given or not hmac.compare_digest(given.encode(), signed_in.csrf_token.encode()):
        raise ForbiddenError(
            "the form was stale or did not come from this console (CSRF check failed); "
            "reload the page and try again",
            code="auth.csrf",
        )


def seed_demo_staff(session: Session, issuer: Issuer) -> tuple[str, str]:
    """A demo owner account for ``issuer`` with a fresh random password (development only).

    Returns ``(email, password)``; the password is reset on every call and shown once.
    """
    email = f"owner@{issuer.slug}.example"
    password = secrets.token_urlsafe(12)
    create_or_add_staff(
        session, issuer, email, "owner", password=password, name="Demo owner", actor="cli:seed-demo"
    )
    return email, password
