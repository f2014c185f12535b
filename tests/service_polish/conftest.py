"""Fixtures for the service polish tests: the web app on each database (from tests/web)."""

from __future__ import annotations

from tests.web.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    acme,
    app,
    client,
    globex,
    settings,
)
