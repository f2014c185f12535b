"""Console staff: accounts, roles per issuer, password sign-in, sessions and CSRF tokens.

Sign-in is by password, hashed with scrypt (``hashlib.scrypt``: n=2**15, r=8, p=1, a
16-byte random salt, 32-byte key; the parameters are stored with each hash so they can be
raised later). A session is a random 32-byte cookie stored only as its SHA-256, with an
idle timeout and an absolute lifetime; each session has its own CSRF token (synchronizer
token pattern) that every console form must send back.

Sign-in attempts are limited per (client address, account) with exponential back-off, and
more loosely per client address, by counters claimed atomically (``claim_attempt``): a failed
attempt from one address never locks the owner out at another.

Accounts are shared by programs, so a program may set the password only of an account
that belongs to no other program. Adding an existing account to a program never changes
its password; a password a program's owner typed opens that program only, and the other
programs open once the person has chosen a password through a link sent to the address
(``StaffPasswordLink``). Changing a password ends the account's other sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from badgeworks.core.email import looks_like_email
from badgeworks.core.encoding import b64url_decode, b64url_encode
from badgeworks.db.console import (
    ROLES,
    StaffLoginAttempt,
    StaffLoginLimit,
    StaffMember,
    StaffMembership,
    StaffPasswordLink,
    StaffSession,
)
from badgeworks.db.models import Issuer
from badgeworks.services.accounts import sign_in_sessions
from badgeworks.services.accounts.tokens import hash_token
from badgeworks.services.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailed,
)
from badgeworks.services.infra import audit, outbox
from badgeworks.services.infra.rate_limit import RateLimiter

#: A session ends after this long without a request…
IDLE_TIMEOUT = timedelta(hours=2)
#: …and at the latest this long after sign-in.
ABSOLUTE_LIFETIME = timedelta(hours=12)
#: Failed sign-ins allowed per (client address, account) before a lock, and per client
#: address (over all accounts), within ``LOGIN_WINDOW`` of the last failure.
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 20
LOGIN_WINDOW = timedelta(minutes=15)
#: The first lock lasts this long; each further lock of the same key doubles, up to
#: ``MAX_LOCK``. A key with no failure for ``FORGET_STRIKES`` starts over.
FIRST_LOCK = timedelta(minutes=1)
MAX_LOCK = timedelta(hours=1)
FORGET_STRIKES = timedelta(hours=24)
MIN_PASSWORD_LENGTH = 12
#: A set-password link sent to a staff member's address works once, for this long.
PASSWORD_LINK_LIFETIME = timedelta(days=3)

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1


class RateLimited(ForbiddenError):
    """Too many failed sign-ins; try again after ``retry_after`` seconds."""

    code = "auth.rate_limited"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None) -> None:
        super().__init__(message, code=code or self.code)
        self.retry_after = retry_after


# ----------------------------------------------------------------------------- passwords


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
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64url_encode(salt)}${b64url_encode(key)}"


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
        expected = b64url_decode(key)
        derived = hashlib.scrypt(
            password.encode("utf-8"),
            salt=b64url_decode(salt),
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
    if not looks_like_email(value):
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


@dataclass(frozen=True)
class StaffGrant:
    """What adding ``email`` to a program did, for the page or CLI to say in words.

    ``created``: a brand-new account. ``password_set``: the password given was stored
    (only ever for a brand-new account). ``password_ignored``: a password was given for an
    account that already existed, and was not used. ``link_sent``: a set-password link was
    queued to the address. ``pending``: the account's password was chosen by another
    program, so this program opens for them only after they use that link.
    """

    member: StaffMember
    membership: StaffMembership
    created: bool
    password_set: bool
    password_ignored: bool
    link_sent: bool
    pending: bool


def create_or_add_staff(
    session: Session,
    issuer: Issuer,
    email: str,
    role: str,
    *,
    password: str | None,
    name: str = "",
    actor: str,
    base_url: str = "",
    operator: bool = False,
    now: datetime,
) -> StaffGrant:
    """Give the account ``email`` the role ``role`` in ``issuer``, creating it if new.

    Only a brand-new account takes the ``password`` given; an existing one keeps its own
    (another program, or the person, chose it) and the result says so. A brand-new account
    without a password gets a set-password link through the outbox (``base_url`` builds
    it). A password typed by a program owner opens that program only; ``operator`` (the
    ``badgeworks`` CLI, which already holds the database) sets one that opens them all.
    """
    value = normalize_email(email)
    check_role(role)
    if password is not None:
        check_password_strength(password)
    # Two programs adding the same new address at once: the second insert fails on the
    # unique email, and the retry finds the account the first one made (so it is told the
    # account already exists, and its password is not used).
    for attempt in range(2):
        try:
            return _grant(
                session,
                issuer,
                value,
                role,
                password=password,
                name=name,
                actor=actor,
                base_url=base_url,
                operator=operator,
                now=now,
            )
        except IntegrityError:
            session.rollback()
            if attempt:
                break
    raise ConflictError(
        f"{value} was changed by another request at the same time; try again",
        code="staff.race",
    )


def _grant(
    session: Session,
    issuer: Issuer,
    value: str,
    role: str,
    *,
    password: str | None,
    name: str,
    actor: str,
    base_url: str,
    operator: bool,
    now: datetime,
) -> StaffGrant:
    member = find_staff(session, value)
    created = member is None
    if member is None:
        member = StaffMember(email=value, name=name.strip()[:200], created_at=now)
        if password is not None:
            member.password_hash = hash_password(password)
            member.password_issuer_id = None if operator else issuer.id
        session.add(member)
        session.flush()
    membership = session.exec(
        select(StaffMembership).where(
            StaffMembership.staff_id == member.id, StaffMembership.issuer_id == issuer.id
        )
    ).first()
    if membership is None:
        membership = StaffMembership(
            staff_id=member.id or 0, issuer_id=issuer.id or 0, role=role, created_at=now
        )
    membership.role = role
    session.add(membership)
    pending = not opens(member, membership)
    link_sent = False
    if (created and password is None) or (pending and not _live_link(session, member, now)):
        _send_password_link(session, member, issuer, base_url=base_url, now=now, invited=created)
        link_sent = True
    audit.commit(
        session,
        actor=actor,
        action="staff.grant",
        issuer_id=issuer.id,
        target=f"staff:{member.id}",
        detail={"email": value, "role": role, "new_account": created, "pending": pending},
        now=now,
        refresh=[member, membership],
    )
    return StaffGrant(
        member=member,
        membership=membership,
        created=created,
        password_set=created and password is not None,
        password_ignored=not created and password is not None,
        link_sent=link_sent,
        pending=pending,
    )


def opens(member: StaffMember, membership: StaffMembership) -> bool:
    """True if the account's password opens this membership's program.

    A password one program's owner chose opens only that program: whoever chose it may
    know it, so another program opens only once the person has set their own.
    """
    return member.password_issuer_id is None or member.password_issuer_id == membership.issuer_id


def programs_of(session: Session, staff_id: int) -> set[int]:
    """The ids of every program the account belongs to (open or pending)."""
    stmt = select(StaffMembership.issuer_id).where(StaffMembership.staff_id == staff_id)
    return set(session.exec(stmt))


def _end_sessions(session: Session, staff_id: int, *, now: datetime, keep: int | None) -> int:
    stmt = (
        update(StaffSession)
        .where(
            col(StaffSession.staff_id) == staff_id,
            col(StaffSession.ended_at).is_(None),
            col(StaffSession.id) != (keep if keep is not None else -1),
        )
        .values(ended_at=now)
    )
    result: Any = session.execute(stmt)
    return int(result.rowcount or 0)


def set_password(
    session: Session,
    member: StaffMember,
    password: str,
    *,
    chosen_by: int | None,
    actor: str,
    now: datetime,
    keep_session: int | None = None,
) -> int:
    """Store a new password and end every other session of the account.

    ``chosen_by`` is the program whose owner chose it (None: the person or the operator).
    Returns how many sessions were ended.
    """
    check_password_strength(password)
    member.password_hash = hash_password(password)
    member.password_issuer_id = chosen_by
    session.add(member)
    ended = _end_sessions(session, member.id or 0, now=now, keep=keep_session)
    audit.commit(
        session,
        actor=actor,
        action="staff.password",
        issuer_id=chosen_by,
        target=f"staff:{member.id}",
        detail={"sessions_ended": ended},
        now=now,
    )
    return ended


def reset_password_by_owner(
    session: Session, issuer: Issuer, staff_id: int, password: str, *, actor: str, now: datetime
) -> int:
    """A program owner sets the password of a member of their program.

    Allowed only when the account belongs to no other program: an account that is shared
    is the person's own, and only they (through a link to their address) may change it.
    """
    member = session.get(StaffMember, staff_id)
    if member is None or (issuer.id or 0) not in programs_of(session, staff_id):
        raise NotFoundError(f"there is no staff member {staff_id}", code="staff.not_found")
    if programs_of(session, staff_id) != {issuer.id}:
        raise ForbiddenError(
            f"{member.email} also works in another program, so this program cannot set "
            "their password; they can choose a new one with the link sent to their address",
            code="staff.shared_account",
        )
    return set_password(session, member, password, chosen_by=issuer.id, actor=actor, now=now)


def change_own_password(
    session: Session, member: StaffMember, current: str, new: str, *, session_id: int, now: datetime
) -> int:
    """The signed-in person changes their password; their other sessions end.

    Who chose the password before is kept: knowing a password a program chose proves
    nothing about the mailbox, so only a link sent to the address opens other programs.
    """
    if not check_password(current, member.password_hash):
        raise AuthError("the current password is wrong", code="auth.bad_password")
    return set_password(
        session,
        member,
        new,
        chosen_by=member.password_issuer_id,
        actor=f"staff:{member.email}",
        now=now,
        keep_session=session_id,
    )


# ----------------------------------------------------------------------------- set-password links


def password_link_url(base_url: str, token: str) -> str:
    """Where a set-password link points."""
    return f"{base_url.rstrip('/')}/console/password/{token}"


def _live_link(session: Session, member: StaffMember, now: datetime) -> bool:
    stmt = select(StaffPasswordLink.id).where(
        StaffPasswordLink.staff_id == member.id,
        col(StaffPasswordLink.used_at).is_(None),
        StaffPasswordLink.expires_at > now,
    )
    return session.exec(stmt).first() is not None


def _send_password_link(
    session: Session,
    member: StaffMember,
    issuer: Issuer,
    *,
    base_url: str,
    now: datetime,
    invited: bool,
) -> None:
    """Queue a single-use set-password link to the account's own address (outbox)."""
    token = secrets.token_urlsafe(32)
    row = StaffPasswordLink(
        token_hash=hash_token(token),
        staff_id=member.id or 0,
        issuer_id=issuer.id,
        created_at=now,
        expires_at=now + PASSWORD_LINK_LIFETIME,
    )
    session.add(row)
    session.flush()
    url = password_link_url(base_url, token)
    why = (
        f"You were given a badgeworks console account for the program {issuer.name}."
        if invited
        else f"You were added to the program {issuer.name} in the badgeworks console."
    )
    days = PASSWORD_LINK_LIFETIME.days
    text = (
        f"{why}\n\nChoose your password within {days} days with this link (it works once):\n"
        f"{url}\n\nIf you did not expect this, ignore this message."
    )
    html = (
        f"<p>{escape(why)}</p>"
        f'<p><a href="{escape(url)}">Choose your password</a> (within {days} days; the link '
        "works once).</p><p>If you did not expect this, ignore this message.</p>"
    )
    outbox.enqueue(
        session,
        to=member.email,
        subject="Choose your badgeworks console password",
        text=text,
        html=html,
        issuer_id=issuer.id,
        reference=f"staff_password_link:{row.id}",
        now=now,
    )


