"""The pages in a real browser: Debian's Chromium driven by Playwright, checked by axe-core.

The app runs under uvicorn in a background thread on a free loopback port. Skipped (with
a reason) when Chromium is not installed; ``make test`` installs it (browser-deps).
"""

from __future__ import annotations

import io
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from fastapi.testclient import TestClient

from badgeworks.core.baking import extract
from badgeworks.core.verify import verify
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.portfolio.conftest import issue_with_deliverables
from tests.web.conftest import NOW, TEST_SECRET, make_issuer

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not shutil.which("chromium"),
    reason="!!! Debian's chromium is not installed (make browser-deps): browser tests SKIPPED",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A served app with one issued credential and a public portfolio."""
    tmp = tmp_path_factory.mktemp("browser")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=f"sqlite:///{tmp / 'b.db'}",
        key_secret=TEST_SECRET,
        public_base_url=base,
    )
    app = create_app(settings, clock=lambda: NOW)
    client = TestClient(app)
    acme = make_issuer(app, "acme")
    issued = issue_with_deliverables(client, acme)
    r = client.patch(
        f"/api/v1/candidates/{issued.candidate}/portfolio",
        json={"handle": "ada", "visibility": "public", "headline": "Junior data analyst"},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield {
            "base": base,
            "credential": issued.url,
            "credential_id": issued.id,
            "portfolio": f"{base}/p/ada",
            "loader": app.state.ctx.loader,
        }
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _axe(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return violations


@pytest.mark.parametrize("lang", ["en", "es"])
def test_pages_render_and_pass_axe(site: dict[str, Any], browser: Any, lang: str) -> None:
    context = browser.new_context(locale=lang, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        for url in (site["portfolio"], site["credential"]):
            response = page.goto(f"{url}?lang={lang}")
            assert response is not None and response.status == 200
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("h1").count() == 1
            violations = _axe(page)
            assert violations == [], json.dumps(
                [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations], indent=1
            )
            if lang == "en":
                SCREENSHOTS.mkdir(exist_ok=True)
                name = "portfolio" if "/p/" in url else "credential"
                page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    finally:
        context.close()


def test_phone_viewport_has_no_horizontal_scroll(site: dict[str, Any], browser: Any) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640}, device_scale_factor=2)
    page = context.new_page()
    try:
        for url in (site["portfolio"], site["credential"]):
            page.goto(url)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{url} scrolls sideways by {overflow}px at 320px"
        page.screenshot(path=str(SCREENSHOTS / "credential-phone.png"), full_page=False)
    finally:
        context.close()


def test_follow_links_download_and_verify(site: dict[str, Any], browser: Any) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(site["portfolio"])
        # From the portfolio to the credential page, as a visitor would.
        page.get_by_role("link", name="Data Analysis Micro-internship", exact=True).click()
        assert page.url == site["credential"]
        verify_link = page.locator("#verify-link")
        expected = f"{site['base']}/verify?url={quote(site['credential'], safe='')}"
        assert verify_link.get_attribute("href") == expected
        # Download the baked PNG, unbake it and verify it.
        with page.expect_download() as info:
            page.get_by_role("link", name="Badge image with credential (PNG)").click()
        data = Path(info.value.path()).read_bytes()
        credential = json.loads(extract(data))
        assert credential["id"] == site["credential"]
        assert verify(credential, loader=site["loader"], now=NOW).verified
        # The QR code's target is the credential page itself.
        qr = page.request.get(f"{site['credential']}/qr.png")
        assert qr.ok and qr.headers["content-type"] == "image/png"
        from PIL import Image

        assert Image.open(io.BytesIO(qr.body())).format == "PNG"
        # The link opens the public verifier (built separately; it may refuse to fetch
        # from loopback, which this test server is on, but it must answer, not crash).
        response = page.goto(expected)
        assert response is not None and response.status < 500
        assert page.url.startswith(f"{site['base']}/verify?url=")
    finally:
        context.close()


def test_keyboard_focus_is_visible(site: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    try:
        page.goto(site["credential"])
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.className")
        assert "skip-link" in focused
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        left = page.evaluate("document.activeElement.getBoundingClientRect().left")
        assert outline != "none" and left >= 0
    finally:
        page.close()
