"""VC-JOSE-COSE: credentials and presentations secured with JOSE (``application/vc+jwt``).

Implements "Securing Verifiable Credentials using JOSE and COSE" (W3C Recommendation),
§3.1 "With JOSE", §4 "Key Discovery" and §5.1, for the enveloped forms of VC Data Model
2.0 §4.13 "Securing Mechanism Specifications" / "Enveloped Verifiable Credentials":

- An ``EnvelopedVerifiableCredential`` is ``{"@context": …, "type":
  "EnvelopedVerifiableCredential", "id": "data:application/vc+jwt,<compact JWS>"}``; an
  ``EnvelopedVerifiablePresentation`` the same with ``application/vp+jwt``. The VC-API also
  passes the bare compact JWS, which we read too.
- The JWS payload *is* the VC 2.0 credential (§3.1.1: "The unsecured verifiable credential
  is the unencoded JWS payload"); the JWT claims ``vc`` and ``vp`` MUST NOT be present
  (§1.1.2.1). ``typ`` SHOULD be ``vc+jwt`` (``vp+jwt``), ``cty`` when present SHOULD be
  ``vc`` (``vp``).
- The key is found by ``kid`` (§4.1.1; an absolute URL, a DID URL for a DID issuer) or by
  ``iss`` (§4.1.2) through the caller's ``key_resolver``: the core never fetches. ``iss``,
  when present, MUST match the issuer (§4.1.2). The key must belong to the issuer (for a
  presentation, the holder) and be listed for that purpose in its controller document.
- ``iat``/``exp`` (and the NOT RECOMMENDED ``nbf``) are the signature's times, not the
  credential's ``validFrom``/``validUntil`` (§3.1.3); they are checked against ``now``
  here, and the validity period by ``verify()``'s ``validity`` stage.

The hardening rules are OB 3.0 VC-JWT's (``core.vc_jwt``, docs/vc-jwt.md): algorithms
RS256, ES256 and EdDSA only (never ``none`` or HMAC), size caps, no duplicate JSON keys.
Header parameters we do not understand are ignored, as §3.1.3 requires, except those that
would change how the signature is read or where the key comes from (``crit``, ``b64``,
``zip``, ``enc``, ``jwk``, ``jku``, ``x5u``, ``x5c``), which are refused.

``verify_envelope`` never raises: like ``verify()`` it reports ``Check`` objects (check
name ``proof``). ``envelope_credential`` / ``envelope_presentation`` sign with an Ed25519
key and raise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from . import multikey
from .contexts import VC2_CONTEXT
from .credential import issuer_id
from .crypto import jose
from .crypto.ed25519 import Ed25519KeyPair
from .document import parse_json_document
from .encoding import b64url_decode, b64url_encode
from .errors import BadgeworksError, CredentialError, KeyFormatError
from .jws_parts import TokenFailure, decode_part, json_part
from .values import as_list, types_of
from .verification.report import Check

#: Resolves a key URL (a ``kid``, an ``iss`` DID) to a verification method or a
#: controller document; the same resolver the rest of the core takes (``loader.load``).
KeyResolver = Callable[[str], Any]

Kind = Literal["vc", "vp"]

#: VC-JOSE-COSE §6.1.1 and §6.1.2: the media types.
MEDIA_TYPE: dict[Kind, str] = {"vc": "application/vc+jwt", "vp": "application/vp+jwt"}
#: VC 2.0 §4.13: the enveloping object's type.
ENVELOPED_TYPE: dict[Kind, str] = {
    "vc": "EnvelopedVerifiableCredential",
    "vp": "EnvelopedVerifiablePresentation",
}
#: VC-JOSE-COSE §3.1.1 / §3.1.2: ``typ`` and ``cty``.
TYP: dict[Kind, str] = {"vc": "vc+jwt", "vp": "vp+jwt"}
CTY: dict[Kind, str] = {"vc": "vc", "vp": "vp"}
#: The verification relationship the key must be listed under.
PURPOSE: dict[Kind, str] = {"vc": "assertionMethod", "vp": "authentication"}
_WHAT: dict[Kind, str] = {"vc": "credential", "vp": "presentation"}

#: The same caps as OB 3.0 VC-JWTs (docs/vc-jwt.md): 12 MiB of token, 16 KiB of header.
MAX_TOKEN_CHARS = 12 * 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024
MAX_KID_CHARS = 2048

#: Header parameters refused rather than ignored: each would change how the signature is
#: read (RFC 7515 §4.1.11 ``crit``, RFC 7797 ``b64``, RFC 7516 ``zip``/``enc``) or let the
#: token pick its own key (``jwk``, ``jku``, ``x5u``, ``x5c``).
REFUSED_HEADERS = frozenset({"crit", "b64", "zip", "enc", "jwk", "jku", "x5u", "x5c"})

#: RFC 7519 §4.1 registered claims and RFC 7800 ``cnf``: JWT claims, not properties of
#: the credential, so the document handed on for its own checks is the payload without them.
JWT_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf"})


_Failure = TokenFailure


# --------------------------------------------------------------------------- reading


def _media_type(url: str) -> str:
    return url[5 : url.index(",")].strip().lower() if "," in url else url[5:].lower()


def _from_data_url(url: str, kind: Kind) -> str:
    """The compact JWS in a ``data:`` URL of ``kind``'s media type (RFC 2397)."""
    if url[:5].lower() != "data:":
        raise _Failure(
            "jose.not_data_url",
            f"The enveloped {_WHAT[kind]}'s 'id' is not a data: URL ({url!r:.60}); VC 2.0 "
            f"§4.13 puts the secured {_WHAT[kind]} there as 'data:{MEDIA_TYPE[kind]},…'.",
        )
    if "," not in url:
        raise _Failure("jose.not_data_url", "The data: URL has no ',' before its content.")
    media = _media_type(url)
    if media != MEDIA_TYPE[kind]:
        raise _Failure(
            "jose.media_type",
            f"The data: URL's media type is {media!r:.80}; an enveloped {_WHAT[kind]} secured "
            f"with JOSE is '{MEDIA_TYPE[kind]}'.",
            mediaType=media[:80],
        )
    return url[url.index(",") + 1 :]


