"""Open Badges 3.0 credential builders: plain JSON dicts in the spec's own spelling.

This module knows the OB 3.0 data model ("Data Models" appendix) and the VC Data Model
2.0, and nothing about bytes on the wire or signatures: ``issue()`` checks and signs what
these builders return. Every builder omits ``None`` values and empty lists,
because OB 3.0 "Serialization > JSON" says nulls and empty arrays MUST be omitted.

It also holds the two small value helpers every layer above needs: XML Schema dateTime
formatting/parsing, and VC 2.0 ``digestMultibase`` digests of related resources.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from badgeworks.core.contexts import OB3_CONTEXT, VC2_CONTEXT

from .encoding import b64url_decode
from .errors import CredentialError, KeyFormatError
from .multibase import b58decode, b58encode, encode_base64url

OB3_SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
OB3_JSONLD_SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/"
    "ob_v3p0_achievementcredential_schema.json"
)
OB3_ENDORSEMENT_SCHEMA_URL = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json"
)
OB3_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
JSON_SCHEMA_VALIDATOR_TYPE = "1EdTechJsonSchemaValidator2019"
# Types that only the OB extensions context defines; the OB 3.0.3 context does not, so a
# credential using one of them without that context would fail strict canonicalization.
_EXTENSION_TYPES = frozenset(
    {JSON_SCHEMA_VALIDATOR_TYPE, "1EdTechRevocationList", "1EdTechCredentialRefresh"}
)

Json = dict[str, Any]

# --------------------------------------------------------------------------------------
# XML Schema dateTime
# --------------------------------------------------------------------------------------

# XML Schema 1.1 Part 2 §3.3.7 dateTime lexical space: an optional minus, a year of at
# least four digits, then month, day, "T", time with optional fractional seconds, and an
# optional time zone ("Z" or ±hh:mm). Python cannot represent years outside 1..9999, so
# those are rejected as unusable rather than silently clamped.
_XSD_DATETIME = re.compile(
    r"^(?P<year>-?\d{4,})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"T(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})(?P<fraction>\.\d+)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?$"
)


def xsd_datetime(dt: datetime) -> str:
    """Format ``dt`` as ``YYYY-MM-DDThh:mm:ssZ`` in UTC, without microseconds.

    A naive ``dt`` is taken to be UTC already.
    """
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_xsd_datetime(value: str, *, require_timezone: bool = False) -> datetime:
    """Parse an XML Schema ``dateTime`` into an aware ``datetime``.

    Accepts fractional seconds (truncated to microseconds), ``Z`` and ``±hh:mm``
    offsets, and the end-of-day form ``24:00:00``. XML Schema lets the time zone be
    left out; such a value is read as UTC (our documented choice, see
    docs/credentials.md), unless ``require_timezone`` is set, as it is for VC 2.0
    ``validFrom``/``validUntil``, which must be ``dateTimeStamp`` values.

    Raises ``CredentialError`` with code ``credential.invalid_datetime``.
    """

    def bad(why: str) -> CredentialError:
        return CredentialError(
            f"{value!r:.80} is not an XML Schema dateTime: {why}",
            code="credential.invalid_datetime",
            value=value,
        )

    if not isinstance(value, str):
        raise bad("it is not a string")
    m = _XSD_DATETIME.match(value)
    if m is None:
        raise bad("expected the form YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]")
    if m["tz"] is None and require_timezone:
        raise bad("a time zone (Z or ±hh:mm) is required here")
    year = int(m["year"])
    if not 1 <= year <= 9999:
        raise bad("the year must be between 0001 and 9999")
    hour, minute, second = int(m["hour"]), int(m["minute"]), int(m["second"])
    fraction = m["fraction"] or ""
    end_of_day = hour == 24
    if end_of_day:
        # XSD allows 24:00:00 (with zero fraction) as the first instant of the next day.
        if minute or second or fraction.strip(".0"):
            raise bad("24:00 is allowed only as exactly 24:00:00")
        hour = 0
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    tz = UTC
    if m["tz"] and m["tz"] != "Z":
        sign = -1 if m["tz"][0] == "-" else 1
        hh, mm = int(m["tz"][1:3]), int(m["tz"][4:6])
        if hh > 14 or mm > 59 or (hh == 14 and mm):
            raise bad("the time zone offset must be within ±14:00")
        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    try:
        dt = datetime(year, int(m["month"]), int(m["day"]), hour, minute, second, micro, tz)
    except ValueError as exc:
        raise bad(str(exc)) from None
    if end_of_day:
        dt += timedelta(days=1)
    return dt


# --------------------------------------------------------------------------------------
# digestMultibase (VC Data Model 2.0 §5.3 "Integrity of Related Resources")
# --------------------------------------------------------------------------------------

# Multihash codes (multiformats table) for the SHA-2 digests we produce and accept.
_MULTIHASH = {
    "sha2-256": (0x12, 32, hashlib.sha256),
    "sha2-384": (0x20, 48, hashlib.sha384),
    "sha2-512": (0x13, 64, hashlib.sha512),
}
_MULTIHASH_BY_CODE = {code: (name, size) for name, (code, size, _) in _MULTIHASH.items()}
DigestAlgorithm = Literal["sha2-256", "sha2-384", "sha2-512"]


def digest_multibase(
    data: bytes, alg: DigestAlgorithm = "sha2-256", *, base: Literal["u", "z"] = "u"
) -> str:
    """The ``digestMultibase`` of ``data``: a multibase-encoded multihash.

    The default matches VC 2.0 Example 26 ("base64-url-nopad-encoded SHA2-256"): the
    multihash header 0x12 0x20, the SHA-256 digest, base64url without padding, prefixed
    with ``u`` (so values start ``uEi``). ``base="z"`` gives base58btc instead.
    """
    code, _, fn = _MULTIHASH[alg]
    multihash = bytes([code, len(fn().digest())]) + fn(data).digest()
    if base == "z":
        return "z" + b58encode(multihash)
    return encode_base64url(multihash)


#: What a digestMultibase must be, said in every refusal: other implementations send a bare
#: SHA-256 (hex, or base64 without the multihash header), which is not one.
DIGEST_MULTIBASE_EXPECTED = (
    "expected 'u' (base64url, no padding) or 'z' (base58btc) multibase of a sha2-256 "
    "multihash (0x12 0x20 then the 32-byte digest, so values start 'uEi' or 'zQm'; "
    "sha2-384 0x20 0x30 and sha2-512 0x13 0x40 are accepted too)"
)
_HEX_DIGEST = re.compile(r"^[0-9a-fA-F]{64}$|^[0-9a-fA-F]{96}$|^[0-9a-fA-F]{128}$")
_BARE_SIZES = {32: "SHA-256", 48: "SHA-384", 64: "SHA-512"}


def decode_digest_multibase(value: str) -> tuple[str, bytes]:
    """Decode a ``digestMultibase`` value into (multihash algorithm name, digest bytes).

    Raises ``CredentialError`` code ``credential.related_resource`` when the value is not
    a ``u``/``z`` multibase string holding a SHA-2 multihash of the right length; the
    message says what was found and what is expected (``DIGEST_MULTIBASE_EXPECTED``).
    """

    def bad(why: str) -> CredentialError:
        return CredentialError(
            f"digestMultibase {value!r:.100} is malformed: {why}; {DIGEST_MULTIBASE_EXPECTED}",
            code="credential.related_resource",
            value=value,
        )

    if not isinstance(value, str) or len(value) < 2:
        raise bad("it is not a multibase string")
    if _HEX_DIGEST.match(value):
        bare = _BARE_SIZES[len(value) // 2]
        raise bad(f"it looks like a bare hexadecimal {bare} digest, without multibase or multihash")
    prefix, body = value[0], value[1:]
    try:
        if prefix == "u":
            if not re.fullmatch(r"[A-Za-z0-9_-]+", body):
                raise bad("after 'u' it is not base64url without padding")
            raw = b64url_decode(body)
        elif prefix == "z":
            raw = b58decode(body)
        else:
            raise bad(f"the multibase prefix is {prefix!r:.10}")
    except (ValueError, KeyFormatError):
        raise bad("it does not decode") from None
    if len(raw) < 2 or raw[0] not in _MULTIHASH_BY_CODE:
        if len(raw) in _BARE_SIZES:
            raise bad(
                f"it decodes to {len(raw)} bytes with no multihash header: a bare "
                f"{_BARE_SIZES[len(raw)]} digest"
            )
        raise bad(f"it decodes to {len(raw)} bytes that do not start with a SHA-2 multihash header")
    name, size = _MULTIHASH_BY_CODE[raw[0]]
    if raw[1] != size or len(raw) != size + 2:
        raise bad(
            f"its {name} multihash header says {raw[1]} digest bytes and {len(raw) - 2} follow, "
            f"not {size}"
        )
    return name, raw[2:]


def check_digest_multibase(value: str, data: bytes) -> bool:
    """True if ``value`` is a well-formed ``digestMultibase`` of exactly ``data``.

    A malformed value is simply not a match (``False``); ``decode_digest_multibase``
    says why.
    """
    try:
        name, digest = decode_digest_multibase(value)
    except CredentialError:
        return False
    return hmac.compare_digest(_MULTIHASH[name][2](data).digest(), digest)


# digestSRI (VC Data Model 2.0 §5.3: "as defined by the hash-expression ABNF grammar defined
# in the Subresource Integrity specification, Section 3.5"): whitespace-separated
# "sha256-…", "sha384-…", "sha512-…" with standard base64 and an optional "?options".
_SRI = re.compile(r"^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?\S*)?$")
_SRI_HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
_SRI_LENGTH = {"sha256": 32, "sha384": 48, "sha512": 64}
_SRI_STRENGTH = {"sha256": 1, "sha384": 2, "sha512": 3}


def decode_digest_sri(value: str) -> list[tuple[str, bytes]]:
    """Decode a ``digestSRI`` value into its (algorithm, digest bytes) hash expressions.

    Raises ``CredentialError`` code ``credential.related_resource`` naming the expression
    at fault when one is not ``sha256-``, ``sha384-`` or ``sha512-`` followed by the
    standard base64 of a digest of that size.
    """

    def bad(why: str) -> CredentialError:
        return CredentialError(
            f"digestSRI {value!r:.100} is malformed: {why}; expected Subresource Integrity "
            "hash expressions like 'sha384-' followed by the standard base64 of the digest",
            code="credential.related_resource",
            value=value,
        )

    if not isinstance(value, str) or not value.strip():
        raise bad("it is not a non-empty string")
    found: list[tuple[str, bytes]] = []
    for expr in value.split():
        m = _SRI.match(expr)
        if m is None:
            raise bad(f"{expr[:80]!r} is not a sha256-, sha384- or sha512- hash expression")
        try:
            raw = base64.b64decode(m[2], validate=True)
        except (binascii.Error, ValueError):
            raise bad(f"{expr[:80]!r} has malformed base64") from None
        if len(raw) != _SRI_LENGTH[m[1]]:
            raise bad(
                f"{expr[:80]!r} holds {len(raw)} bytes, not a {m[1]} digest "
                f"({_SRI_LENGTH[m[1]]} bytes)"
            )
        found.append((m[1], raw))
    return found


def check_digest_sri(value: str, data: bytes) -> bool:
    """True if ``data`` matches ``value`` the way Subresource Integrity §3.3.5 ("Does
    response match metadataList?") says: only the strongest algorithm listed counts, and
    any one of its digests may match. A malformed value is not a match."""
    try:
        expressions = decode_digest_sri(value)
    except CredentialError:
        return False
    strongest = max(_SRI_STRENGTH[alg] for alg, _ in expressions)
    return any(
        hmac.compare_digest(_SRI_HASHES[alg](data).digest(), digest)
        for alg, digest in expressions
        if _SRI_STRENGTH[alg] == strongest
    )


# --------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------


#: A sentence that already ends in a mark, then a closing quote or bracket: left as it is.
_CLOSED_SENTENCE = re.compile(r"[.!?…][\"'”’»)\]]+$")
#: The marks that ``sentence`` replaces, with the spaces among them, at a text's end.
_SENTENCE_MARKS = frozenset(".,;:!?…")


def sentence(text: str | None) -> str | None:
    """``text`` as one sentence with one ending, for descriptions joined from parts.

    The text is trimmed; the marks and spaces it ends with are replaced by one ending: its
    ``?`` and ``!`` if it has them (``"Done?"``, ``"Really?!"``), an ellipsis if it ends
    in one, else a full stop (``"Done"``, ``"Done."``, ``"Done.."``, ``"Done. ."`` and
    ``"Done,"`` all give ``"Done."``). A mark before a closing quote or bracket already
    ends it (``'They said "go."'``). None when nothing but marks and spaces is left.
    """
    if text is None:
        return None
    text = text.strip()
    if _CLOSED_SENTENCE.search(text):
        return text
    # Walked from the end (a pattern anchored at the end would scan a long run of marks
    # once per start position).
    start = len(text)
    while start and (text[start - 1] in _SENTENCE_MARKS or text[start - 1].isspace()):
        start -= 1
    body, tail = text[:start], text[start:]
    if not body:
        return None
    marks = "".join(tail.split())
    if "?" in marks or "!" in marks:
        return body + "".join(m for m in marks if m in "?!")
    if "..." in tail:
        return body + "..."
    if "…" in marks:
        return body + "…"
    return body + "."


def sentences(*parts: str | None) -> str:
    """The parts that are not blank, each made one sentence (``sentence``), joined by a
    space: no doubled marks where one part ends and the next begins."""
    return " ".join(s for s in map(sentence, parts) if s)


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, list | tuple) and not value)


def _compact(**props: Any) -> Json:
    """A dict of the given properties without None values and empty lists."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in props.items() if not _empty(v)}


def _list(value: Any) -> list[Any] | None:
    """Accept one item or a sequence of items; return a list (or None when empty)."""
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value) or None
    return [value]


def image(*, id: str, caption: str | None = None) -> Json:
    """OB 3.0 ``Image``: ``id`` is a URL or data URI; ``caption`` doubles as alt text."""
    return _compact(id=id, type="Image", caption=caption)


def profile(
    *,
    id: str,
    name: str | None = None,
    url: str | None = None,
    email: str | None = None,
    description: str | None = None,
    image: Json | None = None,
    parent_org: Json | None = None,
    **extra: Any,
) -> Json:
    """OB 3.0 ``Profile`` (issuer, creator, source, endorser).

    ``extra`` takes further Profile properties in the spec's spelling (``phone``,
    ``address``, ``otherIdentifier``, ``official``…) and is added as given.
    """
    return _compact(
        id=id,
        type=["Profile"],
        name=name,
        url=url,
        email=email,
        description=description,
        image=image,
        parentOrg=parent_org,
        **extra,
    )


def alignment(
    *,
    target_name: str,
    target_url: str,
    target_framework: str | None = None,
    target_code: str | None = None,
    target_description: str | None = None,
    target_type: str | None = None,
) -> Json:
    """OB 3.0 ``Alignment`` to a competency, standard or framework item."""
    return _compact(
        type=["Alignment"],
        targetName=target_name,
        targetUrl=target_url,
        targetFramework=target_framework,
        targetCode=target_code,
        targetDescription=target_description,
        targetType=target_type,
    )


def rubric_criterion_level(
    *,
    id: str,
    name: str,
    description: str | None = None,
    level: str | None = None,
    points: str | None = None,
    alignment: Sequence[Json] | None = None,
) -> Json:
    """OB 3.0 ``RubricCriterionLevel`` (``points`` is a string in the data model)."""
    return _compact(
        id=id,
        type=["RubricCriterionLevel"],
        name=name,
        description=description,
        level=level,
        points=points,
        alignment=_list(alignment),
    )


def result_description(
    *,
    id: str,
    name: str,
    result_type: str,
    rubric_criterion_level: Sequence[Json] | None = None,
    allowed_value: Sequence[str] | None = None,
    required_level: str | None = None,
    required_value: str | None = None,
    value_min: str | None = None,
    value_max: str | None = None,
    alignment: Sequence[Json] | None = None,
) -> Json:
    """OB 3.0 ``ResultDescription``: how a result of an achievement is expressed."""
    return _compact(
        id=id,
        type=["ResultDescription"],
        name=name,
        resultType=result_type,
        rubricCriterionLevel=_list(rubric_criterion_level),
        allowedValue=_list(allowed_value),
        requiredLevel=required_level,
        requiredValue=required_value,
        valueMin=value_min,
        valueMax=value_max,
        alignment=_list(alignment),
    )


