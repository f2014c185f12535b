"""A candidate's portfolio photo: checked, decoded safely and re-encoded without metadata.

The upload is never stored as sent. Only PNG, JPEG and WebP are accepted, told apart by
their first bytes (the file name and the client's content type are not trusted), and
only the decoder of the sniffed format may read them. The image's dimensions are read
from its header and anything over ``MAX_PIXELS`` is refused before the pixels are
decoded (a "decompression bomb": a few kilobytes that declare a gigapixel image). The
pixels are then turned the right way up (EXIF orientation), converted to sRGB, fitted
within ``MAX_SIDE`` × ``MAX_SIDE`` and written as a new JPEG from a fresh image: EXIF
(GPS position, camera, dates), XMP, ICC profiles, comments and PNG text chunks are not
carried over, because nothing but the pixels is.
"""

from __future__ import annotations

import io

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from badgeworks.core.baking import BakingError, check_png
from badgeworks.core.errors import InputError
from badgeworks.services.errors import UnsupportedMediaError, ValidationFailed

#: The largest image (width × height) decoded at all; larger ones are refused unread.
MAX_PIXELS = 40_000_000
#: The stored photo fits in a square of this many pixels.
MAX_SIDE = 512
#: The stored format (always the same, whatever was uploaded).
MEDIA_TYPE = "image/jpeg"
JPEG_QUALITY = 85

_PNG = b"\x89PNG\r\n\x1a\n"
_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


class PhotoError(ValidationFailed):
    """An image that cannot be used as a photo (unreadable, too many pixels)."""

    code = "portfolio.photo_unreadable"


def sniff(data: bytes) -> str:
    """``image/png``, ``image/jpeg`` or ``image/webp`` from the bytes themselves."""
    if data.startswith(_PNG):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise UnsupportedMediaError(
        "a photo must be a PNG, JPEG or WebP image", code="portfolio.photo_type"
    )


def _to_srgb(image: Image.Image) -> Image.Image:
    """The image in RGB; colours converted from its embedded ICC profile when it has one."""
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "RGBA", "CMYK"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            mode = "RGBA" if image.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(image, source, srgb, outputMode=mode)
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile: keep the pixels as they are
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white (JPEG has no transparency).
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # 16-bit and float greyscale: scale to 8 bits first (convert() would clip).
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    return image.convert("RGB")


def _truncated() -> PhotoError:
    return PhotoError(
        "the photo is truncated (the file ends early, as after an interrupted upload or "
        "copy); upload the whole file again",
        code="portfolio.photo_truncated",
    )


def _check_whole_png(data: bytes) -> None:
    """Refuse a PNG that is not whole: Pillow decodes one that lost its end (IEND, or
    the last bytes of image data past the end of the zlib stream) without a word, so
    every chunk is checked to IEND, CRCs included."""
    try:
        check_png(data)
    except BakingError as exc:
        if exc.code == "baking.corrupt" and "truncated" in exc.message:
            raise _truncated() from None
        raise PhotoError(
            f"the photo could not be read: {exc.message}", code="portfolio.photo_unreadable"
        ) from None


def process(data: bytes, *, max_bytes: int) -> bytes:
    """The photo to store: a new JPEG of at most ``MAX_SIDE`` px a side, with no metadata.

    Raises ``InputError`` (empty, or over ``max_bytes``: 413), ``UnsupportedMediaError``
    (not PNG, JPEG or WebP: 415) or ``PhotoError`` (unreadable, truncated, or over
    ``MAX_PIXELS``).
    """
    if not data:
        raise InputError("the photo is empty", code="input.empty")
    if len(data) > max_bytes:
        raise InputError(
            f"the photo is larger than the limit of {max_bytes} bytes",
            code="input.too_large",
            max_bytes=max_bytes,
        )
    fmt = _FORMATS[sniff(data)]
    try:
        # ``open`` reads only the header; Pillow itself refuses (DecompressionBombError)
        # images far over its own limit, and the check below refuses ours before ``load``.
        # (No warnings filter here: changing filters is not thread-safe.)
        with Image.open(io.BytesIO(data), formats=[fmt]) as opened:
            width, height = opened.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise PhotoError(
                    f"the photo is {width} × {height} pixels; the limit is "
                    f"{MAX_PIXELS // 1_000_000} megapixels",
                    code="portfolio.photo_too_many_pixels",
                )
            if fmt == "JPEG":
                # Let the JPEG decoder scale down while decoding (1/2 … 1/8).
                opened.draft("RGB", (MAX_SIDE, MAX_SIDE))
            opened.load()  # the first frame of an animation
            image = ImageOps.exif_transpose(opened)
            image = _to_srgb(image)
    except PhotoError:
        raise
    except Image.DecompressionBombError as exc:
        raise PhotoError(
            f"the photo declares too many pixels; the limit is {MAX_PIXELS // 1_000_000} "
            "megapixels",
            code="portfolio.photo_too_many_pixels",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        if "truncated" in str(exc):
            raise _truncated() from exc
        raise PhotoError(
            "the photo could not be read: the file is damaged or not really an image"
        ) from exc
    if fmt == "PNG":
        # After decoding, so an image that is not a PNG at all stays "unreadable".
        _check_whole_png(data)
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A fresh image holds only pixels: no EXIF, XMP, ICC profile, comment or text chunk
    # of the upload can reach the encoder.
    clean = Image.frombytes("RGB", image.size, image.tobytes())
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def dimensions(data: bytes) -> tuple[int, int] | None:
    """The width and height of a stored photo (from its header), or None if unreadable."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP"]) as image:
            width, height = image.size
            return width, height
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
