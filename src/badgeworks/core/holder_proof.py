"""The wallet's proof of possession: an OpenID4VCI 1.0 ``jwt`` key proof (Appendix F.1).

A wallet that asks for a credential signs a short JWT with the key the credential is to be
bound to. This module reads and checks one such proof, in pure code, and returns the key
and the DID the credential names as ``credentialSubject.id``:

- JOSE header: ``typ`` is ``openid4vci-proof+jwt``; ``alg`` is ``EdDSA`` (Ed25519) or
  ``ES256`` (P-256), never ``none`` or a shared-secret algorithm; exactly one of ``kid``
  (a ``did:key`` or ``did:jwk`` DID URL) and ``jwk`` (a public key, with no private
  member); no ``x5c`` and no ``crit`` (we understand no extension, RFC 7515 §4.1.11).
- Payload: ``aud`` is the credential issuer's identifier; ``iat`` is within
  ``MAX_CLOCK_SKEW`` of ``now`` (a proof made long ago or in the future is refused);
  ``exp``, if present, is after ``now``; ``nonce`` is present (our issuer has a nonce
  endpoint, §7): whether it is one we handed out and not used yet is the caller's check.
- The signature verifies with the key (``core/crypto/jose.py``).

Every refusal is a ``HolderProofError`` whose ``code`` is the spec's error code:
``invalid_proof``, or ``invalid_nonce`` for a proof without a nonce.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import multibase
from .crypto import jose
from .crypto.p256 import jwk_from_compressed
from .encoding import b64url_decode, b64url_encode
from .errors import BadgeworksError, KeyFormatError
from .jws_parts import TokenFailure, decode_part, json_part

#: OpenID4VCI 1.0 Appendix F.1: the ``typ`` of a key proof JWT.
PROOF_TYP = "openid4vci-proof+jwt"
#: The algorithms a wallet may sign its proof with (issuer metadata says the same).
ALGORITHMS = ("EdDSA", "ES256")
#: The longest proof we read: a proof is a few hundred characters; a ``jwk`` header or a
#: ``did:jwk`` adds a few hundred more.
MAX_PROOF_CHARS = 8 * 1024
#: The largest header or payload, decoded.
MAX_PART_BYTES = 4 * 1024
#: How far a proof's ``iat`` may be from our clock, either way.
MAX_CLOCK_SKEW = timedelta(minutes=5)
#: The longest nonce we read.
MAX_NONCE_CHARS = 200

_HEADERS = frozenset({"typ", "alg", "kid", "jwk"})
#: Multicodec prefixes (varint) of the public keys a ``did:key`` may hold here.
_ED25519_PUB = b"\xed\x01"
_P256_PUB = b"\x80\x24"


class HolderProofError(BadgeworksError):
    """A key proof we refuse; ``code`` is the OpenID4VCI error code."""

    code = "invalid_proof"


@dataclass(frozen=True)
class HolderKey:
    """The key a wallet proved it holds, and the DID credentials bound to it name."""

    did: str
    jwk: dict[str, Any] = field(repr=False)
    alg: str
    nonce: str


def _refuse(message: str, code: str = "invalid_proof") -> HolderProofError:
    return HolderProofError(message, code=code)


def _public_only(jwk: Any, where: str) -> dict[str, Any]:
    if not isinstance(jwk, Mapping):
        raise _refuse(f"the {where} is not a JSON object")
    private = sorted(set(jwk) & jose.JWK_PRIVATE_MEMBERS)
    if private:
        raise _refuse(f"the {where} holds private key material ({', '.join(private)})")
    try:
        return jose.public_jwk(jwk)
    except KeyFormatError as exc:
        raise _refuse(f"the {where} is not usable: {exc}") from None


def did_jwk(jwk: Mapping[str, Any]) -> str:
    """The ``did:jwk`` of a public JWK (its members in sorted order, no spaces)."""
    text = json.dumps(dict(jwk), sort_keys=True, separators=(",", ":"))
    return "did:jwk:" + b64url_encode(text.encode("utf-8"))


def _did_key_jwk(multibase_key: str) -> dict[str, Any]:
    try:
        raw = multibase.decode_base58btc(multibase_key)
    except (KeyFormatError, ValueError):
        raise _refuse("the did:key is not base58btc multibase") from None
    if raw[:2] == _ED25519_PUB and len(raw) == 34:
        return jose.ed25519_public_jwk(raw[2:])
    if raw[:2] == _P256_PUB:
        try:
            return jwk_from_compressed(raw[2:])
        except KeyFormatError as exc:
            raise _refuse(f"the did:key's P-256 key is not usable: {exc}") from None
    raise _refuse("the did:key holds neither an Ed25519 nor a P-256 public key")


def key_of_kid(kid: str) -> tuple[str, dict[str, Any]]:
    """The DID and public JWK a ``did:key`` or ``did:jwk`` DID URL names."""
    did, _, fragment = kid.partition("#")
    if did.startswith("did:key:"):
        value = did.removeprefix("did:key:")
        if fragment and fragment != value:
            raise _refuse("the kid names a key this did:key does not have")
        return did, _did_key_jwk(value)
    if did.startswith("did:jwk:"):
        if fragment not in ("", "0"):
            raise _refuse("a did:jwk has one key, '#0'")
        try:
            text = b64url_decode(did.removeprefix("did:jwk:"))
            jwk = json.loads(text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise _refuse("the did:jwk does not hold a base64url JSON key") from None
        return did, _public_only(jwk, "did:jwk's key")
    raise _refuse("the kid is not a did:key or did:jwk DID URL")


def _header(header: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    if header.get("typ") != PROOF_TYP:
        raise _refuse(f"the proof's 'typ' is not {PROOF_TYP!r}")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise _refuse(f"the proof's 'alg' {alg!r:.40} is not one of {', '.join(ALGORITHMS)}")
    extra = sorted(set(header) - _HEADERS)
    if extra:
        raise _refuse(f"the proof's header has {', '.join(repr(h[:40]) for h in extra[:5])}")
    has_kid, has_jwk = "kid" in header, "jwk" in header
    if has_kid == has_jwk:
        raise _refuse("the proof's header must have exactly one of 'kid' and 'jwk'")
    if has_kid:
        kid = header["kid"]
        if not isinstance(kid, str) or not kid or len(kid) > MAX_PART_BYTES:
            raise _refuse("the proof's 'kid' is not a DID URL")
        did, jwk = key_of_kid(kid)
    else:
        jwk = _public_only(header["jwk"], "proof's 'jwk'")
        did = did_jwk(jwk)
    return str(alg), did, jwk


def _numeric(payload: Mapping[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _refuse(f"the proof's {name!r} is not a NumericDate")
    if not -(2**40) < value < 2**40:
        raise _refuse(f"the proof's {name!r} is out of range")
    return int(value)


def _claims(payload: Mapping[str, Any], audience: str, now: datetime) -> str:
    aud = payload.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience not in audiences:
        raise _refuse(f"the proof's 'aud' is not this credential issuer ({audience})")
    iat = _numeric(payload, "iat")
    if iat is None:
        raise _refuse("the proof has no 'iat'")
    at = now.timestamp()
    if abs(iat - at) > MAX_CLOCK_SKEW.total_seconds():
        raise _refuse("the proof's 'iat' is too far from the current time")
    exp = _numeric(payload, "exp")
    if exp is not None and exp <= at:
        raise _refuse("the proof has expired ('exp')")
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce or len(nonce) > MAX_NONCE_CHARS:
        raise _refuse("the proof has no usable 'nonce': ask the nonce endpoint", "invalid_nonce")
    return nonce


def holder_key(token: Any, *, audience: str, now: datetime) -> HolderKey:
    """Check a ``jwt`` key proof; the key and DID it binds to, or ``HolderProofError``."""
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    if not isinstance(token, str) or len(token) > MAX_PROOF_CHARS:
        raise _refuse("the proof is not a JWT of at most 8 KiB")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise _refuse("the proof is not a compact JWS (three base64url parts)")
    try:
        header = json_part(
            decode_part(parts[0], "header", "invalid_proof"),
            "header",
            MAX_PART_BYTES,
            "invalid_proof",
        )
        payload = json_part(
            decode_part(parts[1], "payload", "invalid_proof"),
            "payload",
            MAX_PART_BYTES,
            "invalid_proof",
        )
        signature = decode_part(parts[2], "signature", "invalid_proof")
    except TokenFailure as failure:
        raise _refuse(failure.message) from None
    alg, did, jwk = _header(header)
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    try:
        valid = jose.jws_verify(alg, jwk, signing_input, signature)
    except KeyFormatError as exc:
        raise _refuse(f"the proof's key cannot be used with {alg}: {exc}") from None
    if not valid:
        raise _refuse("the proof's signature does not verify with its key")
    nonce = _claims(payload, audience, now)
    return HolderKey(did=did, jwk=jwk, alg=alg, nonce=nonce)