def result(
    *,
    result_description: str | None = None,
    achieved_level: str | None = None,
    value: str | None = None,
    status: str | None = None,
    alignment: Sequence[Json] | None = None,
) -> Json:
    """OB 3.0 ``Result``; ``result_description`` is the id of a ResultDescription."""
    return _compact(
        type=["Result"],
        resultDescription=result_description,
        achievedLevel=achieved_level,
        value=value,
        status=status,
        alignment=_list(alignment),
    )


def achievement(
    *,
    id: str,
    name: str,
    description: str,
    criteria_narrative: str | None = None,
    criteria_id: str | None = None,
    achievement_type: str = "Fieldwork",
    image: Json | None = None,
    alignment: Sequence[Json] | None = None,
    result_description: Sequence[Json] | None = None,
    tag: Sequence[str] | None = None,
    in_language: str | None = None,
    version: str | None = None,
    creator: Json | None = None,
    field_of_study: str | None = None,
    human_code: str | None = None,
    specialization: str | None = None,
    credits_available: float | None = None,
    related: Sequence[Json] | None = None,
    endorsement: Sequence[Json] | None = None,
    **extra: Any,
) -> Json:
    """OB 3.0 ``Achievement``. ``criteria`` is always present (it is 1..1), built from
    ``criteria_id`` (the criteria page) and/or ``criteria_narrative`` (Markdown)."""
    return _compact(
        id=id,
        type=["Achievement"],
        achievementType=achievement_type,
        name=name,
        description=description,
        criteria={k: v for k, v in (("id", criteria_id), ("narrative", criteria_narrative)) if v},
        image=image,
        alignment=_list(alignment),
        resultDescription=_list(result_description),
        tag=_list(tag),
        inLanguage=in_language,
        version=version,
        creator=creator,
        fieldOfStudy=field_of_study,
        humanCode=human_code,
        specialization=specialization,
        creditsAvailable=credits_available,
        related=_list(related),
        endorsement=_list(endorsement),
        **extra,
    )


