"""The public verifier: read what an employer submits, decide who is known, show the report.

The entry point (``services.verification.pipeline.verify``) verifies; this module is
everything around it that belongs to the public, anonymous verifier:

- **Reading input** (``read_text``, ``read_bytes``, ``read_url``, ``read_api_json``):
  pasted JSON or a compact JWS, an uploaded ``.json``, a baked PNG or SVG
  (``core.baking.extract``: first chunk wins), or the URL of a hosted credential, fetched
  only through the one ``Fetcher``. Everything is size- and depth-capped, and every way
  it can be unreadable is a ``VerifyInputError`` ("could not verify because…", HTTP 400).
- **Who is known** (``TrustRegistry``, ``known_issuers``): the issuers this service hosts
  plus the ones an operator lists in a JSON file (``verify_trust_registry``).
- **The report** comes from ``pipeline.verify``, which the VC-API and the CLI run too:
  the recipient check (an email against the subject's hashed ``IdentityObject``s; the
  email is never stored, logged or echoed) and the deliverable digests are part of it.

Nothing the employer submits is stored. See docs/verifier.md.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from badgeworks.adapters.fetcher import Fetcher
from badgeworks.adapters.remote import fetch_credential
from badgeworks.core.baking import PNG_SIGNATURE, extract
from badgeworks.core.credential import issuer_id
from badgeworks.core.document import parse_json_document
from badgeworks.core.email import looks_like_email
from badgeworks.core.enveloped import MEDIA_TYPE, envelope_kind
from badgeworks.core.errors import BadgeworksError, ConfigError, InputError
from badgeworks.core.reading import ProfileView, read_credential
from badgeworks.core.vc_jwt import is_compact_jws
from badgeworks.core.verification.checks import KnownIssuer, parse_trust_registry
from badgeworks.core.verification.report import Report
from badgeworks.db.engine import read_only_sessions
from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements import ratings
from badgeworks.services.errors import NotFoundError
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.verification import pipeline as verification
from badgeworks.services.verification.capabilities import read_hosted_issuers
from badgeworks.services.verification.hosted import cached, hosted_view, view_on
from badgeworks.services.verification.pipeline import unavailable_report
from badgeworks.services.verification.resolver import scoped
from badgeworks.services.verification.submitted import derived
from badgeworks.settings import Settings

Json = dict[str, Any]
Source = Literal["text", "file", "url", "wallet"]

#: A did, URL or name longer than this is shown cut short.
_SHOW = 200
#: The largest trust registry file we read.
MAX_REGISTRY_BYTES = 4 * 1024 * 1024
_JWS_LIKE = re.compile(r"^eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)*\.?$")


class VerifyInputError(InputError):
    """The submission cannot be verified at all (HTTP 400): the message says why."""

    code = "verify.unreadable"


# --------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """The caps on what one verification reads."""

    max_json_bytes: int
    max_file_bytes: int
    max_depth: int
    max_deliverable_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """The verifier's limits from the service settings."""
        return cls(
            max_json_bytes=settings.verify_max_json_bytes,
            max_file_bytes=settings.verify_max_file_bytes,
            max_depth=settings.verify_max_json_depth,
            max_deliverable_bytes=settings.verify_max_deliverable_bytes,
        )


# --------------------------------------------------------------------------- input


@dataclass(frozen=True)
class Submission:
    """One credential to verify: a JSON object, or a compact JWS (VC-JWT)."""

    document: Json | str
    source: Source
    #: The file name or URL it came from (shown to the employer), or "".
    label: str = ""

    @property
    def format(self) -> Literal["json", "jwt", "jose", "presentation"]:
        """``jose`` for a VC-JOSE-COSE envelope (object, data: URL or ``typ`` ``vc+jwt``
        JWS), ``jwt`` for another compact JWS, ``presentation`` for a VP, ``json`` for a
        credential."""
        if envelope_kind(self.document) == "vc":
            return "jose"
        if isinstance(self.document, str):
            return "jwt"
        return "presentation" if is_presentation(self.document) else "json"


