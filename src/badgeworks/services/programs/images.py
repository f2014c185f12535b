"""Badge and issuer images: PNG or SVG only (OB 3.0 "Image"), checked, stored as blobs.

An image is served from our origin and baked into every credential's badge, so it is
checked before it is stored:

- a PNG must be whole (every chunk complete, CRCs right, up to IEND) and its pixels must
  decode, within ``portfolio.photos.MAX_PIXELS``;
- an SVG is rebuilt by ``core.svg.sanitize_svg`` (scripts, event handlers,
  ``foreignObject``, external references, DOCTYPE and entities never survive) and the
  rebuilt text is what is stored.

Problems are ``ValidationFailed`` (422) with an ``image.*`` code.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from badgeworks.core.baking import BakingError, check_png
from badgeworks.core.errors import InputError
from badgeworks.core.svg import SvgError, sanitize_svg
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import UnsupportedMediaError, ValidationFailed
from badgeworks.services.portfolio.photos import MAX_PIXELS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: ``core.svg`` codes → ours.
_SVG_CODES = {
    "svg.unsafe_xml": "image.svg_unsafe_xml",
    "svg.corrupt": "image.svg_corrupt",
    "svg.not_svg": "image.not_svg",
    "svg.too_large": "image.too_large",
}


class ImageError(ValidationFailed):
    """A badge or issuer image that cannot be used: damaged, truncated or unsafe."""

    code = "image.invalid"


def sniff_image(data: bytes) -> str:
    """``image/png`` or ``image/svg+xml`` from the bytes themselves (not the client's word)."""
    if data.startswith(PNG_MAGIC):
        return "image/png"
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096]:
        return "image/svg+xml"
    raise UnsupportedMediaError(
        "an achievement or issuer image must be a PNG or an SVG file",
        code="input.unsupported_media_type",
    )


def checked_png(data: bytes) -> bytes:
    """``data`` if it is a whole PNG whose pixels decode; else ``ImageError``."""
    try:
        check_png(data)
    except BakingError as exc:
        raise ImageError(
            f"the PNG image is damaged: {exc.message}; export it again",
            code="image.png_truncated" if "truncated" in exc.message else "image.png_corrupt",
        ) from None
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ImageError(
                    f"the PNG image is {width} × {height} pixels; the limit is "
                    f"{MAX_PIXELS // 1_000_000} megapixels",
                    code="image.too_many_pixels",
                )
            image.load()
    except ImageError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(
            f"the PNG image could not be decoded ({exc}); export it again",
            code="image.png_corrupt",
        ) from None
    return data


def safe_svg(data: bytes) -> bytes:
    """``data`` rebuilt with only safe SVG (``core.svg``), as UTF-8; else ``ImageError``."""
    try:
        return sanitize_svg(data).encode("utf-8")
    except SvgError as exc:
        raise ImageError(exc.message, code=_SVG_CODES.get(exc.code, "image.invalid")) from None


def store_image(ctx: ServiceContext, data: bytes) -> tuple[str, str]:
    """Check and store an image (an SVG as rebuilt); returns ``(sha256, media type)``."""
    if len(data) > ctx.settings.max_upload_bytes:
        raise InputError(
            f"the image is larger than the limit of {ctx.settings.max_upload_bytes} bytes",
            code="input.too_large",
        )
    if not data:
        raise InputError("the image is empty", code="input.empty")
    media_type = sniff_image(data)
    clean = checked_png(data) if media_type == "image/png" else safe_svg(data)
    return ctx.blobs.put(clean), media_type
