"""The mentor's review page in headless Chromium (Playwright): rate, comment, vouch, sign;
every page passes axe. Skipped, loudly, only when /usr/bin/chromium is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.browser_support import HAVE_CHROMIUM, assert_accessible, assert_reflows, served_app
from tests.issuer_app import NOW, draft_project, make_issuer

if not HAVE_CHROMIUM:  # pragma: no cover - depends on the machine
    pytest.skip(
        "!!! /usr/bin/chromium not found: the mentor BROWSER TEST IS SKIPPED (run `make test`)",
        allow_module_level=True,
    )


_accessible = assert_accessible


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, FastAPI]]:
    with served_app(tmp_path, clock=lambda: NOW) as site:
        yield site


def test_mentor_completes_the_review_in_chromium(site: tuple[str, FastAPI], browser: Any) -> None:
    base, application = site
    client = TestClient(application)
    who = make_issuer(application, "acme")
    ids = draft_project(client, who)
    r = client.post(
        f"/api/v1/projects/{ids['project']}/reviews",
        json={"name": "Grace Hopper", "title": "Lead analyst", "organization": "Northwind"},
        headers=who.auth,
    )
    link = r.json()["review_url"]
    assert link.startswith(base)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(link + "?lang=es")
        assert page.locator("html").get_attribute("lang") == "es"
        _accessible(page)
        page.goto(link + "?lang=en")
        _accessible(page)
        page.set_viewport_size({"width": 320, "height": 640})  # a phone: no sideways scroll
        assert_reflows(page)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_label("Exceeds expectations").check()
        page.get_by_label("Your comment").fill("Ada's **analysis** was excellent.")
        page.get_by_label("Data analysis (ESCO S1.2)").check()
        page.get_by_role("button", name="Sign my review").click()
        page.wait_for_url(f"{base}/endorsements/**")
        endorsement_page = page.url.split("?")[0]
        endorsement_id = endorsement_page.rsplit("/", 1)[1]
        assert "Thank you" in page.content()
        assert page.locator(".comment strong").inner_text() == "analysis"
        _accessible(page)
        page.goto(link + "?lang=en")
        assert "already used" in page.content()
        _accessible(page)
        page.goto(link + "?lang=es")
        assert "ya se usó" in page.content()
        _accessible(page)
        page.goto(endorsement_page + "?lang=es")
        assert page.locator("html").get_attribute("lang") == "es"
        _accessible(page)
        # The endorser withdraws it through a new single-use link, in Spanish.
        r = client.post(f"/api/v1/endorsements/{endorsement_id}/withdrawal-links", headers=who.auth)
        assert r.status_code == 201, r.text
        withdraw = r.json()["review_url"]
        page.goto(withdraw + "?lang=es")
        assert page.locator("html").get_attribute("lang") == "es"
        _accessible(page)
        page.goto(withdraw + "?lang=en")
        _accessible(page)
        page.get_by_label("Reason (optional)").fill("Wrong project")
        page.get_by_role("button", name="Withdraw my endorsement").click()
        page.wait_for_load_state()
        assert "withdrawn" in page.content()
        _accessible(page)
        page.goto(endorsement_page + "?lang=es")
        _accessible(page)
    finally:
        context.close()
