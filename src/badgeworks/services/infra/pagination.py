"""Paging of list endpoints: the ``limit``/``offset`` window and the total it is cut from.

A list service defines its query once (which rows, in which order) and hands it to
``page``, which counts that query's rows and reads one window of them: the total and the
rows can never disagree about which rows are listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func
from sqlmodel import Session, select
from sqlmodel.sql.expression import SelectOfScalar

from badgeworks.services.errors import ValidationFailed

T = TypeVar("T")

#: Most items one page returns; a larger ``limit`` is capped to it (docs/api.md, "Paging").
MAX_LIMIT = 500
#: Items per page when no ``limit`` is given.
DEFAULT_LIMIT = 100
#: The largest ``offset``: no list is longer, and SQLite and PostgreSQL both take it
#: (a value past 2**63 - 1 cannot even be sent to the database).
MAX_OFFSET = 2_147_483_647


def window(limit: int, offset: int) -> tuple[int, int]:
    """``(limit, offset)`` brought into range: limit 1…``MAX_LIMIT``, offset ≥ 0.

    An ``offset`` over ``MAX_OFFSET`` is refused (``request.invalid``) rather than capped:
    no page is there, and a client that sends one has a bug it should learn about.
    """
    if offset > MAX_OFFSET:
        raise ValidationFailed(
            f"offset: {offset if offset < 10**30 else 'a number this large'} is past the end "
            f"of every list; it must be at most {MAX_OFFSET} (follow the Link header's "
            'rel="next" to page)',
            code="request.invalid",
        )
    return max(1, min(limit, MAX_LIMIT)), max(0, offset)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One window of a list: its ``rows``, and the ``total`` of the whole list."""

    rows: list[T]
    total: int
    limit: int
    offset: int


def page(session: Session, query: SelectOfScalar[T], *, limit: int, offset: int) -> Page[T]:
    """The window of ``query`` at ``offset`` (``limit``/``offset`` brought into range by
    ``window``), and how many rows the whole query has."""
    limit, offset = window(limit, offset)
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    total = int(session.exec(counted).one())
    rows = list(session.exec(query.offset(offset).limit(limit)))
    return Page(rows=rows, total=total, limit=limit, offset=offset)