def evidence(
    *,
    id: str | None = None,
    name: str | None = None,
    description: str | None = None,
    narrative: str | None = None,
    genre: str | None = None,
    audience: str | None = None,
    **extra: Any,
) -> Json:
    """OB 3.0 ``Evidence``: one deliverable. Prefer an immutable ``id`` (a URL of the
    exact version) and pin its bytes with a ``related_resource`` digest."""
    return _compact(
        id=id,
        type=["Evidence"],
        name=name,
        description=description,
        narrative=narrative,
        genre=genre,
        audience=audience,
        **extra,
    )


def related_resource(
    *, id: str, digest_multibase: str | None = None, media_type: str | None = None, **extra: Any
) -> Json:
    """VC 2.0 ``relatedResource`` entry: ``id`` plus a digest (``digestMultibase`` or, via
    ``extra``, ``digestSRI``) and an optional ``mediaType``."""
    entry = _compact(id=id, digestMultibase=digest_multibase, mediaType=media_type, **extra)
    if "digestMultibase" not in entry and "digestSRI" not in entry:
        raise CredentialError(
            f"the relatedResource {id!r:.120} needs a digestMultibase or digestSRI",
            code="credential.related_resource",
        )
    return entry


def achievement_subject(
    *,
    achievement: Json,
    id: str | None = None,
    identifier: Sequence[Json] | None = None,
    result: Sequence[Json] | None = None,
    role: str | None = None,
    source: Json | None = None,
    activity_start_date: str | None = None,
    activity_end_date: str | None = None,
    narrative: str | None = None,
    image: Json | None = None,
    **extra: Any,
) -> Json:
    """OB 3.0 ``AchievementSubject``: the earner (``id`` and/or hashed ``identifier``)."""
    if not id and not identifier:
        raise CredentialError(
            "an AchievementSubject needs an id or at least one identifier (IdentityObject)",
            code="credential.achievement_subject",
        )
    return _compact(
        id=id,
        type=["AchievementSubject"],
        identifier=_list(identifier),
        achievement=achievement,
        result=_list(result),
        role=role,
        source=source,
        activityStartDate=activity_start_date,
        activityEndDate=activity_end_date,
        narrative=narrative,
        image=image,
        **extra,
    )


def _schema_entries(url: str, wanted: bool) -> list[Json] | None:
    return [{"id": url, "type": JSON_SCHEMA_VALIDATOR_TYPE}] if wanted else None


