"""Facts the service records about itself, one row per name.

``key_secret_fingerprint`` holds the fingerprint of the key-encryption secret the
stored issuer keys were encrypted with, so start-up can refuse a changed secret at once
instead of failing later, at the first signature.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from badgeworks.db.models import timestamp_field


class ServiceMeta(SQLModel, table=True):
    """One named value (never a secret: only fingerprints and versions)."""

    __tablename__ = "service_meta"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=500)
    updated_at: datetime = timestamp_field()
