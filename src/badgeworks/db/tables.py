"""Every table module, imported once so SQLModel's metadata knows them all.

Each feature keeps its tables in its own module under ``db/`` (with its own Alembic
revision) and adds one import here. Migrations and the schema-drift test import this.
"""

from __future__ import annotations

from badgeworks.db import models

__all__ = ["models"]