def is_presentation(value: Any) -> bool:
    """True for a JSON object whose ``type`` includes ``VerifiablePresentation``, or an
    ``EnvelopedVerifiablePresentation`` (VC-JOSE-COSE §3.1.2)."""
    if not isinstance(value, dict):
        return False
    if envelope_kind(value) == "vp":
        return True
    types = value.get("type")
    return "VerifiablePresentation" in (types if isinstance(types, list) else [types])


def _unreadable(message: str, code: str = "verify.unreadable", **details: Any) -> VerifyInputError:
    return VerifyInputError(f"Could not verify because {message}", code=code, **details)


def _from_value(value: Any, source: Source, label: str) -> Submission:
    """A parsed JSON value as a submission (or why it is not one credential)."""
    if isinstance(value, str):
        if is_compact_jws(value) or envelope_kind(value) == "vc":
            return Submission(value.strip(), source, label)
        raise _unreadable("this is a JSON string, not a credential.", "verify.not_credential")
    if isinstance(value, list):
        if len(value) > 1:
            raise _unreadable(
                f"this holds {len(value)} items; verify one credential at a time.",
                "verify.multiple_credentials",
            )
        raise _unreadable(
            "this is a JSON list, not a credential (a credential is a JSON object).",
            "verify.not_credential",
        )
    if not isinstance(value, dict):
        raise _unreadable(
            f"this is a JSON {type(value).__name__}, not a credential (a credential is a "
            "JSON object).",
            "verify.not_credential",
        )
    # An enveloped presentation's credentials are read after its signature (the pipeline
    # caps their number then).
    if is_presentation(value) and envelope_kind(value) != "vp":
        count = len(verification.presented_credentials(value))
        if count == 0:
            raise _unreadable(
                "this verifiable presentation carries no credentials to verify.",
                "verify.presentation",
            )
        if count > verification.MAX_PRESENTED_CREDENTIALS:
            raise _unreadable(
                f"this presentation carries {count} credentials; the verifier checks at most "
                f"{verification.MAX_PRESENTED_CREDENTIALS} at a time.",
                "verify.too_many_credentials",
                count=count,
                limit=verification.MAX_PRESENTED_CREDENTIALS,
            )
    return Submission(value, source, label)


def read_text(text: str, limits: Limits, *, source: Source = "text", label: str = "") -> Submission:
    """Pasted (or decoded) text: a compact JWS, or a JSON credential."""
    stripped = text.strip().removeprefix("\ufeff").strip()
    if not stripped:
        raise _unreadable("there was nothing to verify.", "verify.empty")
    if len(stripped) <= limits.max_json_bytes and (
        is_compact_jws(stripped) or envelope_kind(stripped) == "vc"
    ):
        return Submission(stripped, source, label)
    if stripped[:5].lower() == "data:":
        # An enveloped credential's id (VC 2.0 §4.13) of a securing mechanism we do not read.
        media = stripped[5 : stripped.find(",")] if "," in stripped[:200] else ""
        raise _unreadable(
            f"this data: URL holds {media[:80] or 'no media type'!r}; the verifier reads "
            f"enveloped credentials of {MEDIA_TYPE['vc']} (VC-JOSE-COSE).",
            "verify.media_type",
        )
    if _JWS_LIKE.match(stripped[:100_000]):
        raise _unreadable(
            "this looks like a JSON Web Token that is incomplete or damaged: a compact JWS "
            "has three parts separated by dots. Copy the whole token.",
            "verify.jws_malformed",
        )
    return _from_value(_parse_json(stripped, limits, "this"), source, label)


def read_bytes(
    data: bytes, limits: Limits, *, source: Source = "file", label: str = ""
) -> Submission:
    """An uploaded file (or fetched body): a baked PNG/SVG, JSON or a compact JWS."""
    if len(data) > limits.max_file_bytes:
        raise _unreadable(
            f"the file is larger than the limit of {limits.max_file_bytes} bytes.",
            "input.too_large",
        )
    if not data.strip():
        raise _unreadable("the file is empty.", "verify.empty")
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data.startswith(PNG_SIGNATURE) or head.startswith(b"<"):
        try:
            text = extract(data)
        except BadgeworksError as exc:
            raise _unreadable(_baking_reason(exc), exc.code) from None
        return read_text(text, limits, source=source, label=label)
    try:
        text = parse_text(data, limits)
    except InputError as exc:
        raise _unreadable(_lower_first(exc.message) + ".", exc.code) from None
    return read_text(text, limits, source=source, label=label)


