"""Issuance to a candidate's wallet: OpenID for Verifiable Credential Issuance 1.0,
pre-authorized code flow (docs/wallets.md).

One service-wide credential issuer (``credential_issuer`` = the public base URL) with one
credential configuration per format: ``ldp_vc`` (our Open Badges 3.0 credential with its
Data Integrity proof) and ``jwt_vc_json`` (the OB 3.0 VC-JWT form). The flow:

1. An offer (``make_offer``) for one hosted credential: a random offer id, the secret in
   the ``credential_offer_uri``; the pre-authorized code the offer carries is derived from
   it with the key secret (HMAC), so the database holds only hashes of both. With the
   program's PIN setting on, a PIN is emailed to the candidate separately.
2. ``redeem`` (token endpoint, §6): the code (and PIN) for an access token, once. A
   compare-and-set on ``redeemed_at`` makes a second redemption of the same code fail,
   also when two arrive at the same moment.
3. ``new_nonce`` (nonce endpoint, §7): a ``c_nonce``, stored hashed, deleted by the proof
   that uses it, so a replayed proof finds none.
4. ``issue`` (credential endpoint, §8): the wallet's key proof (``core.holder_proof``),
   then a second signed credential for the same award, naming the wallet's DID as
   ``credentialSubject.id``, with the hosted credential's achievement, evidence,
   endorsements and status entry (so revoking the hosted credential revokes this one),
   stored verbatim and tied to the hosted one. One credential per offer and format (a
   unique constraint).

Refusals are ``WalletError`` with the spec's error code and HTTP status; nothing is issued
or stored by a refused request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from badgeworks.adapters import qr
from badgeworks.core.credential import parse_xsd_datetime
from badgeworks.core.encoding import b64url_encode
from badgeworks.core.errors import BadgeworksError
from badgeworks.core.holder_proof import ALGORITHMS, HolderKey, HolderProofError, holder_key
from badgeworks.core.issue import issue as sign_credential
from badgeworks.core.schema import schema_problems
from badgeworks.core.structure import check_credential
from badgeworks.db.models import AchievementVersion, Candidate, Credential, Issuer
from badgeworks.db.wallet import WalletCredential, WalletNonce, WalletOffer, WalletSetting
from badgeworks.services.accounts.tokens import hash_token
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import NotFoundError
from badgeworks.services.infra import audit, outbox
from badgeworks.services.locale_format import local_datetime
from badgeworks.services.portfolio.standing import standing
from badgeworks.services.programs.issuers import signing_key

#: OpenID4VCI 1.0 §4.1.1: the grant type of the pre-authorized code flow.
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
#: The credential configurations we offer, by id, and the format each issues.
CONFIGURATIONS = {
    "OpenBadgeCredential_ldp_vc": "ldp_vc",
    "OpenBadgeCredential_jwt_vc_json": "jwt_vc_json",
}
CREDENTIAL_TYPES = ["VerifiableCredential", "OpenBadgeCredential"]
CREDENTIAL_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
BINDING_METHODS = ["did:key", "did:jwk", "jwk"]
#: How long an access token may be used for credential requests.
ACCESS_TOKEN_LIFETIME = timedelta(minutes=10)
#: How long a ``c_nonce`` may wait for the proof that uses it.
NONCE_LIFETIME = timedelta(minutes=5)
#: The PIN's digits (OpenID4VCI ``tx_code`` ``input_mode`` numeric).
PIN_LENGTH = 6
#: Wrong PINs after which an offer stops working (the candidate makes another one).
MAX_PIN_ATTEMPTS = 5
#: The longest code, PIN, token or nonce we read from a request.
MAX_SECRET_CHARS = 200
#: The offer id in a ``credential_offer_uri``: 43 base64url characters.
_OFFER_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")


class WalletError(BadgeworksError):
    """A refusal with an OpenID4VCI / RFC 6749 error code and the HTTP status it has."""

    code = "invalid_request"

    def __init__(self, message: str, *, code: str, status: int = 400) -> None:
        super().__init__(message, code=code)
        self.status = status


# ------------------------------------------------------------------------------ metadata


def issuer_metadata(ctx: ServiceContext) -> dict[str, Any]:
    """Credential issuer metadata (§12.2), served at ``/.well-known/openid-credential-issuer``."""
    base = ctx.base_url
    common = {
        "scope": "OpenBadgeCredential",
        "cryptographic_binding_methods_supported": BINDING_METHODS,
        "credential_signing_alg_values_supported": ["EdDSA"],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": list(ALGORITHMS)}},
    }
    display = [
        {"name": "Open Badge", "locale": "en"},
        {"name": "Insignia abierta", "locale": "es"},
    ]
    return {
        "credential_issuer": base,
        "credential_endpoint": f"{base}/oid4vci/credential",
        "nonce_endpoint": f"{base}/oid4vci/nonce",
        "display": [{"name": "badgeworks", "locale": "en"}, {"name": "badgeworks", "locale": "es"}],
        "credential_configurations_supported": {
            "OpenBadgeCredential_ldp_vc": {
                "format": "ldp_vc",
                **common,
                "credential_signing_alg_values_supported": ["eddsa-rdfc-2022", "eddsa-jcs-2022"],
                "credential_definition": {
                    "@context": CREDENTIAL_CONTEXT,
                    "type": CREDENTIAL_TYPES,
                },
                "credential_metadata": {"display": display},
            },
            "OpenBadgeCredential_jwt_vc_json": {
                "format": "jwt_vc_json",
                **common,
                "credential_definition": {"type": CREDENTIAL_TYPES},
                "credential_metadata": {"display": display},
            },
        },
    }


def authorization_server_metadata(ctx: ServiceContext) -> dict[str, Any]:
    """OAuth 2.0 authorization server metadata (RFC 8414) for the pre-authorized flow."""
    base = ctx.base_url
    return {
        "issuer": base,
        "token_endpoint": f"{base}/oid4vci/token",
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": True,
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
    }


# ------------------------------------------------------------------------------ settings


def pin_required(session: Session, issuer_id: int) -> bool:
    """Whether the issuer's offers need a PIN (sent to the candidate by email)."""
    row = session.get(WalletSetting, issuer_id)
    return bool(row and row.pin_required)


