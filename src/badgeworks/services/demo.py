"""Demo seeding: one program, achievement, candidate and completed project, issued.

The deliverables are generated in code (a small PDF report, a CSV dataset and a PNG
diagram), so the demo needs no files and shows the whole flow offline.

Seeding is idempotent: run again on the same database (``make run`` twice), it finds the
demo it made before, piece by piece, and creates only what is missing. What is shown once
is new on every run: an API token, and the console password, which is reset.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from badgeworks.db.models import (
    Achievement,
    AchievementVersion,
    Candidate,
    Credential,
    Issuer,
    Project,
)
from badgeworks.services.accounts import staff, tokens
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.portfolio import store
from badgeworks.services.portfolio.cards import verify_url
from badgeworks.services.portfolio.models import PortfolioUpdate
from badgeworks.services.programs import achievements, candidates, issuers, projects
from badgeworks.services.programs.images import store_image
from badgeworks.services.programs.models import (
    AchievementCreate,
    AchievementEditionPut,
    CandidateCreate,
    IssuerCreate,
    ProjectCreate,
)

DEMO_SLUG = "demo-academy"
ACTOR = "cli:seed-demo"
ACHIEVEMENT_NAME = "Data Analysis Micro-internship"
CANDIDATE_NAME = "Ada Example"
CANDIDATE_EMAIL = "ada@example.org"
PROJECT_TITLE = "Customer churn analysis"
#: The demo candidate's portfolio handle, when no one else has it.
PORTFOLIO_HANDLE = "demo-candidate"


@dataclass
class DemoResult:
    """What the demo made (or found), for printing. Every URL is absolute."""

    issuer_slug: str
    #: False when the demo was already there and was reused as it was.
    created: bool
    #: A new API token on every run (shown once; earlier demo tokens stay valid).
    token: str
    #: The demo owner's console sign-in; the password is reset on every run.
    console_email: str
    console_password: str
    #: The start page (``<base>/``), which links everything else.
    home_url: str
    credential_url: str
    json_url: str
    verify_url: str
    portfolio_url: str
    console_url: str
    docs_url: str
    did_document_url: str
    #: Where the demo candidate asks for a sign-in link (``<base>/me/sign-in``), and the
    #: address to enter there.
    sign_in_url: str
    candidate_email: str
    #: ``(name, url)`` of each deliverable.
    deliverables: list[tuple[str, str]]

    @property
    def blob_urls(self) -> list[str]:
        """The deliverables' URLs."""
        return [url for _, url in self.deliverables]


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


def _find_achievement(session: Session, issuer: Issuer) -> Achievement | None:
    stmt = (
        select(Achievement)
        .join(
            AchievementVersion,
            (col(AchievementVersion.achievement_id) == col(Achievement.id))
            & (col(AchievementVersion.version) == col(Achievement.current_version)),
        )
        .where(Achievement.issuer_id == issuer.id, AchievementVersion.name == ACHIEVEMENT_NAME)
        .order_by(col(Achievement.id))
    )
    return session.exec(stmt).first()


def _find_candidate(session: Session, issuer: Issuer) -> Candidate | None:
    stmt = (
        select(Candidate)
        .where(Candidate.issuer_id == issuer.id, Candidate.name == CANDIDATE_NAME)
        .order_by(col(Candidate.id))
    )
    return next((c for c in session.exec(stmt) if CANDIDATE_EMAIL in c.emails), None)


def _find_project(session: Session, issuer: Issuer, candidate: Candidate) -> Project | None:
    stmt = (
        select(Project)
        .where(
            Project.issuer_id == issuer.id,
            Project.candidate_id == candidate.id,
            Project.title == PROJECT_TITLE,
        )
        .order_by(col(Project.id))
    )
    return session.exec(stmt).first()


