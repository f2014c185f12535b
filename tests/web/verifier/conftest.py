"""The public verifier's page and API: the per-test ``app`` and ``client``
(``tests/issuer_app.py``) get the verifier's settings here (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from badgeworks.settings import Settings
from tests.verifier_app import verifier_settings


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The per-test ``app`` and ``client`` build on this (SQLite and PostgreSQL)."""
    return verifier_settings(tmp_path, database_url)
