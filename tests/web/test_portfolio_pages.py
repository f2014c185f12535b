"""Portfolio pages, the portfolio API, visibility rules and hostile handles."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.db.portfolio import default_handle
from badgeworks.services.portfolio.handles import HandleError, check_handle
from tests.html_page import Page
from tests.issuer_app import BASE, Issued, IssuerHandle, draft_project

HTML = {"Accept": "text/html"}
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _settings(client: TestClient, who: IssuerHandle, candidate: int) -> dict[str, object]:
    r = client.get(f"/api/v1/candidates/{candidate}/portfolio", headers=who.auth)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def _patch(client: TestClient, who: IssuerHandle, candidate: int, **body: object) -> object:
    return client.patch(f"/api/v1/candidates/{candidate}/portfolio", json=body, headers=who.auth)


def test_visibility_rules(client: TestClient, acme: IssuerHandle, issued: Issued) -> None:
    # A GET writes nothing; the first PATCH (even an empty one) makes the portfolio.
    assert _patch(client, acme, issued.candidate).status_code == 200  # type: ignore[attr-defined]
    first = _settings(client, acme, issued.candidate)
    handle = str(first["handle"])
    assert len(handle) == 16 and first["visibility"] == "unlisted"
    assert first["url"] == f"{BASE}/p/{handle}"

    # Unlisted (the default): reachable by link, not indexed.
    r = client.get(f"/p/{handle}")
    assert r.status_code == 200 and r.headers["x-robots-tag"] == "noindex"
    page = Page(r.text)
    assert page.meta("robots") == "noindex"
    assert "Ada Lovelace" in page.text and "Data Analysis Micro-internship" in page.text
    assert "Pipeline diagram" in page.text and "Final report" in page.text
    assert "This is a permanent link: it does not expire." in page.text
    assert f"{BASE}/verify?url=" in " ".join(page.hrefs())
    assert page.meta("og:image") == f"{issued.url}/preview.png"
    assert not page.all("script")

    # Public, a chosen handle, a headline; one deliverable hidden.
    r = _patch(
        client,
        acme,
        issued.candidate,
        handle="Ada-Lovelace",
        visibility="public",
        headline="Data analyst <in training>",
        deliverables={str(issued.deliverables["Pipeline diagram"]): "hidden"},
    )
    assert r.status_code == 200, r.text  # type: ignore[attr-defined]
    assert r.json()["handle"] == "ada-lovelace"  # type: ignore[attr-defined]
    r = client.get("/p/ada-lovelace")
    assert r.status_code == 200 and "x-robots-tag" not in r.headers
    page = Page(r.text)
    assert page.meta("robots") is None
    assert "Data analyst <in training>" in page.text and "&lt;in training&gt;" in r.text
    assert "Pipeline diagram" not in page.text and "Final report" in page.text
    assert client.get(f"/p/{handle}").status_code == 404  # the old handle is released
    assert client.get("/p/ADA-LOVELACE").status_code == 200  # handles are case-insensitive
    # The credential page links the portfolio and may be indexed now.
    cred = Page(client.get(issued.path, headers=HTML).text)
    assert f"{BASE}/p/ada-lovelace" in cred.hrefs()
    assert cred.meta("robots") is None

    # Hide personal details: no name on the portfolio. The credential names her (the
    # issuer signs the name in, docs/credentials.md), and every copy of it says so: its
    # page shows the signed name, marked as such.
    assert _patch(client, acme, issued.candidate, show_name=False).status_code == 200  # type: ignore[attr-defined]
    assert "Ada Lovelace" not in client.get("/p/ada-lovelace", headers=HTML).text
    signed = client.get(issued.path, headers=HTML).text
    assert "<strong data-signed-name>Ada Lovelace</strong>" in signed

    # A hidden credential is not listed, but its own URL still works and verifies.
    r = _patch(client, acme, issued.candidate, credentials={issued.id: "hidden"})
    assert r.status_code == 200  # type: ignore[attr-defined]
    page = Page(client.get("/p/ada-lovelace").text)
    assert "Data Analysis Micro-internship" not in page.text
    cred_page = client.get(issued.path, headers=HTML)
    assert cred_page.status_code == 200 and cred_page.headers["x-robots-tag"] == "noindex"
    assert f"{BASE}/p/ada-lovelace" not in Page(cred_page.text).hrefs()
    assert client.get(f"{issued.path}/badge.png").status_code == 200

    # A hidden portfolio is 404, QR codes included.
    assert _patch(client, acme, issued.candidate, visibility="hidden").status_code == 200  # type: ignore[attr-defined]
    for path in ("/p/ada-lovelace", "/p/ada-lovelace/qr.png", "/p/ada-lovelace/qr.svg"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["code"] == "portfolio.not_found"


def test_api_rules(
    client: TestClient, acme: IssuerHandle, globex: IssuerHandle, issued: Issued
) -> None:
    other = draft_project(client, acme)["candidate"]
    assert _patch(client, acme, other, handle="taken-handle").status_code == 200  # type: ignore[attr-defined]
    r = _patch(client, acme, issued.candidate, handle="Taken-Handle")
    assert r.status_code == 409 and r.json()["code"] == "portfolio.handle_taken"  # type: ignore[attr-defined]
    # Another issuer's token cannot see or edit this candidate's portfolio.
    r = client.patch(
        f"/api/v1/candidates/{issued.candidate}/portfolio",
        json={"handle": "stolen"},
        headers=globex.auth,
    )
    assert r.status_code == 404
    assert client.get(f"/api/v1/candidates/{issued.candidate}/portfolio").status_code == 401
    # An item that is not the candidate's.
    r = _patch(client, acme, other, credentials={issued.id: "hidden"})
    assert r.status_code == 422 and r.json()["code"] == "portfolio.unknown_item"  # type: ignore[attr-defined]
    r = _patch(client, acme, issued.candidate, deliverables={"999999": "hidden"})
    assert r.status_code == 422  # type: ignore[attr-defined]
    # Malformed input: one error shape, nothing changed.
    before = _settings(client, acme, issued.candidate)
    for body, status in (
        ('{"handle": ', 400),
        ('{"visibility": "secret"}', 422),
        ('{"show_name": "maybe"}', 422),
        ('{"colour": "red"}', 422),
        ('{"headline": "' + "x" * 300 + '"}', 422),
        ('{"handle": "a\\u0000b"}', 422),
        ('{"credentials": {"x": "public", "y": "nope"}}', 422),
        ("[]", 422),
    ):
        r = client.patch(
            f"/api/v1/candidates/{issued.candidate}/portfolio",
            content=body,
            headers={**acme.auth, "Content-Type": "application/json"},
        )
        assert r.status_code == status, (body, r.text)
        assert set(r.json()) == {"ok", "status", "code", "error", "request_id"}
    assert _settings(client, acme, issued.candidate) == before
    for bad in ("0", "-1", "abc", "99999999999"):
        assert (
            client.get(f"/api/v1/candidates/{bad}/portfolio", headers=acme.auth).status_code == 422
        )


HOSTILE = [
    "../etc",
    "..",
    "a/b",
    "ab",
    "x" * 41,
    "x" * 10_000,
    "-abc",
    "abc-",
    "a--b",
    "a_b",
    "a b",
    "admin",
    "verify",
    "static",
    "",
    "ａｄａ",  # fullwidth
    "\u212aelvin",  # KELVIN SIGN lowercases to an ASCII k
    "аda",  # Cyrillic а
    "ada\u200b",  # zero-width space
    "ada\u0301",  # combining accent
    "Ada%2F..",
    "fuck-you",
    "<script>",
]


@pytest.mark.parametrize("handle", HOSTILE)
def test_hostile_handles_are_refused(handle: str) -> None:
    with pytest.raises(HandleError):
        check_handle(handle)


def test_good_handles() -> None:
    assert check_handle("Ada-Lovelace-1815") == "ada-lovelace-1815"
    assert check_handle("abc") == "abc"
    handle = default_handle()
    assert check_handle(handle) == handle and len(handle) == 16
    assert len({default_handle() for _ in range(100)}) == 100


@sqlite_only
def test_hostile_handles_through_the_api_and_pages(
    client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    for handle in HOSTILE:
        r = _patch(client, acme, issued.candidate, handle=handle)
        assert r.status_code == 422, handle  # type: ignore[attr-defined]
        assert r.json()["code"].startswith(("portfolio.handle", "request.invalid"))  # type: ignore[attr-defined]
    for path in ("/p/..%2F..%2Fetc", "/p/%00", "/p/" + "a" * 300, "/p/ａｄａ", "/p/nobody-here"):
        r = client.get(path)
        assert r.status_code in (404, 422), path
        assert r.json()["ok"] is False


@sqlite_only
def test_portfolio_qr_and_spanish(client: TestClient, acme: IssuerHandle, issued: Issued) -> None:
    from badgeworks.adapters import qr
    from tests.web.test_credential_page import _modules_from_svg

    handle = str(_patch(client, acme, issued.candidate).json()["handle"])  # type: ignore[attr-defined]
    svg = client.get(f"/p/{handle}/qr.svg")
    assert _modules_from_svg(svg.content) == qr.matrix(f"{BASE}/p/{handle}")
    assert client.get(f"/p/{handle}/qr.png?scale=40").status_code == 200
    assert client.get(f"/p/{handle}/qr.png?scale=41").status_code == 422
    page = Page(client.get(f"/p/{handle}?lang=es").text)
    assert page.all("html")[0]["lang"] == "es"
    assert "Este es un enlace permanente: no caduca." in page.text


@sqlite_only
def test_portfolio_is_created_once(
    app: FastAPI, client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    first = _patch(client, acme, issued.candidate).json()  # type: ignore[attr-defined]
    assert _settings(client, acme, issued.candidate)["handle"] == first["handle"]
    assert _patch(client, acme, issued.candidate).json()["handle"] == first["handle"]  # type: ignore[attr-defined]