def _new_achievement(session: Session, ctx: ServiceContext, issuer: Issuer) -> Achievement:
    achievement, _ = achievements.create_achievement(
        session,
        issuer,
        AchievementCreate.model_validate(
            {
                "name": ACHIEVEMENT_NAME,
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
        now=ctx.clock(),
    )
    sha, media_type = store_image(ctx, badge_image())
    achievements.set_image(
        session,
        achievement,
        sha256=sha,
        media_type=media_type,
        caption="A teal disc: the Data Analysis badge",
        actor=ACTOR,
        now=ctx.clock(),
    )
    return achievement


#: The demo achievement's Spanish edition: ``?lang=es`` on its pages shows it.
SPANISH_EDITION: dict[str, Any] = {
    "name": "Micropasantía en análisis de datos",
    "description": "Completó un proyecto de análisis de datos de cuatro semanas, con mentoría, "
    "para una organización anfitriona real.",
    "criteria_narrative": "Depuró un conjunto de datos real, analizó la pérdida de clientes y "
    "presentó sus conclusiones en un informe escrito, evaluado por su mentora según la rúbrica.",
    "image_caption": "Un disco verde azulado: la insignia de análisis de datos",
    "result_names": {
        "analysis": {
            "name": "Calidad del análisis",
            "levels": {
                "developing": "En desarrollo",
                "proficient": "Competente",
                "exemplary": "Ejemplar",
            },
        }
    },
}


def _ensure_spanish_edition(
    session: Session, achievement: Achievement, version: int | None = None, *, now: datetime
) -> None:
    # A demo made before editions existed gets one too, on the version it issued with.
    row, editions = achievements.list_editions(session, achievement, version=version)
    if row.in_language != "en" or any(e.lang == "es" for e in editions):
        return
    achievements.put_edition(
        session,
        achievement,
        "es",
        AchievementEditionPut.model_validate(SPANISH_EDITION),
        actor=ACTOR,
        version=row.version,
        now=now,
    )


def _new_project(
    session: Session,
    issuer: Issuer,
    achievement: Achievement,
    candidate: Candidate,
    now: datetime,
) -> Project:
    return projects.create_project(
        session,
        issuer,
        ProjectCreate.model_validate(
            {
                "achievement_id": achievement.id,
                "candidate_id": candidate.id,
                "title": PROJECT_TITLE,
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
        now=now,
    )


def _add_missing_files(session: Session, ctx: ServiceContext, project: Project) -> None:
    # A run that stopped half-way may have left a draft with some of the files.
    have = {d.name for d in projects.deliverables(session, project)}
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
        if name in have:
            continue
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


def _portfolio_url(session: Session, ctx: ServiceContext, candidate: Candidate) -> str:
    row = store.get_or_create(session, candidate)
    if row.handle != PORTFOLIO_HANDLE:
        try:
            row = store.update(
                session,
                candidate,
                PortfolioUpdate(handle=PORTFOLIO_HANDLE),
                actor=ACTOR,
                now=ctx.clock(),
            )
        except ConflictError:
            # Someone else's portfolio has the handle: keep the random one.
            session.rollback()
    return store.portfolio_url(ctx, row)


def seed_demo(session: Session, ctx: ServiceContext) -> DemoResult:
    """Create the demo, or find the one made before; either way mint a token and password.

    Each piece (issuer, achievement, candidate, project, deliverables, credential,
    portfolio) is looked up first and created only if missing, so running this twice
    never duplicates anything.
    """
    created = False
    issuer = session.exec(select(Issuer).where(Issuer.slug == DEMO_SLUG)).first()
    if issuer is None:
        created = True
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
    achievement = _find_achievement(session, issuer)
    if achievement is None:
        created = True
        achievement = _new_achievement(session, ctx, issuer)
    _ensure_spanish_edition(session, achievement, now=ctx.clock())
    candidate = _find_candidate(session, issuer)
    if candidate is None:
        created = True
        candidate = candidates.create_candidate(
            session,
            issuer,
            CandidateCreate(name=CANDIDATE_NAME, emails=[CANDIDATE_EMAIL]),
            actor=ACTOR,
            now=ctx.clock(),
        )
    project = _find_project(session, issuer, candidate)
    if project is None:
        created = True
        project = _new_project(session, issuer, achievement, candidate, ctx.clock())
    row = session.exec(select(Credential).where(Credential.project_id == project.id)).first()
    if row is None:
        created = True
        _add_missing_files(session, ctx, project)
        row = issuance.complete_project(session, ctx, issuer, project.id or 0, actor=ACTOR)
    used = session.get(AchievementVersion, row.achievement_version_id)
    if used is not None:
        _ensure_spanish_edition(session, achievement, used.version, now=ctx.clock())
    issued = issuance.issued(ctx, row)
    portfolio_url = _portfolio_url(session, ctx, candidate)
    now = ctx.clock()
    _, token = tokens.create_token(session, issuer, label="seed-demo", actor=ACTOR, now=now)
    email, password = staff.seed_demo_staff(session, issuer, now=now)
    base = ctx.base_url
    return DemoResult(
        issuer_slug=issuer.slug,
        created=created,
        token=token,
        console_email=email,
        console_password=password,
        home_url=f"{base}/",
        credential_url=issued.url,
        json_url=issued.json_url,
        verify_url=verify_url(ctx, issued.url),
        portfolio_url=portfolio_url,
        console_url=f"{base}/console/",
        docs_url=f"{base}/docs",
        did_document_url=f"{base}/issuers/{issuer.slug}/did.json",
        sign_in_url=f"{base}/me/sign-in",
        candidate_email=CANDIDATE_EMAIL,
        deliverables=[
            (d.name, projects.deliverable_url(ctx, d))
            for d in projects.deliverables(session, project)
        ],
    )
