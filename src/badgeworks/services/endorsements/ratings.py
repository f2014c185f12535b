"""The ratings a mentor gave with an endorsement this service hosts, named for people.

A mentor rates the achievement's rubric criteria when they endorse (``workflow.submit``);
the ratings are kept with the endorsement (and become ``Result`` entries of the badge the
issuer signs). The verifier shows them beside the endorsement they came with: each
criterion and level by the name the achievement version gave it.

Which rating a badge carries is decided once, here (``chosen``): the issuance embeds
those (``workflow.attach``) and the console's assessment shows them before signing
(``assessment``), so staff read what will be signed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlmodel import Session, col, select

from badgeworks.core.reading import read_endorsement
from badgeworks.db.endorsements import Endorsement
from badgeworks.db.models import AchievementVersion, Project
from badgeworks.services.context import ServiceContext
from badgeworks.services.endorsements.markdown import render as render_markdown

#: The most endorsements one look-up reads (a credential embeds few).
MAX_ENDORSEMENTS = 20


def _named(version: AchievementVersion | None, rating: dict[str, Any]) -> dict[str, str] | None:
    key = str(rating.get("result_description") or "")
    if not key:
        return None  # a vouched skill, not a rating
    described = {rd.get("key"): rd for rd in (version.result_descriptions if version else [])}
    rd = described.get(key) or {}
    level = rating.get("achieved_level")
    levels = {lv.get("key"): lv.get("name") for lv in rd.get("levels", [])}
    value = levels.get(level) or level or rating.get("value") or rating.get("status") or ""
    return {"criterion": str(rd.get("name") or key)[:200], "rating": str(value)[:200]}


def hosted_ratings(
    session: Session, ctx: ServiceContext, endorsement_ids: Iterable[str | None]
) -> dict[str, list[dict[str, str]]]:
    """Endorsement id (its URL) → the ratings given with it, for those we host."""
    prefix = f"{ctx.base_url}/endorsements/"
    wanted = {
        i[len(prefix) :]: i for i in endorsement_ids if isinstance(i, str) and i.startswith(prefix)
    }
    if not wanted:
        return {}
    rows = session.exec(
        select(Endorsement, Project.achievement_id)
        .join(Project, col(Project.id) == col(Endorsement.project_id))
        .where(col(Endorsement.id).in_(list(wanted)[:MAX_ENDORSEMENTS]))
    ).all()
    out: dict[str, list[dict[str, str]]] = {}
    for row, achievement_id in rows:
        found = []
        for rating in row.ratings:
            version = session.exec(
                select(AchievementVersion).where(
                    AchievementVersion.achievement_id == achievement_id,
                    AchievementVersion.version == int(rating.get("version") or 0),
                )
            ).first()
            named = _named(version, rating)
            if named is not None:
                found.append(named)
        if found:
            out[wanted[row.id]] = found
    return out


# ------------------------------------------------------------------- what will be signed


def embedded(session: Session, project: Project) -> list[Endorsement]:
    """The endorsements a badge of ``project`` embeds when it is issued now: those not
    withdrawn, oldest first (the order their ratings are chosen in)."""
    return list(
        session.exec(
            select(Endorsement)
            .where(Endorsement.project_id == project.id, col(Endorsement.withdrawn_at).is_(None))
            .order_by(col(Endorsement.created_at), col(Endorsement.invite_id))
        )
    )


def chosen(
    rows: Sequence[Endorsement], version: AchievementVersion, assessed: Iterable[str]
) -> list[tuple[Endorsement, dict[str, Any]]]:
    """The endorsers' ratings a badge carries as ``Result`` entries, with the endorsement
    each came with: one per rubric criterion of ``version`` that the program did not assess
    itself (``assessed``), the earliest endorsement's rating winning; a rating of a level
    the version does not have is left out."""
    described = {rd["key"]: rd for rd in version.result_descriptions}
    taken = set(assessed)
    out: list[tuple[Endorsement, dict[str, Any]]] = []
    for row in rows:
        for rating in row.ratings:
            key = str(rating.get("result_description"))
            rd = described.get(key)
            if rd is None or key in taken:
                continue
            level = rating.get("achieved_level")
            if level is not None and str(level) not in {lv["key"] for lv in rd.get("levels", [])}:
                continue
            taken.add(key)
            out.append((row, rating))
    return out


@dataclass(frozen=True)
class CriterionResult:
    """One rubric criterion as the badge will carry it."""

    key: str
    criterion: str
    #: The level's name, else the value or status given; None while nobody assessed it.
    result: str | None
    #: The program's own choice (``project.results``), if it made one.
    level_key: str | None
    #: The mentor whose rating the badge carries, by the name they signed; None when the
    #: program assessed the criterion itself (or nobody did).
    by: str | None


@dataclass(frozen=True)
class MentorNote:
    """An endorsement the badge will embed: who signed it and their comment."""

    by: str
    comment_html: Markup


@dataclass(frozen=True)
class Assessment:
    """A draft project's assessment exactly as the badge issued now would carry it."""

    criteria: list[CriterionResult]
    notes: list[MentorNote]

    @property
    def by_mentor(self) -> dict[str, CriterionResult]:
        """The criteria whose result is a mentor's rating, by key."""
        return {c.key: c for c in self.criteria if c.by is not None}


def _shown(rd: dict[str, Any], result: dict[str, Any]) -> str | None:
    levels = {lv.get("key"): lv.get("name") for lv in rd.get("levels", [])}
    level = result.get("achieved_level")
    shown = levels.get(level) or level or result.get("value") or result.get("status")
    return str(shown)[:200] if shown else None


def assessment(session: Session, project: Project, version: AchievementVersion) -> Assessment:
    """Each rubric criterion of ``version`` with the result the badge will carry: the
    program's own, else the rating of the mentor ``chosen`` picks (named as they signed
    it), else none; and the endorsements it will embed, with their comments."""
    rows = embedded(session, project)
    signed = {row.id: read_endorsement(json.loads(row.document)) for row in rows}
    own = {str(r.get("result_description")): r for r in project.results}
    rated = {
        str(rating.get("result_description")): (row, rating)
        for row, rating in chosen(rows, version, own)
    }
    criteria = []
    for rd in version.result_descriptions:
        key = str(rd["key"])
        name = str(rd.get("name") or key)[:200]
        if key in own:
            result = own[key]
            criteria.append(
                CriterionResult(
                    key=key,
                    criterion=name,
                    result=_shown(rd, result),
                    level_key=result.get("achieved_level"),
                    by=None,
                )
            )
        elif key in rated:
            row, rating = rated[key]
            endorser = signed[row.id].endorser
            criteria.append(
                CriterionResult(
                    key=key,
                    criterion=name,
                    result=_shown(rd, rating),
                    level_key=None,
                    by=endorser.name or endorser.id or "",
                )
            )
        else:
            criteria.append(
                CriterionResult(key=key, criterion=name, result=None, level_key=None, by=None)
            )
    notes = [
        MentorNote(
            by=view.endorser.name or view.endorser.id or "",
            comment_html=render_markdown(view.comment),
        )
        for view in signed.values()
    ]
    return Assessment(criteria=criteria, notes=notes)
