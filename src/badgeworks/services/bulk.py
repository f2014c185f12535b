"""Bulk issuance from a CSV file (format: docs/api.md, "Batch CSV format").

The whole file is checked first: a wrong header or bytes that are not UTF-8 reject the
file (nothing is issued). Then every row is validated on its own; bad rows are reported
with their line number and what is wrong, and the good rows are issued.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from badgeworks.core.errors import BadgeworksError, InputError
from badgeworks.db.models import Issuer
from badgeworks.services import achievements, candidates, issuance, projects
from badgeworks.services.context import ServiceContext
from badgeworks.services.schemas import (
    BatchResult,
    BatchRowError,
    CandidateCreate,
    DeliverableLinkCreate,
    ProjectCreate,
)

REQUIRED = ("achievement_id", "candidate_name", "candidate_email", "project_title", "host_name")
OPTIONAL = (
    "candidate_did",
    "project_summary",
    "role",
    "host_url",
    "start_date",
    "end_date",
    "deliverable_name",
    "deliverable_url",
    "deliverable_genre",
    "deliverable_description",
    "result_description",
    "achieved_level",
)
MAX_ROWS = 10000


@dataclass
class BatchRow:
    """One validated row, ready to issue."""

    line: int
    candidate: CandidateCreate
    project: dict[str, Any]
    link: DeliverableLinkCreate | None


def decode(data: bytes) -> str:
    """UTF-8 text of the file; ``InputError`` naming the line of the first bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"the CSV is not UTF-8: invalid byte at line {line}; save it as UTF-8 and retry",
            code="csv.encoding",
        ) from None


def _pydantic_problems(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in error["loc"])
        out.append(f"{loc}: {error['msg']}")
    return out


def parse(data: bytes) -> tuple[list[BatchRow], list[BatchRowError]]:
    """Check the header and every row; returns (good rows, bad rows)."""
    text = decode(data)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise InputError(f"the CSV header cannot be read: {exc}", code="csv.header") from None
    if not header:
        raise InputError("the CSV is empty; it needs a header line", code="csv.header")
    unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
    missing = [h for h in REQUIRED if h not in header]
    duplicate = sorted({h for h in header if header.count(h) > 1})
    if unknown or missing or duplicate:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        if duplicate:
            parts.append(f"repeated column(s) {', '.join(duplicate)}")
        raise InputError(
            "the CSV header is wrong: " + "; ".join(parts) + f". Expected {', '.join(REQUIRED)}"
            f" and optionally {', '.join(OPTIONAL)}",
            code="csv.header",
        )
    reader.fieldnames = header
    good: list[BatchRow] = []
    bad: list[BatchRowError] = []
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            bad.append(BatchRowError(line=line, errors=[f"unreadable CSV: {exc}"]))
            break
        if len(good) + len(bad) >= MAX_ROWS:
            raise InputError(f"the CSV has more than {MAX_ROWS} rows", code="csv.too_many_rows")
        row_line, line = line, reader.line_num + 1
        if None in record:
            bad.append(BatchRowError(line=row_line, errors=["more fields than header columns"]))
            continue
        values = {k: (v or "").strip() for k, v in record.items()}
        result = _row(row_line, values)
        (good if isinstance(result, BatchRow) else bad).append(result)  # type: ignore[arg-type]
    return good, bad


def _row(line: int, v: dict[str, str]) -> BatchRow | BatchRowError:
    problems: list[str] = []
    candidate: CandidateCreate | None = None
    link: DeliverableLinkCreate | None = None
    try:
        candidate = CandidateCreate(
            name=v.get("candidate_name", ""),
            emails=[v.get("candidate_email", "")],
            did=v.get("candidate_did") or None,
        )
    except ValidationError as exc:
        problems += _pydantic_problems(exc)
    if not v.get("achievement_id", "").isdigit():
        problems.append("achievement_id: must be a whole number (an achievement's id)")
    results = []
    if v.get("result_description"):
        results.append(
            {
                "result_description": v["result_description"],
                "achieved_level": v.get("achieved_level") or None,
            }
        )
    project = {
        # Placeholders where the row is already known to be bad or the id comes later: the
        # check below is about the other fields.
        "achievement_id": int(v["achievement_id"]) if v.get("achievement_id", "").isdigit() else 1,
        "candidate_id": 1,
        "title": v.get("project_title", ""),
        "summary": v.get("project_summary") or None,
        "host": {"name": v.get("host_name", ""), "url": v.get("host_url") or None},
        "role": v.get("role") or "Intern",
        "start_date": v.get("start_date") or None,
        "end_date": v.get("end_date") or None,
        "results": results,
    }
    try:
        ProjectCreate.model_validate(project)
    except ValidationError as exc:
        problems += _pydantic_problems(exc)
    if v.get("deliverable_url") or v.get("deliverable_name"):
        try:
            link = DeliverableLinkCreate(
                name=v.get("deliverable_name") or "",
                url=v.get("deliverable_url") or "",
                genre=v.get("deliverable_genre") or None,
                description=v.get("deliverable_description") or None,
            )
        except ValidationError as exc:
            problems += [f"deliverable {p}" for p in _pydantic_problems(exc)]
    if problems or candidate is None:
        return BatchRowError(line=line, errors=problems)
    return BatchRow(line=line, candidate=candidate, project=project, link=link)


def issue_batch(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    data: bytes,
    *,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Issue every good row of a CSV; report the bad ones by line number."""
    good, bad = parse(data)
    issued = []
    for done, row in enumerate(good, start=1):
        try:
            issued.append(issuance.issued(ctx, _issue_row(session, ctx, issuer, row, actor)))
        except BadgeworksError as exc:
            session.rollback()
            bad.append(BatchRowError(line=row.line, errors=[f"{exc.code}: {exc.message}"]))
        if progress is not None:
            progress(done, len(good))
    bad.sort(key=lambda e: e.line)
    return BatchResult(issued=issued, rejected=bad)


def _issue_row(
    session: Session, ctx: ServiceContext, issuer: Issuer, row: BatchRow, actor: str
) -> Any:
    issuer_id = issuer.id or 0
    achievement = achievements.get_achievement(session, issuer_id, row.project["achievement_id"])
    version = achievements.current_version(session, achievement)
    projects.check_results(version, row.project["results"])
    candidate = candidates.find_by_email(session, issuer, row.candidate.emails[0])
    if candidate is None:
        candidate = candidates.create_candidate(session, issuer, row.candidate, actor=actor)
    data = ProjectCreate.model_validate({**row.project, "candidate_id": candidate.id})
    project = projects.create_project(session, issuer, data, actor=actor)
    if row.link is not None:
        projects.add_link(session, project, row.link, actor=actor)
    return issuance.complete_project(session, ctx, issuer, project.id or 0, actor=actor)
