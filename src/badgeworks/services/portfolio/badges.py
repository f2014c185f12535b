"""Baked badge images: the achievement's image with the signed credential inside.

OB 3.0 "Baking": a PNG gets one uncompressed ``iTXt`` chunk ``openbadgecredential``, an
SVG one ``<openbadges:credential>`` element (``core.baking`` does both). We bake the
stored credential text exactly as issued. When the achievement has no image of the
wanted format we draw a simple one (a disc with the achievement's initials), so every
credential can be downloaded as both a PNG and an SVG.

A revoked or suspended credential's images (baked and link previews) are stamped with a
red band saying so (``mark``, the word in the visitor's language), so a downloaded or
shared picture never looks valid; the signed text inside is still the one issued.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from html import escape

from PIL import Image, ImageDraw, ImageFont
from sqlmodel import Session

from badgeworks.core.baking import BakingError, bake_png, bake_svg
from badgeworks.core.reading import read_credential
from badgeworks.core.svg import SvgError, sanitize_svg
from badgeworks.db.models import AchievementVersion, Credential
from badgeworks.services.context import ServiceContext

log = logging.getLogger("badgeworks.badges")

ACCENT = (11, 92, 173)
WITHDRAWN_RED = (164, 22, 26)
SIZE = 512


def badge_name(row: Credential) -> str:
    """The name a badge is drawn and its downloads are named with: the credential's own
    name, else its achievement's, as every page reads it (``core.reading``)."""
    return read_credential(json.loads(row.document)).title


def initials(name: str) -> str:
    """Up to three initials of the achievement's name (letters or digits only)."""
    letters = [w[0] for w in name.split() if w[:1].isalnum()]
    return "".join(letters[:3]).upper() or "OB"


