"""Whether the issuer has withdrawn a credential: revoked or suspended, since when, and why.

Every picture of a credential (its page, its PDF certificate, its baked images, its link
previews) asks this first, so a revoked or suspended credential never looks valid
anywhere. The reason is the one staff gave with the change, which is public
(``services/lifecycle/changes.py``). A superseded credential is revoked: its reason is
the one given for the re-issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session, col, select

from badgeworks.db.models import Credential, Revocation
from badgeworks.db.status import StatusChange
from badgeworks.services.lifecycle import status_lists

Withdrawal = Literal["revoked", "suspended"]


@dataclass(frozen=True)
class Standing:
    """``state`` is None while the issuer stands by the credential."""

    state: Withdrawal | None = None
    since: datetime | None = None
    reason: str | None = None

    @property
    def withdrawn(self) -> bool:
        """True when the credential is revoked or suspended."""
        return self.state is not None


def standing(session: Session, row: Credential) -> Standing:
    """Where ``row`` stands now, read from its revocation row and its suspension bit."""
    rev = session.exec(select(Revocation).where(Revocation.credential_id == row.id)).first()
    if rev is not None:
        reissue = session.exec(
            select(StatusChange).where(
                StatusChange.credential_id == row.id, col(StatusChange.replaced_by).is_not(None)
            )
        ).first()
        reason = reissue.reason if reissue is not None and reissue.reason else rev.reason
        return Standing("revoked", rev.revoked_at, reason or None)
    if status_lists.current_value(session, row.id, "revocation"):
        # The signed list says revoked (set by a repair or another process): so do we.
        return Standing("revoked")
    if status_lists.current_value(session, row.id, "suspension") == 1:
        change = session.exec(
            select(StatusChange)
            .where(StatusChange.credential_id == row.id, StatusChange.action == "suspend")
            .order_by(col(StatusChange.id).desc())
        ).first()
        return Standing(
            "suspended",
            change.at if change is not None else None,
            (change.reason or None) if change is not None else None,
        )
    return Standing()