def set_pin_required(
    session: Session, issuer: Issuer, value: bool, *, actor: str, now: datetime
) -> bool:
    """Turn the issuer's PIN requirement on or off (with its audit event); the new value."""
    row = session.get(WalletSetting, issuer.id)
    if row is None:
        row = WalletSetting(issuer_id=issuer.id or 0, pin_required=value, updated_at=now)
    else:
        row.pin_required = value
        row.updated_at = now
    session.add(row)
    audit.commit(
        session,
        actor=actor,
        action="issuer.wallet_pin",
        issuer_id=issuer.id,
        target=f"issuer:{issuer.slug}",
        detail={"pin_required": value},
        now=now,
    )
    return value


# ------------------------------------------------------------------------------ offers


def _code_for(ctx: ServiceContext, offer_id: str) -> str:
    """The pre-authorized code of an offer: derived, so only its hash is ever stored."""
    mac = hmac.new(ctx.key_secret.encode("utf-8"), b"oid4vci.code:" + offer_id.encode(), "sha256")
    return b64url_encode(mac.digest())


def _pin_hash(salt: str, pin: str) -> str:
    return hashlib.sha256(f"{salt}:{pin}".encode()).hexdigest()


def offer_url(ctx: ServiceContext, offer_id: str) -> str:
    """Where a wallet fetches the offer (``credential_offer_uri``)."""
    return f"{ctx.base_url}/oid4vci/offers/{offer_id}"


