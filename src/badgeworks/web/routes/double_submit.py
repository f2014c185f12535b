"""Double-submit CSRF tokens, for forms that are shown before anyone is signed in.

Without a session there is nothing to bind a token to, so the page sets a random cookie
and its form repeats the value in a hidden field; a form whose field does not match the
cookie is refused. The console's sign-in and set-password forms and the candidate's
sign-in form work this way (each sets its own cookie, with its own path and lifetime).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request


def form_token(request: Request, cookie: str) -> str:
    """The token this browser already holds in ``cookie``, or a new random one."""
    return request.cookies.get(cookie) or secrets.token_urlsafe(32)


def token_matches(request: Request, cookie: str, submitted: str) -> bool:
    """True if the form repeated the token of ``cookie`` (a missing cookie never matches)."""
    expected = request.cookies.get(cookie) or ""
    return bool(expected) and hmac.compare_digest(expected.encode(), submitted.encode())