def parse_text(data: bytes, limits: Limits) -> str:
    """UTF-8 text from bytes, refusing binary data (``InputError``)."""
    if len(data) > limits.max_json_bytes:
        raise InputError(
            f"the document is larger than the limit of {limits.max_json_bytes} bytes",
            code="input.too_large",
        )
    try:
        # parse_json_document refuses binary data and bad UTF-8 with a clear message; a
        # compact JWS is not JSON, so only its errors about the bytes themselves count.
        parse_json_document(data, max_bytes=limits.max_json_bytes, max_depth=limits.max_depth)
    except InputError as exc:
        if exc.code in ("input.binary", "input.not_utf8", "input.too_large"):
            raise
    return data.decode("utf-8", "replace").removeprefix("\ufeff")


def _baking_reason(exc: BadgeworksError) -> str:
    reasons = {
        "baking.no_credential": "the image carries no Open Badges credential (it is not a "
        "baked badge, or the credential was stripped, as iOS does when saving to Photos).",
        "baking.unknown_format": "this file is neither a credential (JSON or JWS) nor a "
        "baked PNG or SVG image.",
        "baking.corrupt": "the image is damaged or truncated.",
        "baking.unsafe_xml": "the SVG declares entities or a DOCTYPE with declarations of its "
        "own, which we refuse to read.",
        "baking.too_large": "the image or the credential in it is too large.",
        "baking.not_svg": "the file is XML, but not an SVG image.",
    }
    return reasons.get(exc.code, f"the image could not be read: {exc.message}.")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _parse_json(text: str | bytes, limits: Limits, holder: str) -> Any:
    """The one JSON document in ``text`` (``holder`` names it in the message if not)."""
    try:
        return parse_json_document(
            text, max_bytes=limits.max_json_bytes, max_depth=limits.max_depth
        )
    except InputError as exc:
        if exc.code == "input.not_json" and "Extra data" in exc.message:
            raise _unreadable(
                f"{holder} holds more than one JSON document; verify one credential at a time.",
                "verify.multiple_credentials",
            ) from None
        raise _unreadable(_lower_first(exc.message) + ".", exc.code) from None


#: A local source of hosted credentials: URL -> the stored bytes, None if not ours.
LocalCredentials = Callable[[str], bytes | None]


def read_url(
    url: str, limits: Limits, fetcher: Fetcher, *, local: LocalCredentials | None = None
) -> Submission:
    """The credential at ``url``: ours from the database, others through the fetcher."""
    url = url.strip()
    if not url:
        raise _unreadable("no URL was given.", "verify.empty")
    if len(url) > 2048:
        raise _unreadable("the URL is longer than 2,048 characters.", "fetch.bad_url")
    stored = local(url) if local is not None else None
    if stored is not None:
        return read_bytes(stored, limits, source="url", label=url)
    try:
        body = fetch_credential(url, fetcher, max_bytes=limits.max_file_bytes)
    except BadgeworksError as exc:
        raise _unreadable(
            f"we could not fetch {url!r:.{_SHOW}}: {_lower_first(exc.message)}.",
            exc.code,
        ) from None
    return read_bytes(body, limits, source="url", label=url)


#: Keys of the API's wrapper objects, ``{"credential": …}`` and friends.
API_KEYS = frozenset({"credential", "jws", "url", "email"})


def read_api_json(
    body: bytes, limits: Limits, fetcher: Fetcher, *, local: LocalCredentials | None = None
) -> tuple[Submission, str | None]:
    """The JSON body of ``POST /api/v1/verify``: a credential, or a wrapper object.

    Wrappers: ``{"credential": {…}}``, ``{"jws": "…"}`` or ``{"url": "…"}``, each with an
    optional ``"email"`` for the recipient check. Returns the submission and the email.
    """
    value = _parse_json(body, limits, "the body")
    if not isinstance(value, dict) or "@context" in value or "type" in value:
        return _from_value(value, "text", ""), None
    unknown = sorted(set(value) - API_KEYS)
    if unknown:
        raise _unreadable(
            f"the body has unknown field(s) {', '.join(repr(k)[:60] for k in unknown[:5])}; "
            "send a credential, or one of 'credential', 'jws' or 'url' (and optionally 'email').",
            "verify.bad_request",
        )
    email = value.get("email")
    if email is not None and not isinstance(email, str):
        raise _unreadable("'email' must be a string.", "verify.email_invalid")
    given = [k for k in ("credential", "jws", "url") if k in value]
    if len(given) != 1:
        raise _unreadable(
            "the body must hold exactly one of 'credential', 'jws' or 'url'"
            + (f" (it has {', '.join(given)})." if given else "."),
            "verify.bad_request",
        )
    key = given[0]
    item = value[key]
    if key == "url":
        if not isinstance(item, str):
            raise _unreadable("'url' must be a string.", "verify.bad_request")
        return read_url(item, limits, fetcher, local=local), email
    if key == "jws":
        if not isinstance(item, str):
            raise _unreadable("'jws' must be a string.", "verify.bad_request")
        if not is_compact_jws(item):
            raise _unreadable(
                "'jws' is not a compact JWS (three base64url parts separated by dots).",
                "verify.jws_malformed",
            )
        return Submission(item.strip(), "text"), email
    if isinstance(item, str):
        return read_text(item, limits), email
    return _from_value(item, "text", ""), email


def check_email(email: str | None) -> str | None:
    """The email to check the recipient against, or None; ``VerifyInputError`` if malformed."""
    if email is None or not email.strip():
        return None
    email = email.strip()
    if not looks_like_email(email):
        # The message never repeats the address.
        raise VerifyInputError(
            "The email address is not valid: it should look like name@example.org.",
            code="verify.email_invalid",
        )
    return email


# --------------------------------------------------------------------------- trust


class TrustRegistry:
    """The operator's list of known issuers: a JSON file, re-read when it changes.

    Format: ``{"issuers": [{"id": "did:web:example.edu", "name": "Example University",
    "url": "https://example.edu"}]}``; ``name`` and ``url`` are optional. A file that
    cannot be read or does not have this shape is a ``ConfigError``
    (``config.trust_registry``), so an operator's mistake is loud rather than silently
    treating every issuer as unknown.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, ...] | None = None
        self._entries: dict[str, KnownIssuer] = {}

    def entries(self) -> dict[str, KnownIssuer]:
        """Issuer id → entry (empty when no registry is configured); shared, so callers
        must not change it (the same dict while the file stays the same lets the merged
        known issuers, and the reports kept under them, be re-used)."""
        if self.path is None:
            return self._entries
        try:
            stat = self.path.stat()
        except OSError as exc:
            raise _registry_error(self.path, f"it cannot be read ({exc.strerror})") from None
        # A rewrite in place changes the times or size; a file moved over it, the inode.
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._entries = load_registry(self.path)
                self._stamp = stamp
            return self._entries


def _registry_error(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"the trust registry {str(path)!r} is unusable: {why}", code="config.trust_registry"
    )


def load_registry(path: Path) -> dict[str, KnownIssuer]:
    """Read and check a trust registry file (see ``TrustRegistry``)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _registry_error(path, f"it cannot be read ({exc.strerror})") from None
    try:
        data = parse_json_document(raw, max_bytes=MAX_REGISTRY_BYTES, max_depth=8)
        return parse_trust_registry(data)
    except (InputError, ConfigError) as exc:
        raise _registry_error(path, exc.message) from None


def known_issuers(session: Session, registry: TrustRegistry) -> dict[str, KnownIssuer]:
    """The issuers this service hosts (their DIDs) plus the trust registry's.

    The hosted ones are read once per ``hosted_version`` (``services.verification.hosted``,
    the counter read on ``session``), the registry once per change of its file; the
    merged dict is shared, so callers must not change it.
    """
    with view_on(session):
        hosted = cached("hosted-issuers", lambda: read_hosted_issuers(session))
    return _merged(hosted, registry.entries())


#: The last merge: (hosted, registry entries, the merged dict), compared by identity.
_last_merge: tuple[Mapping[str, KnownIssuer], Mapping[str, KnownIssuer], dict[str, Any]] | None = (
    None
)


