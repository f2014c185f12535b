"""W3C Bitstring Status Lists of the issuers we host: allocation, signing, bit changes.

Per issuer there is one list per purpose (``revocation``, ``suspension``), of
``LIST_ENTRIES`` (131,072, the minimum §3.2 sets for herd privacy) entries, served at
``<base>/status/<issuer-slug>/<purpose>/<n>``. A credential's index is drawn uniformly at
random among the unused ones of the current list (never in issuance order, which would
tell a verifier how many credentials came before); the unique ``(list_id, index)``
constraint decides races between processes, and the loser draws again. When a list is
full, list ``n + 1`` starts.

A list's ``bits``, ``version`` and signed ``document`` change together, in the caller's
transaction (``set_bit`` never commits), so a crash before the commit leaves the old,
consistent list, and a crash after it the new one.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from badgeworks.core.credential import bitstring_status_list_entry
from badgeworks.core.errors import StatusError
from badgeworks.core.issue import issue
from badgeworks.core.status import (
    MIN_ENTRIES,
    encode_list,
    get_status,
    new_bitstring,
    set_status,
    status_list_credential,
)
from badgeworks.db.models import Issuer
from badgeworks.db.status import StatusEntry, StatusList
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError
from badgeworks.services.issuers import signing_key

PURPOSES: tuple[str, ...] = ("revocation", "suspension")
#: Open Badges 3.0 credentials carry one entry: the OB 3.0 JSON Schema (and data model,
#: ``credentialStatus`` [0..1]) allows a single ``credentialStatus`` object.
OB_PURPOSES: tuple[str, ...] = ("revocation",)
LIST_ENTRIES = MIN_ENTRIES
#: How many random draws we make before concluding a list is (nearly) full.
_DRAWS = 64
_LIST_PATH = re.compile(r"^/status/([a-z0-9][a-z0-9-]{0,63})/(revocation|suspension)/([0-9]{1,9})$")

#: Test hook: called after a bit change is written and re-signed, just before the caller
#: commits (tests kill the process here to prove a crash leaves a consistent list).
before_commit: Callable[[], None] | None = None


def list_url(ctx: ServiceContext, slug: str, purpose: str, number: int) -> str:
    """The URL (and ``id``) of an issuer's status list credential."""
    return f"{ctx.base_url}/status/{slug}/{purpose}/{number}"


def parse_list_url(ctx: ServiceContext, url: str) -> tuple[str, str, int] | None:
    """``(slug, purpose, number)`` if ``url`` is one of our list URLs, else None."""
    if not isinstance(url, str) or not url.startswith(ctx.base_url + "/status/"):
        return None
    match = _LIST_PATH.match(url[len(ctx.base_url) :])
    if match is None:
        return None
    return match.group(1), match.group(2), int(match.group(3))


def serialize(document: dict[str, Any]) -> str:
    """The text we store and serve for a signed status list credential."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def _signed_list(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    purpose: str,
    number: int,
    bits: bytes | bytearray,
    now: datetime,
) -> str:
    unsigned = status_list_credential(
        id=list_url(ctx, issuer.slug, purpose, number),
        issuer=issuer.did,
        purpose=purpose,
        encoded_list=encode_list(bits),
        valid_from=now,
    )
    return serialize(issue(unsigned, signing_key(session, ctx, issuer), ctx.loader, now=now))


def _insert_ignoring_conflict(session: Session, table: Any, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id; True if the row was inserted.

    Unlike catching ``IntegrityError``, this leaves a PostgreSQL transaction usable, so a
    lost race costs one more draw instead of the whole issuance. ``RETURNING`` (not the
    driver's row count, which proved unreliable under concurrent conflicts on
    PostgreSQL) tells whether this statement inserted the row.
    """
    dialect = session.get_bind().dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        stmt = insert(table).values(**values)
    result: Any = session.execute(stmt.returning(table.c.id))
    return result.first() is not None


