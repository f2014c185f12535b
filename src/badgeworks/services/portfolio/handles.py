"""Portfolio handles: the name in a portfolio's permanent URL (``/p/{handle}``).

A handle is chosen once and read by people, so it is held to a narrow shape: ASCII only
(no look-alikes of another handle), not one of our own words, and nothing abusive.
"""

from __future__ import annotations

import re
from typing import Any

from badgeworks.services.errors import ValidationFailed

HANDLE_MIN, HANDLE_MAX = 3, 40
# ASCII lowercase letters, digits and single hyphens, not at either end. Only ASCII, so a
# handle cannot be a look-alike of another (Cyrillic "а" for Latin "a", Kelvin "K"…).
_HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,38}[a-z0-9]$")
#: Handles that would read as ours, or clash with paths and roles.
RESERVED_HANDLES = frozenset(
    [
        "about",
        "admin",
        "administrator",
        "api",
        "app",
        "badge",
        "badges",
        "badgeworks",
        "blob",
        "blobs",
        "contact",
        "credential",
        "credentials",
        "docs",
        "download",
        "downloads",
        "help",
        "home",
        "issuer",
        "issuers",
        "login",
        "logout",
        "me",
        "mentor",
        "moderator",
        "null",
        "official",
        "p",
        "portfolio",
        "portfolios",
        "privacy",
        "root",
        "security",
        "settings",
        "signin",
        "signup",
        "static",
        "staff",
        "status",
        "support",
        "system",
        "terms",
        "undefined",
        "verify",
        "verifier",
        "www",
    ]
)
#: A few words no one may put in a permanent URL on our domain (checked as substrings).
_ABUSIVE = ("fuck", "shit", "cunt", "nigger", "faggot", "puta", "mierda", "nazi")


class HandleError(ValidationFailed):
    """A handle that is malformed, reserved or abusive."""

    code = "portfolio.handle_invalid"


def check_handle(value: Any) -> str:
    """The handle in canonical (lowercase) form; ``HandleError`` if it cannot be one.

    The ASCII check comes before lowercasing: ``"\\u212a".lower()`` is a Latin ``k``.
    """
    if not isinstance(value, str) or not value.isascii():
        raise HandleError(
            "a handle uses only the letters a-z, digits and hyphens (no other characters, "
            "so no handle can imitate another)"
        )
    handle = value.strip().lower()
    if not HANDLE_MIN <= len(handle) <= HANDLE_MAX:
        raise HandleError(f"a handle is {HANDLE_MIN} to {HANDLE_MAX} characters long")
    if not _HANDLE.match(handle):
        raise HandleError(
            f"the handle {handle!r} is not allowed: use a-z, 0-9 and single hyphens, "
            "starting and ending with a letter or digit"
        )
    if handle in RESERVED_HANDLES:
        raise HandleError(f"the handle {handle!r} is reserved", code="portfolio.handle_reserved")
    squashed = handle.replace("-", "")
    if any(word in squashed for word in _ABUSIVE):
        raise HandleError(f"the handle {handle!r} is not allowed", code="portfolio.handle_abusive")
    return handle
