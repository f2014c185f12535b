"""The issue preview: the credential a draft project's completion will sign, before it is
signed, as an employer will see it.

The unsigned credential is built by the same functions ``complete_project`` calls
(``build_credential`` and ``endorsements.attach``), and read for people by the same reader
as the credential page (``core.reading.read_credential``); the console renders it with the
credential page's own partial (``templates/_credential_facts.html``). What a preview cannot
show yet is left out: the status-list entry and the signature are added at signing, and
the live status, downloads and sharing exist once the credential does.

The id is decided here, not at signing: the preview reserves it for the project (the same
``CredentialReservation`` a mentor's invitation makes, which ``complete_project`` signs
under), so the id and URL the preview shows are the ones the credential gets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from badgeworks.core.reading import CredentialView, EndorsementView, read_credential, safe_link
from badgeworks.db.endorsements import CredentialReservation
from badgeworks.db.models import Candidate, Issuer, Project
from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements import workflow as endorsements
from badgeworks.services.endorsements.markdown import render as render_markdown
from badgeworks.services.errors import ConflictError
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.portfolio.cards import evidence_items
from badgeworks.services.portfolio.store import display_name, find_for_candidate, item_visibility
from badgeworks.services.programs import achievements, candidates, projects
from badgeworks.services.verification import pipeline
from badgeworks.services.verification.resolver import reading_with


@dataclass(frozen=True)
class IssuePreview:
    """What the issue page shows: the unsigned credential and its card."""

    #: The id the credential will be signed with, and its URL.
    credential_id: str
    url: str
    #: The unsigned credential, as ``complete_project`` would sign it now.
    document: dict[str, Any]
    #: What the credential page's partial shows (the keys of the credential page's card).
    card: dict[str, Any]


def reserve_credential_id(session: Session, ctx: ServiceContext, project: Project) -> str:
    """The id ``project``'s credential will be signed with, reserved now if it was not.

    Both ways of completing a project sign under the reserved id. Reserving is idempotent
    (a second preview finds the first one's id); two first previews at once both end
    with the one that committed.
    """
    found = session.get(CredentialReservation, project.id)
    if found is not None:
        return found.credential_id
    try:
        # The reservation is flushed (and a clash raised) inside, then committed here.
        credential_id = endorsements.reserve_credential_id(session, project, ctx.clock())
        session.commit()
    except IntegrityError:
        session.rollback()
        again = session.get(CredentialReservation, project.id)
        if again is None:  # pragma: no cover - the clash was not on this project's row
            raise ConflictError(
                f"could not reserve a credential id for project {project.id}; retry",
                code="project.busy",
            ) from None
        return again.credential_id
    return credential_id


def _endorsement(item: EndorsementView, verified: bool, message: str | None) -> dict[str, Any]:
    endorser = item.endorser
    return {
        "id": item.id,
        "href": item.url,
        "embedded": True,
        "verified": verified,
        "message": message,
        "quote": item.comment,
        "quote_html": render_markdown(item.comment),
        "by": endorser.name or endorser.id or "",
        "by_url": endorser.url,
        "title": endorser.description,
        "organization": endorser.organization,
        "organization_url": endorser.organization_url,
        "date": (item.valid_from or "")[:10],
        "name": item.name,
    }


def _endorsements(
    session: Session, ctx: ServiceContext, document: dict[str, Any], view: CredentialView
) -> list[dict[str, Any]]:
    """The endorsements the credential will embed, each verified on its own now (the
    signed credential's verification checks each one the same way)."""
    embedded = [
        *(document.get("endorsement") or []),
        *(document["credentialSubject"]["achievement"].get("endorsement") or []),
    ]
    out = []
    now = ctx.clock()
    for item in view.endorsements:
        raw = embedded[item.position] if item.position < len(embedded) else None
        with reading_with(session):
            report = pipeline.verify(ctx, raw, reach="offline", now=now).report
        failures = report.failures()
        out.append(_endorsement(item, report.verified, failures[0].message if failures else None))
    return out


def _card(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    project: Project,
    candidate: Candidate,
    document: dict[str, Any],
    url: str,
) -> dict[str, Any]:
    """The credential page's card for an unsigned credential (``services.portfolio.cards``
    builds it for a stored one): the signed text as the reader reads it, the program's
    registered name, the candidate's name as their portfolio shows it, and their
    deliverables with the visibility the candidate chose."""
    view = read_credential(document, own_origin=ctx.base_url)
    ach = view.achievement
    name = view.title
    in_language = ach.in_language
    caption = ach.image.caption if ach.image else None
    name_lang = in_language if name == ach.name else None
    portfolio = find_for_candidate(session, candidate.id or 0)
    choices = item_visibility(session, candidate.id or 0)
    files = projects.deliverables(session, project)
    by_url = {projects.deliverable_url(ctx, d): d for d in files}
    recorded = {d.sha256 for d in files if d.sha256}
    evidence = evidence_items(ctx, view, by_url, recorded, choices)
    source = view.recipient.source
    return {
        "id": view.id or url,
        "url": url,
        "name": name,
        "name_lang": name_lang,
        "description": view.description,
        "achievement": {
            "name": ach.name or name,
            "description": ach.description,
            "criteria": ach.criteria,
            "lang": in_language,
            "criteria_lang": in_language,
            "type": ach.type,
            "tags": list(ach.tags),
            "preferred_edition": None,
        },
        # The preview shows the signed text; language editions show on the page later.
        "edition": None,
        "image": ach.image.url if ach.image else None,
        # No picture of the credential yet (it is drawn from the signed credential).
        "og_image": None,
        "image_alt": caption or name,
        "image_alt_lang": in_language if caption else name_lang,
        "issuer": {"id": view.issuer.id, "name": issuer.name, "url": safe_link(issuer.url)},
        "host": {"name": source.name, "url": source.url} if source else None,
        "role": view.recipient.role,
        "start": (view.recipient.start or "")[:10],
        "end": (view.recipient.end or "")[:10],
        "issued": view.issued,
        "expires": view.expires,
        "recipient_did": view.recipient.id,
        "hashed_identifiers": view.recipient.hashed_identifiers,
        "recipient_name": view.recipient.name,
        "candidate_name": display_name(portfolio, candidate) or view.recipient.name,
        "skills": [
            {
                "name": a.name,
                "url": a.url,
                "framework": a.framework,
                "code": a.code,
                "description": a.description,
            }
            for a in ach.alignments
            if a.name
        ],
        "results": [
            {
                "name": r.name or "",
                "name_lang": in_language,
                "level": r.level_name,
                "level_lang": in_language,
                "level_description": r.level_description,
                "level_description_lang": in_language,
                "value": r.value or r.status,
            }
            for r in view.recipient.results
        ],
        "evidence": evidence,
        "endorsements": _endorsements(session, ctx, document, view),
    }


def issue_preview(
    session: Session, ctx: ServiceContext, issuer: Issuer, project: Project
) -> IssuePreview:
    """The credential ``complete_project`` would sign for ``project`` now, unsigned, with
    its card; its id is reserved (``reserve_credential_id``), so signing uses it.

    Raises what the completion would (a result that is not in the rubric, a missing
    achievement or candidate) before anything is reserved.
    """
    issuer_id = issuer.id or 0
    achievement = achievements.get_achievement(session, issuer_id, project.achievement_id)
    version = achievements.current_version(session, achievement)
    projects.check_results(version, project.results)
    candidate = candidates.get_candidate(session, issuer_id, project.candidate_id)
    credential_id = reserve_credential_id(session, ctx, project)
    unsigned = issuance.build_credential(
        ctx,
        credential_id=credential_id,
        issuer=issuer,
        version=version,
        candidate=candidate,
        project=project,
        files=projects.deliverables(session, project),
        now=ctx.clock(),
    )
    document = endorsements.attach(session, ctx, project, version, unsigned)
    # A copy for the card: the reader never shares the document the page prints.
    url = issuance.credential_url(ctx, credential_id)
    card = _card(session, ctx, issuer, project, candidate, json.loads(json.dumps(document)), url)
    return IssuePreview(credential_id=credential_id, url=url, document=document, card=card)
