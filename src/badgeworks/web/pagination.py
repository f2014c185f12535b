"""Paging of list endpoints: the window, ``X-Total-Count`` and ``Link`` (``paginate``).

Open Badges 3.0 API, "Pagination" (docs/OB3_CHECKLIST.md §8): the total in
``X-Total-Count``; a ``Link`` header (RFC 8288) with ``first`` and ``last``, ``next`` when
more results exist and ``prev`` when the offset is above 0. We send ``Link`` on every
page, so a client need not know whether the list is complete to find its way.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from sqlmodel import Session

from badgeworks.services.infra.pagination import count, window


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


def paginate(
    request: Request,
    response: Response,
    session: Session,
    model: Any,
    *where: Any,
    limit: int,
    offset: int,
) -> tuple[int, int]:
    """The one paging step of every list endpoint; returns the ``(limit, offset)`` to read.

    ``limit``/``offset`` are brought into range (``services.pagination.window``), the rows
    of ``model`` matching ``where`` are counted, and the page's ``X-Total-Count`` and
    ``Link`` headers are set on ``response``.
    """
    limit, offset = window(limit, offset)
    total = count(session, model, *where)
    set_page_headers(request, response, total=total, limit=limit, offset=offset)
    return limit, offset
