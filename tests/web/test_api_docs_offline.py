"""``/docs`` works offline: Swagger UI comes from the service's own files, whose hashes
match the provenance recorded beside them, and the page renders in Chromium with every
request that leaves the machine blocked."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from badgeworks.web.pages import STATIC
from tests.browser_support import requires_chromium, served_app

VENDORED = STATIC / "swagger-ui"


def test_vendored_files_match_their_recorded_provenance() -> None:
    table = (VENDORED / "PROVENANCE.md").read_text("utf-8")
    rows = re.findall(r"^\| (\S+) \| package/\S+ \| ([0-9a-f]{64}) \|$", table, re.M)
    assert {name for name, _ in rows} == {
        p.name for p in VENDORED.iterdir() if p.name != "PROVENANCE.md"
    }
    for name, digest in rows:
        assert hashlib.sha256((VENDORED / name).read_bytes()).hexdigest() == digest, name


def test_docs_page_names_no_other_host(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert "http://" not in r.text and "https://" not in r.text
    assert "<script>" not in r.text  # no inline script: the policy allows none
    csp = r.headers["content-security-policy"]
    assert "https:" not in csp and "script-src 'self';" in csp
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        assert client.get(asset).status_code == 200, asset


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served_app(tmp_path_factory.mktemp("docs")) as (base, _app):
        yield base


@requires_chromium
def test_docs_render_in_chromium_with_the_network_blocked(served: str, browser: Any) -> None:
    context = browser.new_context()
    blocked: list[str] = []
    local: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith("data:"):
            local.append(url)
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        response = page.goto(f"{served}/docs")
        assert response is not None and response.status == 200
        # Swagger UI has read the OpenAPI document and lists the operations.
        page.locator(".opblock-summary-path", has_text="/api/v1/health").first.wait_for(
            timeout=15000
        )
        assert page.locator(".opblock").count() > 20
        assert page.locator(".info .title").first.inner_text().startswith("badgeworks")
        # The vendored stylesheet applied (Swagger UI's own layout, not unstyled HTML).
        assert page.locator(".swagger-ui .wrapper").count() > 0
        assert blocked == [], blocked
        assert problems == [], problems  # no CSP refusals, no script errors
        assert any(u.endswith("/static/swagger-ui/swagger-ui-bundle.js") for u in local)
    finally:
        context.close()
