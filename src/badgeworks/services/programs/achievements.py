"""Achievements, versioned: a version a credential used is frozen, edits make a new one.

The OB Achievement ``id`` of version *n* is ``<base>/achievements/<id>/versions/<n>``, so
two credentials that name the same id describe exactly the same achievement.

Every version is checked as it will be issued before it is stored: the credential a
project would get from it is built by issuance's own builder and must pass the VC / OB 3.0
structural checks, the OB 3.0 JSON Schema and strict JSON-LD canonicalization, so an edit
can never leave an achievement that no credential can be issued with.

A version may have **language editions** (OB 3.0 ``inLanguage`` and ``related``): its
name, description, criteria, image alt text and rubric names in another language, each
at ``<base>/achievements/<id>/versions/<n>/<lang>``. Editions are not part of any signed
credential, so they may be added, changed or deleted after the version was issued; a
credential carries the version's own text (in its ``in_language``) and a ``related``
entry per edition that existed when it was signed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import object_session
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from badgeworks.core import credential as ob
from badgeworks.core.canonicalize import canonicalize
from badgeworks.core.errors import BadgeworksError
from badgeworks.core.schema import schema_problems
from badgeworks.core.structure import check_credential
from badgeworks.db.models import (
    Achievement,
    AchievementEdition,
    AchievementVersion,
    Candidate,
    Credential,
    Issuer,
    Project,
)
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError, ValidationFailed
from badgeworks.services.infra import audit, ownership, pagination
from badgeworks.services.infra.pagination import Page
from badgeworks.services.programs.issuers import image_url, profile
from badgeworks.services.programs.models import (
    AchievementCreate,
    AchievementEditionPublic,
    AchievementEditionPut,
    AchievementPublic,
    AchievementUpdate,
)

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


#: OB 3.0 ``AchievementType``, an extensible enumeration: one of these, or ``ext:`` and a
#: name (``tests`` check the list against the bundled JSON Schema).
ACHIEVEMENT_TYPES = frozenset(
    {
        "Achievement",
        "ApprenticeshipCertificate",
        "Assessment",
        "Assignment",
        "AssociateDegree",
        "Award",
        "Badge",
        "BachelorDegree",
        "Certificate",
        "CertificateOfCompletion",
        "Certification",
        "CommunityService",
        "Competency",
        "Course",
        "CoCurricular",
        "Degree",
        "Diploma",
        "DoctoralDegree",
        "Fieldwork",
        "GeneralEducationDevelopment",
        "JourneymanCertificate",
        "LearningProgram",
        "License",
        "Membership",
        "ProfessionalDoctorate",
        "QualityAssuranceCredential",
        "MasterCertificate",
        "MasterDegree",
        "MicroCredential",
        "ResearchDoctorate",
        "SecondarySchoolDiploma",
    }
)
_EXT_TYPE = re.compile(r"^ext:[A-Za-z0-9._-]{1,96}$")
#: Fields every version has: ``null`` in an edit is refused (leave the field out to keep it).
_REQUIRED_FIELDS = ("name", "description", "achievement_type")
#: List fields: ``null`` in an edit means "none" and stores an empty list.
_LIST_FIELDS = ("alignments", "result_descriptions", "tags")
#: The Achievement property a JSON Schema or structural problem names → our field.
_OB_FIELDS = {
    "name": "name",
    "description": "description",
    "criteria": "criteria_narrative",
    "achievementType": "achievement_type",
    "alignment": "alignments",
    "resultDescription": "result_descriptions",
    "tag": "tags",
    "inLanguage": "in_language",
    "image": "image",
    "validUntil": "default_validity_days",
}


class AchievementInvalid(ValidationFailed):
    """A version no credential could be issued with; refused before anything is stored."""

    code = "achievement.invalid"


def achievement_url(ctx: ServiceContext, achievement_id: int, version: int) -> str:
    """The OB Achievement id of one version."""
    return f"{ctx.base_url}/achievements/{achievement_id}/versions/{version}"


def create_achievement(
    session: Session,
    issuer: Issuer,
    data: AchievementCreate,
    *,
    actor: str,
    ctx: ServiceContext | None = None,
    now: datetime,
) -> tuple[Achievement, AchievementVersion]:
    """Create an achievement with its first version.

    With ``ctx`` the version is also checked as it will be issued (``check_issuable``).
    """
    content = checked_content(data)
    achievement = Achievement(issuer_id=issuer.id or 0, current_version=1, created_at=now)
    session.add(achievement)
    session.flush()
    version = AchievementVersion(
        achievement_id=achievement.id or 0, version=1, created_at=now, **content
    )
    session.add(version)
    if ctx is not None:
        session.flush()
        check_issuable(session, ctx, issuer, version)
    audit.commit(
        session,
        actor=actor,
        action="achievement.create",
        issuer_id=issuer.id,
        target=f"achievement:{achievement.id}",
        detail={"name": data.name},
        now=now,
        refresh=[achievement, version],
    )
    return achievement, version


def checked_content(data: AchievementCreate | AchievementUpdate) -> dict[str, Any]:
    """The version fields ``data`` sets, checked and normalised; ``AchievementInvalid``.

    ``null`` for a required field is refused; for a list it stores an empty list; for
    ``criteria_narrative``, ``in_language`` and ``default_validity_days`` it removes the
    value. ``achievement_type`` must be OB 3.0's; ``in_language`` is put in canonical case.
    """
    dumped = data.model_dump(exclude_unset=isinstance(data, AchievementUpdate))
    content = {k: v for k, v in dumped.items() if k in _CONTENT_FIELDS}
    for name in _REQUIRED_FIELDS:
        if name in content and content[name] is None:
            raise AchievementInvalid(
                f"{name}: must not be null; send a value, or leave the field out to keep the "
                "current one",
                code=f"achievement.{name}_required",
                field=name,
            )
    for name in _LIST_FIELDS:
        if name in content and content[name] is None:
            content[name] = []
    if content.get("achievement_type") is not None:
        content["achievement_type"] = check_achievement_type(content["achievement_type"])
    if content.get("in_language") is not None:
        try:
            content["in_language"] = canonical_lang(content["in_language"])
        except EditionError as exc:
            raise AchievementInvalid(
                "in_language: " + exc.message.removeprefix("lang: "),
                code="achievement.in_language_invalid",
                field="in_language",
            ) from None
    return content


def check_achievement_type(value: str) -> str:
    """``value`` if OB 3.0 allows it as ``achievementType``; else ``AchievementInvalid``."""
    if value in ACHIEVEMENT_TYPES or _EXT_TYPE.match(value):
        return value
    close = [t for t in sorted(ACHIEVEMENT_TYPES) if t.lower() == value.lower()]
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise AchievementInvalid(
        f"achievement_type: {value!r:.100} is not an Open Badges 3.0 achievement type; {hint}"
        "use one of the OB 3.0 types (such as Fieldwork, Badge, Certificate or "
        "MicroCredential) or an extension written ext:Name",
        code="achievement.achievement_type_invalid",
        field="achievement_type",
    )


def check_issuable(
    session: Session | None, ctx: ServiceContext, issuer: Issuer, version: AchievementVersion
) -> None:
    """Refuse (and roll back ``session``) a version no credential could be issued with.

    Builds the credential a project would get from ``version`` with issuance's own
    builder, and runs what issuing runs before signing: the VC / OB 3.0 structural checks,
    the OB 3.0 JSON Schema and strict canonicalization. ``AchievementInvalid`` names the
    field at fault (``achievement.<field>_invalid``) or ``achievement.not_issuable``.
    """
    # issuance imports this module (for achievement_json), so it is imported here.
    from badgeworks.services.issuance.completion import build_credential

    candidate = Candidate(
        issuer_id=issuer.id or 0, name="Example", emails=["candidate@example.org"], salt="0" * 32
    )
    project = Project(
        issuer_id=issuer.id or 0,
        achievement_id=version.achievement_id,
        candidate_id=0,
        title="Example",
    )
    try:
        document = build_credential(
            ctx,
            credential_id=str(uuid.UUID(int=0)),
            issuer=issuer,
            version=version,
            candidate=candidate,
            project=project,
            files=[],
            now=ctx.clock(),
        )
        check_credential(document)
        problems = schema_problems(document, ctx.schemas())
        if problems:
            raise problems[0]
        canonicalize(document, ctx.loader)
    except BadgeworksError as exc:
        if session is not None:
            session.rollback()
        field = _field_of(exc)
        raise AchievementInvalid(
            f"{field or 'achievement'}: credentials issued with this version would be refused "
            f"({exc.message}); nothing was saved",
            code=f"achievement.{field}_invalid" if field else "achievement.not_issuable",
            field=field,
        ) from None


def _field_of(exc: BadgeworksError) -> str | None:
    """Our field for the Achievement property a problem's JSON path or message names."""
    where = str(exc.details.get("path") or exc.message)
    match = re.search(r"\.achievement\.([A-Za-z]+)", where)
    return _OB_FIELDS.get(match.group(1)) if match else None


