"""P-256 public keys in their compressed SEC 1 form, as a `did:key` (multicodec 0x1200) holds."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ..encoding import b64url_encode
from ..errors import KeyFormatError


def jwk_from_compressed(point: bytes) -> dict[str, Any]:
    """The EC JWK (``crv`` P-256) of a 33-byte compressed point; ``KeyFormatError`` if it
    is not a point on the curve."""
    if len(point) != 33 or point[0] not in (2, 3):
        raise KeyFormatError("a compressed P-256 key is 33 bytes starting 02 or 03")
    try:
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise KeyFormatError("the P-256 point is not on the curve") from None
    numbers = public.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }
