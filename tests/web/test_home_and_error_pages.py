"""The start page, and error pages for people: a browser never lands on raw JSON.

API clients (``/api/``, ``.json``, or an ``Accept`` that prefers JSON) keep the one JSON
error shape; a browser navigating to a page gets the same status as a page in its language.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.issuer_app import IssuerHandle

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(
    ("lang", "heading"),
    [("en", "Verifiable badges"), ("es", "Insignias verificables")],
)
def test_start_page_links_each_kind_of_visitor(client: TestClient, lang: str, heading: str) -> None:
    r = client.get(f"/?lang={lang}", headers={"accept": BROWSER})
    assert r.status_code == 200
    assert f'<html lang="{lang}">' in r.text
    assert heading in r.text
    for href in ('href="/verify"', 'href="/me"', 'href="/console/"', 'href="/docs"'):
        assert href in r.text


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/p/no-such-handle", "portfolio.not_found"),
        ("/credentials/00000000-0000-4000-8000-000000000000", "credential.not_found"),
        ("/nothing/here", "not_found"),
    ],
)
def test_browsers_get_a_not_found_page_that_reveals_nothing(
    client: TestClient, path: str, code: str
) -> None:
    r = client.get(path, headers={"accept": BROWSER, "accept-language": "es-MX,es;q=0.9"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    assert '<html lang="es">' in r.text and "No encontramos esta página" in r.text
    assert f"<code>{code}</code>" in r.text
    # The technical message (which names what was asked for) is not on a 404 page.
    assert "there is no" not in r.text and "no-such-handle" not in r.text.split("<main")[1]


def test_api_clients_keep_the_json_shape(client: TestClient) -> None:
    for path, accept in (
        ("/p/no-such-handle", "*/*"),
        ("/p/no-such-handle", "application/json"),
        ("/api/v1/nothing", BROWSER),
        ("/credentials/00000000-0000-4000-8000-000000000000.json", BROWSER),
    ):
        r = client.get(path, headers={"accept": accept})
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/json", path
        assert r.json()["ok"] is False


def test_a_bad_request_page_explains_and_keeps_the_detail(
    client: TestClient, acme: IssuerHandle
) -> None:
    r = client.get("/credentials/x/qr.png?scale=9999", headers={"accept": BROWSER})
    assert 400 <= r.status_code < 500 and r.status_code != 404, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "Something was wrong with that request" in r.text
    assert "<details>" in r.text and "scale" in r.text  # what to fix, one click away


def test_method_not_allowed_page_keeps_allow_header(client: TestClient) -> None:
    r = client.request("PUT", "/verify", headers={"accept": BROWSER})
    assert r.status_code == 405
    assert r.headers["content-type"].startswith("text/html")
    assert "allow" in {k.lower() for k in r.headers}
