"""The portfolio API's models: what a candidate (or their issuer) may change, and what is
returned."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from badgeworks.services.models import Strict
from badgeworks.services.portfolio.links import MAX_LINKS, ProfileLink

Visibility = Literal["public", "unlisted", "hidden"]

Headline = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class PortfolioUpdate(Strict):
    """The candidate's choices; every field optional, unknown fields refused."""

    handle: Annotated[str, StringConstraints(max_length=200)] | None = None
    visibility: Visibility | None = None
    show_name: bool | None = None
    headline: Headline | None = None
    credentials: dict[Annotated[str, StringConstraints(max_length=64)], Visibility] | None = Field(
        default=None, max_length=500
    )
    deliverables: dict[Annotated[str, StringConstraints(max_length=64)], Visibility] | None = Field(
        default=None, max_length=2000
    )
    #: Replaces every profile link; ``[]`` or ``null`` removes them all.
    links: list[ProfileLink] | None = Field(default=None, max_length=MAX_LINKS)


class PortfolioPublic(BaseModel):
    """What the API returns about a portfolio."""

    candidate_id: int
    handle: str
    url: str
    visibility: Visibility
    show_name: bool
    headline: str | None
    #: Where the photo is served (``/p/{handle}/photo``) while the name shows; None: no photo.
    photo_url: str | None = None
    photo_caption: str | None = None
    links: list[ProfileLink] = []
    credentials: dict[str, Visibility]
    deliverables: dict[str, Visibility]