def offer_link(ctx: ServiceContext, offer_id: str) -> str:
    """The ``openid-credential-offer://`` link a wallet opens (by reference, §4.1)."""
    return "openid-credential-offer://?credential_offer_uri=" + quote(
        offer_url(ctx, offer_id), safe=""
    )


@dataclass(frozen=True)
class MadeOffer:
    """An offer as the candidate sees it once: the link, its QR code, when it ends."""

    offer_id: str
    link: str
    url: str
    expires_at: datetime
    pin_required: bool

    @property
    def qr_data_uri(self) -> str:
        """The QR code as a ``data:`` URI a page can show without another request (drawn
        only when asked: the issuance email links its QR image instead)."""
        svg = qr.svg(self.link)
        return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


#: The PIN email, in English and Spanish.
PIN_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "subject": "Your wallet PIN: {achievement}",
        "body": "Hello {name},\n\nTo add your credential “{achievement}” from {issuer} to "
        "your wallet, enter this PIN when your wallet asks for it:\n\n{pin}\n\n"
        "It works once, until {until}. If you did not ask to add the credential to a "
        "wallet, ignore this message: without the offer shown to you, the PIN is of no use.",
    },
    "es": {
        "subject": "El PIN para tu cartera: {achievement}",
        "body": "Hola, {name}:\n\nPara añadir tu credencial «{achievement}» de {issuer} a tu "
        "cartera digital, escribe este PIN cuando la cartera te lo pida:\n\n{pin}\n\n"
        "Sirve una sola vez, hasta el {until}. Si no pediste añadir la credencial a una "
        "cartera, ignora este mensaje: sin la oferta que se te mostró, el PIN no sirve de nada.",
    },
}


def _language(session: Session, row: Credential) -> str:
    version = (
        session.get(AchievementVersion, row.achievement_version_id)
        if row.achievement_version_id
        else None
    )
    primary = ((version.in_language if version else None) or "").split("-", 1)[0].lower()
    return primary if primary in PIN_TEXT else "en"


def _queue_pin(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    candidate: Candidate,
    pin: str,
    expires_at: datetime,
    now: datetime,
) -> None:
    issuer = session.get(Issuer, row.issuer_id)
    version = (
        session.get(AchievementVersion, row.achievement_version_id)
        if row.achievement_version_id
        else None
    )
    lang = _language(session, row)
    fields = {
        "name": candidate.name,
        "achievement": version.name if version else row.id,
        "issuer": issuer.name if issuer else "",
        "pin": pin,
        "until": local_datetime(expires_at, lang),
    }
    words = PIN_TEXT[lang]
    body = words["body"].format(**fields)
    html = "".join(f"<p>{escape(p)}</p>" for p in body.split("\n\n"))
    outbox.enqueue(
        session,
        to=candidate.emails[0],
        subject=words["subject"].format(**fields),
        text=body + "\n",
        html=f'<div lang="{lang}">{html}</div>',
        issuer_id=row.issuer_id,
        reference=f"wallet_pin:{row.id}",
        now=now,
    )


def _refuse_withdrawn(session: Session, row: Credential) -> None:
    if standing(session, row).withdrawn:
        raise WalletError(
            "the issuer has revoked or suspended this credential; it cannot go to a wallet",
            code="credential_request_denied",
            status=400,
        )