def _token(document: Any, kind: Kind) -> str:
    """The compact JWS ``document`` carries: an enveloping object, a data: URL or the JWS."""
    if isinstance(document, Mapping):
        if ENVELOPED_TYPE[kind] not in types_of(document):
            raise _Failure(
                "jose.not_enveloped",
                f"This is not an {ENVELOPED_TYPE[kind]}: its 'type' does not say so.",
            )
        contexts = as_list(document.get("@context"))
        if not contexts or contexts[0] != VC2_CONTEXT:
            # VC 2.0 §4.13: the object's @context defines id, type and the enveloped type.
            raise _Failure(
                "jose.envelope_context",
                f"The {ENVELOPED_TYPE[kind]}'s '@context' must start with {VC2_CONTEXT!r}.",
            )
        ref = document.get("id")
        if not isinstance(ref, str):
            raise _Failure(
                "jose.not_data_url",
                f"The {ENVELOPED_TYPE[kind]} has no 'id' holding the secured {_WHAT[kind]}.",
            )
        if len(ref) > MAX_TOKEN_CHARS + 64:
            raise _Failure(
                "jose.too_large", f"The token is longer than {MAX_TOKEN_CHARS} characters."
            )
        return _from_data_url(ref, kind)
    if isinstance(document, str):
        if len(document) > MAX_TOKEN_CHARS + 64:
            raise _Failure(
                "jose.too_large", f"The token is longer than {MAX_TOKEN_CHARS} characters."
            )
        text = document.strip()
        return _from_data_url(text, kind) if text[:5].lower() == "data:" else text
    raise _Failure("jose.malformed", f"This is not an enveloped {_WHAT[kind]}.")


def _b64u(part: str, what: str) -> bytes:
    return decode_part(part, what, "jose.malformed")


def _json_object(data: bytes, what: str, max_bytes: int) -> dict[str, Any]:
    return json_part(data, what, max_bytes, "jose.malformed")


@dataclass(frozen=True)
class _Parts:
    header: dict[str, Any]
    payload: str
    signature: str

    @property
    def signing_input(self) -> bytes:
        return f"{self.encoded_header}.{self.payload}".encode("ascii")

    encoded_header: str = ""


