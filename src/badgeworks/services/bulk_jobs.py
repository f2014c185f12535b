"""Bulk issuance jobs for the console: validate a whole CSV first, then issue in the
background while a job row records progress (so the page survives a reload).

Validation adds to ``services.bulk``'s per-row checks what a person uploading a cohort
needs before anything is issued: the achievement must be one of this program's and the
rubric keys its own, a candidate may appear only once per file, and no cell may look like
a spreadsheet formula. Every problem names its line and column. Issuing then runs
``bulk.issue_batch`` (the API's own batch path) over the rows that passed.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.console import BulkJob
from badgeworks.db.engine import SessionFactory
from badgeworks.db.models import Issuer, utcnow
from badgeworks.services import achievements, audit, bulk, projects
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError

log = logging.getLogger("badgeworks.bulk_jobs")

#: Leading characters that make a spreadsheet treat a cell as a formula (OWASP "CSV
#: injection"); such cells are refused on upload and escaped on export.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")

# Where each message of ``bulk.parse`` points: the CSV column behind a model field.
_COLUMNS = (
    ("name", "candidate_name"),
    ("emails", "candidate_email"),
    ("did", "candidate_did"),
    ("achievement_id", "achievement_id"),
    ("title", "project_title"),
    ("summary", "project_summary"),
    ("host.name", "host_name"),
    ("host.url", "host_url"),
    ("role", "role"),
    ("start_date", "start_date"),
    ("end_date", "end_date"),
    ("results", "result_description"),
    ("deliverable name", "deliverable_name"),
    ("deliverable url", "deliverable_url"),
    ("deliverable genre", "deliverable_genre"),
    ("deliverable description", "deliverable_description"),
)


@dataclass
class Validation:
    """The outcome of checking a whole file."""

    total: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    good_lines: list[int] = field(default_factory=list)
    csv_text: str = ""


def column_of(message: str) -> str:
    """The CSV column a ``bulk.parse`` message is about ("" for the whole row)."""
    for prefix, column in _COLUMNS:
        if message.startswith(prefix + ":") or message.startswith(prefix + "."):
            return column
    return ""


def looks_like_formula(value: str) -> bool:
    """True for a cell a spreadsheet would evaluate (plain numbers like ``-5`` are fine)."""
    stripped = value.lstrip(" ")
    return stripped.startswith(FORMULA_START) and not _NUMBER.match(stripped.strip())


def _records(text: str) -> tuple[list[str], dict[int, dict[str, str]]]:
    # The same reading loop as ``bulk.parse``, so line numbers agree.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    out: dict[int, dict[str, str]] = {}
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except (StopIteration, csv.Error):
            break
        row_line, line = line, reader.line_num + 1
        out[row_line] = {k: v or "" for k, v in record.items() if isinstance(k, str)}
    return header, out


def validate(session: Session, issuer: Issuer, data: bytes) -> Validation:
    """Check every row of ``data``; ``InputError`` if the file as a whole is unusable."""
    good, bad = bulk.parse(data)
    header, records = _records(bulk.decode(data))
    result = Validation(total=len(good) + len(bad))
    problems: dict[int, list[dict[str, Any]]] = {}

    def add(line: int, column: str, message: str) -> None:
        problems.setdefault(line, []).append({"line": line, "column": column, "message": message})

    for row_error in bad:
        for message in row_error.errors:
            add(row_error.line, column_of(message), message)
    for line, values in records.items():
        for column in header:
            if looks_like_formula(values.get(column, "")):
                add(
                    line,
                    column,
                    f"{column}: starts with {values[column].lstrip(' ')[:1]!r}, which a "
                    "spreadsheet would run as a formula; remove that character",
                )
    seen_emails: dict[str, int] = {}
    checked_versions: dict[int, Any] = {}
    for row in good:
        email = row.candidate.emails[0].lower()
        if email in seen_emails:
            add(
                row.line,
                "candidate_email",
                f"candidate_email: {email} is already on line {seen_emails[email]}; a "
                "candidate may appear once per file",
            )
        else:
            seen_emails[email] = row.line
        achievement_id = int(row.project["achievement_id"])
        if achievement_id not in checked_versions:
            try:
                found = achievements.get_achievement(session, issuer.id or 0, achievement_id)
                checked_versions[achievement_id] = achievements.current_version(session, found)
            except NotFoundError:
                checked_versions[achievement_id] = None
        version = checked_versions[achievement_id]
        if version is None:
            add(
                row.line,
                "achievement_id",
                f"achievement_id: this program has no achievement {achievement_id}",
            )
            continue
        try:
            projects.check_results(version, row.project["results"])
        except BadgeworksError as exc:
            column = (
                "achieved_level" if exc.code == "project.unknown_level" else "result_description"
            )
            add(row.line, column, f"{column}: {exc.message}")
    for row in good:
        if row.line not in problems:
            result.good_lines.append(row.line)
    result.problems = [p for line in sorted(problems) for p in problems[line]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for line in result.good_lines:
        writer.writerow([records[line].get(h, "") for h in header])
    result.csv_text = out.getvalue()
    return result


def create_job(
    session: Session, issuer: Issuer, staff_id: int, filename: str, data: bytes, *, actor: str
) -> BulkJob:
    """Validate an upload and keep it as a job waiting for someone to issue it."""
    checked = validate(session, issuer, data)
    job = BulkJob(
        issuer_id=issuer.id or 0,
        staff_id=staff_id,
        filename=filename[:300],
        status="validated",
        csv_text=checked.csv_text,
        line_map=checked.good_lines,
        total_rows=checked.total,
        good_rows=len(checked.good_lines),
        problems=checked.problems,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="bulk.validate",
        issuer_id=issuer.id,
        target=f"bulk:{job.id}",
        detail={"rows": checked.total, "good": len(checked.good_lines), "file": filename[:100]},
    )
    session.commit()
    session.refresh(job)
    return job


def get_job(session: Session, issuer: Issuer, job_id: int) -> BulkJob:
    """One of ``issuer``'s jobs; another issuer's looks like a missing one."""
    job = session.get(BulkJob, job_id)
    if job is None or job.issuer_id != issuer.id:
        raise NotFoundError(f"there is no bulk job {job_id}", code="bulk.not_found")
    return job


def list_jobs(session: Session, issuer: Issuer, limit: int = 20) -> list[BulkJob]:
    """The issuer's latest jobs, newest first."""
    stmt = (
        select(BulkJob)
        .where(BulkJob.issuer_id == issuer.id)
        .order_by(col(BulkJob.id).desc())
        .limit(limit)
    )
    return list(session.exec(stmt))


