"""The audit log as sentences: who did what to whom, by name.

The audit log records codes (``endorsement.sign``, ``endorser:<id>``, ``project:7``), kept
stable for the API and for operators. Staff read the dashboard and the trails as
sentences: "Grace Hopper endorsed Ada Lovelace's project “Churn analysis”". ``describe``
looks up the names behind each event's actor and target (a few queries for a whole page of
events, never one per event) and gives the page a sentence key and its values; the words
themselves are in the console's locale files (``activity.<action>``), in English and
Spanish.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from badgeworks.db.console import StaffMember
from badgeworks.db.endorsements import Endorsement, Endorser
from badgeworks.db.models import (
    Achievement,
    AchievementVersion,
    ApiToken,
    AuditEvent,
    Candidate,
    Credential,
    Issuer,
    Project,
)
from badgeworks.services.console.views import target_link

#: The actions that have a sentence of their own (``activity.<action>`` in the locales);
#: any other reads as ``activity.other``.
SENTENCES = frozenset(
    {
        "achievement.create",
        "achievement.update",
        "achievement.image",
        "achievement.edition.put",
        "achievement.edition.delete",
        "bulk.validate",
        "bulk.resume",
        "candidate.create",
        "candidate.update",
        "credential.issue",
        "credential.revoke",
        "credential.suspend",
        "credential.unsuspend",
        "credential.reissue",
        "credential.expire",
        "deliverable.add",
        "deliverable.remove",
        "endorsement.sign",
        "endorsement.withdraw",
        "endorsement.withdrawal_link",
        "issuer.create",
        "issuer.update",
        "issuer.image",
        "issuer.revocation_reasons",
        "key.rotate",
        "portfolio.update",
        "portfolio.photo_set",
        "portfolio.photo_caption",
        "portfolio.photo_removed",
        "project.create",
        "project.update",
        "review.invite",
        "review.revoke",
        "staff.grant",
        "staff.remove",
        "staff.password",
        "token.create",
        "token.revoke",
    }
)


@dataclass(frozen=True)
class Activity:
    """One audit event, ready to read as a sentence."""

    event: AuditEvent
    #: The action's code (named by ``activity.other`` only).
    action: str
    #: The locale key of the sentence (``activity.<action>`` or ``activity.other``).
    sentence: str
    #: How the actor is named: ``name`` (a person, by name or address), or ``token``,
    #: ``admin``, ``cli`` or ``system`` (said in words by the page, with ``actor``).
    actor_kind: str
    #: The actor's name, address or label.
    actor: str
    #: The sentence's values: ``person`` (the candidate), ``title`` (the project's title,
    #: the achievement's name…), ``role``, ``email``, ``rows``, ``reason``.
    values: dict[str, Any] = field(default_factory=dict)
    #: The console page the event is about, if any.
    link: str | None = None


#: The values every sentence is given (empty when the event has none).
_VALUE_NAMES = ("person", "title", "endorser", "email", "role", "reason", "rows", "good", "lang")


def _ids(events: Iterable[AuditEvent], kind: str) -> set[str]:
    return {e.target.partition(":")[2] for e in events if e.target.partition(":")[0] == kind}


def _ints(values: Iterable[Any]) -> list[int]:
    return [int(v) for v in values if str(v).isdigit() and len(str(v)) < 12]


class _Names:
    """The names an issuer's events refer to, read once for a list of events."""

    def __init__(self, session: Session, issuer: Issuer, events: Sequence[AuditEvent]) -> None:
        issuer_id = issuer.id or 0
        endorsements = {
            row.id: row
            for row in session.exec(
                select(Endorsement).where(col(Endorsement.id).in_(_ids(events, "endorsement")))
            )
        }
        credentials = {
            row.id: row
            for row in session.exec(
                select(Credential).where(
                    Credential.issuer_id == issuer_id,
                    col(Credential.id).in_(_ids(events, "credential")),
                )
            )
        }
        project_ids = set(_ints(_ids(events, "project")))
        project_ids |= {e.project_id for e in endorsements.values()}
        project_ids |= {c.project_id for c in credentials.values() if c.project_id is not None}
        project_ids |= {
            int(e.detail["project"]) for e in events if isinstance(e.detail.get("project"), int)
        }
        self.projects = {
            row.id: row
            for row in session.exec(
                select(Project).where(
                    Project.issuer_id == issuer_id, col(Project.id).in_(project_ids)
                )
            )
        }
        self.endorsements = endorsements
        self.credentials = credentials
        self.candidates = {
            row.id: row
            for row in session.exec(select(Candidate).where(Candidate.issuer_id == issuer_id))
        }
        versions = {c.achievement_version_id for c in credentials.values()}
        self.versions = {
            row.id: row
            for row in session.exec(
                select(AchievementVersion).where(col(AchievementVersion.id).in_(versions))
            )
        }
        achievements = {
            row.id: row
            for row in session.exec(
                select(Achievement).where(
                    Achievement.issuer_id == issuer_id,
                    col(Achievement.id).in_(_ints(_ids(events, "achievement"))),
                )
            )
        }
        current = {(a.id, a.current_version) for a in achievements.values()}
        self.achievements: dict[int | None, str] = {}
        if current:
            for version in session.exec(
                select(AchievementVersion).where(
                    col(AchievementVersion.achievement_id).in_([a for a, _ in current])
                )
            ):
                if (version.achievement_id, version.version) in current:
                    self.achievements[version.achievement_id] = version.name
        endorser_ids = {
            e.actor.partition(":")[2] for e in events if e.actor.startswith("endorser:")
        }
        endorser_ids |= {e.endorser_id for e in endorsements.values()}
        endorser_ids |= {
            str(e.detail["endorser"]) for e in events if isinstance(e.detail.get("endorser"), str)
        }
        self.endorsers = {
            row.id: row.name
            for row in session.exec(
                select(Endorser).where(
                    Endorser.issuer_id == issuer_id, col(Endorser.id).in_(endorser_ids)
                )
            )
        }
        emails = {e.actor.partition(":")[2] for e in events if e.actor.startswith("staff:")}
        staff_ids = _ints(_ids(events, "staff"))
        self.staff_by_email = {}
        self.staff_by_id = {}
        for member in session.exec(
            select(StaffMember).where(
                (col(StaffMember.email).in_(emails)) | (col(StaffMember.id).in_(staff_ids))
            )
        ):
            self.staff_by_email[member.email] = member.name or member.email
            self.staff_by_id[member.id] = member.email
        self.tokens = {
            row.id: row.label
            for row in session.exec(
                select(ApiToken).where(
                    ApiToken.issuer_id == issuer_id,
                    col(ApiToken.id).in_(_ints(_ids(events, "token"))),
                )
            )
        }

    def candidate_name(self, candidate_id: int | None) -> str:
        row = self.candidates.get(candidate_id)
        return row.name if row else ""

    def candidate_by_email(self, email: str) -> str:
        for row in self.candidates.values():
            if email in row.emails:
                return row.name
        return email

    def project(self, project_id: int | None) -> tuple[str, str]:
        """The project's candidate and title."""
        row = self.projects.get(project_id)
        return (self.candidate_name(row.candidate_id), row.title) if row else ("", "")


