"""Credential lifecycle: revoke, suspend, unsuspend, re-issue (correct) and expire.

Signed credentials never change (docs/architecture.md, "Conventions the service follows");
what changes is their status:

- **revoke** sets the credential's bit in its issuer's revocation list (permanent);
- **suspend** / **unsuspend** set and clear its bit in the suspension list;
- **reissue** signs a replacement (a new id, new status entries) and revokes the old one
  with reason ``superseded``; the old one's page links to the replacement;
- **expire** is a re-issue whose replacement carries ``validUntil`` (default: now). Expiry
  that is known at issuance comes from the achievement's ``default_validity_days``.

A revocation may name one of the reason codes the credential's own revocation entry
lists (``services/lifecycle/reasons.py``): that code is written at its index, and its
message becomes the public reason, so the page, the public state and every verifier say
the same words.

Each operation takes a reason, which is public (the hosted page shows it), writes a
``StatusChange`` row and an audit event, and flips the bit and re-signs the list in the
same transaction (``status_lists.set_bit``). Each first locks the lists it changes
(``status_lists.lock_for_change``), before it reads the state it decides on, so
simultaneous changes serialise: each lands in the signed list or fails, none is lost.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from badgeworks.core import credential as ob
from badgeworks.core.errors import CredentialError
from badgeworks.db.models import Credential, Issuer, Revocation
from badgeworks.db.status import StatusChange
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError, ValidationFailed
from badgeworks.services.infra import audit
from badgeworks.services.lifecycle import reasons, status_lists

SUPERSEDED = "superseded"


@dataclass(frozen=True)
class CredentialState:
    """Where a credential stands now (read from the status bits and the history)."""

    id: str
    url: str
    revoked: bool
    revoked_at: datetime | None
    revocation_reason: str | None
    #: The reason code written at the credential's index (None: a plain revocation).
    revocation_code: int | None
    suspended: bool
    suspension_reason: str | None
    superseded_by: str | None
    superseded_by_url: str | None
    replaces: str | None
    valid_until: str | None
    expired: bool
    status_entries: list[str]

    def as_dict(self) -> dict[str, Any]:
        """The JSON the API returns."""
        return {
            "id": self.id,
            "url": self.url,
            "status": self.label,
            "revoked": self.revoked,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revocation_reason": self.revocation_reason,
            "revocation_code": self.revocation_code,
            "suspended": self.suspended,
            "suspension_reason": self.suspension_reason,
            "superseded_by": self.superseded_by_url,
            "replaces": self.replaces,
            "valid_until": self.valid_until,
            "expired": self.expired,
            "status_entries": self.status_entries,
        }

    @property
    def label(self) -> str:
        """One word: ``superseded``, ``revoked``, ``suspended``, ``expired`` or ``active``."""
        if self.superseded_by:
            return "superseded"
        if self.revoked:
            return "revoked"
        if self.suspended:
            return "suspended"
        if self.expired:
            return "expired"
        return "active"


def credential_url(ctx: ServiceContext, credential_id: str) -> str:
    """The hosted URL of a credential."""
    return f"{ctx.base_url}/credentials/{credential_id}"


def own_credential(session: Session, issuer: Issuer, credential_id: str) -> Credential:
    """``issuer``'s credential ``credential_id``; 404 for unknown and foreign ones alike."""
    from badgeworks.services.issuance.completion import get_credential

    row = get_credential(session, credential_id)
    if row.issuer_id != issuer.id:
        raise NotFoundError(
            f"there is no credential {credential_id!r:.60}", code="credential.not_found"
        )
    return row


def _last(session: Session, credential_id: str, *actions: str) -> StatusChange | None:
    return session.exec(
        select(StatusChange)
        .where(StatusChange.credential_id == credential_id, col(StatusChange.action).in_(actions))
        .order_by(col(StatusChange.id).desc())
    ).first()


