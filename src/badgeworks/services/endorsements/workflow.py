"""Mentor and host-company endorsements: invites, review links, signing, hosting, issuance.

The flow (docs/endorsements.md):

1. The program invites an endorser to review a project (``invite``). The review link
   ``<base>/review/<token>`` carries 32 random bytes; only their SHA-256 is stored. The
   link is single-use, expires (``review_link_days``) and can be revoked. It is mailed
   through the outbox and returned once to the program.
2. The endorser opens the link, rates the achievement's rubric criteria, comments and
   picks the skills they vouch for, and signs (``submit``): an OB 3.0
   ``EndorsementCredential`` is issued with *their* key, its ``issuer`` their Profile, its
   subject the candidate's credential (whose id is reserved before it is signed) or the
   achievement. An endorser with their own DID uploads an endorsement they signed
   (``upload``); it is verified before it is accepted.
3. At issuance (``attach``) the endorsements made so far are embedded in the badge and
   the ratings become ``Result`` entries; later endorsements are hosted at
   ``<base>/endorsements/<uuid>`` and listed per credential.
4. An endorsement is withdrawn by the program (``withdraw``) or by the endorser through a
   withdrawal link (``withdraw_by_link``). One the service signed carries a Bitstring
   Status List ``credentialStatus`` (purpose ``revocation``) in a list issued and signed
   by the endorser's own DID (``lifecycle.status_lists``); withdrawing sets its bit and
   re-signs the list in the same transaction, so verifiers elsewhere see it. Uploaded
   endorsements (signed with the endorser's own DID) have no entry of ours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import update
from sqlmodel import Session, col, select

from badgeworks.adapters.resources import schema
from badgeworks.core import credential as ob
from badgeworks.core.credential import OB3_ENDORSEMENT_SCHEMA_URL, issuer_id
from badgeworks.core.errors import InputError
from badgeworks.core.issue import issue
from badgeworks.db.endorsements import CredentialReservation, Endorsement, Endorser, ReviewInvite
from badgeworks.db.models import AchievementVersion, Candidate, Credential, Issuer, Project
from badgeworks.services.accounts.tokens import hash_token
from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements import mentors
from badgeworks.services.endorsements import ratings as signed_ratings
from badgeworks.services.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailed,
)
from badgeworks.services.infra import audit, outbox
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.locale_format import local_date
from badgeworks.services.models import Strict
from badgeworks.services.programs.achievements import (
    achievement_url,
    current_version,
    get_achievement,
    level_id,
    result_description_id,
)
from badgeworks.services.programs.issuers import get_issuer_by_id
from badgeworks.services.programs.projects import deliverable_url, deliverables, get_project
from badgeworks.services.verification import pipeline as verification

ENDORSEMENT_SCHEMA_FILE = "ob_v3p0_endorsementcredential_schema.json"
#: The longest comment accepted (characters); a 10 MB comment is a clear 413.
MAX_COMMENT = 10_000
#: The largest uploaded signed endorsement (bytes).
MAX_UPLOAD = 256 * 1024
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STATUSES = ("Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew")


class ReviewLinkGone(ConflictError):
    """The review link was used, has expired or was revoked (the pages answer 410)."""

    code = "review.gone"


class ReviewCreate(mentors.EndorserIn):
    """``POST /api/v1/projects/{id}/reviews``: who reviews, and what they endorse."""

    subject: Literal["credential", "achievement"] = Field(
        default="credential",
        description="What the endorsement is about: the candidate's credential (its id "
        "is reserved now) or the achievement.",
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=365)


class WithdrawRequest(Strict):
    reason: str = Field(default="", max_length=500)


# ----------------------------------------------------------------------------- helpers


def review_url(ctx: ServiceContext, token: str) -> str:
    """The link the endorser opens."""
    return f"{ctx.base_url}/review/{token}"


def endorsement_url(ctx: ServiceContext, endorsement_id: str) -> str:
    """The hosted URL (and ``id``) of an endorsement."""
    return f"{ctx.base_url}/endorsements/{endorsement_id}"


def form_nonce(ctx: ServiceContext, token: str, secret: str | None = None) -> str:
    """The per-form nonce bound to a review token (HMAC with the key secret)."""
    secret = secret or ctx.key_secret
    key = hashlib.sha256(b"badgeworks review form\x00" + secret.encode()).digest()
    return hmac.new(key, hash_token(token).encode(), hashlib.sha256).hexdigest()[:32]


def check_nonce(ctx: ServiceContext, token: str, nonce: str | None) -> None:
    """Refuse a form post without the nonce of its own page (CSRF)."""
    if not nonce:
        raise InputError(
            "the form is missing its nonce; open the review link again and resubmit",
            code="review.nonce_missing",
        )
    # A form shown before a rotation of the key secret is still accepted after it.
    given = nonce.encode()[:64]
    if not any(
        hmac.compare_digest(given, form_nonce(ctx, token, secret).encode())
        for secret in ctx.key_secrets
    ):
        raise ForbiddenError(
            "the form's nonce does not belong to this review link; open the link again",
            code="review.nonce_invalid",
        )


def _endorsement_id_for(ctx: ServiceContext, invite: ReviewInvite) -> str:
    """The id the invite's endorsement gets: fixed before it is signed, never guessable.

    One endorsement per invite, so its id must be known before it is signed (the review
    page and the upload template name it). It is derived from the invite's review token
    (32 random bytes; we keep only their SHA-256), so it is as unguessable as a random
    UUID and, unlike the invite number, cannot be enumerated. Endorsements keep the id
    they were stored under, so ids published earlier still resolve.
    """
    digest = hashlib.sha256(b"badgeworks endorsement id\x00" + invite.token_hash.encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def reserve_credential_id(session: Session, project: Project, now: datetime) -> str:
    """The id the project's credential has or will have; reserved on first call.

    The caller commits. Issuance uses ``reserved_credential_id`` so the badge gets the id
    endorsements already name.
    """
    issued = session.exec(select(Credential.id).where(Credential.project_id == project.id)).first()
    if issued:
        return issued
    row = session.get(CredentialReservation, project.id)
    if row is None:
        row = CredentialReservation(
            project_id=project.id or 0, credential_id=_fresh_id(session), created_at=now
        )
        session.add(row)
        session.flush()
    return row.credential_id


def is_reserved(session: Session, credential_id: str) -> bool:
    """Whether ``credential_id`` is reserved for a project's credential not issued yet (a
    mentor's endorsement already names it, so its URL is public before the credential)."""
    if len(credential_id) > 36 or session.get(Credential, credential_id) is not None:
        return False
    query = select(CredentialReservation.project_id).where(
        CredentialReservation.credential_id == credential_id
    )
    return session.exec(query).first() is not None