def _split(token: str) -> _Parts:
    """The header, read and checked for size; payload and signature are read after it."""
    if len(token) > MAX_TOKEN_CHARS:
        raise _Failure("jose.too_large", f"The token is longer than {MAX_TOKEN_CHARS} characters.")
    parts = token.split(".")
    # An unsigned ('none') token has an empty signature: let the header say why it fails.
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise _Failure(
            "jose.malformed",
            "This is not a compact JWS: it needs three base64url parts separated by dots "
            "(VC-JOSE-COSE §3.1.2: the compact serialization).",
        )
    if len(parts[0]) > MAX_HEADER_BYTES * 4 // 3 + 4:
        raise _Failure("jose.too_large", f"The token's header is over {MAX_HEADER_BYTES} bytes.")
    header = _json_object(_b64u(parts[0], "header"), "header", MAX_HEADER_BYTES)
    return _Parts(header, parts[1], parts[2], parts[0])


def _payload(parts: _Parts) -> dict[str, Any]:
    return _json_object(_b64u(parts.payload, "payload"), "payload", MAX_TOKEN_CHARS)


def _signature(parts: _Parts) -> bytes:
    if not parts.signature:
        raise _Failure("jose.malformed", "The token has no signature.")
    return _b64u(parts.signature, "signature")


def _media_name(value: Any) -> str | None:
    """RFC 7515 §4.1.9: ``typ``/``cty`` may leave out ``application/``; compare caselessly."""
    if not isinstance(value, str):
        return None
    name = value.strip().lower()
    return name[len("application/") :] if name.startswith("application/") else name


def _check_header(header: dict[str, Any], kind: Kind) -> tuple[str, list[Check]]:
    alg = header.get("alg")
    if not isinstance(alg, str) or not alg:
        raise _Failure("jose.malformed", "The token's header has no 'alg'.")
    if alg not in jose.JWS_ALGORITHMS:
        why = ""
        if alg.lower() == "none":
            # §1.1.2.1: claims without integrity protection MUST be ignored.
            why = ": an unsigned token ('none') has no integrity protection"
        elif alg.upper().startswith("HS"):
            why = ": a shared-secret (HMAC) algorithm cannot show who issued a credential"
        raise _Failure(
            "jose.alg_unsupported",
            f"The token's algorithm {alg!r:.40} is not accepted{why}; accepted: RS256, "
            "ES256, EdDSA.",
            alg=alg[:40],
        )
    refused = sorted(set(header) & REFUSED_HEADERS)
    if refused:
        raise _Failure(
            "jose.header_not_allowed",
            f"The token's header has {', '.join(repr(h) for h in refused)}: a token may not "
            "change how its signature is read, nor name its own key.",
            headers=refused,
        )
    warnings: list[Check] = []
    typ = _media_name(header.get("typ"))
    if "typ" not in header:
        warnings.append(
            Check(
                "proof",
                "warning",
                "jose.typ_missing",
                f"The token does not say it is a {_WHAT[kind]} ('typ' SHOULD be "
                f"{TYP[kind]!r}, VC-JOSE-COSE §3.1).",
            )
        )
    elif typ != TYP[kind]:
        raise _Failure(
            "jose.typ_invalid",
            f"The token's 'typ' is {header['typ']!r:.40}; an enveloped {_WHAT[kind]} is "
            f"{TYP[kind]!r} (VC-JOSE-COSE §3.1).",
            typ=str(header["typ"])[:40],
        )
    if "cty" in header:
        cty = _media_name(header["cty"])
        # §3.1.1: cty SHOULD be "vc", or a more specific media type than application/vc.
        if cty is None or not (cty == CTY[kind] or cty.startswith(CTY[kind] + "+")):
            raise _Failure(
                "jose.cty_invalid",
                f"The token's 'cty' is {header['cty']!r:.40}; for an enveloped {_WHAT[kind]} "
                f"it is {CTY[kind]!r} (VC-JOSE-COSE §3.1).",
            )
    if "kid" in header:
        kid = header["kid"]
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_CHARS:
            raise _Failure("jose.header_invalid", "The token's 'kid' is not a usable key URL.")
    return alg, warnings


