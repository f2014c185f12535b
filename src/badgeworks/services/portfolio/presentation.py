"""A portfolio's credentials as one unsigned Verifiable Presentation (``presentation.json``).

The documents are the stored signed JSON, unchanged; ``holder`` is the candidate's DID
when they have one. The public verifier accepts the presentation as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from badgeworks.db.models import Candidate
from badgeworks.db.portfolio import Portfolio
from badgeworks.services.errors import NotFoundError
from badgeworks.services.portfolio.store import listed_credentials
from badgeworks.services.verification.pipeline import create_presentation


def for_portfolio(
    session: Session, portfolio: Portfolio, wanted: Sequence[str] | None = None
) -> dict[str, Any]:
    """The listed credentials (or the ``wanted`` ids among them, in that order, once each)
    as a presentation; an id the portfolio does not list is ``credential.not_found``."""
    listed = listed_credentials(session, portfolio)
    if wanted:
        by_id = {c.id: c for c in listed}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise NotFoundError(
                f"this portfolio shows no credential {missing[0]!r:.80}",
                code="credential.not_found",
            )
        listed = [by_id[i] for i in dict.fromkeys(wanted)]
    documents: list[Any] = [json.loads(c.document) for c in listed]
    candidate = session.get(Candidate, portfolio.candidate_id)
    return create_presentation(documents, holder=candidate.did if candidate else None)
