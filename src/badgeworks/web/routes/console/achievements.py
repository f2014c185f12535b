"""Console achievements: list, create and edit with a preview of the badge as an employer
will see it, and an image upload with required alt text."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from fastapi import Depends, Form, Path, Request, Response
from pydantic import ValidationError
from sqlmodel import Session

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.models import Achievement, AchievementEdition, AchievementVersion
from badgeworks.services.context import ServiceContext
from badgeworks.services.programs import achievements
from badgeworks.services.programs.models import (
    AchievementCreate,
    AchievementEditionPut,
    AchievementUpdate,
)
from badgeworks.web.deps import ContextDep, FormText, Id, SessionDep
from badgeworks.web.pages import page_language
from badgeworks.web.routes.console.common import (
    AltText,
    Csrf,
    ImageFile,
    ImageRefused,
    Program,
    ProgramDep,
    back_to,
    console_router,
    form_errors,
    page,
    stored_image,
)
from badgeworks.web.routes.console.forms import (
    format_alignments,
    format_rubric,
    none_if_blank,
    parse_alignments,
    parse_rubric,
    parse_tags,
)

router = console_router()

LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "ca")

#: The achievement form's input for each field of the request model, so each refusal
#: links to the input to fix.
FORM_FIELDS = {
    "name": "name",
    "description": "description",
    "criteria_narrative": "criteria_narrative",
    "achievement_type": "achievement_type",
    "in_language": "in_language",
    "tags": "tags",
    "alignments": "alignments",
    "result_descriptions": "rubric",
    "default_validity_days": "default_validity_days",
}
#: The same for the language edition form.
EDITION_FIELDS = {
    "name": "edition-name",
    "description": "edition-description",
    "criteria_narrative": "edition-criteria",
    "image_caption": "edition-caption",
}


def _form_values(version: AchievementVersion | None) -> dict[str, str]:
    if version is None:
        return {"achievement_type": "Fieldwork", "in_language": "en", "default_validity_days": ""}
    return {
        "name": version.name,
        "description": version.description,
        "criteria_narrative": version.criteria_narrative or "",
        "achievement_type": version.achievement_type,
        "in_language": version.in_language or "",
        "tags": ", ".join(version.tags),
        "alignments": format_alignments(version.alignments),
        "rubric": format_rubric(version.result_descriptions),
        "default_validity_days": str(version.default_validity_days or ""),
    }


def _payload(values: dict[str, str]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "description": values["description"],
        "criteria_narrative": none_if_blank(values["criteria_narrative"]),
        "achievement_type": values["achievement_type"] or "Fieldwork",
        "in_language": none_if_blank(values["in_language"]),
        "tags": parse_tags(values["tags"]),
        "alignments": parse_alignments(values["alignments"]),
        "result_descriptions": parse_rubric(values["rubric"]),
        "default_validity_days": _validity(values["default_validity_days"]),
    }


def _validity(text: str) -> int | str | None:
    """Blank: no expiry; digits: a number of days. Anything else is passed on as text, so
    the model refuses it with a message that names the field."""
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else text


def _preview(
    program: Program, ctx: Any, data: AchievementCreate, base: AchievementVersion | None
) -> dict[str, Any]:
    """The OB 3.0 Achievement the form describes, built by the same code as credentials
    and checked as saving would check it (``AchievementInvalid``)."""
    content = achievements.checked_content(data)
    version = AchievementVersion(
        achievement_id=base.achievement_id if base else 0,
        version=base.version if base else 1,
        image_sha256=base.image_sha256 if base else None,
        image_caption=base.image_caption if base else None,
        image_media_type=base.image_media_type if base else None,
        **{**data.model_dump(mode="json"), "in_language": content["in_language"]},
    )
    achievements.check_issuable(None, ctx, program.issuer, version)
    return achievements.achievement_json(ctx, program.issuer, version)


def _editor(
    request: Request,
    program: Program,
    *,
    values: dict[str, str],
    achievement_id: int | None = None,
    version: AchievementVersion | None = None,
    preview: dict[str, Any] | None = None,
    error: str | list[dict[str, str]] = "",
    status_code: int = 200,
    versions: list[AchievementVersion] | None = None,
    issued: bool = False,
    image_errors: list[dict[str, str]] | None = None,
    image_values: dict[str, str] | None = None,
    editions: list[AchievementEdition] | None = None,
    edition_values: dict[str, str] | None = None,
    edition_error: str | list[dict[str, str]] = "",
) -> Response:
    return page(
        request,
        "console/achievement_form.html",
        program,
        section="achievements",
        status_code=status_code,
        values=values,
        achievement_id=achievement_id,
        version=version,
        preview=preview,
        error=error,
        languages_list=LANGUAGES,
        versions=versions or [],
        issued=issued,
        image_errors=image_errors or [],
        image_values=image_values or {},
        editions=editions or [],
        edition_values=edition_values or {"lang": ""},
        edition_error=edition_error,
    )


def _saved_editor(
    request: Request,
    program: Program,
    session: Session,
    ctx: ServiceContext,
    achievement: Achievement,
    version: AchievementVersion,
    **extra: Any,
) -> Response:
    """The editor for a saved achievement's ``version``, as stored (plus ``extra``)."""
    extra.setdefault("editions", achievements.editions_of(session, version))
    return _editor(
        request,
        program,
        values=_form_values(version),
        achievement_id=achievement.id,
        version=version,
        preview=achievements.achievement_json(ctx, program.issuer, version),
        versions=achievements.versions(session, achievement),
        issued=achievements.is_issued(session, version),
        **extra,
    )


