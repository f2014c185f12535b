"""VC-JWT: verify Open Badges 3.0 JWT proofs.

Implements OB 3.0 §8.2 "JSON Web Token Proof Format" ("Verify a Credential"), which follows
the VC Data Model 1.1 JWT encoding:

- The JOSE header has ``alg`` (we accept ``RS256``, ``ES256``, ``EdDSA``; never ``none``
  or an HMAC algorithm), ``kid`` (a key URL, resolved by the caller's ``key_resolver``)
  or ``jwk`` (the public key itself, which MUST NOT hold private members), and ``typ``,
  which if present is ``JWT``. OB 3.0 allows no other JOSE header; ``crit`` in
  particular is refused (RFC 7515 §4.1.11: we understand no extension).
- The payload is the credential. A ``vc`` claim (VC 1.1 style) holds the credential
  instead; either way ``iss`` = ``issuer.id``, ``jti`` = ``id``, ``sub`` =
  ``credentialSubject.id``, ``nbf`` = ``validFrom`` (``issuanceDate``), and ``exp`` =
  ``validUntil`` (``expirationDate``) when that exists.

``verify_vc_jwt`` never raises: like ``verify()``, it reports ``Check`` objects (check
name ``proof``). Structure, schema, status and endorsements of the decoded credential
are ``verify()``'s business, not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from . import multikey
from .credential import issuer_id, parse_xsd_datetime
from .crypto import jose
from .errors import BadgeworksError, KeyFormatError
from .jws_parts import TokenFailure, decode_part, json_part
from .verification.report import Check

#: Resolves a ``kid`` to a JWK, a verification method, or a controller document holding it.
KeyResolver = Callable[[str], Any]

#: The largest token we read; a credential is 8 MiB at most (``parse_json_document``).
MAX_TOKEN_CHARS = 12 * 1024 * 1024
#: The largest JOSE header we read (an 8192-bit RSA ``jwk`` is about 1.5 KiB).
MAX_HEADER_BYTES = 16 * 1024

#: OB 3.0 §8.2: the only JOSE headers allowed.
ALLOWED_HEADERS = frozenset({"alg", "kid", "jwk", "typ"})

#: RFC 7519 §4.1 registered claim names.
REGISTERED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti"})

_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def is_compact_jws(text: Any) -> bool:
    """True when ``text`` has the shape of a compact JWS (three base64url parts)."""
    return isinstance(text, str) and _COMPACT_JWS.fullmatch(text.strip()) is not None


_Failure = TokenFailure


def _b64u(part: str, what: str) -> bytes:
    return decode_part(part, what, "jwt.malformed")


def _json_object(data: bytes, what: str, max_bytes: int) -> dict[str, Any]:
    return json_part(data, what, max_bytes, "jwt.malformed")


# --------------------------------------------------------------------------- header


def _check_header(header: dict[str, Any]) -> str:
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise _Failure("jwt.malformed", "The token's header has no 'alg'.")
    if alg not in jose.JWS_ALGORITHMS:
        why = {
            "none": "an unsigned token ('none') proves nothing",
        }.get(alg.lower(), "")
        if alg.upper().startswith("HS"):
            why = "a shared-secret (HMAC) algorithm cannot show who issued a credential"
        raise _Failure(
            "jwt.alg_unsupported",
            f"The token's algorithm {alg!r:.40} is not accepted"
            + (f": {why}" if why else "")
            + "; accepted: RS256, ES256, EdDSA.",
            alg=alg[:40],
        )
    extra = sorted(set(header) - ALLOWED_HEADERS)
    if extra:
        raise _Failure(
            "jwt.header_not_allowed",
            f"The token's header has {', '.join(repr(h[:40]) for h in extra[:5])}; Open Badges "
            "allows only 'alg', 'kid', 'jwk' and 'typ'.",
            headers=[h[:40] for h in extra[:5]],
        )
    if "typ" in header and header["typ"] != "JWT":
        raise _Failure(
            "jwt.header_invalid",
            f"The token's 'typ' is {header['typ']!r:.40}; Open Badges requires 'JWT'.",
        )
    if "kid" in header and (not isinstance(header["kid"], str) or not header["kid"]):
        raise _Failure("jwt.header_invalid", "The token's 'kid' is not a non-empty string.")
    if "jwk" in header:
        jwk = header["jwk"]
        if not isinstance(jwk, dict):
            raise _Failure("jwt.header_invalid", "The token's 'jwk' is not a JSON object.")
        private = sorted(set(jwk) & jose.JWK_PRIVATE_MEMBERS)
        if private:
            raise _Failure(
                "jwt.private_key_in_header",
                f"The token's 'jwk' holds private key material ({', '.join(private)}): the "
                "issuer published its secret key, so anyone could have signed this.",
            )
    return alg


# --------------------------------------------------------------------------- keys


def _absolute(ref: Any, base: Any) -> Any:
    if isinstance(ref, str) and ref.startswith("#") and isinstance(base, str):
        return base.split("#", 1)[0] + ref
    return ref


def _find_method(found: Mapping[str, Any], kid: str) -> Mapping[str, Any] | None:
    """The verification method ``kid`` in a controller document, or ``found`` itself."""
    if "kty" in found or "publicKeyJwk" in found or "publicKeyMultibase" in found:
        return found
    for name in ("verificationMethod", "assertionMethod", "authentication"):
        items = found.get(name)
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, Mapping) and _absolute(item.get("id"), found.get("id")) == kid:
                return item
    return None


def _jwk_from_method(alg: str, method: Mapping[str, Any], kid: str) -> dict[str, Any]:
    if "kty" in method:
        source: Mapping[str, Any] = method
    elif isinstance(method.get("publicKeyJwk"), Mapping):
        source = method["publicKeyJwk"]
    elif "publicKeyMultibase" in method and alg == "EdDSA":
        try:
            raw = multikey.decode_public_key(method["publicKeyMultibase"])
        except KeyFormatError as exc:
            raise _Failure(
                "jwt.key_unsupported", f"The key {kid!r:.160} is not usable: {exc}."
            ) from None
        return jose.ed25519_public_jwk(raw)
    else:
        raise _Failure(
            "jwt.key_unsupported",
            f"The key {kid!r:.160} has no 'publicKeyJwk' (or Ed25519 'publicKeyMultibase') "
            f"usable with {alg}.",
        )
    try:
        # Only the public members: a resolver that hands back a private key must not
        # change what we check, and an 'alg' member still binds the key to one algorithm.
        jwk = jose.public_jwk(source)
    except KeyFormatError as exc:
        raise _Failure(
            "jwt.key_unsupported", f"The key {kid!r:.160} is not usable: {exc}."
        ) from None
    if "alg" in source:
        jwk["alg"] = source["alg"]
    return jwk


def _resolve_kid(
    alg: str, kid: str, key_resolver: KeyResolver
) -> tuple[dict[str, Any], str | None]:
    try:
        found = key_resolver(kid)
    except Exception as exc:
        # Whatever the resolver raises (not found, not allowed, network), the key is missing.
        message = exc.message if isinstance(exc, BadgeworksError) else type(exc).__name__
        raise _Failure(
            "jwt.key_not_found", f"The key {kid!r:.160} could not be looked up: {message}"
        ) from None
    method = _find_method(found, kid) if isinstance(found, Mapping) else None
    if method is None:
        raise _Failure("jwt.key_not_found", f"The key {kid!r:.160} was not found.")
    controller = method.get("controller")
    return _jwk_from_method(alg, method, kid), controller if isinstance(controller, str) else None


# --------------------------------------------------------------------------- claims


def _numeric_date(payload: Mapping[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _Failure("jwt.malformed", f"The token's {name!r} is not a NumericDate (seconds).")
    if not -(2**40) < value < 2**40:
        raise _Failure("jwt.malformed", f"The token's {name!r} is out of range.")
    return int(value)


def _seconds(credential: Mapping[str, Any], *names: str) -> tuple[str, int] | None:
    for name in names:
        if name in credential:
            try:
                return name, int(parse_xsd_datetime(credential[name]).timestamp())
            except BadgeworksError:
                raise _Failure(
                    "jwt.claim_mismatch",
                    f"The credential's {name!r} {credential[name]!r:.60} is not a date.",
                ) from None
    return None


def _mismatch(claim: str, value: Any, prop: str, expected: Any) -> Check:
    if value is None:
        message = (
            f"The token has no {claim!r} claim, but the credential has {prop} {expected!r:.120}."
        )
    elif expected is None:
        message = f"The token's {claim!r} is {value!r:.120}, but the credential has no {prop}."
    else:
        message = (
            f"The token's {claim!r} is {value!r:.120}, but the credential's {prop} is "
            f"{expected!r:.120}."
        )
    return Check(
        "proof",
        "fail",
        "jwt.claim_mismatch",
        f"The token and the credential inside it disagree: {message}",
        {"claim": claim},
    )


def _claim_checks(
    payload: Mapping[str, Any], credential: Mapping[str, Any], now: datetime
) -> list[Check]:
    checks: list[Check] = []
    issuer = issuer_id(credential)
    if payload.get("iss") != issuer or issuer is None:
        checks.append(_mismatch("iss", payload.get("iss"), "issuer id", issuer))
    if payload.get("jti") != credential.get("id"):
        checks.append(_mismatch("jti", payload.get("jti"), "id", credential.get("id")))
    subject = credential.get("credentialSubject")
    subject_id = subject.get("id") if isinstance(subject, Mapping) else None
    if subject_id is not None and payload.get("sub") != subject_id:
        checks.append(_mismatch("sub", payload.get("sub"), "credentialSubject.id", subject_id))

    nbf = _numeric_date(payload, "nbf")
    start = _seconds(credential, "validFrom", "issuanceDate")
    if start is None or nbf != start[1]:
        expected = start[1] if start else None
        checks.append(_mismatch("nbf", nbf, start[0] if start else "validFrom", expected))
    exp = _numeric_date(payload, "exp")
    end = _seconds(credential, "validUntil", "expirationDate")
    if end is not None and exp != end[1]:
        checks.append(_mismatch("exp", exp, end[0], end[1]))

    when = int(now.timestamp())
    if nbf is not None and nbf > when:
        checks.append(
            Check(
                "proof",
                "fail",
                "jwt.not_yet_valid",
                f"The token is not valid yet: its 'nbf' is {_show_time(nbf)}.",
                {"nbf": nbf},
            )
        )
    if exp is not None and exp <= when:
        checks.append(
            Check(
                "proof",
                "fail",
                "jwt.expired",
                f"The token expired on {_show_time(exp)} ('exp').",
                {"exp": exp},
            )
        )
    return checks


def _show_time(seconds: int) -> str:
    try:
        return f"{datetime.fromtimestamp(seconds, UTC):%d %B %Y %H:%M UTC}"
    except (OverflowError, OSError, ValueError):
        return str(seconds)


# --------------------------------------------------------------------------- verify


def _verify(
    token: Any, key_resolver: KeyResolver, now: datetime
) -> tuple[dict[str, Any], list[Check]]:
    if not isinstance(token, str):
        raise _Failure("jwt.malformed", "The token is not text.")
    if len(token) > MAX_TOKEN_CHARS:
        raise _Failure("jwt.too_large", f"The token is longer than {MAX_TOKEN_CHARS} characters.")
    parts = token.strip().split(".")
    if len(parts) != 3 or not all(parts):
        raise _Failure(
            "jwt.malformed",
            "This is not a compact JWS: it needs three base64url parts separated by dots.",
        )
    header = _json_object(_b64u(parts[0], "header"), "header", MAX_HEADER_BYTES)
    alg = _check_header(header)
    payload = _json_object(_b64u(parts[1], "payload"), "payload", MAX_TOKEN_CHARS)
    signature = _b64u(parts[2], "signature")

    checks: list[Check] = []
    controller: str | None = None
    if "kid" in header:
        jwk, controller = _resolve_kid(alg, header["kid"], key_resolver)
        key_name = header["kid"]
    elif "jwk" in header:
        jwk = header["jwk"]
        key_name = "the key in the token's header"
    else:
        raise _Failure(
            "jwt.key_not_found", "The token names no key: its header has neither 'kid' nor 'jwk'."
        )
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    try:
        ok = jose.jws_verify(alg, jwk, signing_input, signature)
    except KeyFormatError as exc:
        raise _Failure(
            "jwt.key_unsupported", f"The key {key_name!r:.160} cannot check this token: {exc}."
        ) from None
    if not ok:
        raise _Failure(
            "jwt.signature_invalid",
            "The signature does not match: the token was changed after it was signed, or "
            "it was signed with a different key.",
        )

    if "vc" in payload:
        credential = payload["vc"]
    else:
        # The payload is the credential plus the JWT's registered claims (RFC 7519 §4.1),
        # which are not credential properties: an embedded Data Integrity proof, made
        # before the JWT, signed the credential without them.
        credential = {k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS}
    if not isinstance(credential, dict):
        raise _Failure("jwt.malformed", "The token's 'vc' claim is not a JSON object.")
    issuer = issuer_id(credential)
    if controller is not None and controller != issuer:
        checks.append(
            Check(
                "proof",
                "fail",
                "jwt.issuer_key_mismatch",
                f"The credential says it was issued by {issuer!r:.200}, but it was signed with "
                f"a key that belongs to {controller!r:.200}.",
                {"controller": controller, "issuer": issuer},
            )
        )
    if "kid" not in header:
        checks.append(
            Check(
                "proof",
                "warning",
                "jwt.key_embedded",
                "The token carries its own public key ('jwk'): the signature shows the "
                "credential is unchanged, but not that its issuer holds that key.",
            )
        )
    checks.extend(_claim_checks(payload, credential, now))
    if not any(c.outcome == "fail" for c in checks):
        detail = {"alg": alg, "kid": header["kid"]} if "kid" in header else {"alg": alg}
        checks.insert(
            0,
            Check(
                "proof",
                "pass",
                "jwt.verified",
                f"The signature ({alg}) is intact and the token's claims match the credential.",
                detail,
            ),
        )
    return credential, checks


def verify_vc_jwt(
    token: str, *, key_resolver: KeyResolver, now: datetime
) -> tuple[dict[str, Any] | None, list[Check]]:
    """Verify a VC-JWT; never raises. Returns the credential and ``proof`` checks.

    The credential is ``None`` when the token could not be read or its signature did not
    verify (we do not hand out content nobody vouches for). ``key_resolver(kid)`` returns a
    JWK, a verification method (``publicKeyJwk``, or Ed25519 ``publicKeyMultibase`` for
    ``EdDSA``) or a controller document listing it; anything it raises means
    ``jwt.key_not_found``. The token verified iff no returned check failed.
    """
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    try:
        return _verify(token, key_resolver, now)
    except _Failure as failure:
        return None, [Check("proof", "fail", failure.code, failure.message, failure.detail)]
    except Exception as exc:  # never raise, whatever the input
        return None, [
            Check(
                "proof",
                "fail",
                "internal.error",
                "The token could not be checked because of an internal error "
                f"({type(exc).__name__}).",
            )
        ]
