"""Candidates (recipients). Emails never go into a credential in clear: they are hashed
with the candidate's own random salt (OB 3.0 IdentityObject)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from badgeworks.db.models import Candidate, Issuer
from badgeworks.db.portfolio import Portfolio, default_handle
from badgeworks.services.errors import ValidationFailed
from badgeworks.services.infra import audit, ownership, pagination
from badgeworks.services.infra.pagination import Page
from badgeworks.services.programs.models import CandidateCreate, CandidatePublic, CandidateUpdate


def _check_identity(emails: list[str], did: str | None) -> None:
    if not emails and not did:
        raise ValidationFailed(
            "a candidate needs at least one email address or a DID, so the credential can "
            "name its recipient",
            code="candidate.no_identity",
        )


def create_candidate(
    session: Session, issuer: Issuer, data: CandidateCreate, *, actor: str, now: datetime
) -> Candidate:
    """Create a candidate with a fresh random salt."""
    emails = [e.lower() for e in data.emails]
    _check_identity(emails, data.did)
    candidate = Candidate(
        issuer_id=issuer.id or 0,
        name=data.name,
        emails=emails,
        did=data.did,
        salt=secrets.token_hex(16),
        created_at=now,
    )
    session.add(candidate)
    session.flush()
    # The portfolio exists from the start (unlisted, unguessable handle), so its link is
    # stable from the first time anyone reads it.
    session.add(
        Portfolio(
            candidate_id=candidate.id or 0, handle=default_handle(), created_at=now, updated_at=now
        )
    )
    audit.commit(
        session,
        actor=actor,
        action="candidate.create",
        issuer_id=issuer.id,
        target=f"candidate:{candidate.id}",
        now=now,
        refresh=[candidate],
    )
    return candidate


def get_candidate(session: Session, issuer_id: int, candidate_id: int) -> Candidate:
    """A candidate of ``issuer_id``; another issuer's looks like a missing one."""
    return ownership.issuer_row(session, Candidate, candidate_id, issuer_id, "candidate")


def find_by_email(session: Session, issuer: Issuer, email: str) -> Candidate | None:
    """The issuer's first candidate with ``email`` (used by bulk issuance)."""
    email = email.lower()
    stmt = select(Candidate).where(Candidate.issuer_id == issuer.id).order_by(col(Candidate.id))
    for candidate in session.exec(stmt):
        if email in candidate.emails:
            return candidate
    return None


def _listed(issuer: Issuer) -> SelectOfScalar[Candidate]:
    """The issuer's candidates by id: the one query their list and its total read."""
    return select(Candidate).where(Candidate.issuer_id == issuer.id).order_by(col(Candidate.id))


def list_candidates(
    session: Session, issuer: Issuer, *, limit: int = 100, offset: int = 0
) -> list[Candidate]:
    """The issuer's candidates by id."""
    return list(session.exec(_listed(issuer).offset(offset).limit(limit)))


def page_of_candidates(
    session: Session, issuer: Issuer, *, limit: int, offset: int
) -> Page[Candidate]:
    """One page of the issuer's candidates, and how many there are."""
    return pagination.page(session, _listed(issuer), limit=limit, offset=offset)


def update_candidate(
    session: Session, candidate: Candidate, data: CandidateUpdate, *, actor: str, now: datetime
) -> Candidate:
    """Edit a candidate (credentials already issued keep the identity they were issued to)."""
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        # The column is required: null cannot mean "remove" here.
        raise ValidationFailed(
            "name: must not be null; send a name, or leave the field out to keep the current one",
            code="candidate.name_required",
        )
    if "emails" in changes and changes["emails"] is not None:
        changes["emails"] = [e.lower() for e in changes["emails"]]
    for name, value in changes.items():
        if name == "emails" and value is None:
            value = []
        setattr(candidate, name, value)
    _check_identity(candidate.emails, candidate.did)
    session.add(candidate)
    audit.commit(
        session,
        actor=actor,
        action="candidate.update",
        issuer_id=candidate.issuer_id,
        target=f"candidate:{candidate.id}",
        detail={"fields": sorted(changes)},
        now=now,
        refresh=[candidate],
    )
    return candidate


def to_public(issuer: Issuer, candidate: Candidate) -> CandidatePublic:
    """The API view of a candidate (the salt stays private)."""
    return CandidatePublic(
        id=candidate.id or 0,
        issuer=issuer.slug,
        name=candidate.name,
        emails=list(candidate.emails),
        did=candidate.did,
        created_at=candidate.created_at,
    )