def get_achievement(session: Session, issuer_id: int, achievement_id: int) -> Achievement:
    """An achievement of ``issuer_id``; another issuer's looks like a missing one."""
    return ownership.issuer_row(session, Achievement, achievement_id, issuer_id, "achievement")


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


def _listed(issuer: Issuer) -> SelectOfScalar[Achievement]:
    """The issuer's achievements by id: the one query their list and its total read."""
    return (
        select(Achievement).where(Achievement.issuer_id == issuer.id).order_by(col(Achievement.id))
    )


def list_achievements(
    session: Session, issuer: Issuer, *, limit: int = 100, offset: int = 0
) -> list[Achievement]:
    """The issuer's achievements by id."""
    return list(session.exec(_listed(issuer).offset(offset).limit(limit)))


def page_of_achievements(
    session: Session, issuer: Issuer, *, limit: int, offset: int
) -> Page[Achievement]:
    """One page of the issuer's achievements, and how many there are."""
    return pagination.page(session, _listed(issuer), limit=limit, offset=offset)


def _writable_version(
    session: Session, achievement: Achievement, now: datetime
) -> tuple[AchievementVersion, bool]:
    """The version to edit: the current one, or a new copy if a credential used it."""
    current = current_version(session, achievement)
    if not is_issued(session, current):
        return current, False
    copy = AchievementVersion(
        achievement_id=current.achievement_id,
        version=current.version + 1,
        created_at=now,
        **{
            name: getattr(current, name)
            for name in (*_CONTENT_FIELDS, "image_sha256", "image_caption", "image_media_type")
        },
    )
    session.add(copy)
    session.flush()
    # Translations carry over, so an edit in one language does not silently drop the
    # others; the issuer updates them with PUT .../editions/{lang} when the text changed.
    for edition in editions_of(session, current):
        session.add(
            AchievementEdition(
                achievement_version_id=copy.id or 0,
                **{name: getattr(edition, name) for name in _EDITION_FIELDS},
                lang=edition.lang,
                created_at=now,
                updated_at=now,
            )
        )
    achievement.current_version = copy.version
    session.add(achievement)
    return copy, True


