"""Paging of list endpoints: ``X-Total-Count`` and ``Link`` for a page (``send_page``).

Open Badges 3.0 API, "Pagination" (docs/OB3_CHECKLIST.md §8): the total in
``X-Total-Count``; a ``Link`` header (RFC 8288) with ``first`` and ``last``, ``next`` when
more results exist and ``prev`` when the offset is above 0. We send ``Link`` on every
page, so a client need not know whether the list is complete to find its way.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlencode

from fastapi import Request, Response

from badgeworks.services.infra.pagination import Page

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


def send_page(request: Request, response: Response, page: Page[T]) -> list[T]:
    """The one paging step of every list endpoint: set ``page``'s ``X-Total-Count`` and
    ``Link`` headers on ``response`` and return its rows.

    The list service read the page (``services.infra.pagination.page``): its window and
    its total come from one query.
    """
    set_page_headers(request, response, total=page.total, limit=page.limit, offset=page.offset)
    return page.rows
