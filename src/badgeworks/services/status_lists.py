"""W3C Bitstring Status Lists we host and sign: allocation, signing, bit changes.

A list belongs to an **owner**, who is its ``issuer`` and signs it: one of the issuers we
host (for their credentials), or an endorser whose key we hold (for their endorsements:
Bitstring Status List §2.2 expects a status list to be issued by the credential's own
issuer, and our verifier insists on it, ``core.status``). Per owner there is one list
per purpose, of ``LIST_ENTRIES`` (131,072, the minimum §3.2 sets for herd privacy)
entries, served at

- ``<base>/status/<issuer-slug>/<purpose>/<n>`` for an issuer (tables ``status_list``,
  ``status_entry``);
- ``<base>/mentors/<id>/status/<purpose>/<n>`` (``/hosts/<id>/…`` for a host
  organisation) for an endorser, next to their DID document (tables
  ``endorser_status_list``, ``endorser_status_entry``).

A credential's index is drawn uniformly at random among the unused ones of the current
list (never in issuance order, which would tell a verifier how many credentials came
before); the unique ``(list_id, index)`` constraint decides races between processes, and
the loser draws again. When a list is full, list ``n + 1`` starts.

A list's ``bits``, ``version`` and signed ``document`` change together, in the caller's
transaction (``set_bit`` never commits), so a crash before the commit leaves the old,
consistent list, and a crash after it the new one.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from badgeworks.core.credential import bitstring_status_list_entry
from badgeworks.core.crypto import Ed25519KeyPair
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
from badgeworks.db.endorsements import Endorser
from badgeworks.db.models import EndorserStatusEntry, EndorserStatusList, Issuer
from badgeworks.db.status import StatusEntry, StatusList
from badgeworks.services import mentors
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError
from badgeworks.services.issuers import signing_key

PURPOSES: tuple[str, ...] = ("revocation", "suspension")
#: Open Badges 3.0 credentials carry one entry: the OB 3.0 JSON Schema (and data model,
#: ``credentialStatus`` [0..1]) allows a single ``credentialStatus`` object. The same
#: holds for an EndorsementCredential, so endorsements carry this one entry too.
OB_PURPOSES: tuple[str, ...] = ("revocation",)
LIST_ENTRIES = MIN_ENTRIES
#: How many random draws we make before concluding a list is (nearly) full.
_DRAWS = 64
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_LIST_PATH = re.compile(r"^/status/([a-z0-9][a-z0-9-]{0,63})/(revocation|suspension)/([0-9]{1,9})$")
_ENDORSER_LIST_PATH = re.compile(
    rf"^/(mentors|hosts)/({_UUID})/status/(revocation|suspension)/([0-9]{{1,9}})$"
)
_ENDORSER_LISTS = re.compile(r"^/(mentors|hosts)/[^/?#]+/status/")

#: Who publishes and signs a status list: an issuer we host, or an endorser whose key
#: we hold.
Owner = Issuer | Endorser
#: A list row and an entry row, of either owner's tables (they have the same columns).
ListRow = StatusList | EndorserStatusList
EntryRow = StatusEntry | EndorserStatusEntry

#: Test hook: called after a bit change is written and re-signed, just before the caller
#: commits (tests kill the process here to prove a crash leaves a consistent list).
before_commit: Callable[[], None] | None = None


@dataclass(frozen=True)
class ListAddress:
    """What a list URL names: the owner (``issuer`` by slug, or an endorser by id)."""

    kind: Literal["issuer", "mentor", "host"]
    owner: str
    purpose: str
    number: int


# --- owners ------------------------------------------------------------------------------


def _tables(owner: Owner | None) -> tuple[Any, Any]:
    """The (list, entry) tables of ``owner``'s lists; an issuer's when ``owner`` is None."""
    if isinstance(owner, Endorser):
        return EndorserStatusList, EndorserStatusEntry
    return StatusList, StatusEntry


def _owned_by(owner: Owner) -> Any:
    """The SQL condition "the list belongs to ``owner``"."""
    if isinstance(owner, Endorser):
        return EndorserStatusList.endorser_id == owner.id
    return StatusList.issuer_id == (owner.id or 0)


def _owner_column(owner: Owner) -> dict[str, Any]:
    if isinstance(owner, Endorser):
        return {"endorser_id": owner.id}
    return {"issuer_id": owner.id or 0}


def _signing_key(session: Session, ctx: ServiceContext, owner: Owner) -> Ed25519KeyPair:
    if isinstance(owner, Endorser):
        return mentors.signing_key(ctx, owner)
    return signing_key(session, ctx, owner)


def list_url(ctx: ServiceContext, owner: Owner, purpose: str, number: int) -> str:
    """The URL (and ``id``) of one of ``owner``'s status list credentials."""
    if isinstance(owner, Endorser):
        return f"{ctx.base_url}/{mentors.PATHS[owner.kind]}/{owner.id}/status/{purpose}/{number}"
    return f"{ctx.base_url}/status/{owner.slug}/{purpose}/{number}"