def _list_row(session: Session, issuer_id: int, purpose: str, number: int) -> StatusList | None:
    return session.exec(
        select(StatusList).where(
            StatusList.issuer_id == issuer_id,
            StatusList.purpose == purpose,
            StatusList.number == number,
        )
    ).first()


def ensure_list(
    session: Session, ctx: ServiceContext, issuer: Issuer, purpose: str, number: int
) -> StatusList:
    """List ``number`` of ``issuer`` for ``purpose``, created (and signed) if missing."""
    issuer_id = issuer.id or 0
    row = _list_row(session, issuer_id, purpose, number)
    if row is not None:
        return row
    now = ctx.clock()
    bits = new_bitstring(LIST_ENTRIES)
    _insert_ignoring_conflict(
        session,
        StatusList.__table__,  # type: ignore[attr-defined]
        {
            "issuer_id": issuer_id,
            "purpose": purpose,
            "number": number,
            "entries": LIST_ENTRIES,
            "bits": bytes(bits),
            "version": 1,
            "document": _signed_list(session, ctx, issuer, purpose, number, bits, now),
            "created_at": now,
            "updated_at": now,
        },
    )
    row = _list_row(session, issuer_id, purpose, number)
    if row is None:  # pragma: no cover - the insert or a concurrent one made it
        raise ConflictError("the status list could not be created; retry", code="status.busy")
    return row


def _claim(session: Session, row: StatusList, index: int, purpose: str, credential_id: str) -> bool:
    values = {"list_id": row.id, "index": index, "purpose": purpose, "credential_id": credential_id}
    table = StatusEntry.__table__  # type: ignore[attr-defined]
    return _insert_ignoring_conflict(session, table, values)


def _free_indexes(session: Session, row: StatusList) -> list[int]:
    taken = set(session.exec(select(StatusEntry.index).where(StatusEntry.list_id == row.id)).all())
    return [i for i in range(row.entries) if i not in taken]


def allocate(
    session: Session, ctx: ServiceContext, issuer: Issuer, credential_id: str, purpose: str
) -> tuple[StatusList, int]:
    """Claim a random unused index for ``credential_id`` in the current ``purpose`` list.

    Each draw is an ``INSERT … ON CONFLICT DO NOTHING`` of the entry (not committed): the
    unique constraint is what makes the claim, so a concurrent claim of the same index
    loses and draws again. After ``_DRAWS`` collisions in a row the list is nearly full,
    and we draw uniformly from the free indexes instead (or start the next list).
    """
    issuer_id = issuer.id or 0
    number = (
        session.exec(
            select(func.max(StatusList.number)).where(
                StatusList.issuer_id == issuer_id, StatusList.purpose == purpose
            )
        ).one()
        or 1
    )
    rng = secrets.SystemRandom()
    for _attempt in range(1000):
        row = ensure_list(session, ctx, issuer, purpose, number)
        for _ in range(_DRAWS):
            index = rng.randrange(row.entries)
            if _claim(session, row, index, purpose, credential_id):
                return row, index
        free = _free_indexes(session, row)
        if not free:
            number += 1
            continue
        index = rng.choice(free)
        if _claim(session, row, index, purpose, credential_id):
            return row, index
    raise ConflictError(  # pragma: no cover - needs 1000 lost races in a row
        "could not allocate a status list index; retry", code="status.busy"
    )


def allocate_entries(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    credential_id: str,
    *,
    purposes: tuple[str, ...] = PURPOSES,
) -> list[dict[str, Any]]:
    """The ``credentialStatus`` entries of a new credential: one per purpose."""
    entries = []
    for purpose in purposes:
        row, index = allocate(session, ctx, issuer, credential_id, purpose)
        url = list_url(ctx, issuer.slug, purpose, row.number)
        entries.append(bitstring_status_list_entry(list_url=url, index=index, purpose=purpose))
    return entries


