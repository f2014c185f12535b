"""Base64url without padding (RFC 4648 §5, as JOSE and multibase ``u`` use it): the one codec."""

from __future__ import annotations

import base64
import re

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    """``data`` as base64url text without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def is_b64url(text: object) -> bool:
    """Whether ``text`` is unpadded base64url of a length some byte string encodes to."""
    return isinstance(text, str) and bool(_B64URL.fullmatch(text)) and len(text) % 4 != 1


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url ``text``; ``ValueError`` for anything else.

    Strict on purpose: padding, whitespace and the standard alphabet's ``+``/``/`` are refused,
    so two spellings never decode to the same bytes. Callers turn the ``ValueError`` into their
    own typed error.
    """
    if not is_b64url(text):
        raise ValueError("not unpadded base64url text")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
