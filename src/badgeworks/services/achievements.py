"""Achievements, versioned: a version a credential used is frozen, edits make a new one.

The OB Achievement ``id`` of version *n* is ``<base>/achievements/<id>/versions/<n>``, so
two credentials that name the same id describe exactly the same achievement.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from badgeworks.core import credential as ob
from badgeworks.db.models import Achievement, AchievementVersion, Credential, Issuer, utcnow
from badgeworks.services import audit
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import NotFoundError
from badgeworks.services.issuers import image_url, profile
from badgeworks.services.schemas import AchievementCreate, AchievementPublic, AchievementUpdate

_CONTENT_FIELDS = (
    "name",
    "description",
    "criteria_narrative",
    "achievement_type",
    "alignments",
    "result_descriptions",
    "tags",
    "in_language",
    # Part of the content: a version's credentials get validUntil from it, so changing it
    # after issuance makes a new version like any other edit.
    "default_validity_days",
)


def achievement_url(ctx: ServiceContext, achievement_id: int, version: int) -> str:
    """The OB Achievement id of one version."""
    return f"{ctx.base_url}/achievements/{achievement_id}/versions/{version}"


def create_achievement(
    session: Session, issuer: Issuer, data: AchievementCreate, *, actor: str
) -> tuple[Achievement, AchievementVersion]:
    """Create an achievement with its first version."""
    achievement = Achievement(issuer_id=issuer.id or 0, current_version=1, created_at=utcnow())
    session.add(achievement)
    session.flush()
    version = AchievementVersion(
        achievement_id=achievement.id or 0, version=1, created_at=utcnow(), **_content(data)
    )
    session.add(version)
    audit.record(
        session,
        actor=actor,
        action="achievement.create",
        issuer_id=issuer.id,
        target=f"achievement:{achievement.id}",
        detail={"name": data.name},
    )
    session.commit()
    session.refresh(achievement)
    session.refresh(version)
    return achievement, version


def _content(data: AchievementCreate | AchievementUpdate) -> dict[str, Any]:
    dumped = data.model_dump(exclude_unset=isinstance(data, AchievementUpdate))
    return {k: v for k, v in dumped.items() if k in _CONTENT_FIELDS}


def get_achievement(session: Session, issuer_id: int, achievement_id: int) -> Achievement:
    """An achievement of ``issuer_id``; another issuer's looks like a missing one."""
    achievement = session.get(Achievement, achievement_id)
    if achievement is None or achievement.issuer_id != issuer_id:
        raise NotFoundError(
            f"there is no achievement {achievement_id}", code="achievement.not_found"
        )
    return achievement


def current_version(session: Session, achievement: Achievement) -> AchievementVersion:
    """The version new credentials use."""
    return get_version(session, achievement.id or 0, achievement.current_version)


def get_version(session: Session, achievement_id: int, version: int) -> AchievementVersion:
    """One version of an achievement."""
    row = session.exec(
        select(AchievementVersion).where(
            AchievementVersion.achievement_id == achievement_id,
            AchievementVersion.version == version,
        )
    ).first()
    if row is None:
        raise NotFoundError(
            f"achievement {achievement_id} has no version {version}",
            code="achievement.not_found",
        )
    return row


def versions(session: Session, achievement: Achievement) -> list[AchievementVersion]:
    """Every version, oldest first."""
    stmt = (
        select(AchievementVersion)
        .where(AchievementVersion.achievement_id == achievement.id)
        .order_by(col(AchievementVersion.version))
    )
    return list(session.exec(stmt))


def is_issued(session: Session, version: AchievementVersion) -> bool:
    """True once any credential was issued with this version."""
    stmt = select(Credential.id).where(Credential.achievement_version_id == version.id).limit(1)
    return session.exec(stmt).first() is not None


