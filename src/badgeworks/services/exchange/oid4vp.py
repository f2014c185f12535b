"""Asking a candidate's wallet for proof: OpenID for Verifiable Presentations 1.0.

An employer on the public verifier starts a **presentation request**
(``start_request``): a fresh id, ``nonce`` and ``state``, a DCQL query for one Open Badge
(optionally narrowed to an issuer or an achievement), ``response_mode`` ``direct_post``
and the client identifier ``redirect_uri:<response_uri>`` (OID4VP 1.0 §5.9.3). The
request is passed to the wallet by value in an ``openid4vp://`` link (``link``); the exact
form is in docs/wallets.md, which the wallet side is built against.

The wallet posts its answer to the ``response_uri`` (``answer``): ``vp_token`` (a JSON
object: credential query id → one presentation) and ``state``. The answer is refused,
with the spec's error code and one of ours (``AnswerRefused``), when the request is
unknown, expired or already answered, the ``state`` differs, the token is malformed or
oversized, the presentation is bound to another nonce or audience, its signature fails,
or its signer is not the credential's subject (``core.verification.holder``). Otherwise
the credential is verified by ``services.verification.pipeline`` — the same pipeline as a
pasted credential — and the report is stored on the request with a compare-and-set
(``answered_at IS NULL``), so of two answers posted at once exactly one is accepted.

A refusal stores only its code on the request (the employer's page shows it in words);
the refused answer itself is never kept. Requests are deleted a day after they expire.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlencode

from sqlalchemy import delete, update
from sqlmodel import Session

from badgeworks.core.credential import issuer_id
from badgeworks.core.document import parse_json_document
from badgeworks.core.errors import BadgeworksError, InputError
from badgeworks.core.structure import is_url
from badgeworks.core.values import as_list
from badgeworks.db.engine import read_only_sessions
from badgeworks.db.wallet_presentations import WalletPresentationRequest
from badgeworks.services.context import ServiceContext
from badgeworks.services.verification import pipeline
from badgeworks.services.verification.holder import (
    HolderRefusal,
    JwtPresentation,
    bound_to_subject,
    enveloped_jwt,
    ldp_request_binding,
    verify_jwt_presentation,
)
from badgeworks.services.verification.pipeline import Check, KnownIssuer, Report
from badgeworks.services.verification.public import summarize

#: How long a wallet may take to answer (the page says until when).
REQUEST_LIFETIME = timedelta(minutes=10)
#: How long a request (and an accepted answer's report) is kept after it expires.
KEEP_AFTER_EXPIRY = timedelta(days=1)
#: The DCQL credential query ids: one per format (a DCQL credential query has one format).
QUERY_LDP = "open_badge"
QUERY_JWT = "open_badge_jwt"
#: OID4VP 1.0 Appendix B.1: ``type_values`` are the types after JSON-LD expansion;
#: ``OpenBadgeCredential`` and its alias ``AchievementCredential`` expand to this IRI.
TYPE_VALUES = [
    [
        "https://www.w3.org/2018/credentials#VerifiableCredential",
        "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential",
    ]
]
#: OID4VP 1.0 §5.9.3: the client identifier prefix of a verifier identified by its
#: redirect (here: response) URI; such a request is never signed.
CLIENT_ID_PREFIX = "redirect_uri:"
#: The wallet-facing URL scheme (OID4VP 1.0 §13.1.2, the default custom scheme).
LINK_SCHEME = "openid4vp://"
#: The longest issuer or achievement id a request may be narrowed to: with the id twice in
#: the DCQL query (once per format) the link stays within what a QR code holds.
MAX_FILTER_CHARS = 200
#: Characters left as they are in the link's values (RFC 3986 allows them in a query; a
#: URL parser decodes them the same either way), so the QR code stays smaller.
_LINK_SAFE = ":/,@"
#: Form fields besides ``vp_token`` longer than this are refused without being read further.
MAX_FIELD_CHARS = 2000

RequestState = Literal["waiting", "answered", "expired"]


class AnswerRefused(BadgeworksError):
    """A wallet's answer we refuse: ``error`` is the OID4VP / OAuth error code,
    ``code`` ours (``oid4vp.*``), ``status`` the HTTP status."""

    code = "oid4vp.malformed"

    def __init__(
        self, code: str, message: str, *, error: str = "invalid_request", status: int = 400
    ) -> None:
        super().__init__(message, code=code)
        self.error = error
        self.status = status


class RequestInputError(InputError):
    """The employer's narrowing of a request is not usable (400 on the form)."""

    code = "oid4vp.filter_invalid"


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class PresentationRequest:
    """One presentation request as the wallet and the employer's page see it."""

    id: str
    nonce: str
    state: str
    base_url: str
    expires_at: datetime
    issuer: str | None = None
    achievement: str | None = None

    @property
    def response_uri(self) -> str:
        """Where the wallet posts its answer (``direct_post``)."""
        return f"{self.base_url}/oid4vp/responses/{self.id}"

    @property
    def client_id(self) -> str:
        """The verifier's client identifier, with its ``redirect_uri:`` prefix; also the
        audience (``domain`` / ``aud``) every presentation must be bound to."""
        return CLIENT_ID_PREFIX + self.response_uri

    def dcql_query(self) -> dict[str, Any]:
        """OID4VP 1.0 §6: one Open Badge, as ``ldp_vc`` or ``jwt_vc_json``."""
        claims: list[dict[str, Any]] = []
        if self.issuer:
            claims.append({"id": "issuer", "path": ["issuer", "id"], "values": [self.issuer]})
        if self.achievement:
            claims.append(
                {
                    "id": "achievement",
                    "path": ["credentialSubject", "achievement", "id"],
                    "values": [self.achievement],
                }
            )
        queries = []
        for query_id, fmt in ((QUERY_LDP, "ldp_vc"), (QUERY_JWT, "jwt_vc_json")):
            query: dict[str, Any] = {
                "id": query_id,
                "format": fmt,
                "meta": {"type_values": TYPE_VALUES},
            }
            if claims:
                query["claims"] = claims
            queries.append(query)
        return {
            "credentials": queries,
            "credential_sets": [{"options": [[QUERY_LDP], [QUERY_JWT]]}],
        }

    @staticmethod
    def client_metadata() -> dict[str, Any]:
        """OID4VP 1.0 §11.1: the formats and algorithms we verify."""
        return {
            "vp_formats_supported": {
                "ldp_vc": {
                    "proof_type_values": ["DataIntegrityProof", "Ed25519Signature2020"],
                    "cryptosuite_values": ["eddsa-rdfc-2022", "eddsa-jcs-2022"],
                },
                "jwt_vc_json": {"alg_values": ["EdDSA", "ES256"]},
            }
        }

    def parameters(self) -> dict[str, str]:
        """The authorization request's parameters, in the link's order (JSON compact)."""
        compact = {"separators": (",", ":"), "ensure_ascii": False}
        return {
            "response_type": "vp_token",
            "client_id": self.client_id,
            "response_mode": "direct_post",
            "response_uri": self.response_uri,
            "nonce": self.nonce,
            "state": self.state,
            "dcql_query": json.dumps(self.dcql_query(), **compact),  # type: ignore[arg-type]
            "client_metadata": json.dumps(self.client_metadata(), **compact),  # type: ignore[arg-type]
        }

    def link(self) -> str:
        """The ``openid4vp://`` link the QR code holds (the request by value)."""
        return LINK_SCHEME + "?" + urlencode(self.parameters(), safe=_LINK_SAFE, quote_via=quote)

    def as_json(self) -> dict[str, Any]:
        """The request as JSON for tools and tests (``request.json``)."""
        params: dict[str, Any] = dict(self.parameters())
        params["dcql_query"] = self.dcql_query()
        params["client_metadata"] = self.client_metadata()
        return {
            **params,
            "request_id": self.id,
            "link": self.link(),
            "expires_at": self.expires_at.isoformat(),
        }