def make_offer(
    session: Session,
    ctx: ServiceContext,
    row: Credential,
    *,
    lifetime: timedelta,
    now: datetime,
    commit: bool = True,
    fresh: bool = False,
) -> MadeOffer:
    """A new single-use offer of ``row`` (a credential issued to a candidate).

    With the issuer's PIN setting on, the PIN is queued by email to the candidate in the
    same unit of work (``commit=False`` leaves the commit to the caller: the issuance
    email queues its offer in the transaction that stores the credential, and says
    ``fresh``: a credential being stored is not withdrawn, so its standing is not read
    while the write lock is held).
    """
    candidate = session.get(Candidate, row.candidate_id) if row.candidate_id else None
    if candidate is None:
        raise NotFoundError(
            "only a credential issued to a candidate can go to a wallet",
            code="wallet.not_offered",
        )
    if not fresh:
        _refuse_withdrawn(session, row)
    offer_id = secrets.token_urlsafe(32)
    expires_at = now + lifetime
    with_pin = pin_required(session, row.issuer_id)
    if with_pin and not candidate.emails:
        # The PIN travels by email; without an address the program's rule cannot be kept.
        raise WalletError(
            "the program requires a PIN and the candidate has no email address to send it to",
            code="wallet.pin_unreachable",
            status=409,
        )
    pin = "".join(secrets.choice("0123456789") for _ in range(PIN_LENGTH)) if with_pin else None
    salt = secrets.token_hex(8) if pin else None
    offer = WalletOffer(
        offer_hash=hash_token(offer_id),
        code_hash=hash_token(_code_for(ctx, offer_id)),
        credential_id=row.id,
        issuer_id=row.issuer_id,
        candidate_id=candidate.id,
        pin_hash=_pin_hash(salt, pin) if pin and salt else None,
        pin_salt=salt,
        pin_length=PIN_LENGTH if pin else None,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(offer)
    if pin is not None:
        _queue_pin(session, ctx, row, candidate, pin, expires_at, now)
    if commit:
        session.commit()
    link = offer_link(ctx, offer_id)
    return MadeOffer(
        offer_id=offer_id,
        link=link,
        url=offer_url(ctx, offer_id),
        expires_at=expires_at,
        pin_required=pin is not None,
    )


def _live_offer(session: Session, offer_id: str, now: datetime) -> WalletOffer:
    row = (
        session.exec(
            select(WalletOffer).where(WalletOffer.offer_hash == hash_token(offer_id))
        ).first()
        if _OFFER_ID.match(offer_id)
        else None
    )
    if row is None or row.redeemed_at is not None or row.expires_at <= now:
        raise NotFoundError(
            "there is no such offer, or it was used or has expired", code="wallet.offer_gone"
        )
    return row


def offer_document(session: Session, ctx: ServiceContext, offer_id: str) -> dict[str, Any]:
    """The credential offer (§4.1.1) a wallet fetches by reference."""
    now = ctx.clock()
    row = _live_offer(session, offer_id, now)
    grant: dict[str, Any] = {"pre-authorized_code": _code_for(ctx, offer_id)}
    if row.pin_hash is not None:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": row.pin_length or PIN_LENGTH,
            "description": "Enter the PIN we emailed you / Escribe el PIN que te enviamos",
        }
    return {
        "credential_issuer": ctx.base_url,
        "credential_configuration_ids": list(CONFIGURATIONS),
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


def offer_qr_png(session: Session, ctx: ServiceContext, offer_id: str) -> bytes:
    """The QR code of a live offer's link, as a PNG (the issuance email shows it)."""
    _live_offer(session, offer_id, ctx.clock())
    return qr.png(offer_link(ctx, offer_id), scale=6)


def offer_for_candidate(
    session: Session,
    ctx: ServiceContext,
    email: str,
    credential_id: str,
) -> MadeOffer:
    """An offer of one of the signed-in candidate's credentials (``/me``)."""
    row = session.get(Credential, credential_id) if len(credential_id) <= 36 else None
    candidate = session.get(Candidate, row.candidate_id) if row and row.candidate_id else None
    if row is None or candidate is None or email not in (candidate.emails or []):
        raise NotFoundError(
            f"credential {credential_id!r:.60} is not yours", code="candidate.not_yours"
        )
    lifetime = timedelta(minutes=ctx.settings.wallet_offer_minutes)
    return make_offer(session, ctx, row, lifetime=lifetime, now=ctx.clock())


def email_offer(session: Session, ctx: ServiceContext, row: Credential, now: datetime) -> MadeOffer:
    """The offer an issuance email carries, made in the caller's transaction."""
    lifetime = timedelta(hours=ctx.settings.wallet_email_offer_hours)
    return make_offer(session, ctx, row, lifetime=lifetime, now=now, commit=False, fresh=True)


def offer_qr_url(ctx: ServiceContext, offer_id: str) -> str:
    """Where the QR code image of an offer is served (for email)."""
    return f"{offer_url(ctx, offer_id)}/qr.png"


# ------------------------------------------------------------------------------ token


def _secret(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_SECRET_CHARS:
        raise WalletError(f"the request has no usable {what}", code="invalid_request")
    return value


def redeem(
    session: Session, ctx: ServiceContext, *, grant_type: Any, code: Any, tx_code: Any
) -> dict[str, Any]:
    """The token endpoint (§6): a pre-authorized code (and PIN) for an access token, once."""
    if grant_type != PRE_AUTHORIZED_GRANT:
        raise WalletError(
            "only the pre-authorized code grant is supported", code="unsupported_grant_type"
        )
    code = _secret(code, "'pre-authorized_code'")
    now = ctx.clock()
    row = session.exec(select(WalletOffer).where(WalletOffer.code_hash == hash_token(code))).first()
    if row is None or row.redeemed_at is not None or row.expires_at <= now:
        raise WalletError(
            "the pre-authorized code is unknown, used or expired", code="invalid_grant"
        )
    if row.pin_failures >= MAX_PIN_ATTEMPTS:
        raise WalletError(
            "too many wrong PINs: this offer no longer works; make a new one",
            code="invalid_grant",
        )
    if row.pin_hash is None:
        if tx_code not in (None, ""):
            raise WalletError("this offer needs no transaction code", code="invalid_request")
    else:
        if tx_code in (None, ""):
            raise WalletError("this offer needs its transaction code (PIN)", code="invalid_request")
        pin = _secret(tx_code, "'tx_code'")
        if not hmac.compare_digest(_pin_hash(row.pin_salt or "", pin), row.pin_hash):
            table: Any = WalletOffer.__table__  # type: ignore[attr-defined]
            session.execute(
                update(table)
                .where(table.c.id == row.id)
                .values(pin_failures=table.c.pin_failures + 1)
            )
            session.commit()
            raise WalletError("the transaction code (PIN) is wrong", code="invalid_grant")
    token = secrets.token_urlsafe(32)
    table = WalletOffer.__table__  # type: ignore[attr-defined]
    # The compare-and-set: only the first redemption finds the offer unredeemed.
    claimed = session.execute(
        update(table)
        .where(
            table.c.id == row.id,
            table.c.redeemed_at.is_(None),
            table.c.expires_at > now,
            table.c.pin_failures < MAX_PIN_ATTEMPTS,
        )
        .values(
            redeemed_at=now,
            token_hash=hash_token(token),
            token_expires_at=now + ACCESS_TOKEN_LIFETIME,
        )
        .returning(table.c.id)
    ).first()
    if claimed is None:
        session.rollback()
        raise WalletError("the pre-authorized code was used already", code="invalid_grant")
    session.commit()
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


def _offer_of_token(session: Session, token: str | None, now: datetime) -> WalletOffer:
    if not token or len(token) > MAX_SECRET_CHARS:
        raise WalletError("the request has no access token", code="invalid_token", status=401)
    row = session.exec(
        select(WalletOffer).where(WalletOffer.token_hash == hash_token(token))
    ).first()
    if row is None or row.token_expires_at is None or row.token_expires_at <= now:
        raise WalletError(
            "the access token is unknown or has expired", code="invalid_token", status=401
        )
    return row


# ------------------------------------------------------------------------------ nonce


def new_nonce(session: Session, ctx: ServiceContext) -> str:
    """The nonce endpoint (§7): a fresh ``c_nonce``; expired ones are cleared meanwhile."""
    now = ctx.clock()
    nonce = secrets.token_urlsafe(32)
    session.execute(delete(WalletNonce).where(col(WalletNonce.expires_at) <= now))
    session.add(WalletNonce(nonce_hash=hash_token(nonce), expires_at=now + NONCE_LIFETIME))
    session.commit()
    return nonce


def _use_nonce(session: Session, nonce: str, now: datetime) -> None:
    table: Any = WalletNonce.__table__  # type: ignore[attr-defined]
    used = session.execute(
        delete(table)
        .where(table.c.nonce_hash == hash_token(nonce), table.c.expires_at > now)
        .returning(table.c.id)
    ).first()
    if used is None:
        session.rollback()
        raise WalletError(
            "the proof's nonce is not one we handed out, was used already or has expired; "
            "ask the nonce endpoint for a new one",
            code="invalid_nonce",
        )
    session.commit()


# ------------------------------------------------------------------------------ credential


def _proof_jwt(body: dict[str, Any]) -> str:
    """The one ``jwt`` proof of a credential request (``proofs`` or the older ``proof``)."""
    proofs, proof = body.get("proofs"), body.get("proof")
    if proofs is not None and proof is not None:
        raise WalletError(
            "the request has both 'proofs' and 'proof'", code="invalid_credential_request"
        )
    if proofs is not None:
        if not isinstance(proofs, dict) or set(proofs) != {"jwt"}:
            raise WalletError(
                "'proofs' must hold exactly one proof type, 'jwt'", code="invalid_proof"
            )
        items = proofs["jwt"]
        if not isinstance(items, list) or len(items) != 1:
            raise WalletError("'proofs.jwt' must be a list of one proof", code="invalid_proof")
        return str(items[0]) if isinstance(items[0], str) else ""
    if isinstance(proof, dict):
        if proof.get("proof_type") != "jwt" or not isinstance(proof.get("jwt"), str):
            raise WalletError("'proof' must be a 'jwt' proof", code="invalid_proof")
        return str(proof["jwt"])
    raise WalletError("the request has no key proof", code="invalid_proof")


def _format_of(body: dict[str, Any]) -> str:
    config = body.get("credential_configuration_id")
    if config is None and "format" in body:
        # Older drafts named the format instead of a configuration.
        formats = {v: k for k, v in CONFIGURATIONS.items()}
        if body["format"] not in formats:
            raise WalletError(
                f"we do not issue the format {str(body['format'])[:40]!r}",
                code="unsupported_credential_format",
            )
        config = formats[body["format"]]
    if "credential_identifier" in body:
        raise WalletError(
            "we issue by 'credential_configuration_id', not 'credential_identifier'",
            code="invalid_credential_request",
        )
    if not isinstance(config, str) or config not in CONFIGURATIONS:
        raise WalletError(
            f"unknown credential configuration {str(config)[:60]!r}; offered: "
            + ", ".join(CONFIGURATIONS),
            code="unknown_credential_configuration",
        )
    return CONFIGURATIONS[config]


def _wallet_copy(hosted: dict[str, Any], holder: HolderKey) -> dict[str, Any]:
    """The hosted credential's claims, bound to the wallet: a new id, the wallet's DID."""
    document = {k: v for k, v in hosted.items() if k != "proof"}
    document["id"] = f"urn:uuid:{uuid.uuid4()}"
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise WalletError(
            "this credential cannot be bound to a wallet", code="credential_request_denied"
        )
    document["credentialSubject"] = {
        "id": holder.did,
        **{k: v for k, v in subject.items() if k != "id"},
    }
    return document


def _seconds(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(parse_xsd_datetime(value).timestamp())
    except ValueError:
        return None


def _vc_jwt(
    session: Session, ctx: ServiceContext, issuer: Issuer, document: dict[str, Any], now: datetime
) -> str:
    """The OB 3.0 VC-JWT (§8.2) of ``document``, signed EdDSA with the issuer's key."""
    check_credential(document)
    problems = schema_problems(document, ctx.schemas())
    if problems:
        raise problems[0]
    key = signing_key(session, ctx, issuer)
    claims: dict[str, Any] = {"iss": issuer.did, "jti": document["id"], "iat": int(now.timestamp())}
    claims["sub"] = document["credentialSubject"]["id"]
    nbf = _seconds(document.get("validFrom"))
    if nbf is not None:
        claims["nbf"] = nbf
    exp = _seconds(document.get("validUntil"))
    if exp is not None:
        claims["exp"] = exp
    header = {"alg": "EdDSA", "typ": "JWT", "kid": key.id}

    def part(value: dict[str, Any]) -> str:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return b64url_encode(text.encode("utf-8"))

    signing_input = f"{part(header)}.{part({**document, **claims})}"
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode('ascii')))}"