def state(session: Session, ctx: ServiceContext, row: Credential) -> CredentialState:
    """The current state of a credential."""
    document = json.loads(row.document)
    rev = session.exec(select(Revocation).where(Revocation.credential_id == row.id)).first()
    suspended = status_lists.current_value(session, row.id, "suspension") == 1
    suspend_change = _last(session, row.id, "suspend") if suspended else None
    replaced = session.exec(
        select(StatusChange).where(
            StatusChange.credential_id == row.id, col(StatusChange.replaced_by).is_not(None)
        )
    ).first()
    replaces = session.exec(
        select(StatusChange.credential_id).where(StatusChange.replaced_by == row.id)
    ).first()
    valid_until = document.get("validUntil", document.get("expirationDate"))
    expired = False
    if isinstance(valid_until, str):
        try:
            expired = ob.parse_xsd_datetime(valid_until) < ctx.clock()
        except (ValueError, TypeError, CredentialError):
            expired = False
    entries = status_lists.entries_of(session, row.id)
    revocation_reason = rev.reason if rev else None
    if replaced is not None and replaced.reason:
        revocation_reason = replaced.reason
    return CredentialState(
        id=row.id,
        url=credential_url(ctx, row.id),
        revoked=rev is not None,
        revoked_at=rev.revoked_at if rev else None,
        revocation_reason=revocation_reason,
        revocation_code=rev.reason_code if rev else None,
        suspended=suspended,
        suspension_reason=suspend_change.reason if suspend_change else None,
        superseded_by=replaced.replaced_by if replaced else None,
        superseded_by_url=(
            credential_url(ctx, replaced.replaced_by)
            if replaced is not None and replaced.replaced_by
            else None
        ),
        replaces=credential_url(ctx, replaces) if replaces else None,
        valid_until=valid_until if isinstance(valid_until, str) else None,
        expired=expired,
        status_entries=entries,
    )


def _clash(what: str) -> ConflictError:
    """What ``what`` raises when it clashes with a concurrent change."""
    return ConflictError(
        f"{what} clashed with a concurrent change; reload and retry",
        code="status.concurrent_change",
    )


def _commit(session: Session, what: str) -> None:
    audit.save(session, conflict=_clash(what), before=status_lists.run_before_commit_hook)


def _record(
    session: Session,
    issuer: Issuer,
    credential_id: str,
    action: str,
    reason: str,
    actor: str,
    replaced_by: str | None = None,
    *,
    now: datetime,
) -> None:
    session.add(
        StatusChange(
            credential_id=credential_id,
            action=action,
            reason=reason[:500],
            actor=actor[:200],
            replaced_by=replaced_by,
            at=now,
        )
    )
    detail: dict[str, Any] = {"reason": reason}
    if replaced_by:
        detail["replaced_by"] = replaced_by
    audit.record(
        session,
        actor=actor,
        action=f"credential.{action}",
        issuer_id=issuer.id,
        target=f"credential:{credential_id}",
        detail=detail,
        now=now,
    )


def revocation_value(row: Credential, code: int | None, reason: str) -> tuple[int, str]:
    """The value a revocation of ``row`` writes, and its public reason.

    Without a code (or with code 1) the value is 1 and the reason is the one given. With
    one of the codes the credential's signed entry lists, the value is the code and the
    reason is its message; a reason written beside it is refused, so the two can never
    disagree. ``reasons.RevocationRefused`` otherwise.
    """
    if code is None or code == 1:
        return 1, reason
    codes = reasons.codes_of(row)
    if code not in codes:
        raise reasons.RevocationRefused(
            "unknown_reason_code",
            code=str(code)[:20],
            codes=", ".join(f'{c} ("{m}")' for c, m in codes.items()),
        )
    if reason.strip() and reason.strip() != codes[code]:
        raise reasons.RevocationRefused("reason_with_code")
    return code, codes[code]


def _revoke_in_session(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    row: Credential,
    *,
    reason: str,
    actor: str,
    code: int | None = None,
) -> str:
    """Revoke ``row`` (value 1, or ``code``); returns the public reason recorded."""
    existing = session.exec(select(Revocation).where(Revocation.credential_id == row.id)).first()
    if existing is not None:
        raise ConflictError(
            f"credential {row.id} is already revoked (revocation is permanent)",
            code="status.already_revoked",
        )
    value, reason = revocation_value(row, code, reason)
    if status_lists.entry_for(session, row.id, "revocation") is not None:
        status_lists.set_bit(session, ctx, issuer, row.id, "revocation", value)
    session.add(
        Revocation(
            credential_id=row.id,
            reason=reason[:500],
            reason_code=value if value > 1 else None,
            actor=actor[:200],
            revoked_at=ctx.clock(),
        )
    )
    return reason