def _request_of(row: WalletPresentationRequest, base_url: str) -> PresentationRequest:
    return PresentationRequest(
        id=row.id,
        nonce=row.nonce,
        state=row.state,
        base_url=base_url,
        expires_at=row.expires_at,
        issuer=row.issuer_filter,
        achievement=row.achievement_filter,
    )


def check_filter(value: str | None, what: str) -> str | None:
    """An issuer or achievement id to narrow a request to: a URL or DID, or nothing."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if len(value) > MAX_FILTER_CHARS or not is_url(value) or any(c.isspace() for c in value):
        raise RequestInputError(
            f"the {what} must be a web address or a DID (for example did:web:… or "
            f"https://…), at most {MAX_FILTER_CHARS} characters",
            field=what,
        )
    return value


def _session(ctx: ServiceContext) -> Session:
    if ctx.session_factory is None:
        raise RuntimeError("presentation requests need a database")
    return ctx.session_factory()


def start_request(
    ctx: ServiceContext, *, issuer: str | None = None, achievement: str | None = None
) -> PresentationRequest:
    """A new request (fresh id, nonce, state), stored; old expired ones are deleted.

    It may be narrowed to an issuer or to an achievement (one of the two): raises
    ``RequestInputError`` for an id that is not a URL or DID, or for both at once.
    """
    issuer = check_filter(issuer, "issuer")
    achievement = check_filter(achievement, "achievement")
    if issuer and achievement:
        raise RequestInputError(
            "a request is narrowed to an issuer or to an achievement, not both", field="both"
        )
    now = ctx.clock()
    row = WalletPresentationRequest(
        id=secrets.token_urlsafe(16),
        nonce=secrets.token_urlsafe(32),
        state=secrets.token_urlsafe(16),
        issuer_filter=issuer,
        achievement_filter=achievement,
        created_at=now,
        expires_at=now + REQUEST_LIFETIME,
    )
    with _session(ctx) as session:
        session.execute(
            delete(WalletPresentationRequest).where(
                WalletPresentationRequest.expires_at < now - KEEP_AFTER_EXPIRY  # type: ignore[arg-type]
            )
        )
        session.add(row)
        session.commit()
    return _request_of(row, ctx.base_url)


@dataclass(frozen=True)
class RequestView:
    """What the employer's page shows of a request."""

    request: PresentationRequest
    state: RequestState
    #: The accepted answer's stored report (see ``answer``), when answered.
    outcome: dict[str, Any] | None
    refusal_code: str | None

    @property
    def verdict(self) -> str | None:
        """The answer's verdict, once answered."""
        return None if self.outcome is None else str(self.outcome.get("verdict"))


