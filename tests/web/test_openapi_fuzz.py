"""Schemathesis over ``/openapi.json`` against a served app: no input makes a 5xx.

Every operation of the API is called with examples, boundary values (the coverage
phase: huge numbers, ``null``, missing and extra fields, wrong types) and fuzzed input,
by a token holder of an issuer that has an achievement, a candidate and a project, so
the authenticated paths are reached. The run is bounded (a fixed seed and a fixed number
of cases per operation, about two minutes on two cores) and fails on any 5xx; it prints
schemathesis's ``curl`` line for each failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.browser_support import served_app
from tests.issuer_app import draft_project, make_issuer

ST = Path(sys.executable).with_name("st")
#: Cases per operation and phase; with ~70 operations this is the time budget
#: (``make fuzz`` sets ``BADGEWORKS_FUZZ_EXAMPLES`` for a longer run).
MAX_EXAMPLES = int(os.environ.get("BADGEWORKS_FUZZ_EXAMPLES", "20"))
SEED = 20261204


@pytest.mark.skipif(
    not ST.exists() and shutil.which("st") is None,
    reason="!!! schemathesis is not installed (pip install -e '.[dev]'): fuzzing SKIPPED",
)
def test_no_input_makes_a_server_error(tmp_path: Path) -> None:
    with served_app(
        tmp_path,
        admin_token="admin-token-for-schemathesis-0123456789",
        verify_rate_burst=1_000_000,
        fetch_timeout=2.0,
    ) as (base, app):
        who = make_issuer(app, "acme")
        with httpx.Client(base_url=base, headers=who.auth, timeout=30) as http:
            draft_project(http, who)  # type: ignore[arg-type]
        done = subprocess.run(
            [
                str(ST if ST.exists() else shutil.which("st")),
                "run",
                f"{base}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--header",
                f"Authorization: Bearer {who.token}",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                str(SEED),
                "--generation-database",
                "none",
                "--workers",
                "1",
                "--request-timeout",
                "30",
                # Revoking the run's own token would leave every later call a 401.
                "--exclude-path-regex",
                r"/tokens/\{",
                "--continue-on-failure",
                "--no-color",
                "--warnings",
                "off",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,
        )
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-2000:]