def _is_revoked(session: Session, credential_id: str) -> bool:
    return (
        session.exec(select(Revocation.id).where(Revocation.credential_id == credential_id)).first()
        is not None
    )


def _set_suspension(
    session: Session, ctx: ServiceContext, issuer: Issuer, row: Credential, bit: int
) -> None:
    """Set (1) or clear (0) the suspension bit, refusing what cannot or need not change."""
    action = "suspend" if bit else "unsuspend"
    if _is_revoked(session, row.id):
        raise ConflictError(
            f"credential {row.id} is revoked; revocation is permanent, so it cannot be {action}ed",
            code="status.revoked",
        )
    if status_lists.entry_for(session, row.id, "suspension") is None:
        raise ConflictError(
            f"credential {row.id} has no suspension status entry, so it cannot be {action}ed. "
            "Open Badges 3.0 credentials carry one credentialStatus (revocation); revoke it "
            "or re-issue it instead",
            code="status.suspension_unsupported",
        )
    suspended = status_lists.current_value(session, row.id, "suspension") == 1
    if suspended and bit:
        raise ConflictError(
            f"credential {row.id} is already suspended", code="status.already_suspended"
        )
    if not suspended and not bit:
        raise ConflictError(f"credential {row.id} is not suspended", code="status.not_suspended")
    status_lists.set_bit(session, ctx, issuer, row.id, "suspension", bit)


@dataclass(frozen=True)
class StatusOperation:
    """A change of a credential's status bit that keeps the credential itself.

    Called like a function: it locks the list it changes, checks and flips the bit,
    records the change and commits, or raises and changes nothing.
    """

    action: str
    purpose: str
    bit: int
    what: str

    def __call__(
        self,
        session: Session,
        ctx: ServiceContext,
        issuer: Issuer,
        credential_id: str,
        *,
        reason: str,
        actor: str,
        reason_code: int | None = None,
    ) -> Credential:
        row = own_credential(session, issuer, credential_id)
        if reason_code is not None and self.purpose != "revocation":
            raise ValidationFailed(
                f"a reason code applies to revocations only, not to {self.what}",
                code="status.reason_code_unsupported",
            )
        if reason_code is not None:
            # Refused before any lock is taken: a code the credential cannot carry.
            revocation_value(row, reason_code, reason)
        status_lists.lock_for_change(session, None, [row.id], (self.purpose,))
        if self.purpose == "revocation":
            reason = _revoke_in_session(
                session, ctx, issuer, row, reason=reason, actor=actor, code=reason_code
            )
        else:
            _set_suspension(session, ctx, issuer, row, self.bit)
        _record(session, issuer, row.id, self.action, reason, actor, now=ctx.clock())
        _commit(session, self.what)
        return row


#: Revoke a credential for good: set its revocation bit and re-sign the list. A credential
#: issued before status lists existed has no entry; its revocation is recorded (and shown
#: on its page) but verifiers elsewhere cannot see it.
revoke = StatusOperation("revoke", "revocation", 1, "the revocation")
#: Suspend a credential (reversible with ``unsuspend``).
suspend = StatusOperation("suspend", "suspension", 1, "the suspension")
#: Lift a suspension.
unsuspend = StatusOperation("unsuspend", "suspension", 0, "lifting the suspension")