def update_achievement(
    session: Session,
    ctx: ServiceContext,
    achievement: Achievement,
    data: AchievementUpdate,
    *,
    actor: str,
) -> AchievementVersion:
    """Apply an edit; creates a new version if the current one was already issued.

    The edited version is checked as it will be issued (``check_issuable``); a refused
    edit stores nothing, not even the new version.
    """
    changes = checked_content(data)
    now = ctx.clock()
    version, new = _writable_version(session, achievement, now)
    for name, value in changes.items():
        setattr(version, name, value)
    if "in_language" in changes:
        _check_editions_still_fit(session, version)
    session.add(version)
    session.flush()
    issuer = session.get(Issuer, achievement.issuer_id)
    if issuer is None:  # pragma: no cover - the foreign key prevents it
        raise NotFoundError(
            f"there is no achievement {achievement.id}", code="achievement.not_found"
        )
    check_issuable(session, ctx, issuer, version)
    audit.commit(
        session,
        actor=actor,
        action="achievement.update",
        issuer_id=achievement.issuer_id,
        target=f"achievement:{achievement.id}",
        detail={"version": version.version, "new_version": new, "fields": sorted(changes)},
        now=now,
        refresh=[version],
    )
    return version


def set_image(
    session: Session,
    achievement: Achievement,
    *,
    sha256: str,
    media_type: str,
    caption: str,
    actor: str,
    now: datetime,
) -> AchievementVersion:
    """Set the image (with its required alt text); versioned like any other edit."""
    version, new = _writable_version(session, achievement, now)
    version.image_sha256 = sha256
    version.image_media_type = media_type
    version.image_caption = caption
    session.add(version)
    audit.commit(
        session,
        actor=actor,
        action="achievement.image",
        issuer_id=achievement.issuer_id,
        target=f"achievement:{achievement.id}",
        detail={"version": version.version, "new_version": new, "sha256": sha256},
        now=now,
        refresh=[version],
    )
    return version