def _merged(
    hosted: Mapping[str, KnownIssuer], registry: Mapping[str, KnownIssuer]
) -> dict[str, KnownIssuer]:
    """``registry`` overlaid with ``hosted``, merged again only when either changed."""
    global _last_merge
    last = _last_merge
    if last is not None and last[0] is hosted and last[1] is registry:
        return last[2]
    merged = {**registry, **hosted}
    _last_merge = (hosted, registry, merged)
    return merged


def _known(
    ctx: ServiceContext, session: Session | None, registry: TrustRegistry
) -> dict[str, KnownIssuer]:
    """``known_issuers`` with ``session``, or without one from the verifier's hosted
    issuers (a short session of their own when they must be read, closed before any
    verification starts: no connection is held across a fetch)."""
    if session is not None:
        return known_issuers(session, registry)
    return known_issuers_kept(ctx, registry)


def known_issuers_kept(ctx: ServiceContext, registry: TrustRegistry) -> dict[str, KnownIssuer]:
    """``known_issuers`` without a session: the verifier's hosted issuers, kept while
    ``hosted_version`` stays the same (read in a short session of their own only when it
    moved), plus the trust registry's. Inside ``hosted_view`` this reads no counter of its
    own; callers must not change the dict they get."""
    if ctx.session_factory is None:
        return dict(registry.entries())
    return _merged(ctx.get_verifier().hosted(), registry.entries())


# --------------------------------------------------------------------------- the result


@dataclass
class Outcome:
    """A finished verification: the report, the credential as read, and who we know."""

    report: Report
    credential: Json | None
    submission: Submission
    known: KnownIssuer | None = None
    summary: Json = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``verified``, ``verified_with_warnings``, ``not_verified`` or ``could_not_verify``."""
        return self.report.verdict

    def as_dict(self) -> Json:
        """The API's JSON: the report (``verified``, ``checks``) plus verdict and summary."""
        out: Json = {"verified": self.report.verified, "verdict": self.report.verdict}
        out["checks"] = [c.as_dict() for c in self.report.checks]
        out["format"] = self.submission.format
        out["credential"] = self.summary or None
        return out

    def as_json(self) -> bytes:
        """``as_dict`` as compact UTF-8 JSON (what the API sends), written once for a kept
        report and the text it was kept under."""
        return derived(self.report, ("json", self.submission.format), lambda: compact_json(self))


