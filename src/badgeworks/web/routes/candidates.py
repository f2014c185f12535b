"""``/api/v1/.../candidates``: recipients."""

from __future__ import annotations

from fastapi import APIRouter

from badgeworks.services.programs import candidates
from badgeworks.services.programs.models import CandidateCreate, CandidatePublic, CandidateUpdate
from badgeworks.web.deps import ContextDep, Id, PageDep, PrincipalDep, SessionDep
from badgeworks.web.pagination import send_page

router = APIRouter(prefix="/api/v1", tags=["candidates"])


@router.post("/issuers/{slug}/candidates", response_model=CandidatePublic, status_code=201)
def create_candidate(
    slug: str, data: CandidateCreate, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> CandidatePublic:
    """Create a candidate (needs an email address or a DID)."""
    issuer = who.issuer_for(slug)
    return candidates.to_public(
        issuer,
        candidates.create_candidate(session, issuer, data, actor=who.actor, now=ctx.clock()),
    )


@router.get("/issuers/{slug}/candidates", response_model=list[CandidatePublic])
def list_candidates(
    slug: str, paging: PageDep, session: SessionDep, who: PrincipalDep
) -> list[CandidatePublic]:
    """The issuer's candidates."""
    issuer = who.issuer_for(slug)
    page = candidates.page_of_candidates(session, issuer, **paging.window)
    return [candidates.to_public(issuer, c) for c in send_page(paging, page)]


@router.get("/candidates/{candidate_id}", response_model=CandidatePublic)
def get_candidate(candidate_id: Id, session: SessionDep, who: PrincipalDep) -> CandidatePublic:
    """One candidate."""
    return candidates.to_public(
        who.issuer, candidates.get_candidate(session, who.issuer_id, candidate_id)
    )


@router.patch("/candidates/{candidate_id}", response_model=CandidatePublic)
def update_candidate(
    candidate_id: Id,
    data: CandidateUpdate,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> CandidatePublic:
    """Edit a candidate."""
    candidate = candidates.get_candidate(session, who.issuer_id, candidate_id)
    return candidates.to_public(
        who.issuer,
        candidates.update_candidate(session, candidate, data, actor=who.actor, now=ctx.clock()),
    )
