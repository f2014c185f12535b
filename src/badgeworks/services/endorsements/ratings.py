"""The ratings a mentor gave with an endorsement this service hosts, named for people.

A mentor rates the achievement's rubric criteria when they endorse (``workflow.submit``);
the ratings are kept with the endorsement (and become ``Result`` entries of the badge the
issuer signs). The verifier shows them beside the endorsement they came with: each
criterion and level by the name the achievement version gave it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from badgeworks.db.endorsements import Endorsement
from badgeworks.db.models import AchievementVersion, Project
from badgeworks.services.context import ServiceContext

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