def entry_for(session: Session, credential_id: str, purpose: str) -> StatusEntry | None:
    """The credential's entry for ``purpose``, if it has one."""
    return session.exec(
        select(StatusEntry).where(
            StatusEntry.credential_id == credential_id, StatusEntry.purpose == purpose
        )
    ).first()


def entries_of(session: Session, credential_id: str) -> list[str]:
    """The purposes the credential has status entries for."""
    return sorted(
        session.exec(
            select(StatusEntry.purpose).where(StatusEntry.credential_id == credential_id)
        ).all()
    )


def current_value(session: Session, credential_id: str, purpose: str) -> int | None:
    """The credential's bit for ``purpose`` (None when it has no entry)."""
    entry = entry_for(session, credential_id, purpose)
    if entry is None:
        return None
    row = session.get(StatusList, entry.list_id)
    assert row is not None
    return get_status(row.bits, entry.index)


def set_bit(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    credential_id: str,
    purpose: str,
    value: int,
) -> StatusList:
    """Set the credential's ``purpose`` bit to ``value`` and re-sign the list; no commit.

    The list row is locked (``SELECT … FOR UPDATE`` on PostgreSQL) so that two changes
    to the same list serialise and neither overwrites the other's bit. Raises
    ``ConflictError`` (``status.unchanged``) when the bit already has ``value`` and
    ``NotFoundError`` (``status.no_entry``) when the credential has no such entry.
    """
    entry = entry_for(session, credential_id, purpose)
    if entry is None:
        raise NotFoundError(
            f"credential {credential_id} has no {purpose} status entry (it was issued before "
            "status lists existed)",
            code="status.no_entry",
        )
    row = session.exec(
        select(StatusList)
        .where(StatusList.id == entry.list_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    bits = bytearray(row.bits)
    if get_status(bits, entry.index) == value:
        raise ConflictError(
            f"the {purpose} status of credential {credential_id} is already {value}",
            code="status.unchanged",
        )
    set_status(bits, entry.index, value)
    now = ctx.clock()
    row.bits = bytes(bits)
    row.version += 1
    row.document = _signed_list(session, ctx, issuer, purpose, row.number, bits, now)
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def run_before_commit_hook() -> None:
    """Call the test hook, if one is set (see ``before_commit``)."""
    if before_commit is not None:
        before_commit()


def get_list(session: Session, slug: str, purpose: str, number: int) -> StatusList:
    """A status list by its URL parts (public)."""
    issuer = session.exec(select(Issuer).where(Issuer.slug == slug)).first()
    row = (
        _list_row(session, issuer.id or 0, purpose, number)
        if issuer is not None and purpose in PURPOSES
        else None
    )
    if row is None:
        raise NotFoundError(
            f"there is no status list {slug!r:.80}/{purpose!r:.20}/{number}",
            code="status.list_not_found",
        )
    return row


def local_document(ctx: ServiceContext, url: str) -> dict[str, Any] | None:
    """Our own signed list at ``url`` straight from the database; None if not under our URL.

    A URL under ``<base>/status/`` that names no list raises ``StatusError``
    (``status.unavailable``): it is ours, so fetching it over the network cannot help.
    """
    if not isinstance(url, str) or not url.startswith(ctx.base_url + "/status/"):
        return None
    if ctx.session_factory is None:
        return None
    parts = parse_list_url(ctx, url)
    if parts is not None:
        with ctx.session_factory() as session:
            try:
                row = get_list(session, *parts)
            except NotFoundError:
                pass
            else:
                document: dict[str, Any] = json.loads(row.document)
                return document
    raise StatusError(
        f"there is no status list at {url:.200} on this service", code="status.unavailable"
    )


def lists_of(session: Session, issuer: Issuer) -> list[StatusList]:
    """Every status list of an issuer, by purpose and number."""
    return list(
        session.exec(
            select(StatusList)
            .where(StatusList.issuer_id == issuer.id)
            .order_by(col(StatusList.purpose), col(StatusList.number))
        )
    )
