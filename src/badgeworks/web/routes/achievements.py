"""``/api/v1/.../achievements``: versioned OB 3.0 achievements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from badgeworks.services.programs import achievements
from badgeworks.services.programs.images import store_image
from badgeworks.services.programs.models import (
    AchievementCreate,
    AchievementEditionPublic,
    AchievementEditionPut,
    AchievementPublic,
    AchievementUpdate,
)
from badgeworks.web.body import read_upload
from badgeworks.web.deps import (
    ContextDep,
    Id,
    ImageCaption,
    ImageFile,
    PageDep,
    PrincipalDep,
    SessionDep,
)
from badgeworks.web.pagination import send_page

router = APIRouter(prefix="/api/v1", tags=["achievements"])


@router.post("/issuers/{slug}/achievements", response_model=AchievementPublic, status_code=201)
def create_achievement(
    slug: str, data: AchievementCreate, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> AchievementPublic:
    """Create an achievement (version 1)."""
    issuer = who.issuer_for(slug)
    achievement, version = achievements.create_achievement(
        session, issuer, data, actor=who.actor, ctx=ctx, now=ctx.clock()
    )
    return achievements.to_public(session, ctx, issuer, achievement, version)


@router.get("/issuers/{slug}/achievements", response_model=list[AchievementPublic])
def list_achievements(
    slug: str, paging: PageDep, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> list[AchievementPublic]:
    """The issuer's achievements, each at its current version."""
    issuer = who.issuer_for(slug)
    page = achievements.page_of_achievements(session, issuer, **paging.window)
    return [achievements.to_public(session, ctx, issuer, a) for a in send_page(paging, page)]


@router.get("/achievements/{achievement_id}", response_model=AchievementPublic)
def get_achievement(
    achievement_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> AchievementPublic:
    """One achievement at its current version."""
    achievement = achievements.get_achievement(session, who.issuer_id, achievement_id)
    return achievements.to_public(session, ctx, who.issuer, achievement)


@router.get("/achievements/{achievement_id}/versions", response_model=list[AchievementPublic])
def list_versions(
    achievement_id: Id, session: SessionDep, ctx: ContextDep, who: PrincipalDep
) -> list[AchievementPublic]:
    """Every version of an achievement, oldest first."""
    achievement = achievements.get_achievement(session, who.issuer_id, achievement_id)
    return [
        achievements.to_public(session, ctx, who.issuer, achievement, v)
        for v in achievements.versions(session, achievement)
    ]


@router.patch("/achievements/{achievement_id}", response_model=AchievementPublic)
def update_achievement(
    achievement_id: Id,
    data: AchievementUpdate,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> AchievementPublic:
    """Edit an achievement; if a credential used its current version, a new version is made."""
    achievement = achievements.get_achievement(session, who.issuer_id, achievement_id)
    version = achievements.update_achievement(session, ctx, achievement, data, actor=who.actor)
    return achievements.to_public(session, ctx, who.issuer, achievement, version)


@router.put("/achievements/{achievement_id}/image", response_model=AchievementPublic)
def set_achievement_image(
    achievement_id: Id,
    file: ImageFile,
    caption: ImageCaption,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
) -> AchievementPublic:
    """Upload the badge image (PNG or SVG) with its required alt text (``caption``)."""
    achievement = achievements.get_achievement(session, who.issuer_id, achievement_id)
    sha256, media_type = store_image(ctx, read_upload(file, ctx.settings.max_upload_bytes))
    version = achievements.set_image(
        session,
        achievement,
        sha256=sha256,
        media_type=media_type,
        caption=caption,
        actor=who.actor,
        now=ctx.clock(),
    )
    return achievements.to_public(session, ctx, who.issuer, achievement, version)


# A language tag is short; anything longer is refused before the database is touched.
Lang = Annotated[str, Path(max_length=35, description="BCP 47 language tag, e.g. es or es-MX.")]
VersionQuery = Annotated[
    int | None,
    Query(ge=1, le=2_147_483_647, description="The version to translate (default: current)."),
]


@router.get(
    "/achievements/{achievement_id}/editions", response_model=list[AchievementEditionPublic]
)
def list_editions(
    achievement_id: Id,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
    version: VersionQuery = None,
) -> list[AchievementEditionPublic]:
    """The language editions of an achievement version (the current one by default)."""
    achievement = achievements.get_achievement(session, who.issuer_id, achievement_id)
    row, editions = achievements.list_editions(session, achievement, version=version)
    return [achievements.edition_to_public(ctx, row, e) for e in editions]


@router.put(
    "/achievements/{achievement_id}/editions/{lang}",
    response_model=AchievementEditionPublic,
    responses={201: {"model": AchievementEditionPublic, "description": "Created."}},
)
def put_edition(
    achievement_id: Id,
    lang: Lang,
    data: AchievementEditionPut,
    response: Response,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
    version: VersionQuery = None,
) -> AchievementEditionPublic:
    """Add or replace the achievement's text in another language (201 when new).

    Allowed after credentials were issued: editions are not signed. Credentials issued
    from now on name the edition in ``related``; pages show it to visitors in its language.
    """
    achievement = achievements.get_achievement(session, who.issuer_id, achievement_id)
    row, edition, created = achievements.put_edition(
        session, achievement, lang, data, actor=who.actor, version=version, now=ctx.clock()
    )
    response.status_code = 201 if created else 200
    return achievements.edition_to_public(ctx, row, edition)


@router.delete("/achievements/{achievement_id}/editions/{lang}", status_code=204)
def delete_edition(
    achievement_id: Id,
    lang: Lang,
    session: SessionDep,
    ctx: ContextDep,
    who: PrincipalDep,
    version: VersionQuery = None,
) -> Response:
    """Delete a language edition."""
    achievement = achievements.get_achievement(session, who.issuer_id, achievement_id)
    achievements.delete_edition(
        session, achievement, lang, actor=who.actor, version=version, now=ctx.clock()
    )
    return Response(status_code=204)