# --------------------------------------------------------------------------- keys


def _absolute(ref: Any, base: Any) -> Any:
    if isinstance(ref, str) and ref.startswith("#") and isinstance(base, str):
        return base.split("#", 1)[0] + ref
    return ref


def _methods(doc: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = []
    for name in ("verificationMethod", "assertionMethod", "authentication"):
        for item in as_list(doc.get(name)):
            if isinstance(item, Mapping):
                found.append(item)
    return found


def _lists(doc: Mapping[str, Any], relationship: str, method_id: str) -> bool:
    for item in as_list(doc.get(relationship)):
        ref = item.get("id") if isinstance(item, Mapping) else item
        if _absolute(ref, doc.get("id")) == method_id:
            return True
    return False


def _is_method(value: Mapping[str, Any]) -> bool:
    return "publicKeyJwk" in value or "publicKeyMultibase" in value


def _load(key_resolver: KeyResolver, url: str) -> Any:
    try:
        return key_resolver(url)
    except Exception as exc:
        # Whatever the resolver raises (not found, not allowed, network), the key is missing.
        message = exc.message if isinstance(exc, BadgeworksError) else type(exc).__name__
        raise _Failure(
            "jose.key_not_found", f"The key {url!r:.160} could not be looked up: {message}"
        ) from None


@dataclass(frozen=True)
class _Key:
    jwk: dict[str, Any]
    id: str
    controller: str


def _jwk(alg: str, method: Mapping[str, Any], name: str) -> dict[str, Any]:
    try:
        if isinstance(method.get("publicKeyJwk"), Mapping):
            source = method["publicKeyJwk"]
            # Only the public members: a resolver handing back a private key changes nothing.
            jwk = jose.public_jwk(source)
            if "alg" in source:
                jwk["alg"] = source["alg"]
            return jwk
        if "publicKeyMultibase" in method and alg == "EdDSA":
            return jose.ed25519_public_jwk(multikey.decode_public_key(method["publicKeyMultibase"]))
    except KeyFormatError as exc:
        raise _Failure(
            "jose.key_unsupported", f"The key {name!r:.160} is not usable: {exc}."
        ) from None
    raise _Failure(
        "jose.key_unsupported",
        f"The key {name!r:.160} has no 'publicKeyJwk' (or Ed25519 'publicKeyMultibase') "
        f"usable with {alg}.",
    )


def _find_key(
    alg: str, header: Mapping[str, Any], iss: str | None, kind: Kind, key_resolver: KeyResolver
) -> _Key:
    """§4.1: the key by ``kid`` (absolute, or relative to ``iss``), else the one ``iss`` lists."""
    kid = header.get("kid")
    if isinstance(kid, str):
        if kid.startswith("#") and iss is not None:
            kid = _absolute(kid, iss)
        if ":" not in kid.split("#", 1)[0]:
            # §4.1.1: without iss, kid MUST be an absolute URL to a verification method.
            raise _Failure(
                "jose.kid_not_absolute",
                f"The token's 'kid' {kid!r:.160} is not an absolute URL, and no 'iss' says "
                "whose key it is (VC-JOSE-COSE §4.1.1).",
            )
        found = _load(key_resolver, kid)
        method: Mapping[str, Any] | None = None
        document: Mapping[str, Any] | None = None
        if isinstance(found, Mapping):
            if _is_method(found) and found.get("id") in (kid, None):
                method = found
            else:
                document = found
                method = next(
                    (m for m in _methods(found) if _absolute(m.get("id"), found.get("id")) == kid),
                    None,
                )
        if method is None:
            raise _Failure("jose.key_not_found", f"The key {kid!r:.160} was not found.")
        method_id = kid
    elif iss is not None:
        # §4.1.2: iss names the controller; its document must list exactly one key to use.
        found = _load(key_resolver, iss)
        if not isinstance(found, Mapping):
            raise _Failure(
                "jose.key_not_found", f"No controller document was found for {iss!r:.160}."
            )
        document = found
        listed = [
            _absolute(item.get("id") if isinstance(item, Mapping) else item, found.get("id"))
            for item in as_list(found.get(PURPOSE[kind]))
        ]
        if len(listed) != 1:
            raise _Failure(
                "jose.key_not_found",
                f"The token names no key ('kid') and {iss!r:.160} lists {len(listed)} keys for "
                f"{PURPOSE[kind]}, so which one signed it is unknown.",
            )
        method_id = str(listed[0])
        method = next(
            (m for m in _methods(found) if _absolute(m.get("id"), found.get("id")) == method_id),
            None,
        )
        if method is None:
            method = _load(key_resolver, method_id)
        if not isinstance(method, Mapping):
            raise _Failure("jose.key_not_found", f"The key {method_id!r:.160} was not found.")
    else:
        raise _Failure(
            "jose.key_not_found",
            "The token names no key: its header has no 'kid' and it has no 'iss' "
            "(VC-JOSE-COSE §4.1).",
        )
    controller = method.get("controller")
    if not isinstance(controller, str) or not controller:
        raise _Failure(
            "jose.key_unsupported",
            f"The key {method_id!r:.160} names no controller, so whose key it is is unknown.",
        )
    jwk = _jwk(alg, method, method_id)
    # The key must be listed for this purpose by its controller (§4.2, Controlled Identifiers).
    if document is None or document.get("id") != controller:
        loaded = _load(key_resolver, controller)
        document = loaded if isinstance(loaded, Mapping) else None
    if document is None or not _lists(document, PURPOSE[kind], method_id):
        raise _Failure(
            "jose.key_purpose",
            f"{controller!r:.160} does not list the key {method_id!r:.160} under "
            f"'{PURPOSE[kind]}', so it did not authorize it to sign {_WHAT[kind]}s.",
        )
    return _Key(jwk, method_id, controller)


# --------------------------------------------------------------------------- claims


def _numeric_date(payload: Mapping[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise _Failure("jose.malformed", f"The token's {name!r} is not a NumericDate (seconds).")
    if not -(2**40) < value < 2**40:
        raise _Failure("jose.malformed", f"The token's {name!r} is out of range.")
    return int(value)


def _show_time(seconds: int) -> str:
    return f"{datetime.fromtimestamp(seconds, UTC):%d %B %Y %H:%M UTC}"


def _time_checks(payload: Mapping[str, Any], now: datetime) -> list[Check]:
    """§3.1.3: ``iat``/``exp`` are the signature's times (RFC 7519 §4.1.4-6)."""
    checks: list[Check] = []
    when = int(now.timestamp())
    iat, nbf, exp = (_numeric_date(payload, n) for n in ("iat", "nbf", "exp"))
    if exp is not None and exp <= when:
        checks.append(
            Check(
                "proof",
                "fail",
                "jose.expired",
                f"The signature expired on {_show_time(exp)} ('exp').",
                {"exp": exp},
            )
        )
    if nbf is not None and nbf > when:
        checks.append(
            Check(
                "proof",
                "fail",
                "jose.not_yet_valid",
                f"The signature is not valid before {_show_time(nbf)} ('nbf').",
                {"nbf": nbf},
            )
        )
    if iat is not None and iat > when:
        checks.append(
            Check(
                "proof",
                "fail",
                "jose.issued_in_future",
                f"The token says it was signed on {_show_time(iat)} ('iat'), which is later "
                "than now.",
                {"iat": iat},
            )
        )
    return checks


def _subject_party(document: Mapping[str, Any], kind: Kind) -> str | None:
    if kind == "vc":
        return issuer_id(document)
    holder = document.get("holder")
    if isinstance(holder, Mapping):
        holder = holder.get("id")
    return holder if isinstance(holder, str) else None


def _iss(header: Mapping[str, Any], payload: Mapping[str, Any]) -> str | None:
    values = {v for v in (header.get("iss"), payload.get("iss")) if v is not None}
    if len(values) > 1:
        # RFC 7519 §5.3: a claim replicated as a header parameter must be the same.
        raise _Failure("jose.iss_mismatch", "The token's header and claims name different 'iss'.")
    if not values:
        return None
    (value,) = values
    if not isinstance(value, str) or not value:
        raise _Failure("jose.malformed", "The token's 'iss' is not a string.")
    return value


def _presented_items(vp: Mapping[str, Any]) -> list[Check]:
    """§3.1.2: credentials in the presentation MUST be secured, as
    ``EnvelopedVerifiableCredential``s (each is then verified on its own)."""
    checks = []
    for index, item in enumerate(as_list(vp.get("verifiableCredential"))):
        if not isinstance(item, Mapping) or ENVELOPED_TYPE["vc"] not in types_of(item):
            checks.append(
                Check(
                    "proof",
                    "fail",
                    "jose.credential_not_enveloped",
                    f"Credential {index + 1} in the enveloped presentation is not an "
                    "EnvelopedVerifiableCredential (VC-JOSE-COSE §3.1.2).",
                    {"index": index},
                )
            )
    return checks


def _document(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The credential or presentation: the payload without the JWT's own claims."""
    return {k: v for k, v in payload.items() if k not in JWT_CLAIMS}


# --------------------------------------------------------------------------- verify


def _binding_checks(
    payload: Mapping[str, Any], challenge: str | None, domain: str | None
) -> list[Check]:
    """A presentation answering a verifier's ``challenge``/``domain`` binds them as the
    registered JWT claims ``nonce`` and ``aud`` (RFC 7519 §4.1.3; OpenID ``nonce``), so a
    presentation captured elsewhere cannot be replayed here."""
    checks: list[Check] = []
    if challenge is not None and payload.get("nonce") != challenge:
        checks.append(
            Check(
                "proof",
                "fail",
                "jose.challenge_mismatch",
                "The presentation was not made for this request: its 'nonce' is not the "
                "challenge asked for.",
            )
        )
    if domain is not None and domain not in as_list(payload.get("aud")):
        checks.append(
            Check(
                "proof",
                "fail",
                "jose.domain_mismatch",
                "The presentation was not made for this verifier: its 'aud' does not name "
                "the domain asked for.",
            )
        )
    return checks


def _verify(
    document: Any,
    kind: Kind,
    key_resolver: KeyResolver,
    now: datetime,
    challenge: str | None = None,
    domain: str | None = None,
) -> tuple[dict[str, Any], list[Check]]:
    parts = _split(_token(document, kind))
    alg, checks = _check_header(parts.header, kind)
    payload = _payload(parts)
    signature = _signature(parts)
    for claim in ("vc", "vp"):
        if claim in payload:
            # §1.1.2.1 / §3.1.3: the payload is the credential itself, never wrapped.
            raise _Failure(
                "jose.claim_not_allowed",
                f"The token has a {claim!r} claim; VC-JOSE-COSE tokens carry the "
                f"{_WHAT[kind]} itself as the payload (§3.1.3: 'vc' and 'vp' MUST NOT be "
                "present). An Open Badges 3.0 VC-JWT uses typ 'JWT'.",
            )
    contexts = as_list(payload.get("@context"))
    if not contexts or contexts[0] != VC2_CONTEXT:
        raise _Failure(
            "jose.not_vc2",
            f"The token's payload is not a VC Data Model 2.0 {_WHAT[kind]}: its '@context' "
            f"must start with {VC2_CONTEXT!r}.",
        )
    iss = _iss(parts.header, payload)
    key = _find_key(alg, parts.header, iss, kind, key_resolver)
    try:
        ok = jose.jws_verify(alg, key.jwk, parts.signing_input, signature)
    except KeyFormatError as exc:
        raise _Failure(
            "jose.key_unsupported", f"The key {key.id!r:.160} cannot check this token: {exc}."
        ) from None
    if not ok:
        raise _Failure(
            "jose.signature_invalid",
            "The signature does not match: the token was changed after it was signed, or it "
            "was signed with a different key.",
        )
    secured = _document(payload)
    party = _subject_party(secured, kind)
    role = "issuer" if kind == "vc" else "holder"
    if iss is not None and iss != party:
        # §4.1.2: iss, if present, MUST match the issuer (or issuer.id).
        checks.append(
            Check(
                "proof",
                "fail",
                "jose.iss_mismatch",
                f"The token's 'iss' is {iss!r:.160}, but the {_WHAT[kind]}'s {role} is "
                f"{party!r:.160}.",
                {"iss": iss, role: party},
            )
        )
    if key.controller != party:
        checks.append(
            Check(
                "proof",
                "fail",
                "jose.issuer_key_mismatch",
                f"The {_WHAT[kind]} says its {role} is {party!r:.200}, but it was signed with a "
                f"key that belongs to {key.controller!r:.200}.",
                {"controller": key.controller, role: party},
            )
        )
    checks.extend(_time_checks(payload, now))
    checks.extend(_binding_checks(payload, challenge, domain))
    if kind == "vp":
        checks.extend(_presented_items(secured))
    if not any(c.outcome == "fail" for c in checks):
        checks.insert(
            0,
            Check(
                "proof",
                "pass",
                "jose.verified",
                f"The {_WHAT[kind]} is secured with JOSE ({MEDIA_TYPE[kind]}, {alg}): the "
                f"signature is intact and the key belongs to its {role}.",
                {
                    "securingMechanism": "VC-JOSE-COSE",
                    "mediaType": MEDIA_TYPE[kind],
                    "alg": alg,
                    "kid": key.id,
                },
            ),
        )
    return secured, checks


def verify_envelope(
    document: Any,
    *,
    kind: Kind = "vc",
    key_resolver: KeyResolver,
    now: datetime,
    challenge: str | None = None,
    domain: str | None = None,
) -> tuple[dict[str, Any] | None, list[Check]]:
    """Verify an enveloped credential (``kind="vc"``) or presentation; never raises.

    ``document`` is the ``Enveloped…`` object, its ``data:`` URL, or the bare compact JWS.
    Returns the secured document (the payload without its JWT claims; ``None`` when the
    token could not be read or its signature did not verify) and ``proof`` checks; it
    verified iff none failed. ``key_resolver(url)`` returns a verification method or a
    controller document (``loader.load``); anything it raises means ``jose.key_not_found``.
    For a presentation, ``challenge``/``domain`` must be its ``nonce``/``aud``, and every
    credential in it an ``EnvelopedVerifiableCredential`` (checked on its own by the caller).
    """
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    try:
        return _verify(document, kind, key_resolver, now, challenge, domain)
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


def envelope_kind(document: Any) -> Kind | None:
    """``vc`` or ``vp`` when ``document`` is secured with VC-JOSE-COSE, else None.

    That is an ``EnvelopedVerifiableCredential``/``…Presentation`` object, a ``data:`` URL
    of ``application/vc+jwt``/``vp+jwt``, or a compact JWS whose ``typ`` says so (a JWS
    with ``typ`` ``JWT`` or none is an Open Badges 3.0 VC-JWT: ``core.vc_jwt``).
    """
    if isinstance(document, Mapping):
        types = types_of(document)
        if ENVELOPED_TYPE["vc"] in types:
            return "vc"
        return "vp" if ENVELOPED_TYPE["vp"] in types else None
    if not isinstance(document, str) or len(document) > MAX_TOKEN_CHARS + 64:
        return None
    text = document.strip()
    if text[:5].lower() == "data:":
        media = _media_type(text)
        return "vc" if media == MEDIA_TYPE["vc"] else "vp" if media == MEDIA_TYPE["vp"] else None
    head = text.split(".", 1)[0]
    if "." not in text or len(head) > MAX_HEADER_BYTES * 4 // 3 + 4:
        return None
    try:
        header = parse_json_document(b64url_decode(head), max_bytes=MAX_HEADER_BYTES)
    except (BadgeworksError, ValueError):
        return None
    typ = _media_name(header.get("typ")) if isinstance(header, dict) else None
    return "vc" if typ == TYP["vc"] else "vp" if typ == TYP["vp"] else None


def _header_typ(token: str) -> str | None:
    head = token.strip().split(".", 1)[0]
    if len(head) > MAX_HEADER_BYTES * 4 // 3 + 4:
        return None
    try:
        header = parse_json_document(b64url_decode(head), max_bytes=MAX_HEADER_BYTES)
    except (BadgeworksError, ValueError):
        return None
    return _media_name(header.get("typ")) if isinstance(header, dict) else None


def is_jose_envelope(item: Any) -> bool:
    """True for an ``EnvelopedVerifiableCredential`` whose ``id`` is a
    ``data:application/vc+jwt,`` URL holding anything but an OB 3.0 VC-JWT.

    ``core.verification.presentation.create_presentation`` wraps OB 3.0 VC-JWTs (``typ``
    ``JWT``) in the same envelope, so inside a presentation an explicit ``typ`` ``JWT``
    keeps such an entry with ``core.vc_jwt``; an envelope we cannot read at all is left
    to the presentation's own "malformed entry" check.
    """
    if not isinstance(item, Mapping) or ENVELOPED_TYPE["vc"] not in types_of(item):
        return False
    ref = item.get("id")
    if not isinstance(ref, str) or len(ref) > MAX_TOKEN_CHARS + 64 or "," not in ref:
        return False
    if ref[:5].lower() != "data:" or _media_type(ref) != MEDIA_TYPE["vc"]:
        return False
    return _header_typ(ref.split(",", 1)[1]) != "jwt"


def enveloped_payload(document: Any, kind: Kind = "vc") -> dict[str, Any] | None:
    """What the envelope says, unverified (for display and counting); None if unreadable."""
    try:
        return _document(_payload(_split(_token(document, kind))))
    except _Failure:
        return None


# --------------------------------------------------------------------------- signing


def _sign(
    document: Mapping[str, Any],
    key: Ed25519KeyPair,
    kind: Kind,
    iat: datetime | None,
    extra: Mapping[str, Any] | None = None,
) -> str:
    header = {"alg": "EdDSA", "kid": key.id, "typ": TYP[kind], "cty": CTY[kind]}
    claims: dict[str, Any] = {}
    party = _subject_party(document, kind)
    if party != key.controller:
        raise CredentialError(
            f"the {_WHAT[kind]}'s {'issuer' if kind == 'vc' else 'holder'} is {party!r:.160}, "
            f"but the key belongs to {key.controller!r:.160}",
            code="credential.invalid",
        )
    if set(document) & (JWT_CLAIMS | {"vc", "vp"}):
        raise CredentialError(
            f"the {_WHAT[kind]} has JWT claim names as properties "
            f"({', '.join(sorted(set(document) & (JWT_CLAIMS | {'vc', 'vp'})))})",
            code="credential.invalid",
        )
    claims["iss"] = key.controller
    if iat is not None:
        claims["iat"] = int(iat.timestamp())
    claims.update(extra or {})

    def part(value: Mapping[str, Any]) -> str:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return b64url_encode(text.encode("utf-8"))

    signing_input = f"{part(header)}.{part({**document, **claims})}"
    signature = key.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url_encode(signature)}"


def envelope_credential(
    credential: Mapping[str, Any], key: Ed25519KeyPair, *, iat: datetime | None = None
) -> dict[str, Any]:
    """An ``EnvelopedVerifiableCredential`` of ``credential``, signed by the issuer's key.

    The JWS (EdDSA, ``typ`` ``vc+jwt``, ``cty`` ``vc``, ``kid`` the key's id) has the
    credential as its payload plus ``iss`` (the issuer) and, given ``iat``, the signing
    time. Raises ``CredentialError`` when the key is not the issuer's, or the credential
    uses a JWT claim name as a property; ``KeyFormatError`` for a key that cannot sign.
    """
    token = _sign(credential, key, "vc", iat)
    return {
        "@context": VC2_CONTEXT,
        "id": f"data:{MEDIA_TYPE['vc']},{token}",
        "type": ENVELOPED_TYPE["vc"],
    }


def envelope_presentation(
    presentation: Mapping[str, Any],
    key: Ed25519KeyPair,
    *,
    iat: datetime | None = None,
    challenge: str | None = None,
    domain: str | None = None,
) -> dict[str, Any]:
    """An ``EnvelopedVerifiablePresentation`` of ``presentation``, signed by its holder;
    a verifier's ``challenge`` and ``domain`` go in as ``nonce`` and ``aud``."""
    extra = {k: v for k, v in (("nonce", challenge), ("aud", domain)) if v is not None}
    token = _sign(presentation, key, "vp", iat, extra)
    return {
        "@context": VC2_CONTEXT,
        "id": f"data:{MEDIA_TYPE['vp']},{token}",
        "type": ENVELOPED_TYPE["vp"],
    }