def check_password_link(session: Session, token: str, *, now: datetime) -> StaffMember:
    """The account a live set-password link is for; ``ValidationFailed`` if it is gone."""
    row = (
        session.exec(
            select(StaffPasswordLink).where(StaffPasswordLink.token_hash == hash_token(token))
        ).first()
        if 0 < len(token) <= 200
        else None
    )
    member = session.get(StaffMember, row.staff_id) if row is not None else None
    if row is None or member is None or row.used_at is not None or now >= row.expires_at:
        raise ValidationFailed(
            "this set-password link is unknown, used or expired; ask a program owner to "
            "add you again for a new one",
            code="staff.link_gone",
        )
    return member


def redeem_password_link(
    session: Session, token: str, password: str, *, now: datetime
) -> StaffMember:
    """Set the password chosen through a link; the link is used up atomically.

    Using the link proves control of the address, so the new password opens every
    program the account belongs to, and every existing session ends.
    """
    member = check_password_link(session, token, now=now)
    check_password_strength(password)
    result: Any = session.execute(
        update(StaffPasswordLink)
        .where(
            col(StaffPasswordLink.token_hash) == hash_token(token),
            col(StaffPasswordLink.used_at).is_(None),
        )
        .values(used_at=now)
    )
    if not result.rowcount:
        session.rollback()
        raise ValidationFailed("this set-password link was used already", code="staff.link_gone")
    set_password(session, member, password, chosen_by=None, actor=f"staff:{member.email}", now=now)
    return member