@router.get("/{slug}/achievements")
def list_achievements(
    request: Request, session: SessionDep, ctx: ContextDep, program: ProgramDep
) -> Response:
    """The program's achievements with their current version."""
    rows = []
    for a in achievements.list_achievements(session, program.issuer, limit=500):
        v = achievements.current_version(session, a)
        rows.append({"id": a.id, "version": v, "issued": achievements.is_issued(session, v)})
    return page(request, "console/achievements.html", program, section="achievements", rows=rows)


@dataclass
class AchievementForm:
    """The achievement form's fields (the same for a new achievement and an edit)."""

    name: Annotated[str, Form(max_length=200)] = ""
    description: FormText = ""
    criteria_narrative: FormText = ""
    achievement_type: Annotated[str, Form(max_length=100)] = "Fieldwork"
    in_language: Annotated[str, Form(max_length=35)] = ""
    tags: FormText = ""
    alignments: FormText = ""
    rubric: FormText = ""
    default_validity_days: Annotated[str, Form(max_length=20)] = ""
    #: ``save``, or anything else to preview without saving.
    action: Annotated[str, Form(max_length=20)] = "preview"

    def values(self) -> dict[str, str]:
        """The typed text, to fill the form again."""
        return {k: v for k, v in asdict(self).items() if k != "action"}


AchievementFormDep = Annotated[AchievementForm, Depends()]


@router.get("/{slug}/achievements/new")
def new_achievement(request: Request, program: ProgramDep) -> Response:
    """The empty form."""
    program.require("issuer")
    return _editor(request, program, values=_form_values(None))


@router.post("/{slug}/achievements/new", dependencies=[Csrf])
def create_achievement(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    form: AchievementFormDep,
) -> Response:
    """Preview (nothing is saved) or save a new achievement."""
    program.require("issuer")
    values = form.values()
    try:
        data = AchievementCreate.model_validate(_payload(values))
    except ValidationError as exc:
        error = form_errors(exc, page_language(request), FORM_FIELDS)
        return _editor(request, program, values=values, error=error, status_code=422)
    try:
        if form.action != "save":
            preview = _preview(program, ctx, data, None)
            return _editor(request, program, values=values, preview=preview)
        achievement, _ = achievements.create_achievement(
            session, program.issuer, data, actor=program.actor, ctx=ctx, now=ctx.clock()
        )
    except achievements.AchievementInvalid as exc:
        return _editor(request, program, values=values, error=exc.message, status_code=422)
    return back_to(program, f"/achievements/{achievement.id}", "achievement_saved")


@router.get("/{slug}/achievements/{achievement_id}")
def edit_achievement(
    request: Request,
    achievement_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
) -> Response:
    """The achievement's current version, its preview and (for issuers) the edit form."""
    achievement = achievements.get_achievement(session, program.issuer_id, achievement_id)
    version = achievements.current_version(session, achievement)
    editions = achievements.editions_of(session, version)
    # ``?edition=es`` fills the language edition form with that edition, to change it.
    chosen = next((e for e in editions if e.lang == request.query_params.get("edition")), None)
    return _saved_editor(
        request,
        program,
        session,
        ctx,
        achievement,
        version,
        editions=editions,
        edition_values=_edition_values(chosen),
    )


@router.post("/{slug}/achievements/{achievement_id}", dependencies=[Csrf])
def update_achievement(
    request: Request,
    achievement_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    form: AchievementFormDep,
) -> Response:
    """Preview or save an edit (a new version once a credential used the current one)."""
    program.require("issuer")
    achievement = achievements.get_achievement(session, program.issuer_id, achievement_id)
    current = achievements.current_version(session, achievement)
    values = form.values()
    common: dict[str, Any] = {
        "achievement_id": achievement_id,
        "version": current,
        "versions": achievements.versions(session, achievement),
        "issued": achievements.is_issued(session, current),
        "editions": achievements.editions_of(session, current),
    }
    try:
        data = AchievementCreate.model_validate(_payload(values))
    except ValidationError as exc:
        error = form_errors(exc, page_language(request), FORM_FIELDS)
        return _editor(request, program, values=values, error=error, status_code=422, **common)
    try:
        if form.action != "save":
            preview = _preview(program, ctx, data, current)
            return _editor(request, program, values=values, preview=preview, **common)
        update = AchievementUpdate.model_validate(data.model_dump())
        achievements.update_achievement(session, ctx, achievement, update, actor=program.actor)
    except achievements.AchievementInvalid as exc:
        return _editor(
            request, program, values=values, error=exc.message, status_code=422, **common
        )
    return back_to(program, f"/achievements/{achievement_id}", "achievement_saved")


