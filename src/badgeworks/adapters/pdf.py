"""PDF documents through ReportLab: the only module that imports it.

Fonts: DejaVu Sans from Debian's ``fonts-dejavu-core`` when installed, else Bitstream
Vera, which ships inside the ReportLab package. Both cover Spanish and most Latin text;
the text is embedded as a font subset, so the PDF looks the same everywhere.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import reportlab  # type: ignore[import-untyped]
from reportlab.lib.colors import Color, HexColor, white  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_VERA = Path(reportlab.__file__).resolve().parent / "fonts"


def _register_fonts() -> tuple[str, str]:
    if "BW-Regular" not in pdfmetrics.getRegisteredFontNames():
        regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
        if not (regular.exists() and bold.exists()):
            regular, bold = _VERA / "Vera.ttf", _VERA / "VeraBd.ttf"
        pdfmetrics.registerFont(TTFont("BW-Regular", str(regular)))
        pdfmetrics.registerFont(TTFont("BW-Bold", str(bold)))
    return "BW-Regular", "BW-Bold"


@dataclass
class CertificateContent:
    """What a certificate prints; all text already translated."""

    heading: str
    presented_to: str
    recipient: str
    achievement: str
    issuer_line: str
    dates: list[str]
    description: str | None
    credential_url: str
    credential_id_label: str
    credential_id: str
    verify_label: str
    verify_url: str
    qr_caption: str
    qr_modules: Sequence[Sequence[bool]]
    status_note: str | None = None
    title: str = "Certificate"
    language: str = "en"
    image_png: bytes | None = None
    keywords: list[str] = field(default_factory=list)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if pdfmetrics.stringWidth(trial, font, size) <= width or not line:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def certificate(content: CertificateContent, *, compress: bool = True) -> bytes:
    """A one-page A4 landscape certificate with a QR code to the credential page.

    ``compress=False`` leaves the page streams uncompressed (tests read them).
    """
    regular, bold = _register_fonts()
    out = io.BytesIO()
    width, height = landscape(A4)
    pdf = Canvas(
        out, pagesize=(width, height), pageCompression=1 if compress else 0, invariant=True
    )
    pdf.setTitle(content.title)
    pdf.setSubject(content.credential_url)
    pdf.setAuthor(content.issuer_line)
    pdf.setCreator("badgeworks")
    pdf.setKeywords(content.keywords)
    ink, muted, accent = HexColor("#1b1f24"), HexColor("#4a5360"), HexColor("#0b5cad")

    # Frame.
    pdf.setStrokeColor(accent)
    pdf.setLineWidth(6)
    pdf.rect(24, 24, width - 48, height - 48)
    pdf.setLineWidth(1)
    pdf.rect(36, 36, width - 72, height - 72)

    left = 72
    text_width = width - 72 - 72 - 190
    y = height - 110
    if content.image_png is not None:
        from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]

        with contextlib.suppress(Exception):
            pdf.drawImage(
                ImageReader(io.BytesIO(content.image_png)),
                width - 72 - 150,
                height - 72 - 150,
                width=150,
                height=150,
                preserveAspectRatio=True,
                mask="auto",
            )
    pdf.setFillColor(accent)
    pdf.setFont(bold, 30)
    pdf.drawString(left, y, content.heading)
    y -= 46
    pdf.setFillColor(muted)
    pdf.setFont(regular, 13)
    pdf.drawString(left, y, content.presented_to)
    y -= 34
    pdf.setFillColor(ink)
    pdf.setFont(bold, 26)
    for line in _wrap(content.recipient, bold, 26, text_width)[:2]:
        pdf.drawString(left, y, line)
        y -= 32
    y -= 6
    pdf.setFont(bold, 19)
    pdf.setFillColor(accent)
    for line in _wrap(content.achievement, bold, 19, text_width)[:3]:
        pdf.drawString(left, y, line)
        y -= 25
    pdf.setFillColor(ink)
    pdf.setFont(regular, 13)
    y -= 4
    pdf.drawString(left, y, content.issuer_line)
    y -= 20
    for line in content.dates:
        pdf.drawString(left, y, line)
        y -= 18
    if content.description:
        pdf.setFillColor(muted)
        pdf.setFont(regular, 10.5)
        y -= 6
        for line in _wrap(content.description, regular, 10.5, text_width)[:5]:
            pdf.drawString(left, y, line)
            y -= 14
    if content.status_note:
        pdf.setFillColor(HexColor("#a4161a"))
        pdf.setFont(bold, 12)
        y -= 8
        pdf.drawString(left, y, content.status_note)

    # QR code bottom right, drawn as vector squares so it prints sharply at any size.
    modules = content.qr_modules
    size = 150.0
    cell = size / max(1, len(modules))
    qx, qy = width - 72 - size, 72 + 30
    pdf.setFillColor(white)
    pdf.rect(qx, qy, size, size, stroke=0, fill=1)
    pdf.setFillColor(Color(0, 0, 0))
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(qx + c * cell, qy + size - (r + 1) * cell, cell, cell, stroke=0, fill=1)
    pdf.linkURL(content.credential_url, (qx, qy, qx + size, qy + size), relative=0)
    pdf.setFillColor(muted)
    pdf.setFont(regular, 9)
    pdf.drawCentredString(qx + size / 2, qy - 14, content.qr_caption)

    # Footer: the credential id and where to verify it, as text and as links.
    pdf.setFillColor(ink)
    pdf.setFont(regular, 9)
    fy = 84
    for label, value in (
        (content.credential_id_label, content.credential_id),
        (content.verify_label, content.verify_url),
    ):
        pdf.setFont(bold, 9)
        pdf.drawString(left, fy, label)
        label_width = pdfmetrics.stringWidth(label, bold, 9) + 6
        pdf.setFont(regular, 8 if len(value) > 80 else 9)
        pdf.drawString(left + label_width, fy, value)
        if value.startswith(("http://", "https://")):
            pdf.linkURL(value, (left + label_width, fy - 2, width - 260, fy + 10), relative=0)
        fy -= 16
    pdf.linkURL(content.credential_url, (left, y - 4, left + text_width, height - 72), relative=0)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


@dataclass
class StatusNotice:
    """What the document served in place of a withdrawn credential's certificate prints;
    all text already translated."""

    heading: str
    lines: list[str]
    credential_url: str
    verify_label: str
    verify_url: str
    title: str
    language: str = "en"


def status_notice(notice: StatusNotice, *, compress: bool = True) -> bytes:
    """A one-page A4 notice that a credential was revoked or suspended: plain, framed in
    red, with no "presented to", badge image or QR code, so it cannot pass for the
    certificate."""
    regular, bold = _register_fonts()
    out = io.BytesIO()
    width, height = A4
    pdf = Canvas(
        out, pagesize=(width, height), pageCompression=1 if compress else 0, invariant=True
    )
    pdf.setTitle(notice.title)
    pdf.setSubject(notice.credential_url)
    pdf.setCreator("badgeworks")
    red, ink = HexColor("#a4161a"), HexColor("#1b1f24")
    pdf.setStrokeColor(red)
    pdf.setLineWidth(6)
    pdf.rect(24, 24, width - 48, height - 48)
    left, text_width = 64, width - 128
    y = height - 110
    pdf.setFillColor(red)
    pdf.setFont(bold, 28)
    for line in _wrap(notice.heading, bold, 28, text_width)[:3]:
        pdf.drawString(left, y, line)
        y -= 36
    y -= 10
    pdf.setFillColor(ink)
    pdf.setFont(regular, 13)
    for paragraph in notice.lines:
        for line in _wrap(paragraph, regular, 13, text_width)[:8]:
            pdf.drawString(left, y, line)
            y -= 19
        y -= 8
    y -= 10
    pdf.setFont(bold, 11)
    pdf.drawString(left, y, notice.verify_label)
    y -= 16
    pdf.setFont(regular, 9 if len(notice.verify_url) <= 90 else 7)
    pdf.drawString(left, y, notice.verify_url)
    pdf.linkURL(notice.verify_url, (left, y - 2, width - left, y + 10), relative=0)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