def memberships(session: Session, staff_id: int) -> list[tuple[StaffMembership, Issuer]]:
    """The programs the account's password opens, with the role in each, by name."""
    member = session.get(StaffMember, staff_id)
    stmt = (
        select(StaffMembership, Issuer)
        .where(StaffMembership.staff_id == staff_id, StaffMembership.issuer_id == Issuer.id)
        .order_by(col(Issuer.name))
    )
    return [(m, i) for m, i in session.exec(stmt) if member is not None and opens(member, m)]


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
    member = session.get(StaffMember, staff_id)
    if row is None or member is None or not opens(member, row[0]):
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
    session: Session,
    issuer: Issuer,
    staff_id: int,
    role: str | None,
    *,
    actor: str,
    now: datetime,
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
    audit.commit(
        session,
        actor=actor,
        action="staff.remove" if role is None else "staff.role",
        issuer_id=issuer.id,
        target=f"staff:{staff_id}",
        detail={"role": role},
        now=now,
    )


# ----------------------------------------------------------------------------- sign-in


def _lock_for(strikes: int) -> timedelta:
    """The lock after the ``strikes``-th exhaustion: 1, 2, 4… minutes, at most ``MAX_LOCK``."""
    lock: timedelta = min(MAX_LOCK, FIRST_LOCK * (2 ** min(strikes, 16)))
    return lock


