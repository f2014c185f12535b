"""Paging of list endpoints: the ``limit``/``offset`` window and the total it is cut from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from badgeworks.services.errors import ValidationFailed

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


def count(session: Session, model: Any, *where: Any) -> int:
    """How many rows of ``model`` match ``where`` (the total a page is cut from)."""
    stmt = select(func.count()).select_from(model)
    for condition in where:
        stmt = stmt.where(condition)
    return int(session.exec(stmt).one())