@router.post("/{slug}/achievements/{achievement_id}/image", dependencies=[Csrf])
def upload_image(
    request: Request,
    achievement_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    file: ImageFile,
    caption: AltText = "",
) -> Response:
    """Set the badge image (PNG or SVG) with its alt text, which is required."""
    program.require("issuer")
    achievement = achievements.get_achievement(session, program.issuer_id, achievement_id)
    try:
        sha256, media_type = stored_image(ctx, file, caption)
    except ImageRefused as exc:
        version = achievements.current_version(session, achievement)
        return _saved_editor(
            request,
            program,
            session,
            ctx,
            achievement,
            version,
            image_errors=exc.problems(
                page_language(request), file_id="image-file", caption_id="caption"
            ),
            image_values={"caption": caption},
            status_code=422,
        )
    achievements.set_image(
        session,
        achievement,
        sha256=sha256,
        media_type=media_type,
        caption=caption.strip(),
        actor=program.actor,
        now=ctx.clock(),
    )
    return back_to(program, f"/achievements/{achievement_id}", "image_saved")


def _edition_values(edition: AchievementEdition | None) -> dict[str, Any]:
    if edition is None:
        return {"lang": "", "result_names": {}}
    return {
        "lang": edition.lang,
        "name": edition.name,
        "description": edition.description,
        "criteria_narrative": edition.criteria_narrative or "",
        "image_caption": edition.image_caption or "",
        "result_names": dict(edition.result_names or {}),
    }


def _result_names(form: Any, version: AchievementVersion) -> dict[str, Any]:
    """Translated rubric names from the edition form: ``rn_<i>`` names criterion ``i`` of
    the version, ``rn_<i>_<j>`` its level ``j`` (indexes, since keys may hold any of
    ``._-``). Empty fields are left out, so the original name shows."""
    names: dict[str, Any] = {}
    for i, rd in enumerate(version.result_descriptions):
        field = form.get(f"rn_{i}")
        name = field.strip() if isinstance(field, str) else ""
        levels = {}
        for j, level in enumerate(rd.get("levels", [])):
            value = form.get(f"rn_{i}_{j}")
            if isinstance(value, str) and value.strip():
                levels[level["key"]] = value.strip()
        if name or levels:
            names[rd["key"]] = {"name": name or None, "levels": levels}
    return names


@router.post("/{slug}/achievements/{achievement_id}/editions", dependencies=[Csrf])
async def save_edition(
    request: Request,
    achievement_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
    lang: Annotated[str, Form(max_length=35)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    description: FormText = "",
    criteria_narrative: FormText = "",
    image_caption: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Add or change a language edition of the current version (allowed after issuance),
    with the rubric's criterion and level names in that language."""
    program.require("issuer")
    form = await request.form()
    achievement = achievements.get_achievement(session, program.issuer_id, achievement_id)
    version = achievements.current_version(session, achievement)
    editions = achievements.editions_of(session, version)
    values: dict[str, Any] = {
        "lang": lang.strip(),
        "name": name,
        "description": description,
        "criteria_narrative": criteria_narrative,
        "image_caption": image_caption,
        "result_names": _result_names(form, version),
    }
    error: str | list[dict[str, str]] = ""
    try:
        data = AchievementEditionPut.model_validate(
            {
                "name": name,
                "description": description,
                "criteria_narrative": none_if_blank(criteria_narrative),
                "image_caption": none_if_blank(image_caption),
                "result_names": values["result_names"],
            }
        )
        achievements.put_edition(
            session, achievement, values["lang"], data, actor=program.actor, now=ctx.clock()
        )
    except ValidationError as exc:
        error = form_errors(exc, page_language(request), EDITION_FIELDS)
    except BadgeworksError as exc:
        session.rollback()
        error = exc.message
    if error:
        return _saved_editor(
            request,
            program,
            session,
            ctx,
            achievement,
            version,
            editions=editions,
            edition_values=values,
            edition_error=error,
            status_code=422,
        )
    return back_to(program, f"/achievements/{achievement_id}", "edition_saved")


@router.post("/{slug}/achievements/{achievement_id}/editions/{lang}/delete", dependencies=[Csrf])
def remove_edition(
    achievement_id: Id,
    lang: Annotated[str, Path(max_length=35)],
    session: SessionDep,
    ctx: ContextDep,
    program: ProgramDep,
) -> Response:
    """Delete a language edition of the current version."""
    program.require("issuer")
    achievement = achievements.get_achievement(session, program.issuer_id, achievement_id)
    achievements.delete_edition(session, achievement, lang, actor=program.actor, now=ctx.clock())
    return back_to(program, f"/achievements/{achievement_id}", "edition_deleted")
