"""Paging of list endpoints: the ``limit``/``offset`` window and the total it is cut from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

#: Most items one page returns; a larger ``limit`` is capped to it (docs/api.md, "Paging").
MAX_LIMIT = 500
#: Items per page when no ``limit`` is given.
DEFAULT_LIMIT = 100


def window(limit: int, offset: int) -> tuple[int, int]:
    """``(limit, offset)`` brought into range: limit 1…``MAX_LIMIT``, offset ≥ 0."""
    return max(1, min(limit, MAX_LIMIT)), max(0, offset)


def count(session: Session, model: Any, *where: Any) -> int:
    """How many rows of ``model`` match ``where`` (the total a page is cut from)."""
    stmt = select(func.count()).select_from(model)
    for condition in where:
        stmt = stmt.where(condition)
    return int(session.exec(stmt).one())
