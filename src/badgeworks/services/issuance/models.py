"""Response models of issuing: an issued credential, a credential in a listing, and what a
bulk run did with each CSV row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class CredentialSummary(BaseModel):
    id: str
    url: str
    issuer: str
    project_id: int | None
    candidate_id: int | None
    achievement_version_id: int | None
    issued_at: datetime
    revoked_at: datetime | None


class IssuedCredential(BaseModel):
    id: str
    url: str = Field(description="The credential's id: its hosted URL (JSON or HTML).")
    html_url: str
    json_url: str
    blob_urls: list[str]
    credential: dict[str, Any] = Field(description="The signed credential, as stored.")


class BatchRowError(BaseModel):
    line: int
    errors: list[str]


class BatchRowResult(BaseModel):
    """What a bulk run did with one CSV row (docs/api.md, "Batch CSV format")."""

    line: int
    #: ``ext:<external_id>`` or ``sha256:<digest of the row>``: the same row never issues twice.
    row_key: str | None = None
    external_id: str | None = None
    #: ``issued``, ``skipped`` (see ``reason``) or ``refused`` (see ``errors``).
    outcome: Literal["issued", "skipped", "refused"]
    #: For ``skipped``: ``already_issued`` or ``revoked`` (re-issue with reissue_revoked).
    reason: str | None = None
    credential_id: str | None = None
    credential_url: str | None = None
    errors: list[str] = []


class BatchResult(BaseModel):
    issued: list[IssuedCredential]
    rejected: list[BatchRowError]
    #: Every row of the file, in order, with what happened to it.
    rows: list[BatchRowResult] = []