def claim(session: Session, issuer: Issuer, job_id: int) -> BulkJob:
    """Mark a validated job as running; ``ConflictError`` if it already started."""
    job = get_job(session, issuer, job_id)
    if job.status != "validated":
        raise ConflictError(f"bulk job {job_id} was already started", code="bulk.started")
    if job.good_rows == 0:
        raise ConflictError("no row passed validation; nothing to issue", code="bulk.empty")
    # A conditional update, so two clicks (or two processes) cannot both start it.
    claimed = session.execute(
        update(BulkJob)
        .where(col(BulkJob.id) == job_id, col(BulkJob.status) == "validated")
        .values(status="running", updated_at=utcnow())
    )
    session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(f"bulk job {job_id} was already started", code="bulk.started")
    session.refresh(job)
    return job


def run(factory: SessionFactory, ctx: ServiceContext, job_id: int, *, actor: str) -> None:
    """Issue a claimed job's rows through ``bulk.issue_batch``, recording progress."""
    with factory() as session:
        job = session.get(BulkJob, job_id)
        if job is None:
            return
        issuer = session.get(Issuer, job.issuer_id)
        assert issuer is not None
        line_map = list(job.line_map)

        def progress(done: int, _total: int) -> None:
            with factory() as progress_session:
                row = progress_session.get(BulkJob, job_id)
                if row is not None:
                    row.done = done
                    row.updated_at = utcnow()
                    progress_session.add(row)
                    progress_session.commit()

        try:
            result = bulk.issue_batch(
                session, ctx, issuer, job.csv_text.encode("utf-8"), actor=actor, progress=progress
            )
        except BadgeworksError as exc:
            session.rollback()
            job = session.get(BulkJob, job_id)
            assert job is not None
            job.status = "failed"
            job.rejected = [{"line": 0, "errors": [f"{exc.code}: {exc.message}"]}]
        except Exception:
            log.exception("bulk job %s failed", job_id)
            session.rollback()
            job = session.get(BulkJob, job_id)
            assert job is not None
            job.status = "failed"
            job.rejected = [{"line": 0, "errors": ["internal error; it has been logged"]}]
        else:
            good_rows, _ = bulk.parse(job.csv_text.encode("utf-8"))
            to_original = {r.line: line_map[i] for i, r in enumerate(good_rows)}
            rejected_lines = {r.line for r in result.rejected}
            issued_lines = [to_original[r.line] for r in good_rows if r.line not in rejected_lines]
            session.refresh(job)
            job.issued = [
                {"line": line, "id": c.id, "url": c.url}
                for line, c in zip(issued_lines, result.issued, strict=False)
            ]
            job.rejected = [
                {"line": to_original.get(r.line, r.line), "errors": r.errors}
                for r in result.rejected
            ]
            job.status = "done"
            job.done = job.good_rows
        job.finished_at = utcnow()
        job.updated_at = utcnow()
        session.add(job)
        session.commit()


def start(factory: SessionFactory, ctx: ServiceContext, job_id: int, *, actor: str) -> None:
    """Run a claimed job in a background thread (the page polls the job row)."""
    threading.Thread(
        target=run, args=(factory, ctx, job_id), kwargs={"actor": actor}, daemon=True
    ).start()


def escape_cell(value: str) -> str:
    """A cell made safe for spreadsheets: a leading formula character is quoted with ``'``."""
    return "'" + value if value.startswith(FORMULA_START) else value


def problems_csv(job: BulkJob) -> str:
    """The validation problems (and issuing failures) as a CSV, escaped against formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line", "column", "problem"])
    for p in job.problems:
        writer.writerow([str(p["line"]), escape_cell(p["column"]), escape_cell(p["message"])])
    for r in job.rejected:
        for message in r["errors"]:
            writer.writerow([str(r["line"]), "", escape_cell(message)])
    return out.getvalue()


def credential_ids(job: BulkJob) -> list[str]:
    """The credentials a finished job issued."""
    return [str(i["id"]) for i in job.issued]