def _ensure_limit_row(session: Session, key: str, now: datetime) -> None:
    """Insert the counter ``key`` if it is new; a new key also drops the forgotten ones.

    Counters with nothing to remember (no lock, no failure for ``FORGET_STRIKES``) are
    deleted, so the table holds at most a day of keys however many are tried.
    """
    table: Any = StaffLoginLimit.__table__  # type: ignore[attr-defined]
    values = {"key": key, "failures": 0, "strikes": 0, "updated_at": now}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result: Any = session.execute(
        insert(table).values(**values).on_conflict_do_nothing(index_elements=["key"])
    )
    if result.rowcount:
        session.execute(
            delete(StaffLoginLimit).where(
                col(StaffLoginLimit.updated_at) < now - FORGET_STRIKES,
                col(StaffLoginLimit.locked_until).is_(None)
                | (col(StaffLoginLimit.locked_until) <= now),
            )
        )


def claim_attempt(session: Session, key: str, limit: int, now: datetime) -> float | None:
    """Count one attempt against ``key`` before the password is checked.

    None if the attempt may go ahead, else the seconds until it may. The count is taken
    by a single conditional UPDATE (``failures < limit`` and not locked), which the
    database applies to one request at a time: of N parallel attempts at most ``limit``
    go ahead, on SQLite and PostgreSQL alike. Each statement commits at once, so no
    request holds the row while it hashes a password.
    """
    row_key = col(StaffLoginLimit.key) == key
    unlocked = col(StaffLoginLimit.locked_until).is_(None) | (
        col(StaffLoginLimit.locked_until) <= now
    )
    _ensure_limit_row(session, key, now)
    # Failures older than the window, and strikes older than a day, are forgotten.
    session.execute(
        update(StaffLoginLimit)
        .where(row_key, col(StaffLoginLimit.updated_at) < now - FORGET_STRIKES, unlocked)
        .values(failures=0, strikes=0, locked_until=None)
    )
    session.execute(
        update(StaffLoginLimit)
        .where(row_key, col(StaffLoginLimit.updated_at) < now - LOGIN_WINDOW, unlocked)
        .values(failures=0)
    )
    claimed: Any = session.execute(
        update(StaffLoginLimit)
        .where(row_key, col(StaffLoginLimit.failures) < limit, unlocked)
        .values(failures=col(StaffLoginLimit.failures) + 1, updated_at=now)
    )
    session.commit()
    if claimed.rowcount:
        return None
    row = session.get(StaffLoginLimit, key, populate_existing=True)
    if row is None:  # pragma: no cover - the row was inserted above and is never deleted
        return _lock_for(0).total_seconds()
    if row.locked_until is not None and row.locked_until > now:
        session.commit()
        return (row.locked_until - now).total_seconds()
    # The allowance is spent and no lock is set yet: exactly one request sets it (the
    # UPDATE matches only while failures >= limit), with the next, doubled duration.
    lock = _lock_for(row.strikes)
    session.execute(
        update(StaffLoginLimit)
        .where(row_key, col(StaffLoginLimit.failures) >= limit, unlocked)
        .values(
            failures=0,
            strikes=col(StaffLoginLimit.strikes) + 1,
            locked_until=now + lock,
            updated_at=now,
        )
    )
    session.commit()
    return lock.total_seconds()


