"""Asking a candidate's wallet, in a real browser (Debian's Chromium, Playwright): the
employer starts a request on /verify, the request page shows the QR code and link, and
once the wallet (Python here) answers, the page turns into the verified report — by
itself, with JavaScript (it asks every second and a half) and without (it reloads every
few seconds). Every page passes axe-core. Skipped, loudly, only when /usr/bin/chromium is
missing (``make test`` installs it). axe-core needs scripts to run, so it checks the
pages with JavaScript on; without it the markup is the same but for the ``<noscript>``
refresh.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from badgeworks.core.loader import DocumentLoader
from tests.browser_support import HAVE_CHROMIUM, assert_accessible, screenshot, served_app
from tests.issuer_app import make_issuer
from tests.wallet_holders import CANDIDATE, Holder, did_key_holder, issue_to, ldp_vp

if not HAVE_CHROMIUM:  # pragma: no cover - depends on the machine
    pytest.skip(
        "!!! /usr/bin/chromium not found: the wallet request BROWSER TESTS ARE SKIPPED "
        "(run `make test`, which installs Debian's chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Any, Holder, dict[str, Any]]]:
    with served_app(tmp_path_factory.mktemp("wallet-browser")) as (base, application):
        http = TestClient(application)
        issuer = make_issuer(application, "acme")
        holder = did_key_holder()
        credential = issue_to(http, issuer, holder.did)
        yield base, application, holder, credential


def _answer(page: Page, holder: Holder, credential: dict[str, Any], loader: Any) -> None:
    """What the wallet does with the link the page shows."""
    link = page.locator("#wallet-link").get_attribute("href")
    assert link is not None and link.startswith("openid4vp://?")
    params = dict(parse_qsl(urlsplit(link).query))
    vp = ldp_vp(
        holder,
        credential,
        loader,
        nonce=params["nonce"],
        audience=params["client_id"],
        now=datetime.now(UTC),
    )
    r = httpx.post(
        params["response_uri"],
        data={"vp_token": json.dumps({"open_badge": [vp]}), "state": params["state"]},
        timeout=30,
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_the_request_page_turns_into_the_report(
    browser: Browser,
    site: tuple[str, Any, Holder, dict[str, Any]],
    loader: DocumentLoader,
    javascript: bool,
) -> None:
    base, _app, holder, credential = site
    context = browser.new_context(locale="en-GB", java_script_enabled=javascript)
    page = context.new_page()
    try:
        page.goto(f"{base}/verify")
        page.get_by_role("button", name="Create the request").click()
        page.wait_for_url(f"{base}/verify/wallet/**")
        assert page.locator("#wallet-status").inner_text().startswith("No answer yet")
        assert page.locator(".wallet-qr img").count() == 1
        if javascript:
            assert_accessible(page)
            screenshot(page, "images/wallet-request-waiting.png")
        _answer(page, holder, credential, loader)
        # No click: the page finds the answer by itself (the script's poll, or the
        # <noscript> refresh every four seconds).
        page.wait_for_selector('#verdict[data-verdict="verified"]', timeout=15_000)
        assert CANDIDATE in page.content()
        assert "Data Pipeline Micro-internship" in page.content()
        if javascript:
            assert_accessible(page)
            screenshot(page, "images/wallet-request-verified.png")
    finally:
        context.close()


def test_the_spanish_request_page_is_accessible_at_320_px(
    browser: Browser, site: tuple[str, Any, Holder, dict[str, Any]], loader: DocumentLoader
) -> None:
    base = site[0]
    context = browser.new_context(locale="es-ES", viewport={"width": 320, "height": 640})
    page = context.new_page()
    try:
        page.goto(f"{base}/verify/wallet?lang=es")
        assert_accessible(page)
        page.get_by_role("button", name="Crear la solicitud").click()
        page.wait_for_url(f"{base}/verify/wallet/**")
        assert "Esperando a la cartera del candidato" in page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        assert_accessible(page)
        # A replayed answer (another request's nonce) is refused; the page says why.
        link = page.locator("#wallet-link").get_attribute("href") or ""
        params = dict(parse_qsl(urlsplit(link).query))
        holder, credential = site[2], site[3]
        vp = ldp_vp(
            holder,
            credential,
            loader,
            nonce="another-request",
            audience=params["client_id"],
            now=datetime.now(UTC),
        )
        r = httpx.post(
            params["response_uri"],
            data={"vp_token": json.dumps({"open_badge": [vp]}), "state": params["state"]},
            timeout=30,
        )
        assert r.status_code == 400 and r.json()["code"] == "oid4vp.nonce_mismatch"
        page.wait_for_selector('#wallet-refusal[data-refusal="oid4vp.nonce_mismatch"]')
        assert "se hizo para otra solicitud" in page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        assert_accessible(page)
    finally:
        context.close()
