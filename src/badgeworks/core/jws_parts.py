"""Reading the parts of a compact JWS (RFC 7515 §7.1), shared by the two JWT formats.

OB 3.0 VC-JWTs (``vc_jwt``) and VC-JOSE-COSE envelopes (``enveloped``) read their header
and payload the same way: base64url without padding, then strict JSON (no duplicate keys,
a depth cap) that must be an object. Each format reports a failure under its own code
prefix (``jwt.`` or ``jose.``).
"""

from __future__ import annotations

from typing import Any

from .document import parse_json_document
from .encoding import b64url_decode
from .errors import InputError


class TokenFailure(Exception):
    """One failed check; ends the verification of the token."""

    def __init__(self, code: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail


def decode_part(part: str, what: str, code: str) -> bytes:
    """A base64url part of the token; ``code`` (``<prefix>.malformed``) if it is not one."""
    # RFC 7515 §2: base64url without padding; anything else is not a compact JWS.
    try:
        return b64url_decode(part)
    except ValueError:
        raise TokenFailure(code, f"The token's {what} is not base64url text.") from None


def json_part(data: bytes, what: str, max_bytes: int, code: str) -> dict[str, Any]:
    """A decoded part read as a strict JSON object; ``code`` if it is not one."""
    try:
        value = parse_json_document(data, max_bytes=max_bytes)
    except InputError as exc:
        raise TokenFailure(code, f"The token's {what} is not usable JSON: {exc}") from None
    if not isinstance(value, dict):
        raise TokenFailure(code, f"The token's {what} is not a JSON object.")
    return value