def release_attempt(session: Session, key: str, *, forget: bool) -> None:
    """Give back a claimed attempt that succeeded (``forget``: and the key's history)."""
    values: dict[str, Any] = (
        {"failures": 0, "strikes": 0, "locked_until": None}
        if forget
        else {"failures": col(StaffLoginLimit.failures) - 1}
    )
    session.execute(
        update(StaffLoginLimit)
        .where(col(StaffLoginLimit.key) == key, col(StaffLoginLimit.failures) > 0)
        .values(**values)
    )


def login_keys(email: str, client: str) -> tuple[str, str]:
    """The counters an attempt is charged to: (client, account) and the client alone."""
    address = RateLimiter.client_key(client)
    return f"pair:{address}|{email}"[:500], f"client:{address}"


def authenticate(
    session: Session, email: str, password: str, *, client: str, now: datetime
) -> StaffMember:
    """The staff member for a correct email and password; ``AuthError`` otherwise.

    Each attempt is first charged to its (client address, account) counter and to its
    client address counter; a spent counter refuses the attempt (``RateLimited``, with
    the seconds to wait) without checking the password. A success gives the charges back.
    Because the account alone is never a key, failures from other addresses cannot lock
    the real owner out.
    """
    value = email.strip().lower()[:320]
    pair_key, client_key = login_keys(value, client)
    wait = claim_attempt(session, client_key, MAX_FAILURES_PER_CLIENT, now)
    if wait is None:
        wait = claim_attempt(session, pair_key, MAX_FAILURES_PER_EMAIL, now)
        if wait is not None:
            # Refused without a check: it does not count against the address as well.
            release_attempt(session, client_key, forget=False)
            session.commit()
    if wait is not None:
        minutes = max(1, round(wait / 60))
        raise RateLimited(
            f"too many failed sign-ins from this address; wait about {minutes} "
            "minute(s) and try again",
            retry_after=wait,
        )
    member = find_staff(session, value)
    ok = check_password(password, member.password_hash if member else None)
    if member is not None and member.disabled_at is not None:
        ok = False
    session.add(StaffLoginAttempt(email=value, client=client[:100], ok=ok, at=now))
    if ok:
        release_attempt(session, pair_key, forget=True)
        release_attempt(session, client_key, forget=False)
    session.commit()
    if not ok or member is None:
        raise AuthError("the email address or the password is wrong", code="auth.bad_login")
    return member


#: Console sessions: the cookie, its CSRF token, the idle and absolute limits.
SESSIONS: sign_in_sessions.SessionKind[StaffSession] = sign_in_sessions.SessionKind(
    table=StaffSession,
    lifetime=ABSOLUTE_LIFETIME,
    idle_timeout=IDLE_TIMEOUT,
    csrf_message=(
        "the form was stale or did not come from this console (CSRF check failed); "
        "reload the page and try again"
    ),
    csrf_code="auth.csrf",
)


def start_session(session: Session, member: StaffMember, *, now: datetime) -> tuple[str, str]:
    """A new session; returns ``(cookie value, CSRF token)``. The cookie is not stored."""
    return sign_in_sessions.start(session, SESSIONS, now=now, staff_id=member.id or 0)


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
    row = sign_in_sessions.look_up(session, SESSIONS, token, now=now)
    if row is None:
        return None
    member = session.get(StaffMember, row.staff_id)
    if member is None or member.disabled_at is not None:
        return None
    sign_in_sessions.keep_alive(session, row, now=now)
    return SignedIn(staff=member, session_id=row.id or 0, csrf_token=row.csrf_token)


def end_session(session: Session, session_id: int, *, now: datetime) -> None:
    """Sign out: the session row is ended and its cookie stops working."""
    sign_in_sessions.end(session, SESSIONS, session_id, now=now)


def check_csrf(signed_in: SignedIn, given: str | None) -> None:
    """``ForbiddenError`` unless ``given`` is this session's CSRF token."""
    sign_in_sessions.check_csrf(SESSIONS, signed_in.csrf_token, given)


def seed_demo_staff(session: Session, issuer: Issuer, *, now: datetime) -> tuple[str, str]:
    """A demo owner account for ``issuer`` with a fresh random password (development only).

    Returns ``(email, password)``; the password is reset on every call and shown once.
    """
    email = f"owner@{issuer.slug}.example"
    password = secrets.token_urlsafe(12)
    grant = create_or_add_staff(
        session,
        issuer,
        email,
        "owner",
        password=None if find_staff(session, email) else password,
        name="Demo owner",
        actor="cli:seed-demo",
        operator=True,
        now=now,
    )
    if not grant.created:
        # The operator's command: it may reset the demo account, as `staff set-password`.
        set_password(
            session, grant.member, password, chosen_by=None, actor="cli:seed-demo", now=now
        )
    return email, password
