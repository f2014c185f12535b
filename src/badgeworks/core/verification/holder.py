"""Holder binding: a presentation made *for this request* by *the person the credential is about*.

A verifier that asks a wallet for a credential (OpenID for Verifiable Presentations 1.0
§14.1 "Preventing Replay of Verifiable Presentations") must see three things besides the
credential's own checks: the presentation is bound to the request's ``nonce`` and to the
verifier's client identifier (its audience), it is signed by a key of the holder, and the
holder is the credential's subject (``credentialSubject.id``), so a candidate cannot show
someone else's badge.

Two presentation formats (OID4VP 1.0 Appendix B.1):

- ``ldp_vp``: a VC Data Model presentation with a Data Integrity proof whose
  ``proofPurpose`` is ``authentication``, ``challenge`` the nonce and ``domain`` the client
  identifier (B.1.3.2). ``ldp_request_binding`` compares those two before any signature
  is checked (the proof layer checks them again, with the signature); the signature itself
  is checked by ``verify_presentation`` through the service's pipeline.
- ``jwt_vp_json``: a JWT whose ``vp`` claim is the presentation, signed (``EdDSA`` or
  ``ES256``) by the key its ``kid`` names, a ``did:key`` or ``did:jwk`` DID URL, with
  ``nonce`` and ``aud`` (B.1.3.1). ``verify_jwt_presentation`` checks all of it.

Nothing here raises for bad input: each refusal is a ``HolderRefusal`` value with a
stable code (``holder.*``) and a message for the person reading the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..crypto import jose
from ..errors import BadgeworksError, KeyFormatError
from ..holder_proof import key_of_kid
from ..jws_parts import TokenFailure, decode_part, json_part
from ..values import as_list, types_of

#: The algorithms a wallet may sign a JWT presentation with.
ALGORITHMS = ("EdDSA", "ES256")
#: The JOSE header parameters a JWT presentation may carry. ``jwk``, ``jku``, ``x5c`` and
#: ``crit`` are refused: the key comes from the holder's DID, never from the token.
_HEADERS = frozenset({"alg", "kid", "typ"})
_TYPS = ("JWT", "vp+jwt")
MAX_HEADER_BYTES = 8 * 1024
#: How far a presentation's ``iat`` may lie in the future (clocks drift).
MAX_FUTURE_SECONDS = 300

PRESENTATION = "VerifiablePresentation"


@dataclass(frozen=True)
class HolderRefusal:
    """Why a presentation is refused: ``code`` (``holder.*``) and a sentence."""

    code: str
    message: str


@dataclass(frozen=True)
class JwtPresentation:
    """A verified JWT presentation: its ``vp`` claim, the holder's DID and the algorithm."""

    presentation: dict[str, Any]
    holder: str
    alg: str
    kid: str = field(default="")


def _refusal(code: str, message: str) -> HolderRefusal:
    return HolderRefusal(code, message)


def subject_ids(credential: Mapping[str, Any]) -> list[str]:
    """The ``credentialSubject.id`` values of a credential (one subject, or several)."""
    found = []
    for subject in as_list(credential.get("credentialSubject")):
        if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
            found.append(str(subject["id"]))
    return found


def did_of(verification_method: Any) -> str | None:
    """The DID a DID URL (``did:…#fragment``) belongs to; None for anything else."""
    if not isinstance(verification_method, str) or not verification_method.startswith("did:"):
        return None
    return verification_method.split("#", 1)[0] or None


def bound_to_subject(holder: str | None, credential: Mapping[str, Any]) -> HolderRefusal | None:
    """``holder.subject_mismatch`` unless the signer's DID is the credential's subject."""
    subjects = subject_ids(credential)
    if not subjects:
        return _refusal(
            "holder.subject_mismatch",
            "The credential does not name the person it is about by a DID "
            "('credentialSubject.id'), so a wallet cannot show that it is theirs.",
        )
    if holder is None or holder not in subjects:
        return _refusal(
            "holder.subject_mismatch",
            f"The presentation was signed by {holder or 'an unknown key'!s:.200}, but the "
            f"credential is about {subjects[0]:.200}: it is someone else's credential.",
        )
    return None


# --------------------------------------------------------------------------- ldp_vp


def ldp_request_binding(
    vp: Mapping[str, Any], *, nonce: str, audience: str
) -> HolderRefusal | None:
    """The request binding of a Data Integrity presentation, before its signature is checked.

    Every ``authentication`` proof must carry the request's ``challenge`` (the nonce) and
    ``domain`` (the client identifier); a presentation without a proof is refused
    (``holder.unsigned``), as is one whose proof is not an object (``holder.malformed``).
    """
    if PRESENTATION not in types_of(vp):
        return _refusal(
            "holder.malformed",
            f"The answer is not a presentation: its 'type' lacks {PRESENTATION!r}.",
        )
    proofs = as_list(vp.get("proof"))
    if not proofs:
        return _refusal(
            "holder.unsigned",
            "The presentation is not signed, so nothing shows the candidate's wallet made it.",
        )
    for proof in proofs:
        if not isinstance(proof, Mapping):
            return _refusal("holder.malformed", "The presentation's proof is not a JSON object.")
        if proof.get("challenge") != nonce:
            return _refusal(
                "holder.nonce_mismatch",
                "The presentation was made for another request: its 'challenge' is not this "
                "request's nonce.",
            )
        if audience not in as_list(proof.get("domain")):
            return _refusal(
                "holder.audience_mismatch",
                "The presentation was made for another verifier: its 'domain' is not this "
                "request's client identifier.",
            )
    return None


