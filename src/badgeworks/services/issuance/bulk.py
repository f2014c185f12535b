"""Bulk issuance from a CSV file (format: docs/api.md, "Batch CSV format").

One validation (``check``) serves the console, the CLI and the API: the whole file is
checked first (a wrong header or bytes that are not UTF-8 reject it, nothing is issued);
then every row, with its line and column: the fields, formula-looking cells, an email or
``external_id`` used twice in the file, the achievement and its rubric. Good rows issue.

Each row issues at most once, ever. Its *row key* is ``ext:<external_id>`` when the file
has that column, else ``sha256:`` of the normalised row (every non-empty field, spaces
collapsed, the email lower-cased), so the same file run again, uploaded again, or resumed
after a crash issues nothing twice. The key is claimed in ``bulk_row`` (unique per issuer)
before any work; the row then issues through one project, and a project has at most one
credential, so no crash point and no concurrent run can issue a row twice. A row whose
credential was revoked is skipped unless re-issue is asked for.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import exists, func, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, select

from badgeworks.core.errors import BadgeworksError, InputError
from badgeworks.db.console import BulkRow
from badgeworks.db.models import CandidateEmail, Credential, Issuer, Project, Revocation
from badgeworks.db.status import StatusChange
from badgeworks.services import field_problems
from badgeworks.services.context import ServiceContext
from badgeworks.services.errors import ConflictError, NotFoundError
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.issuance.models import BatchResult, BatchRowError, BatchRowResult
from badgeworks.services.programs import achievements, candidates, projects
from badgeworks.services.programs.models import (
    CandidateCreate,
    DeliverableLinkCreate,
    ProjectCreate,
)

REQUIRED = ("achievement_id", "candidate_name", "candidate_email", "project_title", "host_name")
OPTIONAL = (
    "external_id",
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
MAX_EXTERNAL_ID = 200
#: Rows looked up together: one query finds their ``bulk_row`` marks and one their
#: candidates, whatever the number of candidates stored.
BATCH = 100
#: New rows (no ``bulk_row`` mark yet) issued together in one transaction: at most this
#: many, and no more are started once the transaction is ``GROUP_SECONDS`` old. One commit
#: (one fsync on SQLite) then stands for the whole group instead of five per row; a crash
#: before it leaves none of the group's rows, which a re-run or resumed job issues again.
GROUP = 10
GROUP_SECONDS = 0.25

#: Leading characters that make a spreadsheet treat a cell as a formula (OWASP "CSV
#: injection"); such cells are refused on every bulk path and escaped on export.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")

#: Test hook: called with "row", "claimed" and "project" as a row goes through those
#: steps, so a fault test can kill the process at a chosen point.
checkpoint: Callable[[str], None] | None = None

# Where each message of ``parse`` points: the CSV column behind a model field.
_COLUMNS = (
    ("name", "candidate_name"),
    ("emails", "candidate_email"),
    ("did", "candidate_did"),
    ("achievement_id", "achievement_id"),
    ("external_id", "external_id"),
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
class BatchRow:
    """One validated row, ready to issue."""

    line: int
    candidate: CandidateCreate
    project: dict[str, Any]
    link: DeliverableLinkCreate | None
    key: str = ""
    external_id: str | None = None


@dataclass
class Checked:
    """The outcome of checking a whole file (``check``)."""

    total: int = 0
    good: list[BatchRow] = field(default_factory=list)
    #: ``{"line", "column", "message"}`` for every problem, by line.
    problems: list[dict[str, Any]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    records: dict[int, dict[str, str]] = field(default_factory=dict)

    def rejected(self) -> list[BatchRowError]:
        """The problems grouped by line (the API's ``rejected``)."""
        by_line: dict[int, list[str]] = {}
        for p in self.problems:
            by_line.setdefault(p["line"], []).append(p["message"])
        return [BatchRowError(line=line, errors=errors) for line, errors in by_line.items()]


def _hook(stage: str) -> None:
    if checkpoint is not None:
        checkpoint(stage)


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


def row_key(values: dict[str, str]) -> str:
    """The row's identity: its ``external_id``, else a digest of its normalised fields."""
    external = values.get("external_id", "").strip()
    if external:
        return "ext:" + external
    normal: dict[str, str] = {}
    for name, value in values.items():
        value = " ".join(value.split())
        if name == "external_id" or not value:
            continue
        if name == "candidate_email":
            value = value.lower()
        if name == "achievement_id" and value.isdigit():
            value = str(int(value))
        normal[name] = value
    text = json.dumps(normal, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The CSV column that fills each field of the candidate and project models.
_CANDIDATE_COLUMNS = {"name": "candidate_name", "emails": "candidate_email", "did": "candidate_did"}
_PROJECT_COLUMNS = {
    "title": "project_title",
    "summary": "project_summary",
    "host": "host_name",
    "role": "role",
    "start_date": "start_date",
    "end_date": "end_date",
    "results": "result_description",
}
_LINK_COLUMNS = {
    "name": "deliverable_name",
    "url": "deliverable_url",
    "genre": "deliverable_genre",
    "description": "deliverable_description",
}


def _pydantic_problems(exc: ValidationError, columns: dict[str, str]) -> list[str]:
    """``"<CSV column>: <what is wrong and how to fix it>"`` for each refused field, in
    words (``services/field_problems.py``), never the model's paths or patterns."""
    out = []
    for problem in field_problems.problems_of(exc.errors()):
        named = [p for p in problem.place if isinstance(p, str)]
        column = columns.get(named[0], "") if named else ""
        if named[:2] == ["host", "url"]:
            column = "host_url"
        if named and named[0] == "results" and "achieved_level" in named:
            column = "achieved_level"
        where = column or field_problems.field_name(problem.place)
        out.append(f"{where}: {field_problems.explain(problem)}")
    return out


def _header(reader: csv.DictReader[str]) -> list[str]:
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
    return header


def parse(data: bytes) -> tuple[list[BatchRow], list[BatchRowError]]:
    """Check the header and every row's fields; returns (good rows, bad rows)."""
    good, bad, _, _ = _parse(data)
    return good, bad


def _parse(
    data: bytes,
) -> tuple[list[BatchRow], list[BatchRowError], list[str], dict[int, dict[str, str]]]:
    text = decode(data)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    header = _header(reader)
    reader.fieldnames = header
    good: list[BatchRow] = []
    bad: list[BatchRowError] = []
    records: dict[int, dict[str, str]] = {}
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
            raise InputError(
                f"the CSV has more than {MAX_ROWS} rows; split it into several files",
                code="csv.too_many_rows",
            )
        row_line, line = line, reader.line_num + 1
        records[row_line] = {k: v or "" for k, v in record.items() if isinstance(k, str)}
        if None in record:
            bad.append(BatchRowError(line=row_line, errors=["more fields than header columns"]))
            continue
        values = {k: (v or "").strip() for k, v in record.items()}
        result = _row(row_line, values)
        (good if isinstance(result, BatchRow) else bad).append(result)  # type: ignore[arg-type]
    return good, bad, header, records


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
        problems += _pydantic_problems(exc, _CANDIDATE_COLUMNS)
    if not v.get("achievement_id", "").isdigit():
        problems.append("achievement_id: must be a whole number (an achievement's id)")
    external = v.get("external_id", "")
    if len(external) > MAX_EXTERNAL_ID or not external.isprintable():
        problems.append(
            f"external_id: must be at most {MAX_EXTERNAL_ID} printable characters "
            "(your own stable id for the row)"
        )
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
        problems += _pydantic_problems(exc, _PROJECT_COLUMNS)
    if v.get("deliverable_url") or v.get("deliverable_name"):
        try:
            link = DeliverableLinkCreate(
                name=v.get("deliverable_name") or "",
                url=v.get("deliverable_url") or "",
                genre=v.get("deliverable_genre") or None,
                description=v.get("deliverable_description") or None,
            )
        except ValidationError as exc:
            problems += _pydantic_problems(exc, _LINK_COLUMNS)
    if problems or candidate is None:
        return BatchRowError(line=line, errors=problems)
    return BatchRow(
        line=line,
        candidate=candidate,
        project=project,
        link=link,
        key=row_key(v),
        external_id=external or None,
    )


def column_of(message: str) -> str:
    """The CSV column a ``parse`` message is about ("" for the whole row)."""
    head = message.partition(":")[0]
    if head in REQUIRED or head in OPTIONAL:
        return head
    for prefix, column in _COLUMNS:
        if message.startswith(prefix + ":") or message.startswith(prefix + "."):
            return column
    return ""


def looks_like_formula(value: str) -> bool:
    """True for a cell a spreadsheet would evaluate (plain numbers like ``-5`` are fine)."""
    stripped = value.lstrip(" ")
    return stripped.startswith(FORMULA_START) and not _NUMBER.match(stripped.strip())


def check(session: Session, issuer: Issuer, data: bytes) -> Checked:
    """The one validation of every bulk path; ``InputError`` if the file is unusable."""
    good, bad, header, records = _parse(data)
    result = Checked(total=len(good) + len(bad), header=header, records=records)
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
    seen_ids: dict[str, int] = {}
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
        if row.external_id is not None:
            if row.external_id in seen_ids:
                add(
                    row.line,
                    "external_id",
                    f"external_id: {row.external_id!r:.60} is already on line "
                    f"{seen_ids[row.external_id]}; each row needs its own",
                )
            else:
                seen_ids[row.external_id] = row.line
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
    result.good = [row for row in good if row.line not in problems]
    result.problems = [p for line in sorted(problems) for p in problems[line]]
    return result


# ------------------------------------------------------------------------------- issuing


def _result(
    row: BatchRow, outcome: Literal["issued", "skipped", "refused"], **fields: Any
) -> BatchRowResult:
    return BatchRowResult(
        line=row.line, row_key=row.key, external_id=row.external_id, outcome=outcome, **fields
    )


def _mark_of(session: Session, issuer_id: int, key: str) -> BulkRow | None:
    return session.exec(
        select(BulkRow).where(BulkRow.issuer_id == issuer_id, BulkRow.row_key == key)
    ).first()


@dataclass
class _Known:
    """What one query per batch found: rows' marks by key, candidates' ids by email."""

    marks: dict[str, BulkRow] = field(default_factory=dict)
    candidates: dict[str, int] = field(default_factory=dict)
    #: The keys and emails looked up (a key looked up and not found has no mark yet).
    keys: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)


def _look_up(session: Session, issuer_id: int, rows: Sequence[BatchRow]) -> _Known:
    """The marks and candidates of ``rows``: two indexed queries for the whole batch."""
    known = _Known()
    known.keys = {row.key for row in rows}
    known.emails = {row.candidate.emails[0].lower() for row in rows}
    if known.keys:
        for mark in session.exec(
            select(BulkRow).where(
                BulkRow.issuer_id == issuer_id, col(BulkRow.row_key).in_(sorted(known.keys))
            )
        ):
            known.marks[mark.row_key] = mark
    if known.emails:
        # The first candidate (by id) with the email, as a single look-up would find.
        first = func.min(CandidateEmail.candidate_id)
        for email, candidate_id in session.execute(
            select(CandidateEmail.email, first)
            .where(
                CandidateEmail.issuer_id == issuer_id,
                col(CandidateEmail.email).in_(sorted(known.emails)),
            )
            .group_by(col(CandidateEmail.email))
        ):
            known.candidates[email] = candidate_id
    return known


def _claim_mark(
    session: Session,
    issuer_id: int,
    row: BatchRow,
    job_id: int | None,
    now: datetime,
    known: _Known | None = None,
) -> BulkRow:
    """The row's ``bulk_row``, inserted (and committed) if no run took the key before."""
    mark = known.marks.get(row.key) if known is not None else None
    if mark is not None:
        return mark
    if known is None or row.key not in known.keys:
        mark = _mark_of(session, issuer_id, row.key)
        if mark is not None:
            return mark
    session.add(
        BulkRow(issuer_id=issuer_id, row_key=row.key, job_id=job_id, line=row.line, created_at=now)
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # another run claimed the key at the same moment: share it
    mark = _mark_of(session, issuer_id, row.key)
    assert mark is not None
    return mark


def _current(session: Session, credential_id: str) -> tuple[str, bool]:
    """The credential now standing for ``credential_id`` (after re-issues), and if revoked."""
    seen = {credential_id}
    current = credential_id
    while True:
        replaced = session.exec(
            select(StatusChange.replaced_by).where(
                StatusChange.credential_id == current, col(StatusChange.replaced_by).is_not(None)
            )
        ).first()
        if replaced is None or replaced in seen:
            break
        seen.add(replaced)
        current = replaced
    revoked = session.exec(select(Revocation.id).where(Revocation.credential_id == current)).first()
    return current, revoked is not None


def _attach(session: Session, mark: BulkRow, project_id: int, *, expected: int | None) -> bool:
    """Point the row at ``project_id`` unless another run moved it first (compare-and-set)."""
    where = (
        col(BulkRow.project_id).is_(None)
        if expected is None
        else col(BulkRow.project_id) == expected
    )
    done = session.execute(
        update(BulkRow).where(col(BulkRow.id) == mark.id, where).values(project_id=project_id)
    )
    session.commit()
    session.refresh(mark)
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _candidate(
    session: Session, issuer: Issuer, row: BatchRow, actor: str, now: datetime, known: _Known
) -> int:
    email = row.candidate.emails[0].lower()
    if email not in known.emails:
        known.emails.add(email)
        found = session.exec(
            select(func.min(CandidateEmail.candidate_id)).where(
                CandidateEmail.issuer_id == issuer.id, CandidateEmail.email == email
            )
        ).one()
        if found is not None:
            known.candidates[email] = found
    if email not in known.candidates:
        created = candidates.create_candidate(session, issuer, row.candidate, actor=actor, now=now)
        known.candidates[email] = created.id or 0
    return known.candidates[email]


def _link(session: Session, project: Project, row: BatchRow, actor: str, now: datetime) -> None:
    if row.link is not None and not projects.deliverables(session, project):
        projects.add_link(session, project, row.link, actor=actor, now=now)


def _adopt(
    session: Session, issuer: Issuer, mark: BulkRow, candidate_id: int, row: BatchRow
) -> Project | None:
    """A draft a crashed run made for this row but never recorded (so none is left over)."""
    taken = exists().where(col(BulkRow.project_id) == col(Project.id))
    return session.exec(
        select(Project)
        .where(
            Project.issuer_id == issuer.id,
            Project.candidate_id == candidate_id,
            Project.achievement_id == row.project["achievement_id"],
            Project.title == row.project["title"],
            Project.status == "draft",
            col(Project.created_at) >= mark.created_at,
            ~taken,
        )
        .order_by(col(Project.id))
    ).first()


def _project_for(
    session: Session,
    issuer: Issuer,
    mark: BulkRow,
    row: BatchRow,
    actor: str,
    *,
    adopt: bool,
    now: datetime,
    known: _Known,
) -> int:
    candidate_id = _candidate(session, issuer, row, actor, now, known)
    project = _adopt(session, issuer, mark, candidate_id, row) if adopt else None
    if project is None:
        data = ProjectCreate.model_validate({**row.project, "candidate_id": candidate_id})
        project = projects.create_project(session, issuer, data, actor=actor, now=now)
    _link(session, project, row, actor, now)
    return project.id or 0


def issue_row(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    row: BatchRow,
    *,
    actor: str,
    job_id: int | None = None,
    reissue_revoked: bool = False,
    known: _Known | None = None,
    notify: bool = False,
) -> BatchRowResult:
    """Issue one row unless its key already issued; never raises for a row's own problem.

    ``known`` is what ``issue_rows`` looked up for the row's batch (looked up here if not).
    """
    try:
        return _issue_row(
            session,
            ctx,
            issuer,
            row,
            actor=actor,
            job_id=job_id,
            reissue=reissue_revoked,
            known=known if known is not None else _Known(),
            notify=notify,
        )
    except BadgeworksError as exc:
        session.rollback()
        return _result(row, "refused", errors=[f"{exc.code}: {exc.message}"])


def _issue_row(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    row: BatchRow,
    *,
    actor: str,
    job_id: int | None,
    reissue: bool,
    known: _Known,
    notify: bool = False,
) -> BatchRowResult:
    _hook("row")
    now = ctx.clock()
    mark = _claim_mark(session, issuer.id or 0, row, job_id, now, known)
    _hook("claimed")
    for _ in range(5):
        if mark.project_id is None:
            project_id = _project_for(
                session, issuer, mark, row, actor, adopt=True, now=now, known=known
            )
            _hook("project")
            _attach(session, mark, project_id, expected=None)
            continue
        credential = session.exec(
            select(Credential.id).where(Credential.project_id == mark.project_id)
        ).first()
        if credential is not None:
            current, revoked = _current(session, credential)
            url = issuance.credential_url(ctx, current)
            if revoked and reissue:
                project_id = _project_for(
                    session, issuer, mark, row, actor, adopt=False, now=now, known=known
                )
                _attach(session, mark, project_id, expected=mark.project_id)
                continue
            if revoked:
                return _result(
                    row, "skipped", reason="revoked", credential_id=current, credential_url=url
                )
            if job_id is not None and mark.job_id == job_id:
                return _result(row, "issued", credential_id=current, credential_url=url)
            return _result(
                row, "skipped", reason="already_issued", credential_id=current, credential_url=url
            )
        # The row's project has no credential yet: complete it. The row is marked as this
        # run's in the same transaction as the credential (the flush inside the commit).
        mark.job_id = job_id
        session.add(mark)
        try:
            issued = issuance.complete_project(
                session,
                ctx,
                issuer,
                mark.project_id,
                actor=actor,
                in_one_transaction=True,
                notify=notify,
            )
        except (ConflictError, IntegrityError) as exc:
            if isinstance(exc, ConflictError) and exc.code != "project.already_completed":
                raise
            session.rollback()  # another run completed it at the same moment: look again
            session.refresh(mark)
            continue
        url = issuance.credential_url(ctx, issued.id)
        return _result(row, "issued", credential_id=issued.id, credential_url=url)
    raise ConflictError(
        f"line {row.line} is being issued by another run at this moment; run the file again "
        "to see its outcome",
        code="bulk.row_busy",
    )


def _new(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    row: BatchRow,
    *,
    actor: str,
    job_id: int | None,
    known: _Known,
    created: dict[str, int],
    notify: bool = False,
) -> BatchRowResult:
    """A row no run has claimed: mark, candidate, project and credential, none committed."""
    _hook("row")
    now = ctx.clock()
    mark = BulkRow(
        issuer_id=issuer.id or 0, row_key=row.key, job_id=job_id, line=row.line, created_at=now
    )
    session.add(mark)
    session.flush()  # a concurrent run holding the key: IntegrityError, the group falls back
    _hook("claimed")
    email = row.candidate.emails[0].lower()
    candidate_id = created.get(email) or known.candidates.get(email)
    if candidate_id is None:
        found = None
        if email not in known.emails:
            found = session.exec(
                select(func.min(CandidateEmail.candidate_id)).where(
                    CandidateEmail.issuer_id == issuer.id, CandidateEmail.email == email
                )
            ).one()
        if found is None:
            found = candidates.create_candidate(
                session, issuer, row.candidate, actor=actor, now=now
            ).id
        candidate_id = created[email] = found or 0
    data = ProjectCreate.model_validate({**row.project, "candidate_id": candidate_id})
    project = projects.create_project(session, issuer, data, actor=actor, now=now)
    _link(session, project, row, actor, now)
    _hook("project")
    mark.project_id = project.id
    session.add(mark)
    session.flush()
    issued = issuance.complete_project(
        session, ctx, issuer, project.id or 0, actor=actor, in_one_transaction=True, notify=notify
    )
    url = issuance.credential_url(ctx, issued.id)
    return _result(row, "issued", credential_id=issued.id, credential_url=url)


def _issue_group(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    rows: Sequence[BatchRow],
    *,
    actor: str,
    job_id: int | None,
    known: _Known,
    notify: bool = False,
) -> tuple[list[BatchRowResult], int]:
    """Issue new rows in one transaction; ``(results, 0)``, or ``([], n)`` if it failed.

    The rows issued are the first ``len(results)`` of ``rows``: no row is started once
    the transaction is ``GROUP_SECONDS`` old. The services' own commits, on a session
    joined to the group's transaction in ``rollback_only`` mode, only flush; the group
    commits once. Anything that fails at the n-th row (a key another run claimed, a
    refused row, a deadlock) rolls the whole group back: the caller issues its first n
    rows one by one, as rows with a mark, and groups the rest again.
    """
    created: dict[str, int] = {}
    out: list[BatchRowResult] = []
    started = time.monotonic()
    with session.get_bind().engine.connect() as conn:
        conn.begin()
        group = Session(bind=conn, join_transaction_mode="rollback_only", expire_on_commit=False)
        try:
            for row in rows:
                if out and time.monotonic() - started >= GROUP_SECONDS:
                    break
                result = _new(
                    group,
                    ctx,
                    issuer,
                    row,
                    actor=actor,
                    job_id=job_id,
                    known=known,
                    notify=notify,
                    created=created,
                )
                out.append(result)
            conn.commit()
        except (BadgeworksError, DBAPIError):
            conn.rollback()
            known.keys.difference_update(row.key for row in rows[: len(out) + 1])
            return [], len(out) + 1
        finally:
            group.close()
    # These keys have their marks now (looked up again if met again).
    known.keys.difference_update(row.key for row in rows[: len(out)])
    known.candidates.update(created)
    known.emails.update(created)
    return out, 0


def issue_rows(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    rows: Sequence[BatchRow],
    *,
    actor: str,
    job_id: int | None = None,
    reissue_revoked: bool = False,
    each: Callable[[int, BatchRowResult], bool] | None = None,
    notify: bool = False,
) -> list[BatchRowResult]:
    """Issue ``rows`` in order; ``each(done, result)`` returning False stops early.

    Rows go in batches of ``BATCH``: one query finds the batch's marks and one its
    candidates (by the indexed ``candidate_email``), so the statements per row do not
    grow with the candidates or rows stored. Consecutive rows without a mark are issued in
    groups of up to ``GROUP`` per transaction (``_issue_group``); the others, and a group
    that could not commit, one by one (``issue_row``). ``each`` runs once the row's
    transaction has committed.
    """
    out: list[BatchRowResult] = []
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        known = _look_up(session, issuer.id or 0, batch)
        session.commit()  # end the look-up's read transaction: groups write on their own
        i = 0
        while i < len(batch):
            fresh: list[BatchRow] = []
            while i + len(fresh) < len(batch) and len(fresh) < GROUP:
                row = batch[i + len(fresh)]
                if row.key not in known.keys or row.key in known.marks:
                    break
                fresh.append(row)
            done, failed = (
                _issue_group(
                    session,
                    ctx,
                    issuer,
                    fresh,
                    actor=actor,
                    job_id=job_id,
                    known=known,
                    notify=notify,
                )
                if fresh
                else ([], 1)
            )
            if not done:
                done = [
                    issue_row(
                        session,
                        ctx,
                        issuer,
                        row,
                        actor=actor,
                        job_id=job_id,
                        reissue_revoked=reissue_revoked,
                        known=known,
                        notify=notify,
                    )
                    for row in batch[i : i + failed]
                ]
            i += len(done)
            for result in done:
                out.append(result)
                if each is not None and not each(len(out), result):
                    return out
    return out


def batch_result(
    session: Session, ctx: ServiceContext, checked: Checked, results: Sequence[BatchRowResult]
) -> BatchResult:
    """The API's answer: what was issued now, what was refused, and every row's outcome."""
    refused = [
        BatchRowResult(line=r.line, outcome="refused", errors=r.errors) for r in checked.rejected()
    ]
    return answer(session, ctx, sorted([*refused, *results], key=lambda r: r.line))


def answer(session: Session, ctx: ServiceContext, rows: list[BatchRowResult]) -> BatchResult:
    """Every row's outcome (in line order), with the credentials issued and the refusals."""
    issued = []
    for r in rows:
        if r.outcome == "issued" and r.credential_id:
            row = session.get(Credential, r.credential_id)
            if row is not None:
                issued.append(issuance.issued(ctx, row))
    rejected = [BatchRowError(line=r.line, errors=r.errors) for r in rows if r.outcome == "refused"]
    return BatchResult(issued=issued, rejected=rejected, rows=rows)


def issue_batch(
    session: Session,
    ctx: ServiceContext,
    issuer: Issuer,
    data: bytes,
    *,
    actor: str,
    reissue_revoked: bool = False,
    progress: Callable[[int, int], None] | None = None,
    notify: bool = False,
) -> BatchResult:
    """Check a CSV, issue every good row once, and say per row what happened.

    ``notify`` queues each issued row's email to its candidate in the outbox, in the
    transaction that stores the row's credential (``notices``); none is sent meanwhile."""
    checked = check(session, issuer, data)

    def each(done: int, _result: BatchRowResult) -> bool:
        if progress is not None:
            progress(done, len(checked.good))
        return True

    results = issue_rows(
        session,
        ctx,
        issuer,
        checked.good,
        actor=actor,
        reissue_revoked=reissue_revoked,
        each=each,
        notify=notify,
    )
    return batch_result(session, ctx, checked, results)