def compact_json(outcome: Outcome | PresentationOutcome) -> bytes:
    """The API's JSON of ``outcome``, written as Starlette's ``JSONResponse`` writes it."""
    return json.dumps(
        outcome.as_dict(), ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


# --------------------------------------------------------------------------- summary


def _issuer_summary(issuer: ProfileView) -> Json:
    return {"id": issuer.id, "name": issuer.name, "url": issuer.url}


def summarize(credential: Mapping[str, Any], report: Report | None = None) -> Json:
    """What the credential says, as plain data for the page and the API (all of it claims).

    The facts are ``core.reading``'s, the ones the credential page and the portfolio show;
    this is only the verifier's JSON shape of them.
    """
    view = read_credential(credential)
    ach = view.achievement
    recipient = view.recipient
    # Endorsement checks come in the order ``core.reading`` numbers the embedded
    # endorsements (``position``), so each gets its signed comment.
    signed = {e.position: e for e in view.endorsements}
    endorsements = []
    position = 0
    for check in report.checks if report is not None else []:
        if check.check != "endorsement":
            continue
        item = None
        if check.code != "endorsement.jwt_unsupported":
            item = signed.get(position)
            position += 1
        endorsements.append(
            {
                "endorser": check.detail.get("endorser"),
                "endorses": check.detail.get("endorses"),
                "outcome": check.outcome,
                "code": check.code,
                "message": check.message,
                "id": item.id if item is not None else None,
                "comment": item.comment if item is not None else None,
            }
        )
    return {
        "id": view.id,
        "type": list(view.types),
        "name": view.name,
        "description": view.description,
        "issuer": _issuer_summary(view.issuer),
        "validFrom": view.valid_from,
        "validUntil": view.valid_until,
        "achievement": {
            "id": ach.id,
            "name": ach.name,
            "description": ach.description,
            "type": ach.type,
            "criteria": ach.criteria,
            "criteriaUrl": ach.criteria_url,
            "image": ach.image.url if ach.image else None,
            "imageCaption": ach.image.caption if ach.image else None,
        },
        "skills": [
            {"name": a.name, "url": a.url, "framework": a.framework, "code": a.code}
            for a in ach.alignments
        ],
        "recipient": {
            "id": recipient.id,
            "role": recipient.role,
            "organisation": recipient.source.name if recipient.source else None,
            "organisationUrl": recipient.source.url if recipient.source else None,
            "start": recipient.start,
            "end": recipient.end,
            "name": recipient.name,
            "hashedIdentifiers": recipient.hashed_identifiers,
        },
        "results": [
            {"name": r.name or "Result", "value": r.shown_value} for r in recipient.results
        ],
        "deliverables": [
            {
                "id": e.id,
                "url": e.url,
                "name": e.name,
                "description": e.description,
                "genre": e.genre,
                "digestMultibase": e.digest,
            }
            for e in view.evidence
        ],
        "endorsements": endorsements,
    }


def _with_ratings(ctx: ServiceContext, session: Session | None, summary: Json) -> Json:
    """``summary`` with the ratings each mentor gave beside their endorsement, for the
    endorsements this service hosts (a copy: the derived summary is shared)."""
    ids = [e.get("id") for e in summary.get("endorsements", [])]
    if not any(isinstance(i, str) and i.startswith(f"{ctx.base_url}/") for i in ids):
        return summary
    try:
        if session is not None:
            found = ratings.hosted_ratings(session, ctx, ids)
        elif ctx.session_factory is None:
            return summary
        else:
            with scoped(read_only_sessions(ctx.session_factory))() as own:
                found = ratings.hosted_ratings(own, ctx, ids)
    except SQLAlchemyError:
        return summary  # the ratings are a courtesy; the report stands without them
    if not found:
        return summary
    endorsements = [
        {**e, "ratings": found[e["id"]]} if e.get("id") in found else e
        for e in summary["endorsements"]
    ]
    return {**summary, "endorsements": endorsements}


def _view(ctx: ServiceContext, session: Session | None) -> AbstractContextManager[Any]:
    """One reading of ``hosted_version`` for the known issuers and the verification."""
    return view_on(session) if session is not None else hosted_view(ctx.session_factory)


def verify_submission(
    ctx: ServiceContext,
    session: Session | None,
    submission: Submission,
    *,
    registry: TrustRegistry,
    email: str | None = None,
) -> Outcome:
    """Verify one submission with the one pipeline and build the page's summary.

    The report is ``services.verification.verify``'s, with the issuers this service hosts
    and the trust registry's as known issuers: the VC-API and ``badgeworks verify --json``
    (given the same capabilities) show the same checks.
    """
    with _view(ctx, session):
        try:
            known = _known(ctx, session, registry)
        except SQLAlchemyError as exc:
            return Outcome(unavailable_report(exc), None, submission)
        result = verification.verify(ctx, submission.document, known=known, email=email)
    credential = result.credential
    issuer = issuer_id(credential) if credential is not None else None
    summary: Json = {}
    if credential is not None:
        shown = credential
        summary = derived(result.report, "summary", lambda: summarize(shown, result.report))
        summary = _with_ratings(ctx, session, summary)
    return Outcome(
        report=result.report,
        credential=credential,
        submission=submission,
        known=known.get(issuer) if issuer is not None else None,
        summary=summary,
    )


@dataclass
class PresentationOutcome:
    """A finished presentation: its own checks and one ``Outcome`` per credential."""

    report: Report
    signed: bool
    credentials: list[Outcome]
    submission: Submission

    @property
    def verified(self) -> bool:
        """True iff no presentation check failed and every credential verified."""
        return self.report.verified and all(o.report.verified for o in self.credentials)

    @property
    def verdict(self) -> str:
        """The presentation's one verdict: its own checks and every credential's."""
        verdicts = {self.report.verdict, *(o.verdict for o in self.credentials)}
        for worst in ("not_verified", "could_not_verify", "verified_with_warnings"):
            if worst in verdicts:
                return worst
        return "verified"

    def as_dict(self) -> Json:
        """The API's JSON: one verdict, the presentation's checks, each credential's report."""
        results = []
        for index, outcome in enumerate(self.credentials):
            item = outcome.as_dict()
            item["index"] = index
            item["credentialId"] = (
                outcome.credential.get("id")
                if outcome.credential is not None and isinstance(outcome.credential.get("id"), str)
                else None
            )
            results.append(item)
        return {
            "verified": self.verified,
            "verdict": self.verdict,
            "format": "presentation",
            "presentationResult": {
                "verified": self.report.verified,
                "verdict": self.report.verdict,
                "signed": self.signed,
                "checks": [c.as_dict() for c in self.report.checks],
            },
            "credentialResults": results,
        }


def verify_presentation_submission(
    ctx: ServiceContext,
    session: Session | None,
    submission: Submission,
    *,
    registry: TrustRegistry,
    email: str | None = None,
) -> PresentationOutcome:
    """Verify a presentation and then each credential in it with the one pipeline.

    ``services.verification.verify_presented`` does the work, with the same known issuers
    as a single credential (hosted plus the trust registry); each credential gets the
    summary a single credential's page shows.
    """
    assert isinstance(submission.document, dict)
    with _view(ctx, session):
        try:
            known = _known(ctx, session, registry)
        except SQLAlchemyError as exc:
            return PresentationOutcome(
                unavailable_report(exc), "proof" in submission.document, [], submission
            )
        result = verification.verify_presented(ctx, submission.document, known=known, email=email)
    outcomes = []
    for item, document in zip(result.credentials, result.documents, strict=True):
        credential = item.credential
        issuer = issuer_id(credential) if credential is not None else None
        shown: Json | str = document if isinstance(document, dict | str) else {}
        outcomes.append(
            Outcome(
                report=item.report,
                credential=credential,
                submission=Submission(shown, submission.source, submission.label),
                known=known.get(issuer) if issuer is not None else None,
                summary=summarize(credential, item.report) if credential is not None else {},
            )
        )
    return PresentationOutcome(result.report, result.signed, outcomes, submission)


def verify_any(
    ctx: ServiceContext,
    session: Session | None,
    submission: Submission,
    *,
    registry: TrustRegistry,
    email: str | None = None,
) -> Outcome | PresentationOutcome:
    """A credential or a presentation, whichever the submission is."""
    if submission.format == "presentation":
        return verify_presentation_submission(
            ctx, session, submission, registry=registry, email=email
        )
    return verify_submission(ctx, session, submission, registry=registry, email=email)


def local_credentials(ctx: ServiceContext) -> LocalCredentials:
    """Our own hosted credentials, read from the database (the exact stored bytes).

    A credential page or QR code links to ``/verify?url=<our credential>``; answering it
    locally needs no network hop, also where our public host name resolves to a private
    address the fetcher would refuse. Other URLs return None (fetch them).
    """
    prefix = ctx.base_url + "/credentials/"

    def local(url: str) -> bytes | None:
        if not url.startswith(prefix) or ctx.session_factory is None:
            return None
        credential_id = url[len(prefix) :].split("#", 1)[0].split("?", 1)[0].removesuffix(".json")
        with ctx.session_factory() as session:
            try:
                row = issuance.get_credential(session, credential_id)
            except NotFoundError:
                raise _unreadable(
                    f"this service hosts no credential at {url!r:.{_SHOW}}.", "verify.not_found"
                ) from None
            return row.document.encode("utf-8")

    return local


def shared_fetcher(ctx: ServiceContext) -> Fetcher:
    """The service's one outbound fetcher (for a credential given by URL)."""
    fetcher = ctx.get_verifier().fetcher
    if fetcher is None:  # only a context built for offline checks has none
        raise ConfigError("this verifier may not fetch anything", code="config.offline")
    return fetcher


def report_json(outcome: Outcome) -> str:
    """The API JSON, pretty-printed (for the page's technical details)."""
    return json.dumps(outcome.as_dict(), indent=2, ensure_ascii=False)


def credential_json(outcome: Outcome) -> str | None:
    """The credential as submitted (pretty-printed), or the decoded JWS payload."""
    if outcome.credential is None:
        return None
    return json.dumps(outcome.credential, indent=2, ensure_ascii=False)[:500_000]