def find_request(ctx: ServiceContext, request_id: str, *, now: datetime) -> RequestView | None:
    """The request and what became of it; None for an unknown id."""
    if not _plausible_id(request_id):
        return None
    assert ctx.session_factory is not None
    with read_only_sessions(ctx.session_factory)() as session:
        row = session.get(WalletPresentationRequest, request_id)
        if row is None:
            return None
        session.expunge(row)
    state: RequestState
    if row.answered_at is not None:
        state = "answered"
    elif row.expires_at <= now:
        state = "expired"
    else:
        state = "waiting"
    outcome = json.loads(row.outcome) if row.outcome else None
    return RequestView(_request_of(row, ctx.base_url), state, outcome, row.refusal_code)


def _plausible_id(request_id: str) -> bool:
    return 0 < len(request_id) <= 32 and all(c.isalnum() or c in "-_" for c in request_id)


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class _Presented:
    """One verified presentation, before the compare-and-set: what the page will show."""

    holder: str
    presentation_format: Literal["ldp_vp", "jwt_vp_json"]
    document: Any
    verification: pipeline.Verification
    extra_checks: list[Check]


def _refuse(code: str, message: str, **kw: Any) -> AnswerRefused:
    return AnswerRefused(code, message, **kw)


_HOLDER_CODES = {
    "holder.nonce_mismatch": "oid4vp.nonce_mismatch",
    "holder.audience_mismatch": "oid4vp.audience_mismatch",
    "holder.subject_mismatch": "oid4vp.holder_mismatch",
    "holder.signature": "oid4vp.holder_signature",
    "holder.unsigned": "oid4vp.holder_signature",
    "holder.expired": "oid4vp.holder_signature",
}


