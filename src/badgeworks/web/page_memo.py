"""Anonymous views of the public pages, served from the kept finished page when current.

``memoized`` wraps a page route's render: an anonymous ``GET`` reads the database's
``pages_version`` (one statement) and, when ``services.portfolio.page_memo.PAGES`` holds
the page at that number, for that path, query and language, and the clock is still inside
the page's dates (``Freshness``), answers with the kept bytes and headers without
reading anything else. What the pages show and when a page may be kept is the service's
part (``services/portfolio/page_memo.py``); this module says which requests are
anonymous and what a finished response is.

Not kept, and not served from the memory: a request with ``?lang=`` (its answer sets the
``lang`` cookie), one carrying any cookie besides ``lang`` (a signed-in candidate or
staff member) or an ``Authorization`` header, any method but ``GET``, any answer but a
200 or one that sets a cookie, and error pages (the render raises).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response
from sqlmodel import Session

from badgeworks.services.context import ServiceContext
from badgeworks.services.portfolio.page_memo import (
    PAGES,
    Freshness,
    KeptPage,
    database_of,
    read_version,
)
from badgeworks.web.pages import page_language

#: A render: the page's response, and how long what it shows holds.
Render = Callable[[], tuple[Response, Freshness]]


def anonymous(request: Request) -> bool:
    """A view the memory may answer: the same bytes for everyone who sends it."""
    return (
        request.method == "GET"
        and "lang" not in request.query_params
        and "authorization" not in request.headers
        and all(name == "lang" for name in request.cookies)
    )


def memoized(request: Request, session: Session, ctx: ServiceContext, render: Render) -> Response:
    """The kept page for this request if it is current, else ``render()`` (kept if it may be)."""
    if not anonymous(request):
        return render()[0]
    version = read_version(session)
    if version is None:
        return render()[0]
    key = (
        database_of(session),
        version,
        ctx.base_url,
        request.url.path,
        request.url.query,
        page_language(request),
    )
    found = PAGES.find(key, ctx.clock())
    if found is not None:
        response = Response(found.body)
        response.raw_headers = list(found.headers)
        return response
    response, fresh = render()
    headers = tuple(response.raw_headers)
    if response.status_code == 200 and not any(name == b"set-cookie" for name, _ in headers):
        PAGES.keep(key, KeptPage(bytes(response.body), headers, fresh))
    return response