def list_achievements(
    session: Session, issuer: Issuer, *, limit: int = 100, offset: int = 0
) -> list[Achievement]:
    """The issuer's achievements by id."""
    stmt = (
        select(Achievement)
        .where(Achievement.issuer_id == issuer.id)
        .order_by(col(Achievement.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(stmt))


def _writable_version(
    session: Session, achievement: Achievement
) -> tuple[AchievementVersion, bool]:
    """The version to edit: the current one, or a new copy if a credential used it."""
    current = current_version(session, achievement)
    if not is_issued(session, current):
        return current, False
    copy = AchievementVersion(
        achievement_id=current.achievement_id,
        version=current.version + 1,
        created_at=utcnow(),
        **{
            name: getattr(current, name)
            for name in (*_CONTENT_FIELDS, "image_sha256", "image_caption", "image_media_type")
        },
    )
    session.add(copy)
    achievement.current_version = copy.version
    session.add(achievement)
    return copy, True


def update_achievement(
    session: Session, achievement: Achievement, data: AchievementUpdate, *, actor: str
) -> AchievementVersion:
    """Apply an edit; creates a new version if the current one was already issued."""
    version, new = _writable_version(session, achievement)
    changes = _content(data)
    for name, value in changes.items():
        setattr(version, name, value)
    session.add(version)
    audit.record(
        session,
        actor=actor,
        action="achievement.update",
        issuer_id=achievement.issuer_id,
        target=f"achievement:{achievement.id}",
        detail={"version": version.version, "new_version": new, "fields": sorted(changes)},
    )
    session.commit()
    session.refresh(version)
    return version


def set_image(
    session: Session,
    achievement: Achievement,
    *,
    sha256: str,
    media_type: str,
    caption: str,
    actor: str,
) -> AchievementVersion:
    """Set the image (with its required alt text); versioned like any other edit."""
    version, new = _writable_version(session, achievement)
    version.image_sha256 = sha256
    version.image_media_type = media_type
    version.image_caption = caption
    session.add(version)
    audit.record(
        session,
        actor=actor,
        action="achievement.image",
        issuer_id=achievement.issuer_id,
        target=f"achievement:{achievement.id}",
        detail={"version": version.version, "new_version": new, "sha256": sha256},
    )
    session.commit()
    session.refresh(version)
    return version


def result_description_id(ach_url: str, key: str) -> str:
    """The id of a ResultDescription inside an achievement version."""
    return f"{ach_url}#result-{key}"


def level_id(ach_url: str, rd_key: str, level_key: str) -> str:
    """The id of a RubricCriterionLevel inside a ResultDescription."""
    return f"{ach_url}#result-{rd_key}-level-{level_key}"


def achievement_json(
    ctx: ServiceContext, issuer: Issuer, version: AchievementVersion
) -> dict[str, Any]:
    """The OB 3.0 Achievement for one version, as it goes into credentials."""
    url = achievement_url(ctx, version.achievement_id, version.version)
    img = image_url(ctx, version.image_sha256)
    return ob.achievement(
        id=url,
        name=version.name,
        description=version.description,
        criteria_narrative=version.criteria_narrative or version.description,
        achievement_type=version.achievement_type,
        image=ob.image(id=img, caption=version.image_caption) if img else None,
        alignment=[
            ob.alignment(
                target_name=a["target_name"],
                target_url=a["target_url"],
                target_framework=a.get("target_framework"),
                target_code=a.get("target_code"),
            )
            for a in version.alignments
        ],
        result_description=[
            ob.result_description(
                id=result_description_id(url, rd["key"]),
                name=rd["name"],
                result_type=rd["result_type"],
                rubric_criterion_level=[
                    ob.rubric_criterion_level(
                        id=level_id(url, rd["key"], lv["key"]),
                        name=lv["name"],
                        description=lv.get("description"),
                        level=lv.get("level"),
                        points=lv.get("points"),
                    )
                    for lv in rd.get("levels", [])
                ],
            )
            for rd in version.result_descriptions
        ],
        tag=list(version.tags),
        in_language=version.in_language,
        version=str(version.version),
        creator=profile(ctx, issuer),
    )


def to_public(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    achievement: Achievement,
    version: AchievementVersion | None = None,
) -> AchievementPublic:
    """The API view of an achievement (its current version unless one is given)."""
    version = version or current_version(session, achievement)
    return AchievementPublic(
        id=achievement.id or 0,
        issuer=issuer.slug,
        version=version.version,
        achievement_url=achievement_url(ctx, achievement.id or 0, version.version),
        name=version.name,
        description=version.description,
        criteria_narrative=version.criteria_narrative,
        achievement_type=version.achievement_type,
        image_url=image_url(ctx, version.image_sha256),
        image_caption=version.image_caption,
        alignments=list(version.alignments),
        result_descriptions=list(version.result_descriptions),
        tags=list(version.tags),
        in_language=version.in_language,
        default_validity_days=version.default_validity_days,
        issued=is_issued(session, version),
        created_at=version.created_at,
    )