def issue(
    session: Session, ctx: ServiceContext, *, access_token: str | None, body: Any
) -> dict[str, Any]:
    """The credential endpoint (§8): check the token, request and proof; sign and store."""
    now = ctx.clock()
    offer = _offer_of_token(session, access_token, now)
    if not isinstance(body, dict):
        raise WalletError(
            "the credential request is not a JSON object", code="invalid_credential_request"
        )
    fmt = _format_of(body)
    proof = _proof_jwt(body)
    try:
        holder = holder_key(proof, audience=ctx.base_url, now=now)
    except HolderProofError as exc:
        raise WalletError(f"the key proof is refused: {exc.message}", code=exc.code) from None
    _use_nonce(session, holder.nonce, now)
    hosted = session.get(Credential, offer.credential_id)
    issuer = session.get(Issuer, offer.issuer_id)
    if hosted is None or issuer is None:
        raise WalletError("the credential is gone", code="credential_request_denied")
    _refuse_withdrawn(session, hosted)
    taken = session.exec(
        select(WalletCredential.id).where(
            WalletCredential.offer_id == offer.id, WalletCredential.format == fmt
        )
    ).first()
    if taken is not None:
        raise WalletError(
            "this offer's credential was issued in this format already",
            code="credential_request_denied",
        )
    document = _wallet_copy(json.loads(hosted.document), holder)
    if fmt == "ldp_vc":
        key = signing_key(session, ctx, issuer)
        cryptosuite = issuer.cryptosuite
        session.commit()  # signing holds no connection
        signed: Any = sign_credential(
            document, key, ctx.loader, now=now, schemas=ctx.schemas(), cryptosuite=cryptosuite
        )
        text = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
    else:
        signed = _vc_jwt(session, ctx, issuer, document, now)
        session.commit()
        text = signed
    wallet_id = document["id"].removeprefix("urn:uuid:")
    audit.record(
        session,
        actor="wallet",
        action="credential.wallet_issue",
        issuer_id=issuer.id,
        target=f"credential:{hosted.id}",
        detail={"format": fmt, "wallet_credential": wallet_id, "holder": holder.did[:200]},
        now=now,
    )
    session.add(
        WalletCredential(
            id=wallet_id,
            credential_id=hosted.id,
            offer_id=offer.id or 0,
            format=fmt,
            holder=holder.did,
            document=text,
            issued_at=now,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise WalletError(
            "this offer's credential was issued in this format already",
            code="credential_request_denied",
        ) from None
    return {"credentials": [{"credential": signed}]}


def wallet_copies(session: Session, credential_id: str) -> list[WalletCredential]:
    """The credentials issued to wallets for one hosted credential, oldest first."""
    return list(
        session.exec(
            select(WalletCredential)
            .where(WalletCredential.credential_id == credential_id)
            .order_by(col(WalletCredential.issued_at), col(WalletCredential.id))
        )
    )