# --------------------------------------------------------------------------- jwt_vp_json


def _numeric(payload: Mapping[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise TokenFailure("holder.malformed", f"The presentation's {name!r} is not a NumericDate.")
    if not -(2**40) < value < 2**40:
        raise TokenFailure("holder.malformed", f"The presentation's {name!r} is out of range.")
    return int(value)


def _header(header: Mapping[str, Any]) -> tuple[str, str]:
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise TokenFailure(
            "holder.format",
            f"The presentation is signed with {alg!r:.40}; accepted: {', '.join(ALGORITHMS)}.",
        )
    extra = sorted(set(header) - _HEADERS)
    if extra:
        raise TokenFailure(
            "holder.malformed",
            "The presentation's header has "
            f"{', '.join(repr(h[:40]) for h in extra[:5])}: the key comes from the holder's "
            "DID ('kid'), never from the token.",
        )
    if "typ" in header and header["typ"] not in _TYPS:
        raise TokenFailure(
            "holder.malformed", f"The presentation's 'typ' {header['typ']!r:.40} is not 'JWT'."
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > MAX_HEADER_BYTES:
        raise TokenFailure(
            "holder.signature",
            "The presentation does not say which key signed it ('kid', a did:key or did:jwk "
            "DID URL).",
        )
    return str(alg), kid


def _claims(
    payload: Mapping[str, Any], holder: str, *, nonce: str, audience: str, now: datetime
) -> dict[str, Any]:
    if payload.get("nonce") != nonce:
        raise TokenFailure(
            "holder.nonce_mismatch",
            "The presentation was made for another request: its 'nonce' is not this "
            "request's nonce.",
        )
    if audience not in as_list(payload.get("aud")):
        raise TokenFailure(
            "holder.audience_mismatch",
            "The presentation was made for another verifier: its 'aud' is not this "
            "request's client identifier.",
        )
    at = int(now.timestamp())
    exp, nbf, iat = (_numeric(payload, n) for n in ("exp", "nbf", "iat"))
    if exp is not None and exp <= at:
        raise TokenFailure("holder.expired", "The presentation's signature has expired ('exp').")
    if nbf is not None and nbf > at + MAX_FUTURE_SECONDS:
        raise TokenFailure("holder.expired", "The presentation is not valid yet ('nbf').")
    if iat is not None and iat > at + MAX_FUTURE_SECONDS:
        raise TokenFailure(
            "holder.expired", "The presentation says it was signed in the future ('iat')."
        )
    iss = payload.get("iss")
    if iss is not None and iss != holder:
        raise TokenFailure(
            "holder.signature",
            f"The presentation's 'iss' is {iss!r:.200}, but it was signed with a key of "
            f"{holder:.200}.",
        )
    vp = payload.get("vp")
    if not isinstance(vp, dict) or PRESENTATION not in types_of(vp):
        raise TokenFailure(
            "holder.malformed",
            "The token's 'vp' claim is not a presentation (a JSON object of type "
            f"{PRESENTATION!r}).",
        )
    named = vp.get("holder")
    named = named.get("id") if isinstance(named, Mapping) else named
    if named is not None and named != holder:
        raise TokenFailure(
            "holder.signature",
            f"The presentation says its holder is {named!r:.200}, but it was signed with a "
            f"key of {holder:.200}.",
        )
    return vp


def verify_jwt_presentation(
    token: Any, *, nonce: str, audience: str, now: datetime, max_chars: int
) -> JwtPresentation | HolderRefusal:
    """Verify a ``jwt_vp_json`` presentation: signature by the ``kid``'s DID, ``nonce``,
    ``aud``, times, and the ``vp`` claim; never raises.

    Returns the presentation and the holder's DID, or why it is refused. The credentials
    inside are the caller's to verify (with the same pipeline as any credential).
    """
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    if not isinstance(token, str) or not token:
        return _refusal("holder.malformed", "The presentation is not a JWT string.")
    if len(token) > max_chars:
        return _refusal(
            "holder.too_large", f"The presentation is longer than {max_chars} characters."
        )
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return _refusal(
            "holder.malformed", "The presentation is not a compact JWS (three base64url parts)."
        )
    try:
        header = json_part(
            decode_part(parts[0], "header", "holder.malformed"),
            "header",
            MAX_HEADER_BYTES,
            "holder.malformed",
        )
        alg, kid = _header(header)
        payload = json_part(
            decode_part(parts[1], "payload", "holder.malformed"),
            "payload",
            max_chars,
            "holder.malformed",
        )
        signature = decode_part(parts[2], "signature", "holder.malformed")
        try:
            holder, jwk = key_of_kid(kid)
        except BadgeworksError as exc:
            raise TokenFailure(
                "holder.signature", f"The presentation's key cannot be found: {exc.message}."
            ) from None
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        try:
            valid = jose.jws_verify(alg, jwk, signing_input, signature)
        except KeyFormatError as exc:
            raise TokenFailure(
                "holder.signature", f"The presentation's key cannot check it: {exc.message}."
            ) from None
        if not valid:
            raise TokenFailure(
                "holder.signature",
                "The presentation's signature does not match: it was changed after it was "
                "signed, or signed with another key.",
            )
        vp = _claims(payload, holder, nonce=nonce, audience=audience, now=now)
    except TokenFailure as failure:
        return _refusal(failure.code, failure.message)
    except Exception as exc:  # never raise, whatever the input
        return _refusal(
            "holder.malformed",
            f"The presentation could not be read ({type(exc).__name__}).",
        )
    return JwtPresentation(vp, holder, alg, kid)