def result_description_id(ach_url: str, key: str) -> str:
    """The id of a ResultDescription inside an achievement version."""
    return f"{ach_url}#result-{key}"


def level_id(ach_url: str, rd_key: str, level_key: str) -> str:
    """The id of a RubricCriterionLevel inside a ResultDescription."""
    return f"{ach_url}#result-{rd_key}-level-{level_key}"


def achievement_json(
    ctx: ServiceContext,
    issuer: Issuer,
    version: AchievementVersion,
    editions: Sequence[AchievementEdition] | None = None,
) -> dict[str, Any]:
    """The OB 3.0 Achievement for one version, as it goes into credentials.

    ``related`` names each language edition (``editions``; by default the version's
    editions as stored now, read through the session the version was loaded with).
    """
    if editions is None:
        editions = _stored_editions(version)
    url = achievement_url(ctx, version.achievement_id, version.version)
    return _achievement_doc(
        ctx,
        issuer,
        version,
        id=url,
        name=version.name,
        description=version.description,
        criteria_narrative=version.criteria_narrative,
        image_caption=version.image_caption,
        result_names={},
        in_language=version.in_language,
        related=[related_entry(ctx, version, e.lang) for e in editions],
    )


def _achievement_doc(
    ctx: ServiceContext,
    issuer: Issuer,
    version: AchievementVersion,
    *,
    id: str,
    name: str,
    description: str,
    criteria_narrative: str | None,
    image_caption: str | None,
    result_names: dict[str, Any],
    in_language: str | None,
    related: list[dict[str, Any]],
) -> dict[str, Any]:
    # One builder for the version and its editions, so an edition differs from the
    # original only in its translated text, its id, inLanguage and related.
    url = id
    img = image_url(ctx, version.image_sha256)
    names = {k: v for k, v in result_names.items() if isinstance(v, dict)}
    return ob.achievement(
        id=url,
        name=name,
        description=description,
        criteria_narrative=criteria_narrative or description,
        achievement_type=version.achievement_type,
        image=ob.image(id=img, caption=image_caption or version.image_caption) if img else None,
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
                name=names.get(rd["key"], {}).get("name") or rd["name"],
                result_type=rd["result_type"],
                rubric_criterion_level=[
                    ob.rubric_criterion_level(
                        id=level_id(url, rd["key"], lv["key"]),
                        name=names.get(rd["key"], {}).get("levels", {}).get(lv["key"])
                        or lv["name"],
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
        in_language=in_language,
        version=str(version.version),
        creator=profile(ctx, issuer),
        related=related,
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
        editions=[e.lang for e in editions_of(session, version)],
    )


# ----------------------------------------------------------------------------- editions

_EDITION_FIELDS = ("name", "description", "criteria_narrative", "image_caption", "result_names")
#: BCP 47 as ``in_language`` accepts it (``services/programs/models.py``)…
_LANG_SYNTAX = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
#: …in the shape the OB 3.0 JSON Schema allows for ``inLanguage`` (Achievement and Related):
#: a language, an optional script and an optional region, in canonical case.
_OB_LANG = re.compile(r"^[a-z]{2,4}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")
#: The path of a version's OB id under our base URL.
_VERSION_PATH = re.compile(r"^/achievements/([1-9][0-9]{0,9})/versions/([1-9][0-9]{0,9})$")


class EditionError(ValidationFailed):
    """A language edition that cannot be stored: bad tag, same language, no original language."""

    code = "edition.invalid"


def canonical_lang(value: str) -> str:
    """``value`` as a canonical BCP 47 tag (``es``, ``es-MX``, ``zh-Hant-TW``).

    Case is normalised as BCP 47 recommends (language lower, script title, region upper),
    and the tag must have the form the OB 3.0 JSON Schema accepts in ``inLanguage``, so
    every credential naming the edition still validates.
    """
    if len(value) > 35 or not _LANG_SYNTAX.match(value):
        raise EditionError(
            f"lang: {value!r:.60} is not a BCP 47 language tag (for example es or es-MX)",
            code="edition.lang_invalid",
        )
    parts = value.split("-")
    tag = "-".join(
        [parts[0].lower()]
        + [
            p.title() if len(p) == 4 and p.isalpha() else p.upper() if len(p) == 2 else p.lower()
            for p in parts[1:]
        ]
    )
    if not _OB_LANG.match(tag):
        raise EditionError(
            f"lang: {value!r} is not a form Open Badges 3.0 accepts: use a language with an "
            "optional script and region, such as es, es-MX, es-419 or zh-Hant-TW",
            code="edition.lang_invalid",
        )
    return tag


def primary_subtag(tag: str | None) -> str:
    """The language part of a BCP 47 tag, lowercase (``es-MX`` → ``es``); ``""`` for None."""
    return (tag or "").split("-")[0].lower()


def edition_url(ctx: ServiceContext, achievement_id: int, version: int, lang: str) -> str:
    """The IRI of a language edition: its OB Achievement JSON, and its ``related`` id."""
    return f"{achievement_url(ctx, achievement_id, version)}/{lang}"


def related_entry(ctx: ServiceContext, version: AchievementVersion, lang: str) -> dict[str, Any]:
    """The OB 3.0 ``Related`` object naming the ``lang`` edition of ``version``."""
    return {
        "id": edition_url(ctx, version.achievement_id, version.version, lang),
        "type": ["Related"],
        "inLanguage": lang,
        "version": str(version.version),
    }


def _editions(version: AchievementVersion) -> SelectOfScalar[AchievementEdition]:
    """The language editions of one version, by language tag."""
    return (
        select(AchievementEdition)
        .where(AchievementEdition.achievement_version_id == version.id)
        .order_by(col(AchievementEdition.lang))
    )


def editions_of(session: Session, version: AchievementVersion) -> list[AchievementEdition]:
    """The language editions of one version, by language tag."""
    return list(session.exec(_editions(version)))


def _stored_editions(version: AchievementVersion) -> list[AchievementEdition]:
    # The session the version was loaded with, so every caller that builds an
    # Achievement (issuing, re-issuing, the console's preview) names the same editions.
    session = object_session(version)
    if session is None or version.id is None:
        return []
    return list(session.scalars(_editions(version)))


def _find_edition(
    session: Session, version: AchievementVersion, lang: str
) -> AchievementEdition | None:
    return session.exec(
        select(AchievementEdition).where(
            AchievementEdition.achievement_version_id == version.id,
            AchievementEdition.lang == lang,
        )
    ).first()


def _target_version(
    session: Session, achievement: Achievement, version: int | None
) -> AchievementVersion:
    if version is None:
        return current_version(session, achievement)
    return get_version(session, achievement.id or 0, version)


def list_editions(
    session: Session, achievement: Achievement, *, version: int | None = None
) -> tuple[AchievementVersion, list[AchievementEdition]]:
    """The editions of a version (the current one unless ``version`` is given)."""
    row = _target_version(session, achievement, version)
    return row, editions_of(session, row)


def _check_result_names(version: AchievementVersion, names: dict[str, Any]) -> None:
    rubric = {
        rd["key"]: {lv["key"] for lv in rd.get("levels", [])} for rd in version.result_descriptions
    }
    for rd_key, entry in names.items():
        if rd_key not in rubric:
            raise EditionError(
                f"result_names: {rd_key!r} is not a result description of version "
                f"{version.version} (its keys: {', '.join(sorted(rubric)) or 'none'})",
                code="edition.unknown_result",
            )
        for level_key in entry.get("levels", {}):
            if level_key not in rubric[rd_key]:
                raise EditionError(
                    f"result_names.{rd_key}.levels: {level_key!r} is not a level of "
                    f"{rd_key!r} (its levels: {', '.join(sorted(rubric[rd_key])) or 'none'})",
                    code="edition.unknown_result",
                )


def put_edition(
    session: Session,
    achievement: Achievement,
    lang: str,
    data: AchievementEditionPut,
    *,
    actor: str,
    version: int | None = None,
    now: datetime,
) -> tuple[AchievementVersion, AchievementEdition, bool]:
    """Create or replace the ``lang`` edition of a version (the current one by default).

    Allowed after the version was issued: editions are not signed. Returns the version,
    the edition and whether it was created.
    """
    tag = canonical_lang(lang)
    row = _target_version(session, achievement, version)
    if not row.in_language:
        raise EditionError(
            f"achievement {achievement.id} version {row.version} has no in_language: set the "
            "language of its own text first (PATCH in_language), then add editions",
            code="edition.no_original_language",
        )
    if tag.lower() == row.in_language.lower():
        raise EditionError(
            f"lang: {tag!r} is the language of the achievement's own text (in_language); an "
            "edition is in another language",
            code="edition.same_language",
        )
    names = {k: v.model_dump(exclude_none=True) for k, v in data.result_names.items()}
    _check_result_names(row, names)
    edition = _find_edition(session, row, tag)
    created = edition is None
    if edition is None:
        edition = AchievementEdition(
            achievement_version_id=row.id or 0,
            lang=tag,
            name=data.name,
            description="",
            created_at=now,
        )
    edition.name = data.name
    edition.description = data.description
    edition.criteria_narrative = data.criteria_narrative
    edition.image_caption = data.image_caption
    edition.result_names = names
    edition.updated_at = now
    session.add(edition)
    audit.commit(
        session,
        actor=actor,
        action="achievement.edition.put",
        issuer_id=achievement.issuer_id,
        target=f"achievement:{achievement.id}",
        detail={"version": row.version, "lang": tag, "created": created},
        now=now,
        refresh=[edition],
    )
    return row, edition, created


def delete_edition(
    session: Session,
    achievement: Achievement,
    lang: str,
    *,
    actor: str,
    version: int | None = None,
    now: datetime,
) -> None:
    """Delete the ``lang`` edition of a version (credentials that name it keep the link)."""
    tag = canonical_lang(lang)
    row = _target_version(session, achievement, version)
    edition = _find_edition(session, row, tag)
    if edition is None:
        raise NotFoundError(
            f"achievement {achievement.id} version {row.version} has no {tag!r} edition",
            code="edition.not_found",
        )
    session.delete(edition)
    audit.commit(
        session,
        actor=actor,
        action="achievement.edition.delete",
        issuer_id=achievement.issuer_id,
        target=f"achievement:{achievement.id}",
        detail={"version": row.version, "lang": tag},
        now=now,
    )


def _check_editions_still_fit(session: Session, version: AchievementVersion) -> None:
    # Editions need an original language other than theirs; an edit that breaks that is
    # refused (nothing of it is kept) rather than dropping translations silently.
    langs = [e.lang for e in editions_of(session, version)]
    if not langs:
        return
    if not version.in_language:
        session.rollback()
        raise ConflictError(
            f"in_language: cannot be removed while the achievement has language editions "
            f"({', '.join(langs)}); delete them first",
            code="achievement.editions_conflict",
        )
    clash = [lang for lang in langs if lang.lower() == version.in_language.lower()]
    if clash:
        session.rollback()
        raise ConflictError(
            f"in_language: {version.in_language!r} is the language of an edition; delete the "
            f"{clash[0]!r} edition first",
            code="achievement.editions_conflict",
        )


def edition_to_public(
    ctx: ServiceContext, version: AchievementVersion, edition: AchievementEdition
) -> AchievementEditionPublic:
    """The API view of one edition."""
    return AchievementEditionPublic(
        achievement_id=version.achievement_id,
        version=version.version,
        lang=edition.lang,
        url=edition_url(ctx, version.achievement_id, version.version, edition.lang),
        original_lang=version.in_language,
        name=edition.name,
        description=edition.description,
        criteria_narrative=edition.criteria_narrative,
        image_caption=edition.image_caption,
        result_names=dict(edition.result_names),
        created_at=edition.created_at,
        updated_at=edition.updated_at,
    )


def edition_json(
    ctx: ServiceContext,
    issuer: Issuer,
    version: AchievementVersion,
    edition: AchievementEdition,
    editions: Sequence[AchievementEdition],
) -> dict[str, Any]:
    """The OB 3.0 Achievement of one language edition.

    Its ``id`` is the edition's IRI and ``inLanguage`` its language; ``related`` names the
    original (the version's own id and language) and every other edition. Everything not
    translated (alignments, tags, type, image, creator) is the original's.
    """
    original: dict[str, Any] = {
        "id": achievement_url(ctx, version.achievement_id, version.version),
        "type": ["Related"],
        "inLanguage": version.in_language,
        "version": str(version.version),
    }
    return _achievement_doc(
        ctx,
        issuer,
        version,
        id=edition_url(ctx, version.achievement_id, version.version, edition.lang),
        name=edition.name,
        description=edition.description,
        criteria_narrative=edition.criteria_narrative,
        image_caption=edition.image_caption,
        result_names=dict(edition.result_names),
        in_language=edition.lang,
        related=[{k: v for k, v in original.items() if v is not None}]
        + [related_entry(ctx, version, e.lang) for e in editions if e.lang != edition.lang],
    )


def public_version_json(
    session: Session, ctx: ServiceContext, achievement_id: int, version: int
) -> dict[str, Any]:
    """An issued version at its public IRI, as OB 3.0 JSON (unissued drafts are not public)."""
    row = get_version(session, achievement_id, version)
    achievement = session.get(Achievement, achievement_id)
    issuer = session.get(Issuer, achievement.issuer_id) if achievement else None
    if issuer is None or not is_issued(session, row):
        raise NotFoundError(
            f"achievement {achievement_id} version {version} is not public",
            code="achievement.not_found",
        )
    return achievement_json(ctx, issuer, row)


def public_edition_json(
    session: Session, ctx: ServiceContext, achievement_id: int, version: int, lang: str
) -> dict[str, Any]:
    """The edition at its public IRI; like the version, only once the version was issued."""
    row = get_version(session, achievement_id, version)
    try:
        tag = canonical_lang(lang)
    except EditionError:
        tag = ""
    edition = _find_edition(session, row, tag) if tag and is_issued(session, row) else None
    if edition is None:
        raise NotFoundError(
            f"achievement {achievement_id} version {version} has no public {lang!r:.40} edition",
            code="edition.not_found",
        )
    achievement = session.get(Achievement, achievement_id)
    issuer = session.get(Issuer, achievement.issuer_id) if achievement else None
    if issuer is None:  # pragma: no cover - the foreign keys prevent it
        raise NotFoundError(f"there is no achievement {achievement_id}", code="edition.not_found")
    return edition_json(ctx, issuer, row, edition, editions_of(session, row))


# ----------------------------------------------------------------------------- pages


def hosted_version(
    session: Session, ctx: ServiceContext, row: Credential, achievement_id: str | None
) -> AchievementVersion | None:
    """The version of ours a stored credential's achievement is, if any; never fetches.

    A credential we issued from a project records its version. Otherwise (the VC-API
    signs what the issuer sends) its achievement ``id`` must be one of our version URLs
    and that achievement must belong to the credential's own issuer, so one issuer's
    credential never shows another issuer's text.
    """
    if row.achievement_version_id is not None:
        return session.get(AchievementVersion, row.achievement_version_id)
    prefix = ctx.base_url
    if not achievement_id or not achievement_id.startswith(prefix):
        return None
    match = _VERSION_PATH.match(achievement_id[len(prefix) :])
    if match is None:
        return None
    achievement = session.get(Achievement, int(match.group(1)))
    if achievement is None or achievement.issuer_id != row.issuer_id:
        return None
    try:
        return get_version(session, achievement.id or 0, int(match.group(2)))
    except NotFoundError:
        return None


def pick_edition(editions: Sequence[AchievementEdition], lang: str) -> AchievementEdition | None:
    """The edition to show a visitor reading ``lang``, matched by primary subtag.

    An exact tag wins, then the bare language (``es``), then the first regional one.
    """
    want = lang.lower()
    same = [e for e in editions if primary_subtag(e.lang) == primary_subtag(want)]
    for edition in same:
        if edition.lang.lower() == want:
            return edition
    for edition in same:
        if edition.lang.lower() == primary_subtag(want):
            return edition
    return same[0] if same else None


def edition_rubric_names(
    achievement_id: str, version: AchievementVersion, edition: AchievementEdition
) -> dict[str, str]:
    """Translated rubric names by the ids a credential's results use (``<id>#result-…``)."""
    out: dict[str, str] = {}
    for rd in version.result_descriptions:
        entry = edition.result_names.get(rd["key"])
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("name"), str):
            out[result_description_id(achievement_id, rd["key"])] = entry["name"]
        levels = entry.get("levels")
        if not isinstance(levels, dict):
            continue
        for lv in rd.get("levels", []):
            if isinstance(levels.get(lv["key"]), str):
                out[level_id(achievement_id, rd["key"], lv["key"])] = levels[lv["key"]]
    return out
