"""Paging of list endpoints: the ``limit``/``offset`` parameters (``PageRequest``) and
``X-Total-Count`` and ``Link`` for a page (``send_page``).

Open Badges 3.0 API, "Pagination" (docs/OB3_CHECKLIST.md §8): the total in
``X-Total-Count``; a ``Link`` header (RFC 8288) with ``first`` and ``last``, ``next`` when
more results exist and ``prev`` when the offset is above 0. We send ``Link`` on every
page, so a client need not know whether the list is complete to find its way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict, TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response

from badgeworks.services.infra.pagination import DEFAULT_LIMIT, Page

T = TypeVar("T")


def page_url(base_url: str, request: Request, *, limit: int, offset: int) -> str:
    """The absolute URL of the page at ``offset``, keeping the request's other parameters."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")]
    params += [("limit", str(limit)), ("offset", str(offset))]
    return f"{base_url}{request.url.path}?{urlencode(params)}"


def set_page_headers(
    request: Request, response: Response, *, total: int, limit: int, offset: int
) -> None:
    """Add ``X-Total-Count`` and ``Link`` for a page of ``limit`` items at ``offset``.

    Links are absolute, on the public base URL (as every URL the service hands out is).
    """
    base_url: str = request.app.state.settings.base_url
    last = ((total - 1) // limit) * limit if total > 0 else 0
    links = [("first", 0), ("last", last)]
    if offset + limit < total:
        links.append(("next", offset + limit))
    if offset > 0:
        links.append(("prev", max(0, min(offset - limit, last))))
    response.headers["X-Total-Count"] = str(total)
    response.headers["Link"] = ", ".join(
        f'<{page_url(base_url, request, limit=limit, offset=at)}>; rel="{rel}"' for rel, at in links
    )


class Window(TypedDict):
    """The keyword arguments every list service takes: ``page_of_…(…, **paging.window)``."""

    limit: int
    offset: int


@dataclass(frozen=True)
class PageRequest:
    """A list request: the window it asks for, and the request and response its page's
    headers are built from and set on (``deps.PageDep`` reads it from the query)."""

    request: Request
    response: Response
    limit: int
    offset: int

    @property
    def window(self) -> Window:
        """``limit`` and ``offset`` as the list services take them."""
        return Window(limit=self.limit, offset=self.offset)


def page_request(
    request: Request, response: Response, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> PageRequest:
    """The ``limit`` and ``offset`` query parameters of a list endpoint."""
    return PageRequest(request, response, limit=limit, offset=offset)


def send_page(paging: PageRequest, page: Page[T]) -> list[T]:
    """The one paging step of every list endpoint: set ``page``'s ``X-Total-Count`` and
    ``Link`` headers on the response and return its rows.

    The list service read the page (``services.infra.pagination.page``): its window and
    its total come from one query.
    """
    set_page_headers(
        paging.request, paging.response, total=page.total, limit=page.limit, offset=page.offset
    )
    return page.rows