def _replacement_document(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    row: Credential,
    new_id: str,
    valid_until: datetime | None,
) -> dict[str, Any]:
    """The unsigned replacement: rebuilt from the project, or copied for VC-API ones."""
    from badgeworks.services.exchange import vcapi
    from badgeworks.services.issuance import completion as issuance

    old = json.loads(row.document)
    valid_from_text = old.get("validFrom")
    project_id = issuance.project_of(session, row)
    if project_id is not None and isinstance(valid_from_text, str):
        # A correction reflects the current project, candidate and achievement, but keeps
        # the date the achievement was earned.
        valid_from = ob.parse_xsd_datetime(valid_from_text)
        return issuance.rebuild_for_project(
            session,
            ctx,
            issuer,
            project_id,
            credential_id=new_id,
            valid_from=valid_from,
            valid_until=valid_until,
            purposes=status_lists.OB_PURPOSES,
        )
    unsigned = {k: v for k, v in old.items() if k not in ("proof", "credentialStatus")}
    if valid_until is not None:
        name = "expirationDate" if "issuanceDate" in unsigned else "validUntil"
        unsigned[name] = ob.xsd_datetime(valid_until)
    return vcapi.prepare(session, ctx, issuer, unsigned, credential_id=new_id, keep_id=False)


def reissue(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    credential_id: str,
    *,
    reason: str,
    actor: str,
    valid_until: datetime | None = None,
    action: str = "reissue",
) -> Credential:
    """Sign a replacement for a credential and revoke the old one as ``superseded``.

    A project's credential is rebuilt from the project's current data (the way to correct
    a name, a result or an achievement edited since); any other credential is copied.
    Returns the new credential.
    """
    from badgeworks.services.exchange import vcapi
    from badgeworks.services.issuance import completion as issuance

    row = own_credential(session, issuer, credential_id)
    # The old credential's revocation list is locked before the replacement claims its
    # entries (which, on PostgreSQL, share-lock the lists it claims in).
    status_lists.lock_for_change(session, None, [row.id], ("revocation",))
    if _is_revoked(session, row.id):
        raise ConflictError(
            f"credential {row.id} is revoked (or was already replaced); re-issue its "
            "replacement instead",
            code="status.revoked",
        )
    old = json.loads(row.document)
    if valid_until is not None:
        start = old.get("validFrom", old.get("issuanceDate"))
        if isinstance(start, str) and ob.parse_xsd_datetime(start) >= valid_until:
            raise ValidationFailed(
                f"valid_until {valid_until.isoformat()} is not after the credential's "
                f"validFrom {start}",
                code="credential.validity_order",
            )
    new_id = str(uuid.uuid4())
    unsigned = _replacement_document(session, ctx, issuer, row, new_id, valid_until)
    signed = vcapi.sign(session, ctx, issuer, unsigned)
    replacement = Credential(
        id=new_id,
        issuer_id=issuer.id or 0,
        project_id=None,
        candidate_id=row.candidate_id,
        achievement_version_id=(
            issuance.current_version_id(session, row) or row.achievement_version_id
        ),
        document=issuance.serialize(signed),
        issued_at=ctx.clock(),
    )
    session.add(replacement)
    _revoke_in_session(session, ctx, issuer, row, reason=SUPERSEDED, actor=actor)
    _record(session, issuer, row.id, action, reason, actor, replaced_by=new_id, now=ctx.clock())
    audit.commit(
        session,
        actor=actor,
        action="credential.issue",
        issuer_id=issuer.id,
        target=f"credential:{new_id}",
        detail={"replaces": row.id, "reason": reason},
        now=ctx.clock(),
        refresh=[replacement],
        conflict=_clash("the re-issue"),
        before=status_lists.run_before_commit_hook,
    )
    return replacement


def expire(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    credential_id: str,
    *,
    reason: str,
    actor: str,
    at: datetime | None = None,
) -> Credential:
    """End a credential's validity at ``at`` (default now): a re-issue with ``validUntil``."""
    return reissue(
        session,
        ctx,
        issuer,
        credential_id,
        reason=reason,
        actor=actor,
        valid_until=at or ctx.clock(),
        action="expire",
    )


def history(session: Session, credential_id: str) -> list[StatusChange]:
    """Every lifecycle change of a credential, oldest first."""
    return list(
        session.exec(
            select(StatusChange)
            .where(StatusChange.credential_id == credential_id)
            .order_by(col(StatusChange.id))
        )
    )
