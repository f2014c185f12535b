"""Demo seeding: one program, achievement, candidate and completed project, issued.

The deliverables are generated in code (a small PDF report, a CSV dataset and a PNG
diagram), so the demo needs no files and shows the whole flow offline.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, select

from badgeworks.db.models import Issuer
from badgeworks.services import achievements, candidates, issuance, issuers, projects, tokens
from badgeworks.services.context import ServiceContext
from badgeworks.services.images import store_image
from badgeworks.services.schemas import (
    AchievementCreate,
    CandidateCreate,
    IssuerCreate,
    ProjectCreate,
)

DEMO_SLUG = "demo-academy"
ACTOR = "cli:seed-demo"


@dataclass
class DemoResult:
    """What the demo made, for printing."""

    issuer_slug: str
    token: str
    credential_url: str
    json_url: str
    did_document_url: str
    blob_urls: list[str]


def png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """A minimal RGB PNG drawn by ``pixel(x, y)``."""
    raw = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def pdf_report(title: str, lines: list[str]) -> bytes:
    """A tiny but valid one-page PDF with a few lines of text."""
    text = "BT /F1 14 Tf 50 780 Td (" + title.replace("(", "[").replace(")", "]") + ") Tj"
    for line in lines:
        text += " 0 -20 Td (" + line.replace("(", "[").replace(")", "]") + ") Tj"
    text += " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length "
        + str(len(text)).encode()
        + b" >>\nstream\n"
        + text.encode()
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def dataset() -> bytes:
    """A small CSV dataset."""
    rows = ["month,customers,churned"] + [
        f"2024-{m:02d},{1000 + 37 * m},{40 + (m * 7) % 13}" for m in range(1, 13)
    ]
    return ("\n".join(rows) + "\n").encode()


def badge_image() -> bytes:
    """A 64×64 badge: a teal disc on white."""
    return png(
        64,
        64,
        lambda x, y: (0, 128, 128) if (x - 32) ** 2 + (y - 32) ** 2 < 28**2 else (255, 255, 255),
    )


def diagram() -> bytes:
    """A 120×60 'pipeline' diagram: three boxes."""

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        inside = 20 <= y < 40 and any(a <= x < a + 28 for a in (6, 46, 86))
        arrow = y == 30 and (34 <= x < 46 or 74 <= x < 86)
        return (30, 60, 150) if inside else (0, 0, 0) if arrow else (250, 250, 250)

    return png(120, 60, pixel)


def seed_demo(session: Session, ctx: ServiceContext) -> DemoResult:
    """Create (or reuse) the demo issuer, then issue one fresh demo credential."""
    issuer = session.exec(select(Issuer).where(Issuer.slug == DEMO_SLUG)).first()
    if issuer is None:
        issuer = issuers.create_issuer(
            session,
            ctx,
            IssuerCreate(
                slug=DEMO_SLUG,
                name="Demo Academy",
                url="https://demo-academy.example",
                email="badges@demo-academy.example",
                description="A demonstration micro-internship program.",
            ),
            actor=ACTOR,
        )
    _, token = tokens.create_token(session, issuer, label="seed-demo", actor=ACTOR)
    achievement, _ = achievements.create_achievement(
        session,
        issuer,
        AchievementCreate.model_validate(
            {
                "name": "Data Analysis Micro-internship",
                "description": "Completed a four-week, mentored data analysis project for a "
                "real host organisation.",
                "criteria_narrative": "Cleaned a real dataset, analysed churn and presented "
                "findings in a written report, assessed by a mentor against the rubric.",
                "alignments": [
                    {
                        "target_name": "Analyse data",
                        "target_url": "https://esco.example/skill/analyse-data",
                        "target_framework": "ESCO",
                        "target_code": "S2.7",
                    },
                    {
                        "target_name": "Communicate findings",
                        "target_url": "https://esco.example/skill/present-reports",
                        "target_framework": "ESCO",
                        "target_code": "S1.4",
                    },
                ],
                "result_descriptions": [
                    {
                        "key": "analysis",
                        "name": "Quality of analysis",
                        "levels": [
                            {"key": "developing", "name": "Developing", "points": "1"},
                            {"key": "proficient", "name": "Proficient", "points": "2"},
                            {"key": "exemplary", "name": "Exemplary", "points": "3"},
                        ],
                    }
                ],
                "tags": ["data", "analysis", "internship"],
                "in_language": "en",
            }
        ),
        actor=ACTOR,
    )
    sha, media_type = store_image(ctx, badge_image())
    achievements.set_image(
        session,
        achievement,
        sha256=sha,
        media_type=media_type,
        caption="A teal disc: the Data Analysis badge",
        actor=ACTOR,
    )
    candidate = candidates.create_candidate(
        session,
        issuer,
        CandidateCreate(name="Ada Example", emails=["ada@example.org"]),
        actor=ACTOR,
    )
    project = projects.create_project(
        session,
        issuer,
        ProjectCreate.model_validate(
            {
                "achievement_id": achievement.id,
                "candidate_id": candidate.id,
                "title": "Customer churn analysis",
                "summary": "Cleaned twelve months of customer data and identified the main "
                "churn drivers.",
                "host": {"name": "Northwind Traders", "url": "https://northwind.example"},
                "role": "Intern",
                "start_date": "2025-03-03",
                "end_date": "2025-03-28",
                "mentors": [
                    {
                        "name": "Grace Mentor",
                        "organization": "Northwind Traders",
                        "title": "Lead analyst",
                    }
                ],
                "results": [{"result_description": "analysis", "achieved_level": "exemplary"}],
            }
        ),
        actor=ACTOR,
    )
    files = [
        (
            "Final report",
            "report",
            "report.pdf",
            "application/pdf",
            pdf_report("Churn analysis", ["Churn peaks in spring.", "Pricing drives churn."]),
        ),
        ("Cleaned dataset", "dataset", "churn.csv", "text/csv", dataset()),
        ("Pipeline diagram", "diagram", "pipeline.png", "image/png", diagram()),
    ]
    for name, genre, filename, media, data in files:
        projects.add_file(
            session,
            ctx,
            project,
            [data],
            name=name,
            filename=filename,
            media_type=media,
            genre=genre,
            actor=ACTOR,
        )
    row = issuance.complete_project(session, ctx, issuer, project.id or 0, actor=ACTOR)
    issued = issuance.issued(ctx, row)
    return DemoResult(
        issuer_slug=issuer.slug,
        token=token,
        credential_url=issued.url,
        json_url=issued.json_url,
        did_document_url=f"{ctx.base_url}/issuers/{issuer.slug}/did.json",
        blob_urls=issued.blob_urls,
    )
