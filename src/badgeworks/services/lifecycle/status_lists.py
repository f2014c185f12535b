"""W3C Bitstring Status Lists we host and sign: allocation, signing, bit changes.

A list belongs to an **owner**, who is its ``issuer`` and signs it: one of the issuers we
host (for their credentials), or an endorser whose key we hold (for their endorsements:
Bitstring Status List §2.2 expects a status list to be issued by the credential's own
issuer, and our verifier insists on it, ``core.status``). Per owner there is one list
per purpose, of ``LIST_ENTRIES`` (131,072, the minimum §3.2 sets for herd privacy)
entries of one size (``status_size``: 1 bit, or wider for an issuer's revocation reasons,
see ``EntryShape`` and ``services/lifecycle/reasons.py``; lists of every size share one
numbering), served at

- ``<base>/status/<issuer-slug>/<purpose>/<n>`` for an issuer (tables ``status_list``,
  ``status_entry``);
- ``<base>/mentors/<id>/status/<purpose>/<n>`` (``/hosts/<id>/…`` for a host
  organisation) for an endorser, next to their DID document (tables
  ``endorser_status_list``, ``endorser_status_entry``).

A credential's index comes from the current list's next *slot*: the list counts the slots
it handed out (``next_slot``, taken under the row's write lock) and slot ``k`` is index
``permute(key, k)``, a keyed pseudo-random permutation of the list's indexes whose key
only this service can derive (``slot_key``, from the key secret). So indexes are never
handed out twice, follow no issue order and say nothing about other credentials, and a
claim needs no trial inserts. The unique ``(list_id, index)`` constraint still guards
every claim: an index taken before slots existed is skipped. When a list is full, list
``n + 1`` starts. A project's completion ``reserve``s its slot in a transaction that
commits at once and ``claim``s the entry when it stores the credential, so it signs
holding no lock; a slot reserved and never claimed is never handed out again (its index
stays unused). Other issuers ``allocate`` inside their own transaction.

A list's ``bits``, ``version`` and signed ``document`` change together, in the caller's
transaction (``set_bit`` never commits), so a crash before the commit leaves the old,
consistent list, and a crash after it the new one. A status change first takes the lock
on the lists it touches (``lock_for_change``: ``BEGIN IMMEDIATE`` on SQLite, ``SELECT …
FOR UPDATE`` in list order on PostgreSQL), so concurrent changes to one list serialise
instead of overwriting each other's bit.

The database's rows are the truth the bits must equal: a ``Revocation`` row sets a
credential's revocation bit, its last ``suspend``/``unsuspend`` change decides its
suspension bit, and a withdrawn endorsement has its bit set in its endorser's list.
``check`` compares every list with the rows in one pass; ``repair`` re-derives and
re-signs the lists that drifted (``badgeworks status repair``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, insert, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from badgeworks.core.credential import bitstring_status_list_entry
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.cryptosuites import DEFAULT_CRYPTOSUITE
from badgeworks.core.errors import StatusError
from badgeworks.core.issue import issue
from badgeworks.core.status import (
    MIN_ENTRIES,
    decode_list,
    encode_list,
    get_status,
    new_bitstring,
    set_status,
    status_entry,
    status_list_credential,
)
from badgeworks.db.endorsements import Endorsement, Endorser
from badgeworks.db.engine import begin_write
from badgeworks.db.models import EndorserStatusEntry, EndorserStatusList, Issuer, Revocation
from badgeworks.db.status import StatusChange, StatusEntry, StatusList
from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements import mentors
from badgeworks.services.errors import ConflictError, NotFoundError
from badgeworks.services.infra import secrets as key_secrets
from badgeworks.services.lifecycle import reasons
from badgeworks.services.programs.issuers import signing_key

PURPOSES: tuple[str, ...] = ("revocation", "suspension")
#: Open Badges 3.0 credentials carry one entry: the OB 3.0 JSON Schema (and data model,
#: ``credentialStatus`` [0..1]) allows a single ``credentialStatus`` object. The same
#: holds for an EndorsementCredential, so endorsements carry this one entry too.
OB_PURPOSES: tuple[str, ...] = ("revocation",)
LIST_ENTRIES = MIN_ENTRIES
#: How many taken indexes in a row ``allocate`` skips before drawing among the free ones.
_SKIPS = 64
#: Feistel rounds of the index permutation (``permute``).
_ROUNDS = 6
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_LIST_PATH = re.compile(r"^/status/([a-z0-9][a-z0-9-]{0,63})/(revocation|suspension)/([0-9]{1,9})$")
_ENDORSER_LIST_PATH = re.compile(
    rf"^/(mentors|hosts)/({_UUID})/status/(revocation|suspension)/([0-9]{{1,9}})$"
)
_ENDORSER_LISTS = re.compile(r"^/(mentors|hosts)/[^/?#]+/status/")
#: How many ids go into one ``IN (…)`` (SQLite allows 32,766 parameters; keep it small).
_CHUNK = 500

log = logging.getLogger("badgeworks.status")

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


def _cryptosuite(session: Session, owner: Owner) -> str:
    """The cryptosuite ``owner``'s lists are signed with: the issuer's setting; for a
    mentor or host, the setting of the program they endorse for."""
    if isinstance(owner, Endorser):
        program = session.get(Issuer, owner.issuer_id)
        return program.cryptosuite if program is not None else DEFAULT_CRYPTOSUITE
    return owner.cryptosuite


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
    cryptosuite = _cryptosuite(session, owner)
    return serialize(issue(unsigned, key, ctx.loader, now=now, cryptosuite=cryptosuite))


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
    _create_list(session, ctx, owner, purpose, number, 1)
    row = _list_row(session, owner, purpose, number)
    if row is None:  # pragma: no cover - the insert or a concurrent one made it
        raise ConflictError("the status list could not be created; retry", code="status.busy")
    return row


def _create_list(
    session: Session, ctx: ServiceContext, owner: Owner, purpose: str, number: int, size: int
) -> None:
    """Insert (and sign) list ``number`` of ``size``-bit entries unless it exists; a
    concurrent creation wins (the caller then looks for a list of its size again)."""
    now = ctx.clock()
    bits = new_bitstring(LIST_ENTRIES, size)
    lists, _ = _tables(owner)
    sized = {"status_size": size} if lists is StatusList else {}
    _insert_ignoring_conflict(
        session,
        lists.__table__,
        {
            **_owner_column(owner),
            **sized,
            "purpose": purpose,
            "number": number,
            "entries": LIST_ENTRIES,
            "bits": bytes(bits),
            "version": 1,
            "document": _signed_list(session, ctx, owner, purpose, number, bits, now),
            "next_slot": 0,
            "created_at": now,
            "updated_at": now,
        },
    )


def _next_number(session: Session, owner: Owner, purpose: str) -> int:
    """The number a new list of ``owner`` for ``purpose`` gets: one past the highest.

    Lists of every entry size share one numbering, so a list's URL stays
    ``…/<purpose>/<n>`` whatever its ``statusSize``.
    """
    lists, _ = _tables(owner)
    highest = session.exec(
        select(func.max(lists.number)).where(_owned_by(owner), lists.purpose == purpose)
    ).one()
    return int(highest or 0) + 1


def status_size_of(row: ListRow) -> int:
    """Bits per entry of a list (endorsers' lists hold 1-bit entries)."""
    return int(getattr(row, "status_size", 1) or 1)


@dataclass(frozen=True)
class EntryShape:
    """What a new entry for one purpose carries besides its index: ``statusSize``, the
    ``statusMessage`` texts and ``statusReference`` (1 bit and nothing else by default)."""

    size: int = 1
    messages: tuple[str, ...] | None = None
    reference: str | None = None

    def entry(self, url: str, index: int, purpose: str) -> dict[str, Any]:
        """The ``BitstringStatusListEntry`` at ``index`` of the list at ``url``."""
        if self.size == 1:
            return bitstring_status_list_entry(list_url=url, index=index, purpose=purpose)
        return status_entry(
            status_list_credential=url,
            index=index,
            purpose=purpose,
            status_size=self.size,
            status_messages=self.messages,
            status_reference=self.reference,
        )


def shape_for(owner: Owner, purpose: str) -> EntryShape:
    """The entry shape ``owner``'s new credentials get for ``purpose``: an issuer's
    revocation entries carry its revocation reasons (services/lifecycle/reasons.py);
    suspension and endorsers' entries stay 1 bit."""
    if purpose != "revocation" or not isinstance(owner, Issuer):
        return EntryShape()
    listed = reasons.of(owner)
    messages = listed.messages
    if messages is None:
        return EntryShape()
    return EntryShape(listed.status_size, tuple(messages), listed.reference)


# --- index allocation: a keyed permutation of each list's indexes -----------------------


def slot_key(
    ctx: ServiceContext, owner: Owner, list_id: int, session: Session | None = None
) -> bytes:
    """The secret permutation key of one list, derived from the service's key secret.

    Only this service can map a slot to its index, so an index tells a verifier nothing
    about when the credential was issued or which other indexes are taken.
    """
    table = "endorser_status_list" if isinstance(owner, Endorser) else "status_list"
    label = f"badgeworks status-list slots\0{table}\0{list_id}".encode()
    return hmac.new(_slot_secret(ctx, session).encode("utf-8"), label, hashlib.sha256).digest()


def _slot_secret(ctx: ServiceContext, session: Session | None) -> str:
    # The key secret the lists were started under, kept across rotations of the key
    # secret (services/infra/secrets.py), so the permutation of a list never changes.
    # A caller inside a write transaction passes its session: the secret is read on the
    # connection it holds, never on a second one from the pool (fifty writers each
    # holding one connection and waiting for another would exhaust it).
    if ctx.slot_secret is None:
        if session is not None:
            ctx.slot_secret = key_secrets.read_slot_secret(session.connection(), ctx.key_secrets)
        elif ctx.session_factory is None:
            return ctx.key_secret
        else:
            with ctx.session_factory() as own:
                engine = own.get_bind()
            assert isinstance(engine, Engine)
            ctx.slot_secret = key_secrets.slot_secret(engine, ctx.key_secrets)
    return ctx.slot_secret


def permute(key: bytes, slot: int, size: int) -> int:
    """Slot ``slot`` of a list of ``size`` entries → its index: a bijection of [0, size).

    A balanced Feistel network (``_ROUNDS`` rounds of keyed BLAKE2b) over the smallest
    even number of bits that covers ``size``, walked again while the result falls outside
    the list (cycle-walking), so every slot gets its own index and every index one slot.
    """
    if not 0 <= slot < size:
        raise ValueError(f"slot {slot} is outside a list of {size} entries")
    bits = max(2, (size - 1).bit_length())
    bits += bits % 2
    half = bits // 2
    mask = (1 << half) - 1
    value = slot
    while True:
        left, right = value >> half, value & mask
        for round_number in range(_ROUNDS):
            digest = hashlib.blake2b(
                right.to_bytes(4, "big") + bytes((round_number,)), key=key, digest_size=4
            ).digest()
            left, right = right, left ^ (int.from_bytes(digest, "big") & mask)
        value = (left << half) | right
        if value < size:
            return value


@dataclass(frozen=True)
class _Slot:
    list_id: int
    number: int
    entries: int
    #: The slot handed out (0-based), or None when the list has handed out every slot.
    slot: int | None


def _take_slot(session: Session, owner: Owner, purpose: str, size: int = 1) -> _Slot | None:
    """Hand out the next slot of ``owner``'s current list for ``purpose`` whose entries
    are ``size`` bits (one statement).

    ``UPDATE … SET next_slot = next_slot + 1 … RETURNING``: the row's write lock makes
    concurrent issuers take turns for the counter, so no two transactions get one slot
    (a rolled-back one gives its slot back with its entry; a committed ``reserve`` keeps
    it, used or not). None if there is no list yet;
    a ``_Slot`` without ``slot`` if the current list has no slot left.
    """
    lists, _ = _tables(owner)
    table = lists.__table__
    of_size = [lists.status_size == size] if lists is StatusList else []
    current = (
        select(lists.id)
        .where(_owned_by(owner), lists.purpose == purpose, *of_size)
        .order_by(col(lists.number).desc())
        .limit(1)
        .scalar_subquery()
    )
    taken: Any = session.execute(
        update(table)
        .where(table.c.id == current, table.c.next_slot < table.c.entries)
        .values(next_slot=table.c.next_slot + 1)
        .returning(table.c.id, table.c.number, table.c.entries, table.c.next_slot)
    ).first()
    if taken is not None:
        return _Slot(taken[0], taken[1], taken[2], taken[3] - 1)
    full: Any = session.execute(
        select(table.c.id, table.c.number, table.c.entries).where(table.c.id == current)
    ).first()
    return None if full is None else _Slot(full[0], full[1], full[2], None)


def _claim(
    session: Session, owner: Owner, list_id: int, index: int, purpose: str, credential_id: str
) -> bool:
    _, entries = _tables(owner)
    values = {
        "list_id": list_id,
        "index": index,
        "purpose": purpose,
        "credential_id": credential_id,
    }
    return _insert_ignoring_conflict(session, entries.__table__, values)


def _free_indexes(session: Session, owner: Owner, list_id: int, size: int) -> list[int]:
    _, entries = _tables(owner)
    taken = set(session.exec(select(entries.index).where(entries.list_id == list_id)).all())
    return [i for i in range(size) if i not in taken]


def _already_has(session: Session, owner: Owner, credential_id: str, purpose: str) -> None:
    # A claim also fails when the credential already holds an entry for ``purpose``
    # (unique (credential_id, purpose) across the whole table, whoever owns the list);
    # trying again could never succeed then, so look in every owner's lists.
    _, entries = _tables(owner)
    held = session.exec(
        select(entries.id).where(entries.credential_id == credential_id, entries.purpose == purpose)
    ).first()
    if held is not None:
        raise ConflictError(
            f"{credential_id} already has a {purpose} status entry", code="status.duplicate"
        )


def allocate(
    session: Session,
    ctx: ServiceContext,
    owner: Owner,
    credential_id: str,
    purpose: str,
    size: int = 1,
) -> tuple[int, int]:
    """Claim an unused index for ``credential_id`` in ``owner``'s current list of
    ``size``-bit entries.

    Returns the list's number and the index.

    The list hands out its slots in turn (``_take_slot``) and slot ``k`` is index
    ``permute(slot_key, k, entries)``: no index is handed out twice and none follows
    issue order. The entry is then inserted (``INSERT … ON CONFLICT DO NOTHING``, not
    committed); the unique ``(list_id, index)`` constraint still decides, so an index
    taken before slots existed (lists drawn at random) is skipped and the next slot
    taken. After ``_SKIPS`` such skips in a row, or once every slot is out, the index is
    drawn at random among the free ones; a list with none free starts list ``n + 1``.
    Two statements in the usual case: the slot and the entry.
    """
    key: bytes | None = None
    key_list = 0
    skips = 0
    for _attempt in range(1000):
        slot = _take_slot(session, owner, purpose, size)
        if slot is None:
            _create_list(session, ctx, owner, purpose, _next_number(session, owner, purpose), size)
            continue
        if slot.slot is not None and skips < _SKIPS:
            if key is None or key_list != slot.list_id:
                key, key_list = slot_key(ctx, owner, slot.list_id, session), slot.list_id
            index = permute(key, slot.slot, slot.entries)
            if _claim(session, owner, slot.list_id, index, purpose, credential_id):
                return slot.number, index
            if skips == 0:
                _already_has(session, owner, credential_id, purpose)
            skips += 1
            continue
        free = _free_indexes(session, owner, slot.list_id, slot.entries)
        if not free:
            _create_list(session, ctx, owner, purpose, _next_number(session, owner, purpose), size)
            skips = 0
            continue
        index = secrets.choice(free)
        if _claim(session, owner, slot.list_id, index, purpose, credential_id):
            return slot.number, index
        _already_has(session, owner, credential_id, purpose)
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
        shape = shape_for(owner, purpose)
        number, index = allocate(session, ctx, owner, credential_id, purpose, shape.size)
        entries.append(shape.entry(list_url(ctx, owner, purpose, number), index, purpose))
    return entries


@dataclass(frozen=True)
class Reserved:
    """A status index taken for one credential by ``reserve``, not yet claimed."""

    list_id: int
    number: int
    index: int
    purpose: str
    #: The entry's shape, fixed when the slot was taken in a list of its size.
    shape: EntryShape = EntryShape()


def _index_taken(session: Session, owner: Owner, list_id: int, index: int) -> bool:
    _, entries = _tables(owner)
    found = session.exec(
        select(entries.id).where(entries.list_id == list_id, entries.index == index)
    ).first()
    return found is not None


def reserve(
    session: Session, ctx: ServiceContext, owner: Owner, purpose: str, *, look: bool = False
) -> Reserved:
    """Take the next slot of ``owner``'s current list for ``purpose`` and commit at once.

    The slot's transaction holds the list's write lock (SQLite's ``BEGIN IMMEDIATE``,
    PostgreSQL's row lock of the ``UPDATE``) for one statement, so issuances into one
    list no longer take turns from their allocation to their commit: they sign in
    parallel and ``claim`` the index in the transaction that stores the credential. A
    slot taken and then not claimed (the issuance failed, or its process died) is never
    handed out again, so its index is simply never used: indexes stay unlinkable and are
    never reused (docs/lifecycle.md).

    ``session``'s transaction is committed first, so the caller must have nothing
    pending; on SQLite the slot is taken on a connection of its own (``_without_fsync``).
    With ``look`` (after a ``claim`` found its index taken, as an index drawn at
    random before slots existed can be) each slot's index is first looked up and taken
    ones are skipped; after ``_SKIPS`` skips, or once every slot is out, the index is
    drawn at random among the free ones (``claim`` still decides); a list with none free
    starts list ``n + 1``.
    """
    shape = shape_for(owner, purpose)
    session.commit()  # the caller's reads end here: one connection at a time
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return _reserve(session, ctx, owner, purpose, shape, look=look)
    with _without_fsync(bind) as own:
        return _reserve(own, ctx, owner, purpose, shape, look=look)


@contextmanager
def _without_fsync(engine: Engine) -> Iterator[Session]:
    """A session on a connection of its own whose commits skip the fsync (SQLite).

    A reservation needs no fsync of its own: in WAL mode the log is written in order, so
    the fsync of any later commit (``synchronous=FULL``, the connection's setting, which
    is restored before the connection goes back to the pool) makes it durable too. The
    only commit that can use a slot, the credential's, therefore never outlives its
    reservation; a reservation lost with the machine's power was used by nothing. One
    fsync per completion instead of two: SQLite's writers wait for each other's fsyncs.
    """
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        (kept,) = raw.execute("PRAGMA synchronous").fetchone()
        raw.execute("PRAGMA synchronous=NORMAL")
        try:
            with Session(bind=conn, expire_on_commit=False) as own:
                yield own
        finally:
            raw.execute(f"PRAGMA synchronous={int(kept)}")


def _reserve(
    session: Session,
    ctx: ServiceContext,
    owner: Owner,
    purpose: str,
    shape: EntryShape,
    *,
    look: bool,
) -> Reserved:
    skips = 0
    size = shape.size
    try:
        for _attempt in range(1000):
            begin_write(session)
            slot = _take_slot(session, owner, purpose, size)
            if slot is None:
                number = _next_number(session, owner, purpose)
                _create_list(session, ctx, owner, purpose, number, size)
                session.commit()
                continue
            if slot.slot is not None and skips < _SKIPS:
                index = permute(
                    slot_key(ctx, owner, slot.list_id, session), slot.slot, slot.entries
                )
                if look and _index_taken(session, owner, slot.list_id, index):
                    skips += 1
                    session.commit()
                    continue
            else:
                free = _free_indexes(session, owner, slot.list_id, slot.entries)
                if not free:
                    number = _next_number(session, owner, purpose)
                    _create_list(session, ctx, owner, purpose, number, size)
                    session.commit()
                    skips = 0
                    continue
                index = secrets.choice(free)
            session.commit()
            return Reserved(slot.list_id, slot.number, index, purpose, shape)
    except BaseException:
        session.rollback()
        raise
    raise ConflictError(  # pragma: no cover - needs 1000 full lists in a row
        "could not allocate a status list index; retry", code="status.busy"
    )


def claim(session: Session, owner: Owner, reserved: Reserved, credential_id: str) -> bool:
    """Claim a ``reserve``d index for ``credential_id`` (not committed); False if taken.

    The unique ``(list_id, index)`` constraint decides; a ``False`` means the caller
    reserves again with ``look=True`` (and signs again: the index is in the signature).
    """
    return _claim(session, owner, reserved.list_id, reserved.index, reserved.purpose, credential_id)


def reserved_entry(ctx: ServiceContext, owner: Owner, reserved: Reserved) -> dict[str, Any]:
    """The ``credentialStatus`` entry naming a ``reserve``d index."""
    url = list_url(ctx, owner, reserved.purpose, reserved.number)
    return reserved.shape.entry(url, reserved.index, reserved.purpose)


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
    """The credential's value for ``purpose`` (None when it has no entry): 0 or 1, or a
    reason code in a list of wider entries; see ``entry_for``."""
    entry = entry_for(session, credential_id, purpose, owner=owner)
    if entry is None:
        return None
    lists, _ = _tables(owner)
    row: ListRow | None = session.get(lists, entry.list_id)
    assert row is not None
    return get_status(row.bits, entry.index, status_size_of(row))


def set_bit(
    session: Session,
    ctx: ServiceContext,
    owner: Owner,
    credential_id: str,
    purpose: str,
    value: int,
) -> ListRow:
    """Set the credential's ``purpose`` value (a bit, or a reason code in a list of wider
    entries) to ``value`` and re-sign the list; no commit.

    Only ``owner``'s own lists are looked at, so nobody can flip a bit in another owner's
    list. The list is locked before its bits are read (``BEGIN IMMEDIATE`` on SQLite,
    ``SELECT … FOR UPDATE`` on PostgreSQL) so that two changes to the same list
    serialise and neither overwrites the other's bit; callers that read status before
    calling this take the lock first with ``lock_for_change``. Raises ``ConflictError``
    (``status.unchanged``) when the bit already has ``value`` and ``NotFoundError``
    (``status.no_entry``) when the credential has no such entry.
    """
    # An entry never changes once claimed, so it is looked up before taking the lock: a
    # refused change then leaves no transaction open.
    entry = entry_for(session, credential_id, purpose, owner=owner)
    if entry is None:
        raise NotFoundError(
            f"credential {credential_id} has no {purpose} status entry in a list of "
            f"{owner.did} (it was issued before status lists existed, or by someone else)",
            code="status.no_entry",
        )
    lists, _ = _tables(owner)
    row: ListRow = _locked_row(session, lists, entry.list_id)
    bits = bytearray(row.bits)
    size = status_size_of(row)
    if get_status(bits, entry.index, size) == value:
        raise ConflictError(
            f"the {purpose} status of credential {credential_id} is already {value}",
            code="status.unchanged",
        )
    set_status(bits, entry.index, value, size)
    now = ctx.clock()
    row.bits = bytes(bits)
    row.version += 1
    row.document = _signed_list(session, ctx, owner, purpose, row.number, bits, now)
    row.updated_at = now
    session.add(row)
    session.flush()
    return row


def lock_for_change(
    session: Session,
    owner: Owner | None,
    credential_ids: Iterable[str],
    purposes: tuple[str, ...] = PURPOSES,
) -> None:
    """Lock the lists holding ``credential_ids``' entries for ``purposes``; no commit.

    Call it first in a transaction that changes a status, before reading anything the
    change depends on. SQLite: ``BEGIN IMMEDIATE`` (one writer at a time, and what is
    read afterwards is current). PostgreSQL: ``SELECT … FOR UPDATE`` of the list rows in
    id order, so two changes that touch several lists (a re-issue claims entries in lists
    it does not flip) cannot deadlock by locking them in opposite orders.
    """
    lists, entries = _tables(owner)
    ids = sorted(set(credential_ids))
    with _locking(session):
        begin_write(session)
        if not ids:
            return
        list_ids = session.exec(
            select(entries.list_id)
            .where(col(entries.credential_id).in_(ids), col(entries.purpose).in_(purposes))
            .distinct()
        ).all()
        if list_ids:
            session.exec(
                select(lists.id)
                .where(col(lists.id).in_(sorted(list_ids)))
                .order_by(col(lists.id))
                .with_for_update()
            ).all()


#: SQLSTATEs of PostgreSQL's lock failures: deadlock_detected, lock_not_available.
_PG_LOCK_FAILURES = ("40P01", "55P03")


@contextmanager
def _locking(session: Session) -> Iterator[None]:
    """Turn a lock that could not be had into ``status.busy`` (409), rolling back.

    SQLite gives up after its busy timeout (30 s) with "database is locked"; PostgreSQL
    reports a deadlock or a lock timeout. The change then has not happened, and says so,
    instead of failing with an internal error.
    """
    try:
        yield
    except OperationalError as exc:
        sqlstate = getattr(exc.orig, "sqlstate", None)
        message = str(exc.orig).lower()
        if sqlstate not in _PG_LOCK_FAILURES and "locked" not in message and "busy" not in message:
            raise
        session.rollback()
        raise ConflictError(
            "the status lists are busy with other changes and this change was not made; "
            "retry in a few seconds",
            code="status.busy",
        ) from None


def _locked_row(session: Session, lists: Any, list_id: int) -> Any:
    """List row ``list_id``, freshly read under the write lock a bit change needs."""
    with _locking(session):
        begin_write(session)
        return session.exec(
            select(lists)
            .where(lists.id == list_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()


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


# --- drift: the lists against the rows ---------------------------------------------------


@dataclass(frozen=True)
class Drift:
    """A list whose bits differ from what the rows say, or whose signed document does not
    carry its bits."""

    table: str
    list_id: int
    url: str
    version: int
    #: Entries the rows say are set (to 1 or a reason code) but the list holds another
    #: value (lost changes).
    missing: int
    #: Entries set in the list that no row accounts for.
    extra: int
    #: The served, signed document does not encode the list's ``bits``.
    document_stale: bool
    #: Bits per entry of the list (``statusSize``).
    status_size: int = 1

    def describe(self) -> str:
        """One line for an operator."""
        parts = []
        if self.missing or self.extra:
            unit = "bit(s)" if self.status_size == 1 else f"{self.status_size}-bit value(s)"
            parts.append(
                f"{self.missing + self.extra} {unit} differ from the database "
                f"({self.missing} missing, {self.extra} extra)"
            )
        if self.document_stale:
            parts.append("the signed document does not carry the list's bits")
        return f"{self.url} (version {self.version}): {'; '.join(parts)}"


_TABLES: dict[str, tuple[Any, Any]] = {
    "status_list": (StatusList, StatusEntry),
    "endorser_status_list": (EndorserStatusList, EndorserStatusEntry),
}


def _in_chunks(session: Session, stmt: Any, column: Any, ids: list[int]) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(ids), _CHUNK):
        found += session.exec(stmt.where(col(column).in_(ids[start : start + _CHUNK]))).all()
    return found


def _expected(session: Session, table: str, list_ids: list[int]) -> dict[int, dict[int, int]]:
    """For each list, the value the rows say each non-zero index holds (three queries):
    1, or a revocation's reason code."""
    out: dict[int, dict[int, int]] = defaultdict(dict)
    if table == "status_list":
        revoked = (
            select(
                StatusEntry.list_id,
                StatusEntry.index,
                func.coalesce(Revocation.reason_code, 1),
            )
            .join(Revocation, col(Revocation.credential_id) == col(StatusEntry.credential_id))
            .where(StatusEntry.purpose == "revocation")
        )
        # The last suspend/unsuspend of a credential decides its suspension bit.
        last = (
            select(func.max(StatusChange.id).label("id"))
            .where(col(StatusChange.action).in_(("suspend", "unsuspend")))
            .group_by(col(StatusChange.credential_id))
            .subquery()
        )
        suspended = (
            select(StatusEntry.list_id, StatusEntry.index, literal(1))
            .join(StatusChange, col(StatusChange.credential_id) == col(StatusEntry.credential_id))
            .join(last, last.c.id == StatusChange.id)
            .where(StatusChange.action == "suspend", StatusEntry.purpose == "suspension")
        )
        rows = _in_chunks(session, revoked, StatusEntry.list_id, list_ids)
        rows += _in_chunks(session, suspended, StatusEntry.list_id, list_ids)
    else:
        withdrawn = (
            select(EndorserStatusEntry.list_id, EndorserStatusEntry.index, literal(1))
            .join(Endorsement, col(Endorsement.id) == col(EndorserStatusEntry.credential_id))
            .where(
                col(Endorsement.withdrawn_at).is_not(None),
                EndorserStatusEntry.purpose == "revocation",
            )
        )
        rows = _in_chunks(session, withdrawn, EndorserStatusEntry.list_id, list_ids)
    for list_id, index, value in rows:
        out[list_id][index] = int(value)
    return out


def _document_bits(document: str) -> bytes | None:
    try:
        encoded = json.loads(document)["credentialSubject"]["encodedList"]
        return decode_list(encoded)
    except (ValueError, KeyError, TypeError, StatusError):
        return None


def _derived_bits(row: ListRow, values: dict[int, int]) -> bytes:
    size = status_size_of(row)
    bits = new_bitstring(row.entries, size)
    for index, value in values.items():
        if 0 <= index < row.entries and 0 <= value < 1 << size:
            set_status(bits, index, value, size)
    return bytes(bits)


def _ones(data: bytes) -> int:
    return sum(bin(byte).count("1") for byte in data if byte)


def _differences(have: bytes, expected: bytes, size: int) -> tuple[int, int]:
    """Entries (of ``size`` bits) whose value differs: (missing, extra).

    ``missing``: the rows say non-zero and the list holds another value (a lost change,
    or a reason code overwritten); ``extra``: the list holds a value no row accounts for.
    Only the bytes that differ are looked into. For 1-bit lists an entry is a bit.
    """
    padded = have.ljust(len(expected), b"\0")
    if padded == expected:
        return 0, 0
    if size == 1:  # an entry is a bit: count them byte by byte
        missing = extra = 0
        for got, want in zip(padded, expected, strict=False):
            if got != want:
                missing += bin(want & ~got & 0xFF).count("1")
                extra += bin(got & ~want & 0xFF).count("1")
        return missing, extra
    touched: set[int] = set()
    for position, (got, want) in enumerate(zip(padded, expected, strict=False)):
        if got != want:
            first = position * 8 // size
            last = (position * 8 + 7) // size
            touched.update(range(first, last + 1))
    missing = extra = 0
    entries = len(expected) * 8 // size
    for index in sorted(touched):
        if index >= entries:
            continue
        got_value = get_status(padded, index, size)
        want_value = get_status(expected, index, size)
        if got_value == want_value:
            continue
        if want_value:
            missing += 1
        else:
            extra += 1
    return missing, extra


def _drift_of(table: str, row: ListRow, expected: bytes) -> Drift | None:
    have = bytes(row.bits)
    missing, extra = _differences(have, expected, status_size_of(row))
    extra += _ones(have[len(expected) :])  # bits beyond the list's entries
    stale = _document_bits(row.document) != have
    if not (missing or extra or stale):
        return None
    try:
        url = str(json.loads(row.document)["id"])
    except (ValueError, KeyError, TypeError):
        url = f"{table} {row.id}"
    return Drift(table, row.id or 0, url, row.version, missing, extra, stale, status_size_of(row))


def check(session: Session) -> list[Drift]:
    """Every list whose bits differ from the rows, or whose document from its bits.

    Read-only: one pass over the lists, three queries for what the rows say.
    """
    drifted: list[Drift] = []
    for table, (lists, _) in _TABLES.items():
        rows: list[ListRow] = list(session.exec(select(lists).order_by(col(lists.id))))
        expected = _expected(session, table, [r.id or 0 for r in rows])
        for row in rows:
            drift = _drift_of(table, row, _derived_bits(row, expected.get(row.id or 0, {})))
            if drift is not None:
                drifted.append(drift)
    return drifted


def _owner_of(session: Session, row: ListRow) -> Owner:
    owner: Owner | None
    if isinstance(row, EndorserStatusList):
        owner = session.get(Endorser, row.endorser_id)
    else:
        owner = session.get(Issuer, row.issuer_id)
    assert owner is not None  # a foreign key holds it
    return owner


def signed_document(session: Session, ctx: ServiceContext, row: ListRow, bits: bytes) -> str:
    """The list's credential for ``bits``, signed now by its owner (not stored)."""
    owner = _owner_of(session, row)
    return _signed_list(session, ctx, owner, row.purpose, row.number, bits, ctx.clock())


def repair(session: Session, ctx: ServiceContext) -> list[Drift]:
    """Re-derive the bits of every drifted list from the rows and re-sign it.

    Each list is fixed in its own transaction, under the same lock a status change
    takes, and only if it still drifts once locked; its ``version`` goes up by one.
    Lists that match are not touched. Returns what was repaired.
    """
    repaired: list[Drift] = []
    for found in check(session):
        session.rollback()
        lists, _ = _TABLES[found.table]
        row: ListRow = _locked_row(session, lists, found.list_id)
        expected = _derived_bits(
            row, _expected(session, found.table, [found.list_id]).get(found.list_id, {})
        )
        drift = _drift_of(found.table, row, expected)
        if drift is None:
            session.rollback()
            continue
        row.bits = expected
        row.version += 1
        row.document = signed_document(session, ctx, row, expected)
        row.updated_at = ctx.clock()
        session.add(row)
        session.commit()
        repaired.append(drift)
    return repaired


def warn_on_drift(session: Session) -> list[Drift]:
    """Log a warning (``badgeworks.status``) when any list differs from the rows."""
    drifted = check(session)
    if drifted:
        shown = "; ".join(d.describe() for d in drifted[:5])
        more = f" and {len(drifted) - 5} more" if len(drifted) > 5 else ""
        log.warning(
            "%d status list(s) disagree with the database: %s%s. Verifiers see the lists; "
            "run `badgeworks status repair` to re-derive and re-sign them",
            len(drifted),
            shown,
            more,
        )
    return drifted