def _contexts(extra: Sequence[str | Json], *uses: Any) -> list[str | Json]:
    """``[VC 2.0, OB 3.0.3, *extra]``, plus the OB extensions context when any of
    ``uses`` (credentialSchema, credentialStatus, refreshService entries) has a type it
    alone defines."""
    contexts: list[str | Json] = [VC2_CONTEXT, OB3_CONTEXT, *extra]
    types = {
        entry.get("type")
        for use in uses
        for entry in (_list(use) or [])
        if isinstance(entry, Mapping)
    }
    if types & _EXTENSION_TYPES and OB3_EXTENSIONS_CONTEXT not in contexts:
        contexts.append(OB3_EXTENSIONS_CONTEXT)
    return contexts


def achievement_credential(
    *,
    id: str,
    issuer: Json | str,
    valid_from: str,
    subject: Json,
    name: str | None = None,
    description: str | None = None,
    image: Json | None = None,
    valid_until: str | None = None,
    evidence: Sequence[Json] | None = None,
    credential_status: Json | Sequence[Json] | None = None,
    endorsement: Sequence[Json] | None = None,
    related_resource: Sequence[Json] | None = None,
    awarded_date: str | None = None,
    credential_schema: bool = True,
    terms_of_use: Sequence[Json] | None = None,
    refresh_service: Json | None = None,
    extra_contexts: Sequence[str | Json] = (),
) -> Json:
    """An unsigned OB 3.0 ``OpenBadgeCredential`` (VC 2.0).

    ``@context`` is ``[VC 2.0, OB 3.0.3, *extra_contexts]`` in that order. With
    ``credential_schema`` the credential names the OB AchievementCredential JSON Schema
    (type ``1EdTechJsonSchemaValidator2019``), which verifiers then validate against;
    that type is defined only by the OB extensions context, which is then appended.
    """
    schema_entries = _schema_entries(OB3_SCHEMA_URL, credential_schema)
    return _compact(
        **{
            "@context": _contexts(
                extra_contexts, schema_entries, credential_status, refresh_service
            )
        },
        id=id,
        type=["VerifiableCredential", "OpenBadgeCredential"],
        name=name,
        description=description,
        image=image,
        issuer=issuer,
        validFrom=valid_from,
        validUntil=valid_until,
        awardedDate=awarded_date,
        credentialSubject=subject,
        evidence=_list(evidence),
        credentialStatus=credential_status,
        endorsement=_list(endorsement),
        relatedResource=_list(related_resource),
        credentialSchema=schema_entries,
        termsOfUse=_list(terms_of_use),
        refreshService=refresh_service,
    )


def endorsement_credential(
    *,
    id: str,
    issuer: Json | str,
    valid_from: str,
    subject_id: str,
    name: str,
    endorsement_comment: str | None = None,
    valid_until: str | None = None,
    credential_status: Json | None = None,
    description: str | None = None,
    credential_schema: bool = True,
) -> Json:
    """An unsigned OB 3.0 ``EndorsementCredential`` about ``subject_id`` (a credential,
    an achievement or a profile), e.g. a mentor's or host company's endorsement."""
    schema_entries = _schema_entries(OB3_ENDORSEMENT_SCHEMA_URL, credential_schema)
    return _compact(
        **{"@context": _contexts((), schema_entries, credential_status)},
        id=id,
        type=["VerifiableCredential", "EndorsementCredential"],
        name=name,
        description=description,
        issuer=issuer,
        validFrom=valid_from,
        validUntil=valid_until,
        credentialSubject=_compact(
            id=subject_id, type=["EndorsementSubject"], endorsementComment=endorsement_comment
        ),
        credentialStatus=credential_status,
        credentialSchema=schema_entries,
    )


def bitstring_status_list_entry(*, list_url: str, index: int, purpose: str = "revocation") -> Json:
    """A VC 2.0 ``BitstringStatusListEntry`` pointing at bit ``index`` of ``list_url``."""
    if index < 0:
        raise CredentialError(
            f"statusListIndex must be a non-negative integer, got {index}",
            code="credential.status",
        )
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def issuer_id(credential: Mapping[str, Any]) -> str | None:
    """The issuer's id, whether ``issuer`` is a URL string or a Profile object."""
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, Mapping) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None
