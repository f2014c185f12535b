"""A mentor's endorsement made here verifies as from an issuer we know (their DID is
hosted here), and the verifier shows what they wrote and how they rated the work: over
HTTP and in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.browser_support import HAVE_CHROMIUM, assert_accessible, served_app
from tests.html_page import Page
from tests.issuer_app import NOW, IssuerHandle, draft_project, make_issuer
from tests.mentor_reviews import invite, open_form

COMMENT = "Ada's analysis of churn was careful and clearly explained."
RATINGS = [{"criterion": "Quality of work", "rating": "Exceeds expectations"}]


def endorsed_credential(client: TestClient, who: IssuerHandle) -> dict[str, Any]:
    """A credential with a mentor's endorsement (a comment and a rating) embedded."""
    ids = draft_project(client, who)
    path = urlsplit(invite(client, who, ids["project"])["review_url"]).path
    r = client.post(
        path,
        data={"nonce": open_form(client, path), "comment": COMMENT, "rating.quality": "exceeds"},
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    credential: dict[str, Any] = r.json()["credential"]
    assert credential["endorsement"]
    return credential


def _codes(report: dict[str, Any]) -> list[str]:
    return [c["code"] for c in report["checks"]]


def test_our_mentor_is_a_known_issuer_and_their_words_and_ratings_are_shown(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    credential = endorsed_credential(client, acme)
    r = client.post("/api/v1/verify", json=credential)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "verified"
    (check,) = [c for c in body["checks"] if c["check"] == "endorsement"]
    assert check["code"] == "endorsement.ok"
    inner = _codes(check["detail"]["report"])
    assert "issuer.known" in inner and "issuer.unknown" not in inner
    assert "(with warnings" not in check["message"]
    (summary,) = body["credential"]["endorsements"]
    assert COMMENT in summary["comment"]
    assert summary["ratings"] == RATINGS
    assert summary["id"] == credential["endorsement"][0]["id"]

    page = Page(client.post("/verify", files={"credential": (None, r.request.content)}).text)
    assert COMMENT in page.text
    assert "Quality of work" in page.text and "Exceeds expectations" in page.text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp: Path = tmp_path_factory.mktemp("mentor-verify")
    with served_app(tmp, clock=lambda: NOW) as (base, app):
        client = TestClient(app)
        credential = endorsed_credential(client, make_issuer(app, "acme"))
        yield base, credential["id"]


@pytest.mark.skipif(not HAVE_CHROMIUM, reason="!!! Debian's chromium is not installed")
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_verifier_page_shows_the_mentor_s_comment_and_ratings(
    browser: Any, site: tuple[str, str], lang: str
) -> None:
    base, credential_url = site
    context = browser.new_context(locale=lang)
    page = context.new_page()
    try:
        page.goto(f"{base}/credentials/{credential_url.rsplit('/', 1)[1]}?lang={lang}")
        page.locator("#verify-link").click()
        assert page.locator("#verdict").get_attribute("data-verdict") == "verified"
        item = page.locator("li.endorsement-summary")
        assert item.count() == 1
        assert COMMENT in item.locator(".endorsement-comment").inner_text()
        ratings = item.locator(".endorsement-ratings").inner_text()
        assert "Quality of work" in ratings and "Exceeds expectations" in ratings
        assert page.locator('[data-code="issuer.unknown"]').count() == 0
        assert_accessible(page)
    finally:
        context.close()
