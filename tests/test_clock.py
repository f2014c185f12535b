"""Services take the time from the context's clock, never from the wall clock.

A service asks ``ctx.clock()``, or is handed a ``now`` its caller took from the context, so
a test can fix the time and a reader can find where it comes from. Only
``services/context.py`` defines the default clock. Monotonic timers
(``time.monotonic``, ``time.perf_counter``) measure timeouts, not dates, and are allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[1] / "src" / "badgeworks" / "services"
#: The module that defines the default clock of the context.
CLOCK_HOME = SERVICES / "context.py"
#: ``(module, name)`` pairs whose call reads the wall clock.
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
}


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def wall_clock_calls(source: str) -> list[str]:
    """Each wall-clock call in ``source``, as ``line: expression``."""
    tree = ast.parse(source)
    # Names bound by ``from datetime import datetime as dt`` or ``from time import time``.
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name] = alias.name
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name is None:
            continue
        head, _, rest = name.partition(".")
        full = aliases.get(head, head) + (f".{rest}" if rest else "")
        parts = full.split(".")
        bad = parts[-1] == "utcnow" or (len(parts) >= 2 and (parts[-2], parts[-1]) in WALL_CLOCK)
        if bad:
            found.append((node.lineno, f"{node.lineno}: {name}()"))
    return [text for _, text in sorted(found)]


def test_the_check_sees_each_wall_clock_call() -> None:
    source = (
        "import time\n"
        "import datetime as _dt\n"
        "from datetime import date, datetime, UTC\n"
        "from time import time as now_s\n"
        "from badgeworks.db import models\n"
        "from badgeworks.db.models import utcnow\n"
        "datetime.now(UTC)\n"
        "_dt.datetime.now(UTC)\n"
        "date.today()\n"
        "time.time()\n"
        "now_s()\n"
        "utcnow()\n"
        "models.utcnow()\n"
        "time.monotonic()\n"
        "time.perf_counter()\n"
        "ctx.clock()\n"
    )
    assert [line.split(":")[0] for line in wall_clock_calls(source)] == [
        "7",
        "8",
        "9",
        "10",
        "11",
        "12",
        "13",
    ]


def test_services_take_time_from_the_context() -> None:
    offenders = {
        str(path.relative_to(SERVICES)): calls
        for path in sorted(SERVICES.rglob("*.py"))
        if path != CLOCK_HOME and (calls := wall_clock_calls(path.read_text("utf-8")))
    }
    assert offenders == {}
