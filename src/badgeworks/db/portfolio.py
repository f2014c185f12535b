"""Portfolio tables: the candidate's public page and what it shows.

A ``Portfolio`` row holds the candidate's handle (``/p/{handle}``) and their choices
about the page as a whole (name, headline, photo, profile links); a ``PortfolioItem``
row holds the visibility of one credential or deliverable. Items without a row use the
default (``public``), so issuing a credential needs no portfolio code.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from badgeworks.db.models import timestamp_field


def default_handle() -> str:
    """An unguessable handle: 80 random bits in lowercase base32 (16 characters)."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()


#: ``public``: listed and indexable; ``unlisted``: anyone with the link, ``noindex``;
#: ``hidden``: the portfolio page is 404 (an item is simply not shown).
VISIBILITIES = ("public", "unlisted", "hidden")


class Portfolio(SQLModel, table=True):
    """A candidate's portfolio page: its handle and what it shows about them."""

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", unique=True)
    handle: str = Field(max_length=40, unique=True, index=True)
    visibility: str = Field(default="unlisted", max_length=16)
    show_name: bool = Field(default=True)
    headline: str | None = Field(default=None, max_length=200)
    #: The re-encoded photo (a JPEG without metadata, in the blob store) and its alt text.
    photo_sha256: str | None = Field(default=None, max_length=64)
    photo_caption: str | None = Field(default=None, max_length=300)
    #: Up to 5 profile links, ``[{"label": …, "url": …}]`` (https: or mailto:); None: none.
    links: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class PortfolioItem(SQLModel, table=True):
    """The visibility of one credential (``kind='credential'``) or deliverable on a portfolio."""

    __tablename__ = "portfolio_item"
    __table_args__ = (UniqueConstraint("candidate_id", "kind", "ref"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    kind: str = Field(max_length=16)
    ref: str = Field(max_length=64)
    visibility: str = Field(default="public", max_length=16)
