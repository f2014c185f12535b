"""Profile links: up to ``MAX_LINKS`` labelled ``https:`` or ``mailto:`` addresses.

The links are shown on a public page under our domain, so only addresses that go where
they say are accepted (no ``javascript:``, no user name before the host, no plain http).
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, StringConstraints

from badgeworks.services.models import Strict

MAX_LINKS = 5
LINK_LABEL_MAX = 60
LINK_URL_MAX = 300
# No whitespace, control characters, quotes or angle brackets anywhere in an address.
_URL_CHARS = re.compile(r"^[^\s\x00-\x1f\x7f\"'<>\\`]+$")
_MAILTO = re.compile(r"^mailto:[^@\s?#/]+@[^@\s?#/]+\.[^@\s?#/]+$", re.IGNORECASE)
_HOSTNAME = re.compile(r"^[^\s@:/?#]+$")


def check_link_url(value: str) -> str:
    """``value`` if it is an ``https://`` address with a host, or ``mailto:`` an address.

    Anything else is refused (``javascript:``, ``data:``, plain ``http:``, relative paths,
    addresses with a user name before the host, which can disguise where a link goes).
    """
    if not _URL_CHARS.match(value):
        raise ValueError("a link's address may not contain spaces, quotes or control characters")
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if scheme == "mailto":
        if not _MAILTO.match(value):
            raise ValueError("a mailto: link is mailto: and one email address, nothing else")
        return "mailto:" + value[len("mailto:") :]
    if scheme != "https":
        raise ValueError("a link's address must start with https:// (or be mailto:)")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise ValueError("the link's address is not a valid URL") from exc
    if not value.lower().startswith("https://") or not parts.hostname:
        raise ValueError("a link's address must be https:// and a host name")
    if "@" in parts.netloc:
        raise ValueError("a link's address may not have a user name before the host")
    if not _HOSTNAME.match(parts.hostname):
        raise ValueError("a link's address must name its host (no IP version 6 address)")
    return "https://" + value[len("https://") :]


def _check_label(value: str) -> str:
    if not value.isprintable():
        raise ValueError("a link's label may not contain control characters")
    return value


LinkLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=LINK_LABEL_MAX),
    AfterValidator(_check_label),
]
LinkUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=LINK_URL_MAX),
    AfterValidator(check_link_url),
]


class ProfileLink(Strict):
    """One profile link: a label (``GitHub``) and an https: or mailto: address."""

    label: LinkLabel
    url: LinkUrl
