"""What every browser test shares: Debian's Chromium, axe-core from the npm registry, screenshots.

* Chromium is Debian's package (``make browser-deps`` installs it); Playwright drives that
  executable and never downloads a browser.
* axe-core is the npm package pinned in ``interop/package.json`` (``make interop-deps``
  installs it with ``npm ci``). It is injected with ``page.evaluate``, which runs outside the
  page's Content-Security-Policy, so our strict CSP stays on while axe inspects the page.
* Screenshots are always taken (so a broken page fails here, not in the docs). They go to a
  temporary folder, or into ``docs/`` when ``BADGEWORKS_SCREENSHOTS=1`` (``make screenshots``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_PACKAGE = ROOT / "interop" / "node_modules" / "axe-core"
#: The WCAG 2.2 AA rule set (axe tags include the A and AA rules of each WCAG version).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

HAVE_CHROMIUM = Path(CHROMIUM).exists()
requires_chromium = pytest.mark.skipif(
    not HAVE_CHROMIUM,
    reason="!!! Debian's chromium is not installed (make browser-deps): browser tests SKIPPED",
)


@contextmanager
def served_app(
    tmp: Path, *, clock: Callable[[], datetime] | None = None, **overrides: Any
) -> Iterator[tuple[str, Any]]:
    """A real app (SQLite under ``tmp``) served by uvicorn on a free loopback port, its
    public URL that address; yields ``(base, app)``. Set it up inside the ``with``."""
    from badgeworks.settings import get_settings
    from badgeworks.web.app import create_app
    from tests.issuer_app import TEST_SECRET
    from tests.servers import free_port, serve

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = get_settings(
        **{
            "data_dir": tmp / "data",
            "database_url": f"sqlite:///{tmp / 'app.db'}",
            "key_secret": TEST_SECRET,
            "public_base_url": base,
            **overrides,
        }
    )
    application = create_app(settings, clock=clock)
    try:
        with serve(application, port):
            yield base, application
    finally:
        application.state.engine.dispose()


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (the ``browser`` fixture uses this)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@cache
def axe_source() -> str:
    """axe.min.js from the pinned npm package; skips loudly when npm has not installed it."""
    script = AXE_PACKAGE / "axe.min.js"
    if not script.exists():
        pytest.skip("!!! axe-core is not installed (make interop-deps needs npm): SKIPPED")
    pinned = json.loads((ROOT / "interop" / "package.json").read_text())["dependencies"]
    installed = json.loads((AXE_PACKAGE / "package.json").read_text())["version"]
    assert installed == pinned["axe-core"], (
        f"interop/node_modules has axe-core {installed}, package.json pins "
        f"{pinned['axe-core']}: run make interop-deps"
    )
    return script.read_text(encoding="utf-8")


def axe_violations(page: Any, tags: list[str] | None = None) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now and return its violations."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    options = {"runOnly": {"type": "tag", "values": tags or WCAG_AA}, "resultTypes": ["violations"]}
    result: dict[str, Any] = page.evaluate("options => axe.run(document, options)", options)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def assert_accessible(page: Any, tags: list[str] | None = None) -> None:
    """No axe-core violations on the page, with a readable report when there are some."""
    violations = axe_violations(page, tags)
    report = [
        {
            "rule": v["id"],
            "impact": v.get("impact"),
            "help": v.get("help"),
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in violations
    ]
    assert violations == [], f"{page.url}\n{json.dumps(report, indent=1)}"


def assert_reflows(page: Any) -> None:
    """Nothing makes the page scroll sideways at the current viewport (WCAG 1.4.10 at
    320 px); a wide block that scrolls inside itself (``pre``) is allowed."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def screenshot_path(name: str) -> Path:
    """Where screenshot ``name`` (a path under docs/, e.g. ``images/me.png``) is written."""
    if os.environ.get("BADGEWORKS_SCREENSHOTS") == "1":
        target = ROOT / "docs" / name
    else:
        target = Path(tempfile.gettempdir()) / "badgeworks-screenshots" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Take a screenshot for the docs and check it is a real, non-empty PNG."""
    target = screenshot_path(name)
    data: bytes = page.screenshot(path=str(target), full_page=full_page)
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000, name
    return target
