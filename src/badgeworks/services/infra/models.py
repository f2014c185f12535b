"""Response models of the plumbing the API exposes: the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    issuer: str | None
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
