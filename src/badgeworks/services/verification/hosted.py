"""What verification reads about this service's own issuers, kept in memory while current.

A verification of a credential we issued reads the issuer's DID document, its status
list and the list of hosted issuers. These change rarely, so each engine (database) has
one ``HostedCache`` of them, and each verification first reads one number: the
``service_meta`` row ``hosted_version``, which database triggers bump in every
transaction that inserts, changes or deletes a row of ``issuer``, ``issuer_key``,
``status_list`` or ``endorser_status_list`` (migration ``0020_hosted_version``), in
whichever process it runs. What the cache holds was read at that number; a verification
that reads another number reads the database again. So a revocation, a key rotation or a
renamed issuer shows in the very next verification, in every server process.

The number is read first and the rows after it: rows read after reading ``n`` are at
least as new as ``n``, so keeping them under ``n`` can only be conservative. A
verification that read an older number than the cache holds (a request that began
before a change) reads the database and keeps nothing.

``hosted_view`` opens the per-verification scope (``pipeline.verify``,
``verify_presented`` and the public verifier open it); ``cached`` is how a hosted look-up
reads through it. Outside a scope, or when the counter cannot be read, every look-up
goes to the database as it would without a cache.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from badgeworks.db.engine import SessionFactory, read_only_sessions
from badgeworks.services.verification.resolver import held_session, scoped

T = TypeVar("T")

#: The ``service_meta`` row the triggers bump.
VERSION_NAME = "hosted_version"
_READ_VERSION = text("SELECT value FROM service_meta WHERE name = :name")


#: The most values one cache holds (DID documents and lists of what exists: far more than
#: a service hosts); beyond it, the cache starts again empty.
MAX_VALUES = 4096


class HostedCache:
    """Values read at one ``hosted_version``; dropped when a newer version is seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version = -1
        self._values: dict[Any, Any] = {}

    def get(self, version: int, key: Any) -> tuple[bool, Any]:
        """``(True, value)`` if ``key`` was read at ``version``, else ``(False, None)``."""
        with self._lock:
            if version > self.version:
                self.version = version
                self._values.clear()
            if version != self.version or key not in self._values:
                return False, None
            return True, self._values[key]

    def put(self, version: int, key: Any, value: Any) -> None:
        """Keep ``value`` (read after ``version`` was read) if ``version`` is current."""
        with self._lock:
            if version > self.version:
                self.version = version
                self._values.clear()
            if version == self.version:
                if len(self._values) >= MAX_VALUES:
                    self._values.clear()
                self._values[key] = value

    def __len__(self) -> int:
        return len(self._values)


_caches: weakref.WeakKeyDictionary[Engine, HostedCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def cache_for(session: Session) -> HostedCache:
    """The one cache of the engine ``session`` reads from."""
    bind = session.get_bind()
    engine: Engine = bind if isinstance(bind, Engine) else bind.engine
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = HostedCache()
        return cache


def read_version(session: Session) -> int | None:
    """The current ``hosted_version`` (None where the counter is missing or unreadable)."""
    value = session.exec(_READ_VERSION, params={"name": VERSION_NAME}).scalar()  # type: ignore[call-overload]
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class View:
    """One verification's reading of the counter, and the cache it reads through."""

    cache: HostedCache
    version: int


_view: ContextVar[View | None] = ContextVar("badgeworks_hosted_view", default=None)
_readers: weakref.WeakKeyDictionary[SessionFactory, SessionFactory] = weakref.WeakKeyDictionary()


def _reader(session_factory: SessionFactory) -> SessionFactory:
    """``db.engine.read_only_sessions(session_factory)``, made once per factory."""
    with _caches_lock:
        reader = _readers.get(session_factory)
        if reader is None:
            reader = _readers[session_factory] = read_only_sessions(session_factory)
        return reader


@contextmanager
def hosted_view(session_factory: SessionFactory | None) -> Iterator[View | None]:
    """Read ``hosted_version`` once for the look-ups of this block (same thread or task).

    Inside an open view this reuses it. Inside ``resolver.reading_with`` the counter is
    read on the held session's connection. A database error leaves the block without a
    view (each look-up then reads, and reports, for itself).
    """
    current = _view.get()
    if current is not None or session_factory is None:
        yield current
        return
    version: int | None
    try:
        if held_session() is not None:
            with scoped(_reader(session_factory))() as session:
                version = read_version(session)
                cache = cache_for(session)
        else:
            engine, cache = _counter_for(session_factory)
            version = _read_on(engine)
    except Exception:  # the look-ups will read, and report, for themselves
        version = None
    with _opened(cache if version is not None else None, version) as view:
        yield view


_counters: weakref.WeakKeyDictionary[SessionFactory, tuple[Engine, HostedCache]] = (
    weakref.WeakKeyDictionary()
)


def _counter_for(session_factory: SessionFactory) -> tuple[Engine, HostedCache]:
    """The engine to read the counter with (autocommit on PostgreSQL: nothing to roll
    back) and the cache of ``session_factory``'s database, found once per factory."""
    with _caches_lock:
        found = _counters.get(session_factory)
    if found is not None:
        return found
    probe = session_factory()
    try:
        cache = cache_for(probe)
        bind = probe.get_bind()
    finally:
        probe.close()
    engine: Engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    with _caches_lock:
        _counters[session_factory] = (engine, cache)
    return engine, cache


def _read_on(engine: Engine) -> int | None:
    """``read_version`` on a plain connection: one statement, no ORM session to build
    (which cost as much as the statement itself on every verification)."""
    with engine.connect() as connection:
        value = connection.execute(_READ_VERSION, {"name": VERSION_NAME}).scalar()
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@contextmanager
def view_on(session: Session) -> Iterator[View | None]:
    """``hosted_view`` reading the counter on ``session`` (a caller's open session)."""
    current = _view.get()
    if current is not None:
        yield current
        return
    try:
        version = read_version(session)
    except SQLAlchemyError:
        version = None
    with _opened(cache_for(session) if version is not None else None, version) as view:
        yield view


@contextmanager
def _opened(cache: HostedCache | None, version: int | None) -> Iterator[View | None]:
    if cache is None or version is None:
        yield None
        return
    token = _view.set(View(cache, version))
    try:
        yield _view.get()
    finally:
        _view.reset(token)


def cached(key: Any, load: Callable[[], T]) -> T:
    """``load()``, or what it gave earlier at the current view's version.

    ``None`` (nothing hosted there) is not kept: a credential may name any number of
    URLs under ours, and each would otherwise take room until the next change.
    """
    view = _view.get()
    if view is None:
        return load()
    found, value = view.cache.get(view.version, key)
    if found:
        return value  # type: ignore[no-any-return]
    value = load()
    if value is not None:
        view.cache.put(view.version, key, value)
    return value