def generated_png(name: str) -> bytes:
    """A plain badge: a blue disc with the achievement's initials, 512 px square."""
    image = Image.new("RGB", (SIZE, SIZE), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((16, 16, SIZE - 16, SIZE - 16), fill=ACCENT)
    draw.ellipse((40, 40, SIZE - 40, SIZE - 40), outline=(255, 255, 255), width=6)
    font = ImageFont.load_default(size=150)
    draw.text((SIZE / 2, SIZE / 2), initials(name), fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def generated_svg(name: str, *, png: bytes | None = None) -> str:
    """A badge SVG: the achievement's PNG image embedded, or a drawn disc with initials."""
    title = escape(name)
    if png is not None:
        data = base64.b64encode(png).decode("ascii")
        body = f'<image width="{SIZE}" height="{SIZE}" href="data:image/png;base64,{data}"/>'
    else:
        body = (
            f'<circle cx="256" cy="256" r="240" fill="rgb{ACCENT}"/>'
            '<circle cx="256" cy="256" r="213" fill="none" stroke="#fff" stroke-width="6"/>'
            '<text x="256" y="256" dy=".35em" text-anchor="middle" font-family="DejaVu Sans, '
            f'Verdana, sans-serif" font-size="150" font-weight="700" fill="#fff">'
            f"{escape(initials(name))}</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}" role="img"><title>{title}</title>{body}</svg>\n'
    )


def stamp_png(data: bytes, mark: str) -> bytes:
    """``data`` (any image Pillow reads) as a PNG with a red band across its middle
    reading ``mark`` in white."""
    with Image.open(io.BytesIO(data)) as opened:
        image = opened.convert("RGBA")
    width, height = image.size
    band = max(12, height // 5)
    top = (height - band) // 2
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rectangle((0, top, width, top + band), fill=(*WITHDRAWN_RED, 240))
    size = max(8, int(band * 0.6))
    font = ImageFont.load_default(size=size)
    while size > 8 and draw.textlength(mark, font=font) > width * 0.9:
        size -= 2
        font = ImageFont.load_default(size=size)
    draw.text((width / 2, top + band / 2), mark, fill=(255, 255, 255), font=font, anchor="mm")
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).save(out, format="PNG", optimize=True)
    return out.getvalue()


def stamp_svg(svg: str, mark: str) -> str:
    """A badge SVG showing ``svg`` (already sanitised) under a red band reading ``mark``.

    The original is drawn as an embedded image, so its own size and coordinates need no
    reading; an SVG used as an image runs nothing and fetches nothing.
    """
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    size = 60 if len(mark) <= 12 else max(24, 60 * 12 // len(mark))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}" role="img"><title>{escape(mark)}</title>'
        f'<image width="{SIZE}" height="{SIZE}" href="data:image/svg+xml;base64,{data}"/>'
        f'<rect x="0" y="205" width="{SIZE}" height="102" fill="rgb{WITHDRAWN_RED}" '
        'fill-opacity="0.94"/>'
        '<text x="256" y="256" dy=".35em" text-anchor="middle" font-family="DejaVu Sans, '
        f'Verdana, sans-serif" font-size="{size}" font-weight="700" fill="#fff">'
        f"{escape(mark)}</text></svg>\n"
    )


def _achievement_image(
    session: Session, ctx: ServiceContext, row: Credential
) -> tuple[AchievementVersion | None, bytes | None, str | None]:
    version = (
        session.get(AchievementVersion, row.achievement_version_id)
        if row.achievement_version_id
        else None
    )
    if version is None or not version.image_sha256 or not ctx.blobs.exists(version.image_sha256):
        return version, None, None
    with ctx.blobs.open(version.image_sha256) as fh:
        return version, fh.read(), version.image_media_type


def baked_png(
    session: Session, ctx: ServiceContext, row: Credential, name: str, *, mark: str | None = None
) -> bytes:
    """The achievement's PNG (or a drawn one) with the stored credential baked in, stamped
    with ``mark`` when given (a revoked or suspended credential).

    A stored PNG that is not whole (saved before uploads were checked) is replaced by the
    drawn one rather than failing the download.
    """
    _, data, media_type = _achievement_image(session, ctx, row)
    if data is not None and media_type == "image/png":
        try:
            image = stamp_png(data, mark) if mark else data
            return bake_png(image, row.document)
        except (BakingError, OSError, ValueError):
            log.warning("credential %s: the achievement's PNG is damaged; drawing one", row.id)
    drawn = generated_png(name)
    return bake_png(stamp_png(drawn, mark) if mark else drawn, row.document)


def baked_svg(
    session: Session, ctx: ServiceContext, row: Credential, name: str, *, mark: str | None = None
) -> str:
    """The achievement's SVG (or one made from its PNG, or a drawn one), credential baked in.

    The stored SVG is rebuilt by ``sanitize_svg`` every time, so an image stored before
    uploads were sanitised never carries a script or an external reference into a badge;
    one that cannot be rebuilt is replaced by the drawn badge. ``mark`` stamps it, as
    ``baked_png``.
    """
    _, data, media_type = _achievement_image(session, ctx, row)
    if data is not None and media_type == "image/svg+xml":
        try:
            clean = sanitize_svg(data)
            return bake_svg(stamp_svg(clean, mark) if mark else clean, row.document)
        except SvgError:
            log.warning("credential %s: the achievement's SVG is unusable; drawing one", row.id)
        data = None
    base = generated_svg(name, png=data if media_type == "image/png" else None)
    return bake_svg(stamp_svg(base, mark) if mark else base, row.document)


def og_image_png(
    session: Session, ctx: ServiceContext, row: Credential, name: str, *, mark: str | None = None
) -> bytes:
    """A PNG for link previews: the achievement's PNG, or a drawn one (not baked); stamped
    with ``mark`` when given."""
    _, data, media_type = _achievement_image(session, ctx, row)
    image = data if data is not None and media_type == "image/png" else generated_png(name)
    if mark:
        try:
            return stamp_png(image, mark)
        except (OSError, ValueError):
            return stamp_png(generated_png(name), mark)
    return image