def endorsed_before_issue(session: Session, credential_id: str) -> bool:
    """Whether an endorsement (not withdrawn) already names the reserved ``credential_id``:
    its address is then public before the credential is (the endorsement's "Endorses"
    link), while an id reserved by an invitation or the console's issue preview is not."""
    if len(credential_id) > 36:
        return False
    query = select(Endorsement.id).where(
        Endorsement.credential_id == credential_id, col(Endorsement.withdrawn_at).is_(None)
    )
    return session.exec(query).first() is not None


def _fresh_id(session: Session) -> str:
    # A random UUID collides with nothing in practice; one extra look keeps a credential
    # that a caller issued under a chosen urn:uuid from ever being reserved as well.
    for _ in range(3):
        candidate = str(uuid.uuid4())
        if session.get(Credential, candidate) is None:
            return candidate
    raise ConflictError(  # pragma: no cover - three random UUIDs all taken
        "could not reserve a credential id; retry", code="credential.id_taken"
    )


def reserved_credential_id(session: Session, project: Project) -> str:
    """For issuance: the reserved credential id of ``project``, or a fresh one."""
    row = session.get(CredentialReservation, project.id)
    return row.credential_id if row else str(uuid.uuid4())


def proof_as_list(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with ``proof`` as an array.

    The OB 3.0 AchievementCredential JSON Schema accepts only an array of proofs on an
    embedded EndorsementCredential. A one-element proof set is the same signature
    (VC Data Integrity §2.1), so this changes nothing a verifier checks.
    """
    proof = document.get("proof")
    if isinstance(proof, dict):
        return {**document, "proof": [proof]}
    return document


def _credential_url(ctx: ServiceContext, credential_id: str) -> str:
    return f"{ctx.base_url}/credentials/{credential_id}"


# ----------------------------------------------------------------------------- invites


def invite(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    project_id: int,
    data: ReviewCreate,
    *,
    actor: str,
) -> tuple[ReviewInvite, Endorser, str]:
    """Invite an endorser to review one of the issuer's projects; returns the link too."""
    project = get_project(session, issuer.id or 0, project_id)
    endorser = mentors.find_or_create(session, ctx, issuer, data)
    session.flush()
    now = ctx.clock()
    credential_id = reserve_credential_id(session, project, now)
    token = secrets.token_urlsafe(32)
    days = data.expires_in_days or ctx.settings.review_link_days
    row = ReviewInvite(
        issuer_id=issuer.id or 0,
        project_id=project.id or 0,
        endorser_id=endorser.id,
        token_hash=hash_token(token),
        subject=data.subject,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    link = review_url(ctx, token)
    mail = _invite_mail(issuer, endorser, project, row, link)
    _mail_link(session, issuer, endorser, row, mail, now)
    audit.commit(
        session,
        actor=actor,
        action="review.invite",
        issuer_id=issuer.id,
        target=f"project:{project.id}",
        detail={
            "invite": row.id,
            "endorser": endorser.id,
            "kind": endorser.kind,
            "subject": data.subject,
            "credential": credential_id,
        },
        now=now,
        refresh=[row],
    )
    return row, endorser, link


def _mail_link(
    session: Session,
    issuer: Issuer,
    endorser: Endorser,
    invite: ReviewInvite,
    mail: tuple[str, str, str],
    now: datetime,
) -> None:
    """Queue ``mail`` (subject, text, HTML) with the endorser's link, if they have an email."""
    if endorser.email:
        subject, text, html = mail
        outbox.enqueue(
            session,
            to=endorser.email,
            subject=subject,
            text=text,
            html=html,
            issuer_id=issuer.id,
            reference=f"review_invite:{invite.id}",
            now=now,
        )


def _invite_mail(
    issuer: Issuer, endorser: Endorser, project: Project, invite: ReviewInvite, link: str
) -> tuple[str, str, str]:
    from html import escape

    day = local_date(invite.expires_at, "en")  # the message is in English
    text = (
        f"Hello {endorser.name},\n\n"
        f"{issuer.name} invites you to review the project “{project.title}” and, if you "
        "wish, to endorse the candidate's work with your own signature.\n\n"
        f"Open this link (it works once, until {day}):\n{link}\n\n"
        "No account or password is needed. If you did not expect this message, ignore it.\n"
    )
    html = (
        f"<p>Hello {escape(endorser.name)},</p>"
        f"<p>{escape(issuer.name)} invites you to review the project "
        f"“{escape(project.title)}” and, if you wish, to endorse the candidate's work with "
        "your own signature.</p>"
        f'<p><a href="{escape(link)}">Open the review</a> (it works once, until {day}).</p>'
        "<p>No account or password is needed. If you did not expect this message, ignore "
        "it.</p>"
    )
    return f"{issuer.name} asks for your review of “{project.title}”", text, html


def _withdrawal_mail(
    ctx: ServiceContext,
    issuer: Issuer,
    endorser: Endorser,
    endorsement: Endorsement,
    invite: ReviewInvite,
    link: str,
) -> tuple[str, str, str]:
    from html import escape

    day = local_date(invite.expires_at, "en")  # the message is in English
    text = (
        f"Hello {endorser.name},\n\nIf you want to withdraw the endorsement you "
        f"signed ({endorsement_url(ctx, endorsement.id)}), open this link (it works once, "
        f"until {day}):\n{link}\n"
    )
    html = (
        f"<p>Hello {escape(endorser.name)},</p><p>If you want to withdraw the "
        f'endorsement you signed, <a href="{escape(link)}">open this link</a> (it '
        f"works once, until {day}).</p>"
    )
    return f"{issuer.name}: withdraw your endorsement if you wish", text, html


def invite_status(invite: ReviewInvite, now: datetime) -> str:
    """``pending``, ``used``, ``revoked`` or ``expired``."""
    if invite.used_at is not None:
        return "used"
    if invite.revoked_at is not None:
        return "revoked"
    if now >= invite.expires_at:
        return "expired"
    return "pending"


def invite_public(
    session: Session, ctx: ServiceContext, invite: ReviewInvite, link: str | None = None
) -> dict[str, Any]:
    """The API view of an invite (the link only when it was just created)."""
    endorser = session.get(Endorser, invite.endorser_id)
    assert endorser is not None
    done = session.exec(select(Endorsement.id).where(Endorsement.invite_id == invite.id)).first()
    project = session.get(Project, invite.project_id)
    credential_id = session.get(CredentialReservation, invite.project_id)
    issued = session.exec(
        select(Credential.id).where(Credential.project_id == invite.project_id)
    ).first()
    cid = issued or (credential_id.credential_id if credential_id else None)
    return {
        "id": invite.id,
        "project_id": invite.project_id,
        "endorser": mentors.public(ctx, endorser),
        "subject": invite.subject,
        "subject_id": (
            _subject_id(session, ctx, invite, project) if project and not invite.withdraws else None
        ),
        "withdraws": endorsement_url(ctx, invite.withdraws) if invite.withdraws else None,
        "credential_id": cid,
        "status": invite_status(invite, ctx.clock()),
        "created_at": invite.created_at,
        "expires_at": invite.expires_at,
        "used_at": invite.used_at,
        "revoked_at": invite.revoked_at,
        "review_url": link,
        "endorsement_url": endorsement_url(ctx, done) if done else None,
    }


def list_invites(session: Session, issuer: Issuer, project_id: int) -> list[ReviewInvite]:
    """The invites of one of the issuer's projects, oldest first."""
    project = get_project(session, issuer.id or 0, project_id)
    stmt = (
        select(ReviewInvite)
        .where(ReviewInvite.project_id == project.id)
        .order_by(col(ReviewInvite.id))
    )
    return list(session.exec(stmt))


def revoke_invite(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    project_id: int,
    invite_id: int,
    *,
    actor: str,
) -> ReviewInvite:
    """Revoke a pending invite; a used one is ``409 review.already_used``."""
    project = get_project(session, issuer.id or 0, project_id)
    row = session.get(ReviewInvite, invite_id)
    if row is None or row.project_id != project.id:
        raise NotFoundError(
            f"project {project_id} has no review invite {invite_id}", code="review.not_found"
        )
    if row.used_at is not None:
        raise ConflictError(
            f"review invite {invite_id} was already used; withdraw its endorsement instead",
            code="review.already_used",
        )
    if row.revoked_at is None:
        row.revoked_at = ctx.clock()
        session.add(row)
        audit.commit(
            session,
            actor=actor,
            action="review.revoke",
            issuer_id=issuer.id,
            target=f"project:{project.id}",
            detail={"invite": row.id},
            now=ctx.clock(),
            refresh=[row],
        )
    return row


# ----------------------------------------------------------------------------- the link


def open_invite(session: Session, ctx: ServiceContext, token: str) -> ReviewInvite:
    """The invite behind a review token; ``ReviewLinkGone`` if used, expired or revoked."""
    row = None
    if _TOKEN.match(token):
        row = session.exec(
            select(ReviewInvite).where(ReviewInvite.token_hash == hash_token(token))
        ).first()
    if row is None:
        raise NotFoundError(
            "this review link is not valid: check that it was copied completely",
            code="review.not_found",
        )
    status = invite_status(row, ctx.clock())
    if status != "pending":
        raise ReviewLinkGone(
            {
                "used": "this review link was already used: the review has been signed",
                "revoked": "this review link was withdrawn by the program",
                "expired": "this review link has expired; ask the program for a new one",
            }[status],
            code=f"review.{status}",
        )
    return row


def _subject_id(
    session: Session, ctx: ServiceContext, invite: ReviewInvite, project: Project
) -> str:
    if invite.subject == "achievement":
        achievement = get_achievement(session, project.issuer_id, project.achievement_id)
        version = current_version(session, achievement)
        return achievement_url(ctx, version.achievement_id, version.version)
    return _credential_url(ctx, reserve_credential_id(session, project, ctx.clock()))


def review_view(session: Session, ctx: ServiceContext, invite: ReviewInvite) -> dict[str, Any]:
    """Plain data for the review page (or, for a withdrawal link, the withdrawal page)."""
    project = session.get(Project, invite.project_id)
    endorser = session.get(Endorser, invite.endorser_id)
    assert project is not None and endorser is not None
    if invite.withdraws:
        target = get_endorsement(session, invite.withdraws)
        document = json.loads(target.document)
        return {
            "withdraw": True,
            "project": {"title": project.title},
            "endorser": mentors.public(ctx, endorser),
            "endorsement": {
                "url": endorsement_url(ctx, target.id),
                "name": document.get("name"),
                "signed": target.created_at.date().isoformat(),
            },
            "expires_at": invite.expires_at.date().isoformat(),
        }
    issuer = get_issuer_by_id(session, project.issuer_id)
    candidate = session.get(Candidate, project.candidate_id)
    achievement = get_achievement(session, project.issuer_id, project.achievement_id)
    version = current_version(session, achievement)
    subject_id = _subject_id(session, ctx, invite, project)
    view = {
        "issuer": {"name": issuer.name, "url": issuer.url},
        "candidate": candidate.name if candidate else "",
        "project": {
            "title": project.title,
            "summary": project.summary,
            "role": project.role,
            "host": project.host.get("name"),
            "start": project.start_date.isoformat() if project.start_date else None,
            "end": project.end_date.isoformat() if project.end_date else None,
        },
        "deliverables": [
            {
                "name": d.name,
                "url": deliverable_url(ctx, d),
                "genre": d.genre,
                "description": d.description,
            }
            for d in deliverables(session, project)
        ],
        "achievement": {"name": version.name, "description": version.description},
        "criteria": [
            {
                "key": rd["key"],
                "name": rd["name"],
                "type": rd.get("result_type", "RubricCriterionLevel"),
                "levels": [
                    {"key": lv["key"], "name": lv["name"], "description": lv.get("description")}
                    for lv in rd.get("levels", [])
                ],
            }
            for rd in version.result_descriptions
        ],
        "statuses": STATUSES,
        "skills": [
            {
                "index": i,
                "name": a["target_name"],
                "framework": a.get("target_framework"),
                "code": a.get("target_code"),
            }
            for i, a in enumerate(version.alignments)
        ],
        "endorser": mentors.public(ctx, endorser),
        "subject": invite.subject,
        "subject_id": subject_id,
        "expires_at": invite.expires_at.date().isoformat(),
        "own_key": endorser.key_custody == "own",
    }
    if endorser.key_custody == "own":
        view["template"] = json.dumps(
            _unsigned(ctx, invite, endorser, version, subject_id, "…", ctx.clock()),
            indent=2,
            ensure_ascii=False,
        )
    return view


# ----------------------------------------------------------------------------- signing


def _check_ratings(version: AchievementVersion, ratings: dict[str, str]) -> list[dict[str, str]]:
    described = {rd["key"]: rd for rd in version.result_descriptions}
    checked: list[dict[str, str]] = []
    for key, value in ratings.items():
        rd = described.get(key)
        if rd is None:
            raise ValidationFailed(
                f"{key!r:.80} is not a criterion of this achievement "
                f"({', '.join(sorted(described)) or 'none defined'})",
                code="review.unknown_criterion",
            )
        levels = {lv["key"] for lv in rd.get("levels", [])}
        if levels:
            if value not in levels:
                raise ValidationFailed(
                    f"{value!r:.80} is not a level of {rd['name']!r} ({', '.join(sorted(levels))})",
                    code="review.unknown_level",
                )
            checked.append({"result_description": key, "achieved_level": value})
        elif rd.get("result_type") == "Status":
            if value not in STATUSES:
                raise ValidationFailed(
                    f"{value!r:.80} is not a status ({', '.join(STATUSES)})",
                    code="review.unknown_status",
                )
            checked.append({"result_description": key, "status": value})
        else:
            if len(value) > 100 or "\x00" in value:
                raise ValidationFailed(
                    f"the value for {rd['name']!r} must be at most 100 characters, without NUL",
                    code="review.value_too_long",
                )
            checked.append({"result_description": key, "value": value})
    return checked


def _comment(comment: str, skills: list[dict[str, Any]]) -> str | None:
    parts = [comment.strip()] if comment.strip() else []
    if skills:
        lines = []
        for a in skills:
            label = a["target_name"]
            if a.get("target_framework"):
                label += f" ({a['target_framework']}"
                label += f" {a['target_code']})" if a.get("target_code") else ")"
            lines.append(f"- {label}: {a['target_url']}")
        parts.append("Skills I vouch for:\n\n" + "\n".join(lines))
    return "\n\n".join(parts) or None


def _unsigned(
    ctx: ServiceContext,
    invite: ReviewInvite,
    endorser: Endorser,
    version: AchievementVersion,
    subject_id: str,
    comment: str | None,
    now: datetime,
    credential_status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    what = "credential" if invite.subject == "credential" else "achievement"
    return ob.endorsement_credential(
        id=endorsement_url(ctx, _endorsement_id_for(ctx, invite)),
        issuer=mentors.profile(ctx, endorser),
        valid_from=ob.xsd_datetime(now),
        subject_id=subject_id,
        name=f"{endorser.name} endorses this {version.name} {what}",
        endorsement_comment=comment,
        credential_status=credential_status,
    )


def _claim(session: Session, invite: ReviewInvite, now: datetime) -> None:
    # Mark the link used in one conditional UPDATE, so two submissions racing for the
    # same link cannot both sign (the unique invite_id on endorsement backs this up).
    result = session.execute(
        update(ReviewInvite)
        .where(
            col(ReviewInvite.id) == invite.id,
            col(ReviewInvite.used_at).is_(None),
            col(ReviewInvite.revoked_at).is_(None),
        )
        .values(used_at=now)
    )
    if getattr(result, "rowcount", 0) != 1:
        session.rollback()
        raise ReviewLinkGone("this review link was already used", code="review.used")


def _store(
    session: Session,
    ctx: ServiceContext,
    invite: ReviewInvite,
    project: Project,
    subject_id: str,
    signed: dict[str, Any],
    ratings: list[dict[str, Any]],
    now: datetime,
    *,
    claimed: bool = False,
) -> Endorsement:
    from badgeworks.services.issuance.completion import serialize

    if not claimed:
        _claim(session, invite, now)
    row = Endorsement(
        id=_endorsement_id_for(ctx, invite),
        issuer_id=invite.issuer_id,
        project_id=project.id or 0,
        endorser_id=invite.endorser_id,
        invite_id=invite.id or 0,
        subject_id=subject_id,
        credential_id=reserve_credential_id(session, project, now),
        ratings=ratings,
        document=serialize(signed),
        created_at=now,
    )
    session.add(row)
    audit.commit(
        session,
        actor=f"endorser:{invite.endorser_id}",
        action="endorsement.sign",
        issuer_id=invite.issuer_id,
        target=f"endorsement:{row.id}",
        detail={"project": project.id, "invite": invite.id, "subject": subject_id},
        now=now,
        refresh=[row],
        conflict=ReviewLinkGone("this review link was already used", code="review.used"),
    )
    return row


def _review_invite(session: Session, ctx: ServiceContext, token: str) -> ReviewInvite:
    invite = open_invite(session, ctx, token)
    if invite.withdraws:
        raise ConflictError(
            "this link withdraws an endorsement; it cannot sign a new one",
            code="review.withdrawal_link",
        )
    return invite


def submit(
    session: Session,
    ctx: ServiceContext,
    token: str,
    *,
    ratings: dict[str, str],
    comment: str,
    skills: list[int],
) -> Endorsement:
    """Sign the endorser's review with their service-held key and store it verbatim."""
    invite = _review_invite(session, ctx, token)
    endorser = session.get(Endorser, invite.endorser_id)
    project = session.get(Project, invite.project_id)
    assert endorser is not None and project is not None
    if endorser.key_custody != "service":
        raise ConflictError(
            "this reviewer signs with their own DID: upload the signed endorsement instead",
            code="review.own_key",
        )
    if len(comment) > MAX_COMMENT:
        raise InputError(
            f"the comment is longer than {MAX_COMMENT} characters", code="input.too_large"
        )
    if "\x00" in comment:
        raise ValidationFailed("the comment contains a NUL character", code="review.invalid")
    achievement = get_achievement(session, project.issuer_id, project.achievement_id)
    version = current_version(session, achievement)
    checked = _check_ratings(version, ratings)
    alignments = list(version.alignments)
    if any(i < 0 or i >= len(alignments) for i in skills):
        raise ValidationFailed(
            "a chosen skill is not one of the achievement's", code="review.unknown_skill"
        )
    vouched = [alignments[i] for i in sorted(set(skills))]
    subject_id = _subject_id(session, ctx, invite, project)
    now = ctx.clock()
    # Claim the link first: a second submission racing for it stops here, before it
    # could try to claim a status entry for the same endorsement id.
    _claim(session, invite, now)
    # One revocation entry (the OB 3.0 schema allows a single credentialStatus), in the
    # endorser's own list, claimed in this transaction: withdrawing sets its bit.
    (status,) = status_lists.allocate_entries(
        session,
        ctx,
        endorser,
        _endorsement_id_for(ctx, invite),
        purposes=status_lists.OB_PURPOSES,
    )
    unsigned = _unsigned(
        ctx, invite, endorser, version, subject_id, _comment(comment, vouched), now, status
    )
    key = mentors.signing_key(ctx, endorser)
    # The endorser's key signs, with the cryptosuite the program has chosen.
    program = get_issuer_by_id(session, project.issuer_id)
    signed = issue(
        unsigned,
        key,
        ctx.loader,
        now=now,
        schemas={OB3_ENDORSEMENT_SCHEMA_URL: schema(ENDORSEMENT_SCHEMA_FILE)},
        cryptosuite=program.cryptosuite,
    )
    signed = proof_as_list(signed)
    for rating in checked:
        rating["version"] = str(version.version)
    ratings_stored: list[dict[str, Any]] = [
        *checked,
        *({"skill": a["target_url"]} for a in vouched),
    ]
    return _store(
        session, ctx, invite, project, subject_id, signed, ratings_stored, now, claimed=True
    )


def upload(session: Session, ctx: ServiceContext, token: str, text: str) -> Endorsement:
    """Accept an endorsement the endorser signed with their own DID, after verifying it."""
    invite = _review_invite(session, ctx, token)
    endorser = session.get(Endorser, invite.endorser_id)
    project = session.get(Project, invite.project_id)
    assert endorser is not None and project is not None
    if len(text.encode("utf-8", "surrogatepass")) > MAX_UPLOAD:
        raise InputError(
            f"the endorsement is larger than {MAX_UPLOAD} bytes", code="input.too_large"
        )
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise InputError("the endorsement is not valid JSON", code="input.not_json") from None
    if not isinstance(document, dict):
        raise ValidationFailed(
            "the endorsement must be a JSON object (an EndorsementCredential)",
            code="endorsement.malformed",
        )
    types = document.get("type")
    if not isinstance(types, list) or "EndorsementCredential" not in types:
        raise ValidationFailed(
            "the document's type must include EndorsementCredential",
            code="endorsement.wrong_type",
        )
    signer = issuer_id(document)
    if signer != endorser.did:
        raise ValidationFailed(
            f"the endorsement is issued by {str(signer)!r:.160}, but this link was sent to "
            f"{endorser.did!r:.160}",
            code="endorsement.wrong_issuer",
        )
    subject_id = _subject_id(session, ctx, invite, project)
    subject = document.get("credentialSubject")
    got = subject.get("id") if isinstance(subject, dict) else None
    if got != subject_id:
        raise ValidationFailed(
            f"the endorsement is about {str(got)!r:.160}, but this review is about "
            f"{subject_id!r:.160}",
            code="endorsement.wrong_subject",
        )
    now = ctx.clock()
    # End the read transaction first: no connection is held while the endorser's DID is
    # fetched, and the hosted resolver's own look-up never waits for a second one.
    session.commit()
    report = verification.verify(ctx, document, reach="keys", now=now).report
    if not report.verified:
        first = (report.failures() or report.unchecked())[0]
        raise ValidationFailed(
            f"the endorsement did not verify: {first.message}", code="endorsement.not_verified"
        )
    return _store(session, ctx, invite, project, subject_id, document, [], now)


# ----------------------------------------------------------------------------- reading


def get_endorsement(session: Session, endorsement_id: str) -> Endorsement:
    """An endorsement by id (public)."""
    row = session.get(Endorsement, endorsement_id) if _UUID.match(endorsement_id) else None
    if row is None:
        raise NotFoundError(
            f"there is no endorsement {endorsement_id!r:.60}", code="endorsement.not_found"
        )
    return row


def endorsement_public(
    session: Session, ctx: ServiceContext, row: Endorsement, embedded: set[str] | None = None
) -> dict[str, Any]:
    """The API view of an endorsement (public)."""
    endorser = session.get(Endorser, row.endorser_id)
    assert endorser is not None
    url = endorsement_url(ctx, row.id)
    return {
        "id": row.id,
        "url": url,
        "json_url": url + ".json",
        "endorser": mentors.public(ctx, endorser),
        "subject_id": row.subject_id,
        "credential_id": row.credential_id,
        "created_at": row.created_at,
        "withdrawn_at": row.withdrawn_at,
        "embedded": url in (embedded or set()),
    }


def for_credential(
    session: Session, ctx: ServiceContext, credential_id: str
) -> list[dict[str, Any]]:
    """Every endorsement naming a credential (embedded ones and later ones), oldest first."""
    if not _UUID.match(credential_id):
        raise NotFoundError(
            f"there is no credential {credential_id!r:.60}", code="credential.not_found"
        )
    credential = session.get(Credential, credential_id)
    if credential is None:
        raise NotFoundError(
            f"there is no credential {credential_id!r:.60}", code="credential.not_found"
        )
    document = json.loads(credential.document)
    embedded = {str(e.get("id")) for e in _embedded(document) if isinstance(e, dict)}
    stmt = (
        select(Endorsement)
        .where(Endorsement.credential_id == credential_id)
        .order_by(col(Endorsement.created_at), col(Endorsement.invite_id))
    )
    return [endorsement_public(session, ctx, r, embedded) for r in session.exec(stmt)]


def _embedded(document: dict[str, Any]) -> list[Any]:
    found = list(document.get("endorsement") or [])
    subject = document.get("credentialSubject")
    if isinstance(subject, dict) and isinstance(subject.get("achievement"), dict):
        found += list(subject["achievement"].get("endorsement") or [])
    return found


def status_value(session: Session, row: Endorsement) -> int | None:
    """The endorsement's revocation bit in its endorser's list (None: it has no entry)."""
    endorser = session.get(Endorser, row.endorser_id)
    if endorser is None or endorser.key_custody != "service":
        return None
    return status_lists.current_value(session, row.id, "revocation", owner=endorser)


def _mark_withdrawn(
    session: Session, ctx: ServiceContext, row: Endorsement, reason: str, now: datetime
) -> Endorsement | None:
    """Record the withdrawal and set the revocation bit; no commit. None if already done.

    The endorsement row is locked first (``SELECT … FOR UPDATE`` on PostgreSQL), so two
    withdrawals at once serialise and the second finds the first's. The bit is set in
    the endorser's own list and the list re-signed with their key, in the caller's
    transaction (``status_lists.set_bit``), so the served list and the database agree.
    Endorsements without an entry (uploaded, or signed before endorsements had status
    lists) are only recorded as withdrawn.
    """
    locked = session.exec(
        select(Endorsement)
        .where(Endorsement.id == row.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if locked.withdrawn_at is not None:
        return None
    locked.withdrawn_at = now
    locked.withdrawn_reason = reason
    session.add(locked)
    endorser = session.get(Endorser, locked.endorser_id)
    if endorser is not None and status_value(session, locked) == 0:
        status_lists.set_bit(session, ctx, endorser, locked.id, "revocation", 1)
    return locked


def withdraw(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    endorsement_id: str,
    *,
    reason: str,
    actor: str,
) -> Endorsement:
    """The program withdraws an endorsement: it is listed as withdrawn, no longer
    embedded in badges issued afterwards, and its bit in the endorser's status list is
    set (the stored document is untouched). Withdrawing again changes nothing."""
    row = get_endorsement(session, endorsement_id)
    if row.issuer_id != issuer.id:
        raise NotFoundError(
            f"there is no endorsement {endorsement_id!r:.60}", code="endorsement.not_found"
        )
    withdrawn = (
        _mark_withdrawn(session, ctx, row, reason, ctx.clock())
        if row.withdrawn_at is None
        else None
    )
    if withdrawn is not None:
        audit.commit(
            session,
            actor=actor,
            action="endorsement.withdraw",
            issuer_id=issuer.id,
            target=f"endorsement:{row.id}",
            detail={"reason": reason},
            now=ctx.clock(),
            before=status_lists.run_before_commit_hook,
        )
    session.refresh(row)
    return row


def withdrawal_link(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    endorsement_id: str,
    *,
    actor: str,
) -> tuple[ReviewInvite, str]:
    """A new single-use link with which the endorser can withdraw their endorsement.

    Mailed through the outbox when the endorser has an email; returned once to the
    program either way.
    """
    row = get_endorsement(session, endorsement_id)
    if row.issuer_id != issuer.id:
        raise NotFoundError(
            f"there is no endorsement {endorsement_id!r:.60}", code="endorsement.not_found"
        )
    if row.withdrawn_at is not None:
        raise ConflictError(
            f"endorsement {row.id} is already withdrawn", code="endorsement.withdrawn"
        )
    endorser = session.get(Endorser, row.endorser_id)
    assert endorser is not None
    token = secrets.token_urlsafe(32)
    now = ctx.clock()
    invite = ReviewInvite(
        issuer_id=row.issuer_id,
        project_id=row.project_id,
        endorser_id=row.endorser_id,
        token_hash=hash_token(token),
        subject="withdraw",
        withdraws=row.id,
        created_at=now,
        expires_at=now + timedelta(days=ctx.settings.review_link_days),
    )
    session.add(invite)
    session.flush()
    link = review_url(ctx, token)
    mail = _withdrawal_mail(ctx, issuer, endorser, row, invite, link)
    _mail_link(session, issuer, endorser, invite, mail, now)
    audit.commit(
        session,
        actor=actor,
        action="endorsement.withdrawal_link",
        issuer_id=issuer.id,
        target=f"endorsement:{row.id}",
        detail={"invite": invite.id},
        now=now,
        refresh=[invite],
    )
    return invite, link


def withdraw_by_link(
    session: Session, ctx: ServiceContext, token: str, *, reason: str
) -> Endorsement:
    """The endorser withdraws their endorsement through a withdrawal link (single use)."""
    invite = open_invite(session, ctx, token)
    if not invite.withdraws:
        raise ConflictError(
            "this is a review link, not a withdrawal link", code="review.not_withdrawal"
        )
    if len(reason) > 500 or "\x00" in reason:
        raise ValidationFailed(
            "the reason must be at most 500 characters, without NUL", code="review.invalid"
        )
    row = get_endorsement(session, invite.withdraws)
    if row.endorser_id != invite.endorser_id:
        # Withdrawal links are made for the endorsement's own endorser; one that names
        # someone else's endorsement must not withdraw it.
        raise ForbiddenError(
            "this withdrawal link was not sent to the endorser of that endorsement",
            code="endorsement.not_yours",
        )
    now = ctx.clock()
    _claim(session, invite, now)
    _mark_withdrawn(session, ctx, row, reason.strip() or "withdrawn by the endorser", now)
    audit.commit(
        session,
        actor=f"endorser:{invite.endorser_id}",
        action="endorsement.withdraw",
        issuer_id=invite.issuer_id,
        target=f"endorsement:{row.id}",
        detail={"invite": invite.id, "reason": reason[:500]},
        now=now,
        refresh=[row],
        before=status_lists.run_before_commit_hook,
    )
    return row


# ----------------------------------------------------------------------------- issuance


def attach(
    session: Session,
    ctx: ServiceContext,
    project: Project,
    version: AchievementVersion,
    unsigned: dict[str, Any],
) -> dict[str, Any]:
    """Embed the project's endorsements and the endorsers' ratings in an unsigned badge.

    Endorsements of the credential go in its ``endorsement`` array; those of the
    achievement version being issued go in the achievement's. Each rated criterion the
    program did not assess itself becomes a ``Result`` (the earliest rating wins).
    Withdrawn endorsements are left out. Returns ``unsigned`` (changed in place).
    """
    rows = signed_ratings.embedded(session, project)
    if not rows:
        return unsigned
    subject = unsigned["credentialSubject"]
    achievement = subject["achievement"]
    docs = [(r.subject_id, proof_as_list(json.loads(r.document))) for r in rows]
    on_credential = [d for subject_id, d in docs if subject_id == unsigned["id"]]
    on_achievement = [d for subject_id, d in docs if subject_id == achievement["id"]]
    if on_credential:
        unsigned["endorsement"] = [*unsigned.get("endorsement", []), *on_credential]
    if on_achievement:
        achievement["endorsement"] = [*achievement.get("endorsement", []), *on_achievement]
    ach_url = achievement["id"]
    assessed = {r["result_description"] for r in project.results}
    results = list(subject.get("result", []))
    # Which rating each criterion carries is decided in ``signed_ratings.chosen``, which the
    # console's assessment shows before signing.
    for _row, rating in signed_ratings.chosen(rows, version, assessed):
        key = str(rating.get("result_description"))
        level = rating.get("achieved_level")
        results.append(
            ob.result(
                result_description=result_description_id(ach_url, key),
                achieved_level=level_id(ach_url, key, str(level)) if level else None,
                value=rating.get("value"),
                status=rating.get("status"),
            )
        )
    if results:
        subject["result"] = results
    return unsigned