def _actor(names: _Names, actor: str) -> tuple[str, str]:
    kind, _, rest = actor.partition(":")
    if kind == "staff":
        return "name", names.staff_by_email.get(rest, rest)
    if kind == "endorser":
        return "name", names.endorsers.get(rest, "")
    if kind == "candidate":
        return "name", names.candidate_by_email(rest)
    if kind == "token":
        label = rest.partition(" (")[2].removesuffix(")")
        return "token", label or rest
    if actor == "admin":
        return "admin", ""
    if kind == "cli":
        return "cli", ""
    return "system", actor


def _values(names: _Names, event: AuditEvent) -> dict[str, Any]:
    kind, _, ident = event.target.partition(":")
    detail = event.detail or {}
    # Every value a sentence may name is present, so no sentence is missing one.
    values: dict[str, Any] = dict.fromkeys(_VALUE_NAMES, "")
    if kind == "candidate" and ident.isdigit():
        values["person"] = names.candidate_name(int(ident))
    elif kind == "project" and ident.isdigit():
        values["person"], values["title"] = names.project(int(ident))
    elif kind == "credential":
        cred = names.credentials.get(ident)
        if cred is not None:
            values["person"] = names.candidate_name(cred.candidate_id)
            version = names.versions.get(cred.achievement_version_id)
            values["title"] = version.name if version else ""
    if kind == "project" and isinstance(detail.get("endorser"), str):
        values["endorser"] = names.endorsers.get(detail["endorser"], "")
    elif kind == "endorsement":
        row = names.endorsements.get(ident)
        if row is not None:
            values["person"], values["title"] = names.project(row.project_id)
            values["endorser"] = names.endorsers.get(row.endorser_id, "")
    elif kind == "achievement" and ident.isdigit():
        values["title"] = names.achievements.get(int(ident), "")
    elif kind == "staff" and ident.isdigit():
        values["email"] = names.staff_by_id.get(int(ident), "")
    elif kind == "token" and ident.isdigit():
        values["title"] = names.tokens.get(int(ident), "")
    for key in ("role", "reason", "rows", "good", "lang"):
        if isinstance(detail.get(key), str | int) and not isinstance(detail.get(key), bool):
            values[key] = detail[key]
    if not values["person"] and kind in {"candidate", "project", "credential", "endorsement"}:
        values["person"] = f"#{ident[:12]}"  # a row this program no longer has
    if kind == "staff" and not values.get("email") and isinstance(detail.get("email"), str):
        values["email"] = detail["email"]
    return values


def describe(session: Session, issuer: Issuer, events: Sequence[AuditEvent]) -> list[Activity]:
    """``events`` as sentences with names, in the same order."""
    names = _Names(session, issuer, events)
    out = []
    for event in events:
        kind, name = _actor(names, event.actor)
        out.append(
            Activity(
                event=event,
                action=event.action,
                sentence=f"activity.{event.action}"
                if event.action in SENTENCES
                else "activity.other",
                actor_kind=kind,
                actor=name,
                values=_values(names, event),
                link=target_link(issuer.slug, event.target),
            )
        )
    return out
