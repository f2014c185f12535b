"""Badge and issuer images: PNG or SVG only (OB 3.0 "Image"), stored as blobs."""

from __future__ import annotations

from badgeworks.core.errors import InputError
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import UnsupportedMediaError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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


def store_image(ctx: ServiceContext, data: bytes) -> tuple[str, str]:
    """Store an image; returns ``(sha256, media type)``."""
    if len(data) > ctx.settings.max_upload_bytes:
        raise InputError(
            f"the image is larger than the limit of {ctx.settings.max_upload_bytes} bytes",
            code="input.too_large",
        )
    if not data:
        raise InputError("the image is empty", code="input.empty")
    media_type = sniff_image(data)
    return ctx.blobs.put(data), media_type
