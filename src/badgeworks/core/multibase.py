"""Multibase base58btc (``z`` prefix) and base64url-no-pad (``u`` prefix) values.

Data Integrity uses base58btc for ``proofValue`` and Multikey values (vc-di-eddsa §2.2),
and base64url for Bitstring Status List ``encodedList`` and ``digestMultibase``. We
implement only those two; the base64url alphabet itself is ``encoding``'s.
"""

from __future__ import annotations

from .encoding import b64url_encode
from .errors import KeyFormatError

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}


def b58encode(data: bytes) -> str:
    """Encode bytes as Bitcoin base58 (leading zero bytes become ``1``)."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, rem = divmod(n, 58)
        out.append(_B58_ALPHABET[rem])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Decode Bitcoin base58; raises ``KeyFormatError`` on a character outside the alphabet."""
    n = 0
    for ch in text:
        try:
            n = n * 58 + _B58_INDEX[ch]
        except KeyError:
            raise KeyFormatError(
                f"'{ch}' is not a base58btc character", code="multibase.invalid"
            ) from None
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def encode_base58btc(data: bytes) -> str:
    """Multibase base58btc: ``z`` + base58."""
    return "z" + b58encode(data)


def decode_base58btc(value: str) -> bytes:
    """Decode a ``z``-prefixed multibase value."""
    if not isinstance(value, str) or not value.startswith("z") or len(value) < 2:
        raise KeyFormatError(
            f"expected a base58btc multibase value starting with 'z', got {value!r:.80}",
            code="multibase.invalid",
        )
    return b58decode(value[1:])


def encode_base64url(data: bytes) -> str:
    """Multibase base64url without padding: ``u`` + base64url."""
    return "u" + b64url_encode(data)