def parse_list_url(ctx: ServiceContext, url: str) -> ListAddress | None:
    """What ``url`` names if it is one of our list URLs, else None."""
    if not isinstance(url, str) or not url.startswith(ctx.base_url + "/"):
        return None
    path = url[len(ctx.base_url) :]
    match = _LIST_PATH.match(path)
    if match is not None:
        return ListAddress("issuer", match.group(1), match.group(2), int(match.group(3)))
    match = _ENDORSER_LIST_PATH.match(path)
    if match is not None:
        kind: Literal["mentor", "host"] = "mentor" if match.group(1) == "mentors" else "host"
        return ListAddress(kind, match.group(2), match.group(3), int(match.group(4)))
    return None


def serialize(document: dict[str, Any]) -> str:
    """The text we store and serve for a signed status list credential."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def _signed_list(
    session: Session,
    ctx: ServiceContext,
    owner: Owner,
    purpose: str,
    number: int,
    bits: bytes | bytearray,
    now: datetime,
) -> str:
    # The list's issuer is the owner's DID, as a string, and the owner's key signs it:
    # a verifier accepts a list only from the credential's own issuer (core.status).
    unsigned = status_list_credential(
        id=list_url(ctx, owner, purpose, number),
        issuer=owner.did,
        purpose=purpose,
        encoded_list=encode_list(bits),
        valid_from=now,
    )
    key = _signing_key(session, ctx, owner)
    return serialize(issue(unsigned, key, ctx.loader, now=now))


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


def _list_row(session: Session, owner: Owner, purpose: str, number: int) -> ListRow | None:
    lists, _ = _tables(owner)
    row: ListRow | None = session.exec(
        select(lists).where(_owned_by(owner), lists.purpose == purpose, lists.number == number)
    ).first()
    return row


def ensure_list(
    session: Session, ctx: ServiceContext, owner: Owner, purpose: str, number: int
) -> ListRow:
    """List ``number`` of ``owner`` for ``purpose``, created (and signed) if missing."""
    row = _list_row(session, owner, purpose, number)
    if row is not None:
        return row
    now = ctx.clock()
    bits = new_bitstring(LIST_ENTRIES)
    lists, _ = _tables(owner)
    _insert_ignoring_conflict(
        session,
        lists.__table__,
        {
            **_owner_column(owner),
            "purpose": purpose,
            "number": number,
            "entries": LIST_ENTRIES,
            "bits": bytes(bits),
            "version": 1,
            "document": _signed_list(session, ctx, owner, purpose, number, bits, now),
            "created_at": now,
            "updated_at": now,
        },
    )
    row = _list_row(session, owner, purpose, number)
    if row is None:  # pragma: no cover - the insert or a concurrent one made it
        raise ConflictError("the status list could not be created; retry", code="status.busy")
    return row


def _claim(
    session: Session, owner: Owner, row: ListRow, index: int, purpose: str, credential_id: str
) -> bool:
    _, entries = _tables(owner)
    values = {"list_id": row.id, "index": index, "purpose": purpose, "credential_id": credential_id}
    return _insert_ignoring_conflict(session, entries.__table__, values)


def _free_indexes(session: Session, owner: Owner, row: ListRow) -> list[int]:
    _, entries = _tables(owner)
    taken = set(session.exec(select(entries.index).where(entries.list_id == row.id)).all())
    return [i for i in range(row.entries) if i not in taken]


def _already_has(session: Session, owner: Owner, credential_id: str, purpose: str) -> None:
    # A claim also fails when the credential already holds an entry for ``purpose``
    # (unique (credential_id, purpose)); drawing again could never succeed then.
    if entry_for(session, credential_id, purpose, owner=owner) is not None:
        raise ConflictError(
            f"{credential_id} already has a {purpose} status entry", code="status.duplicate"
        )


def allocate(
    session: Session, ctx: ServiceContext, owner: Owner, credential_id: str, purpose: str
) -> tuple[ListRow, int]:
    """Claim a random unused index for ``credential_id`` in ``owner``'s current list.

    Each draw is an ``INSERT … ON CONFLICT DO NOTHING`` of the entry (not committed): the
    unique constraint is what makes the claim, so a concurrent claim of the same index
    loses and draws again. After ``_DRAWS`` collisions in a row the list is nearly full,
    and we draw uniformly from the free indexes instead (or start the next list).
    """
    lists, _ = _tables(owner)
    number = (
        session.exec(
            select(func.max(lists.number)).where(_owned_by(owner), lists.purpose == purpose)
        ).one()
        or 1
    )
    rng = secrets.SystemRandom()
    for _attempt in range(1000):
        row = ensure_list(session, ctx, owner, purpose, number)
        for draw in range(_DRAWS):
            index = rng.randrange(row.entries)
            if _claim(session, owner, row, index, purpose, credential_id):
                return row, index
            if draw == 0:
                _already_has(session, owner, credential_id, purpose)
        free = _free_indexes(session, owner, row)
        if not free:
            number += 1
            continue
        index = rng.choice(free)
        if _claim(session, owner, row, index, purpose, credential_id):
            return row, index
    raise ConflictError(  # pragma: no cover - needs 1000 lost races in a row
        "could not allocate a status list index; retry", code="status.busy"
    )


def allocate_entries(
    session: Session,
    ctx: ServiceContext,
    owner: Owner,
    credential_id: str,
    *,
    purposes: tuple[str, ...] = PURPOSES,
) -> list[dict[str, Any]]:
    """The ``credentialStatus`` entries of a new credential of ``owner``: one per purpose.

    ``credential_id`` is the credential's (or endorsement's) UUID, as stored.
    """
    entries = []
    for purpose in purposes:
        row, index = allocate(session, ctx, owner, credential_id, purpose)
        url = list_url(ctx, owner, purpose, row.number)
        entries.append(bitstring_status_list_entry(list_url=url, index=index, purpose=purpose))
    return entries


def entry_for(
    session: Session, credential_id: str, purpose: str, *, owner: Owner | None = None
) -> EntryRow | None:
    """The credential's entry for ``purpose``, if it has one.

    Without ``owner``, among the issuers' lists; with it, among ``owner``'s lists only (an
    endorser's entries are in their own tables).
    """
    lists, entries = _tables(owner)
    stmt = select(entries).where(entries.credential_id == credential_id, entries.purpose == purpose)
    if owner is not None:
        stmt = stmt.join(lists, lists.id == entries.list_id).where(_owned_by(owner))
    entry: EntryRow | None = session.exec(stmt).first()
    return entry


def entries_of(session: Session, credential_id: str) -> list[str]:
    """The purposes the credential has status entries for (issuers' lists)."""
    return sorted(
        session.exec(
            select(StatusEntry.purpose).where(StatusEntry.credential_id == credential_id)
        ).all()
    )


def current_value(
    session: Session, credential_id: str, purpose: str, *, owner: Owner | None = None
) -> int | None:
    """The credential's bit for ``purpose`` (None when it has no entry); see ``entry_for``."""
    entry = entry_for(session, credential_id, purpose, owner=owner)
    if entry is None:
        return None
    lists, _ = _tables(owner)
    row: ListRow | None = session.get(lists, entry.list_id)
    assert row is not None
    return get_status(row.bits, entry.index)


def set_bit(
    session: Session,
    ctx: ServiceContext,
    owner: Owner,
    credential_id: str,
    purpose: str,
    value: int,
) -> ListRow:
    """Set the credential's ``purpose`` bit to ``value`` and re-sign the list; no commit.

    Only ``owner``'s own lists are looked at, so nobody can flip a bit in another owner's
    list. The list row is locked (``SELECT … FOR UPDATE`` on PostgreSQL) so that two
    changes to the same list serialise and neither overwrites the other's bit. Raises
    ``ConflictError`` (``status.unchanged``) when the bit already has ``value`` and
    ``NotFoundError`` (``status.no_entry``) when the credential has no such entry.
    """
    entry = entry_for(session, credential_id, purpose, owner=owner)
    if entry is None:
        raise NotFoundError(
            f"credential {credential_id} has no {purpose} status entry in a list of "
            f"{owner.did} (it was issued before status lists existed, or by someone else)",
            code="status.no_entry",
        )
    lists, _ = _tables(owner)
    row: ListRow = session.exec(
        select(lists)
        .where(lists.id == entry.list_id)
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
    row.document = _signed_list(session, ctx, owner, purpose, row.number, bits, now)
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def run_before_commit_hook() -> None:
    """Call the test hook, if one is set (see ``before_commit``)."""
    if before_commit is not None:
        before_commit()


def _not_found(what: str, purpose: str, number: int) -> NotFoundError:
    return NotFoundError(
        f"there is no status list {what:.80}/{purpose!r:.20}/{number}",
        code="status.list_not_found",
    )


def get_list(session: Session, slug: str, purpose: str, number: int) -> StatusList:
    """An issuer's status list by its URL parts (public)."""
    issuer = session.exec(select(Issuer).where(Issuer.slug == slug)).first()
    row = (
        _list_row(session, issuer, purpose, number)
        if issuer is not None and purpose in PURPOSES
        else None
    )
    if not isinstance(row, StatusList):
        raise _not_found(repr(slug), purpose, number)
    return row


def get_endorser_list(
    session: Session, kind: str, endorser_id: str, purpose: str, number: int
) -> EndorserStatusList:
    """An endorser's status list by its URL parts (public): ``kind`` is mentor or host."""
    endorser = session.get(Endorser, endorser_id) if re.fullmatch(_UUID, endorser_id) else None
    row = (
        _list_row(session, endorser, purpose, number)
        if endorser is not None and endorser.kind == kind and purpose in PURPOSES
        else None
    )
    if not isinstance(row, EndorserStatusList):
        raise _not_found(f"{kind} {endorser_id!r}", purpose, number)
    return row


def find_list(session: Session, address: ListAddress) -> ListRow:
    """The list a ``parse_list_url`` address names; ``NotFoundError`` if there is none."""
    if address.kind == "issuer":
        return get_list(session, address.owner, address.purpose, address.number)
    return get_endorser_list(session, address.kind, address.owner, address.purpose, address.number)


def _ours(ctx: ServiceContext, url: str) -> bool:
    """True for any URL under which we serve status lists (whether or not one is there)."""
    if not url.startswith(ctx.base_url + "/"):
        return False
    path = url[len(ctx.base_url) :]
    return path.startswith("/status/") or _ENDORSER_LISTS.match(path) is not None


def local_document(ctx: ServiceContext, url: str) -> dict[str, Any] | None:
    """Our own signed list at ``url`` straight from the database; None if not under our URL.

    Issuers' lists (``<base>/status/…``) and endorsers' (``<base>/mentors/<id>/status/…``,
    ``<base>/hosts/<id>/status/…``) alike. A URL of that form that names no list raises
    ``StatusError`` (``status.unavailable``): it is ours, so fetching it over the network
    cannot help.
    """
    if not isinstance(url, str) or not _ours(ctx, url):
        return None
    if ctx.session_factory is None:
        return None
    address = parse_list_url(ctx, url)
    if address is not None:
        with ctx.session_factory() as session:
            try:
                row = find_list(session, address)
            except NotFoundError:
                pass
            else:
                document: dict[str, Any] = json.loads(row.document)
                return document
    raise StatusError(
        f"there is no status list at {url:.200} on this service", code="status.unavailable"
    )


def lists_of(session: Session, owner: Owner) -> list[ListRow]:
    """Every status list of ``owner``, by purpose and number."""
    lists, _ = _tables(owner)
    return list(
        session.exec(
            select(lists).where(_owned_by(owner)).order_by(col(lists.purpose), col(lists.number))
        )
    )
