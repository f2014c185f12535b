"""Rows that belong to one issuer: another issuer's row looks like a missing one."""

from __future__ import annotations

from typing import Protocol, TypeVar

from sqlmodel import Session

from badgeworks.services.errors import NotFoundError


class OfIssuer(Protocol):
    """A row that one issuer owns."""

    @property
    def issuer_id(self) -> int: ...


R = TypeVar("R", bound=OfIssuer)


def issuer_row(
    session: Session,
    model: type[R],
    row_id: int,
    issuer_id: int | None,
    what: str,
    *,
    missing: str | None = None,
) -> R:
    """The ``model`` row ``row_id`` if ``issuer_id`` owns it; else ``NotFoundError`` with the
    code ``<what>.not_found`` and the message ``missing`` ("there is no <what> <id>" if not
    given), the same for another issuer's row as for no row at all."""
    row = session.get(model, row_id)
    if row is None or row.issuer_id != issuer_id:
        raise NotFoundError(missing or f"there is no {what} {row_id}", code=f"{what}.not_found")
    return row
