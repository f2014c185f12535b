"""QR codes (PNG and SVG) through the ``qrcode`` library: the only module that imports it.

The matrix comes from ``qrcode`` (error correction level M, which survives a crease or a
smudge on a printed CV). PNG is drawn by ``qrcode``'s Pillow image factory; SVG is
written here as one ``<path>`` of unit squares, so it is small, crisp at any size and
byte-for-byte deterministic.
"""

from __future__ import annotations

import io
from html import escape
from typing import Any

import qrcode  # type: ignore[import-untyped]
from qrcode.constants import ERROR_CORRECT_M  # type: ignore[import-untyped]

#: Quiet zone in modules (ISO/IEC 18004 §6.3.8 asks for four).
BORDER = 4
DEFAULT_SCALE = 8
#: 40 pixels a module: a 1,000-character URL's code is ~2,500 px, about 21 cm at 300 dpi.
MAX_SCALE = 40
MAX_DATA = 2000


class QrError(ValueError):
    """The text is empty or too long for a QR code we print."""


def _code(data: str) -> Any:
    if not data or len(data) > MAX_DATA:
        raise QrError(f"a QR code holds 1 to {MAX_DATA} characters; got {len(data)}")
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=BORDER)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    return code


def matrix(data: str) -> list[list[bool]]:
    """The QR modules for ``data`` including the quiet zone (True is dark)."""
    return [list(row) for row in _code(data).get_matrix()]


def clamp_scale(scale: int | None) -> int:
    """``scale`` (pixels per module) kept within 1..MAX_SCALE; None is the default."""
    if scale is None:
        return DEFAULT_SCALE
    return max(1, min(int(scale), MAX_SCALE))


def png(data: str, *, scale: int | None = None) -> bytes:
    """A black-on-white PNG of the QR code, ``scale`` pixels per module."""
    code = _code(data)
    code.box_size = clamp_scale(scale)
    out = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(out)
    return out.getvalue()


def svg(data: str, *, scale: int | None = None, title: str | None = None) -> str:
    """An SVG of the QR code: one path, ``scale`` CSS pixels per module, optional title."""
    rows = matrix(data)
    size = len(rows)
    px = size * clamp_scale(scale)
    parts = []
    for y, row in enumerate(rows):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    label = escape(title or data)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" '
        f'viewBox="0 0 {size} {size}" shape-rendering="crispEdges" role="img">'
        f"<title>{label}</title>"
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>\n'
    )
