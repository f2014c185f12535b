"""Run Digital Bazaar's VC stack (interop/harness.mjs) from pytest.

Node.js missing is a loud skip (the machine cannot run the check at all); Node.js present
but ``interop/node_modules`` missing is a failure, because then the check was simply not
set up and a skip would hide that. ``make test`` installs the modules from the lock file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INTEROP = REPO / "interop"
HARNESS = INTEROP / "harness.mjs"
NODE_MODULES = INTEROP / "node_modules"

#: Generous for one batch (the whole suite runs a handful of Node processes in ~1 s each).
HARNESS_TIMEOUT_S = 60


class Harness:
    """``node interop/harness.mjs <command>``: one JSON request (or a batch) per process."""

    def __init__(self, node: str) -> None:
        self.node = node
        self.calls = 0

    def run(self, command: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send a batch; return the per-item results in order (failed items carry error)."""
        self.calls += 1
        try:
            proc = subprocess.run(
                [self.node, str(HARNESS), command],
                input=json.dumps(items),
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=HARNESS_TIMEOUT_S,
                cwd=REPO,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"interop harness {command!r} timed out after {HARNESS_TIMEOUT_S} s")
        if proc.returncode != 0:
            pytest.fail(
                f"interop harness {command!r} exited with {proc.returncode}:\n{proc.stderr}"
            )
        results = json.loads(proc.stdout)
        assert isinstance(results, list) and len(results) == len(items), proc.stdout[:500]
        return results

    def one(self, command: str, item: dict[str, Any]) -> dict[str, Any]:
        return self.run(command, [item])[0]


@pytest.fixture(scope="session")
def harness() -> Harness:
    node = shutil.which("node")
    if node is None:
        pytest.skip(
            "!!! Node.js not found: interop with Digital Bazaar NOT tested "
            "(install Node.js 20+ and run `make test`)"
        )
    if not (NODE_MODULES / "@digitalbazaar" / "vc").is_dir():
        pytest.fail(
            f"Node.js is installed but {NODE_MODULES} is missing: run `make test` "
            "(it runs `npm ci` in interop/ from the lock file), or `make interop-deps`"
        )
    return Harness(node)