def _from_holder(refusal: HolderRefusal) -> AnswerRefused:
    if refusal.code == "holder.format":
        return _refuse("oid4vp.format", refusal.message, error="vp_formats_not_supported")
    if refusal.code == "holder.too_large":
        return _refuse("oid4vp.too_large", refusal.message, status=413)
    return _refuse(_HOLDER_CODES.get(refusal.code, "oid4vp.malformed"), refusal.message)


def _field(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _refuse("oid4vp.malformed", f"The field {name!r} is not text.")
    return value


def _token_item(form: Mapping[str, Any], max_bytes: int, max_depth: int) -> tuple[str, Any]:
    """OID4VP 1.0 §8.1: ``vp_token`` is a JSON object of credential query id → array of
    presentations; we asked for one credential, so exactly one key and one presentation."""
    raw = _field(form, "vp_token")
    if raw is None or not raw.strip():
        raise _refuse("oid4vp.malformed", "The answer has no 'vp_token'.")
    try:
        token = parse_json_document(raw, max_bytes=max_bytes, max_depth=max_depth)
    except InputError as exc:
        if exc.code == "input.too_large":
            raise _refuse(
                "oid4vp.too_large", f"The 'vp_token' is too large: {exc.message}.", status=413
            ) from None
        raise _refuse(
            "oid4vp.malformed", f"The 'vp_token' is not usable JSON: {exc.message}."
        ) from None
    if not isinstance(token, dict):
        raise _refuse(
            "oid4vp.malformed",
            "The 'vp_token' is not a JSON object of credential query ids (OID4VP 1.0 §8.1).",
        )
    if len(token) != 1 or next(iter(token)) not in (QUERY_LDP, QUERY_JWT):
        raise _refuse(
            "oid4vp.malformed",
            f"The 'vp_token' must answer exactly one of the queries {QUERY_LDP!r} and "
            f"{QUERY_JWT!r}.",
        )
    ((query_id, items),) = token.items()
    if not isinstance(items, list) or len(items) != 1:
        raise _refuse(
            "oid4vp.malformed",
            f"The 'vp_token' must hold an array of exactly one presentation under {query_id!r}.",
        )
    return query_id, items[0]


def _one_credential(vp: Mapping[str, Any]) -> Any:
    items = as_list(vp.get("verifiableCredential"))
    if len(items) != 1:
        raise _refuse(
            "oid4vp.malformed",
            f"The presentation must hold exactly one credential; it holds {len(items)}.",
        )
    return items[0]


def _ldp(
    ctx: ServiceContext,
    request: PresentationRequest,
    vp: Any,
    known: Mapping[str, KnownIssuer],
    now: datetime,
) -> _Presented:
    if not isinstance(vp, dict):
        raise _refuse(
            "oid4vp.format",
            f"An answer to {QUERY_LDP!r} is a Data Integrity presentation (a JSON object).",
            error="vp_formats_not_supported",
        )
    refusal = ldp_request_binding(vp, nonce=request.nonce, audience=request.client_id)
    if refusal is not None:
        raise _from_holder(refusal)
    _one_credential(vp)
    result = pipeline.verify_presented(
        ctx, vp, known=known, now=now, challenge=request.nonce, domain=request.client_id
    )
    signer: str | None = None
    for check in result.report.checks:
        if check.check == "proof" and check.outcome != "pass":
            raise _refuse(
                "oid4vp.holder_signature",
                f"The presentation's signature did not verify: {check.message}",
            )
        if check.check == "holder":
            if check.outcome == "fail":
                raise _refuse("oid4vp.holder_mismatch", check.message)
            controller = check.detail.get("controller")
            controller = controller if isinstance(controller, str) else None
            if signer is not None and controller != signer:
                # A proof set by several keys: whose presentation it is would be ambiguous.
                raise _refuse(
                    "oid4vp.holder_signature",
                    "The presentation is signed by more than one holder.",
                )
            signer = controller
    if signer is None or not result.credentials:
        raise _refuse(
            "oid4vp.holder_signature",
            "The presentation's signature did not show whose key made it.",
        )
    # The presentation's other findings (its structure) stay in the report, unless they
    # only passed.
    extra = [
        c
        for c in result.report.checks
        if c.check not in ("proof", "holder") and c.outcome != "pass"
    ]
    return _Presented(signer, "ldp_vp", result.documents[0], result.credentials[0], extra)


def _jwt(
    ctx: ServiceContext,
    request: PresentationRequest,
    token: Any,
    known: Mapping[str, KnownIssuer],
    now: datetime,
    max_chars: int,
) -> _Presented:
    if not isinstance(token, str):
        raise _refuse(
            "oid4vp.format",
            f"An answer to {QUERY_JWT!r} is a JWT presentation (a compact JWS string).",
            error="vp_formats_not_supported",
        )
    found = verify_jwt_presentation(
        token, nonce=request.nonce, audience=request.client_id, now=now, max_chars=max_chars
    )
    if isinstance(found, HolderRefusal):
        raise _from_holder(found)
    assert isinstance(found, JwtPresentation)
    item = _one_credential(found.presentation)
    document = enveloped_jwt(item) or item
    if not isinstance(document, str | dict):
        raise _refuse(
            "oid4vp.malformed", "The presented credential is neither a VC-JWT nor an object."
        )
    verification = pipeline.verify(ctx, document, known=known, now=now)
    return _Presented(found.holder, "jwt_vp_json", document, verification, [])


def _holder_check(presented: _Presented) -> Check:
    how = "JWT" if presented.presentation_format == "jwt_vp_json" else "Data Integrity"
    return Check(
        "recipient",
        "pass",
        "holder.bound",
        "The candidate's wallet signed this presentation for this request "
        f"({how}), with the key of {presented.holder:.200}, the person the credential is about.",
        {"holder": presented.holder, "format": presented.presentation_format},
    )


def _narrowed(request: PresentationRequest, credential: Mapping[str, Any]) -> None:
    if request.issuer and issuer_id(credential) != request.issuer:
        raise _refuse(
            "oid4vp.not_requested",
            f"The credential was issued by {issuer_id(credential)!r:.200}, not by the issuer "
            "asked for.",
        )
    if request.achievement:
        achievements = [
            s.get("achievement", {}).get("id")
            for s in as_list(credential.get("credentialSubject"))
            if isinstance(s, Mapping) and isinstance(s.get("achievement"), Mapping)
        ]
        if request.achievement not in achievements:
            raise _refuse(
                "oid4vp.not_requested", "The credential is not for the achievement asked for."
            )


def _outcome(presented: _Presented) -> dict[str, Any]:
    verification = presented.verification
    credential = verification.credential
    checks = [_holder_check(presented), *presented.extra_checks, *verification.report.checks]
    report = Report(checks)
    return {
        "verified": report.verified,
        "verdict": report.verdict,
        "checks": [c.as_dict() for c in checks],
        "holder": presented.holder,
        "presentationFormat": presented.presentation_format,
        "document": presented.document,
        "credential": credential,
        "summary": summarize(credential, verification.report) if credential is not None else {},
    }


def _record_refusal(ctx: ServiceContext, request_id: str, code: str, now: datetime) -> None:
    """Keep the refusal's code on a request still waiting (never the refused answer)."""
    assert ctx.session_factory is not None
    with ctx.session_factory() as session:
        session.execute(
            update(WalletPresentationRequest)
            .where(
                WalletPresentationRequest.id == request_id,  # type: ignore[arg-type]
                WalletPresentationRequest.answered_at.is_(None),  # type: ignore[union-attr]
            )
            .values(refusal_code=code[:64], refused_at=now)
        )
        session.commit()


def _claim(ctx: ServiceContext, request_id: str, outcome: dict[str, Any], now: datetime) -> bool:
    """The compare-and-set: store the answer iff the request is still waiting."""
    text = json.dumps(outcome, ensure_ascii=False, separators=(",", ":"))
    assert ctx.session_factory is not None
    with ctx.session_factory() as session:
        done = session.execute(
            update(WalletPresentationRequest)
            .where(
                WalletPresentationRequest.id == request_id,  # type: ignore[arg-type]
                WalletPresentationRequest.answered_at.is_(None),  # type: ignore[union-attr]
                WalletPresentationRequest.expires_at > now,  # type: ignore[arg-type]
            )
            .values(answered_at=now, outcome=text, refusal_code=None, refused_at=None)
        )
        session.commit()
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _waiting(ctx: ServiceContext, request_id: str, now: datetime) -> RequestView:
    view = find_request(ctx, request_id, now=now)
    if view is None:
        raise _refuse("oid4vp.unknown_request", "There is no such presentation request.")
    if view.state == "answered":
        raise _refuse(
            "oid4vp.used", "This presentation request has already been answered; start a new one."
        )
    if view.state == "expired":
        raise _refuse(
            "oid4vp.expired",
            "This presentation request has expired; the employer can start a new one.",
        )
    return view


@dataclass(frozen=True)
class Answer:
    """An accepted answer (its stored report) or a wallet's declined answer (``None``)."""

    outcome: dict[str, Any] | None


def answer(
    ctx: ServiceContext,
    request_id: str,
    form: Mapping[str, Any],
    *,
    known: Mapping[str, KnownIssuer],
) -> Answer:
    """Verify a wallet's answer to request ``request_id`` and store it once; raises
    ``AnswerRefused`` (after keeping its code on a waiting request)."""
    now = ctx.clock()
    view = _waiting(ctx, request_id, now)
    try:
        return _answer(ctx, view.request, form, known=known, now=now)
    except AnswerRefused as refused:
        if refused.code not in ("oid4vp.used", "oid4vp.expired"):
            _record_refusal(ctx, request_id, refused.code, now)
        raise


def _answer(
    ctx: ServiceContext,
    request: PresentationRequest,
    form: Mapping[str, Any],
    *,
    known: Mapping[str, KnownIssuer],
    now: datetime,
) -> Answer:
    for name in ("state", "error", "error_description"):
        value = _field(form, name)
        if value is not None and len(value) > MAX_FIELD_CHARS:
            raise _refuse("oid4vp.malformed", f"The field {name!r} is too long.")
    state = _field(form, "state")
    if state is None or not secrets.compare_digest(state.encode(), request.state.encode()):
        raise _refuse("oid4vp.state_mismatch", "The answer's 'state' is not this request's.")
    error = _field(form, "error")
    if error is not None:
        # OID4VP 1.0 §8.5: the wallet declined (or failed); the request stays open.
        _record_refusal(ctx, request.id, "oid4vp.declined", now)
        return Answer(None)
    settings = ctx.settings
    query_id, item = _token_item(
        form, settings.verify_max_json_bytes, settings.verify_max_json_depth
    )
    if query_id == QUERY_LDP:
        presented = _ldp(ctx, request, item, known, now)
    else:
        presented = _jwt(ctx, request, item, known, now, settings.verify_max_json_bytes)
    credential = presented.verification.credential
    if credential is not None:
        refusal = bound_to_subject(presented.holder, credential)
        if refusal is not None:
            raise _from_holder(refusal)
        _narrowed(request, credential)
    outcome = _outcome(presented)
    if not _claim(ctx, request.id, outcome, now):
        # Another answer was accepted first (or the request expired meanwhile).
        _waiting(ctx, request.id, now)
        raise _refuse("oid4vp.used", "This presentation request has already been answered.")
    return Answer(outcome)


def as_report(outcome: Mapping[str, Any]) -> Report:
    """The stored answer's checks as a ``Report`` again (for the page's partials)."""
    return Report(
        [
            Check(c["check"], c["outcome"], c["code"], c["message"], dict(c.get("detail") or {}))
            for c in outcome.get("checks", [])
        ]
    )
