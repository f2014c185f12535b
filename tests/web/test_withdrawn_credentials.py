"""A revoked or suspended credential never looks valid: its page, its public status, its
PDF, its baked images and its link previews all say so, with the issuer's public reason."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pypdfium2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from badgeworks.core.baking import extract
from tests.html_page import Page
from tests.issuer_app import NOW, Issued, IssuerHandle
from tests.plain_credentials import issue_plain, row_id

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
REASON = "Plagiarised deliverable found after review"


def _pdf_text(data: bytes) -> str:
    document = pypdfium2.PdfDocument(data)
    try:
        text = " ".join(page.get_textpage().get_text_range() for page in document)
        return " ".join(text.split())
    finally:
        document.close()


def _red_band(png: bytes) -> bool:
    """Whether the image's middle row, at its left edge, is the red of a status band."""
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
        r, g, b = rgb.getpixel((2, rgb.height // 2))  # type: ignore[misc]
    return bool(r > 140 and g < 70 and b < 70)


def _revoke(client: TestClient, acme: IssuerHandle, credential_id: str) -> None:
    r = client.post(
        f"/api/v1/credentials/{credential_id}/revoke", json={"reason": REASON}, headers=acme.auth
    )
    assert r.status_code == 200, r.text


def _suspendable(client: TestClient, acme: IssuerHandle) -> str:
    """A credential with a suspension entry (a VC-API one) that carries ``validUntil``."""
    until = (NOW + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return row_id(issue_plain(client, acme, validUntil=until))


def _suspend(client: TestClient, acme: IssuerHandle, credential_id: str, reason: str) -> None:
    r = client.post(
        f"/api/v1/credentials/{credential_id}/suspend", json={"reason": reason}, headers=acme.auth
    )
    assert r.status_code == 200, r.text


def test_public_status_says_revoked_with_the_reason(
    client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    r = client.get(f"{issued.path}/status")
    assert r.status_code == 200
    assert r.json()["status"] == "active" and r.json()["revocation_reason"] is None
    _revoke(client, acme, issued.id)
    r = client.get(f"{issued.path}/status")  # no token: anyone may read it
    body = r.json()
    assert (body["status"], body["revoked"], body["revocation_reason"]) == (
        "revoked",
        True,
        REASON,
    )
    assert body["revoked_at"] and body["url"] == issued.url
    # Who changed it and the list indexes stay with staff.
    assert "actor" not in json.dumps(body) and "status_entries" not in body
    assert r.headers["access-control-allow-origin"] == "*"
    missing = client.get("/credentials/00000000-0000-4000-8000-000000000000/status")
    assert (missing.status_code, missing.json()["code"]) == (404, "credential.not_found")


def test_public_status_says_suspended_with_the_reason(
    client: TestClient, acme: IssuerHandle
) -> None:
    credential_id = _suspendable(client, acme)
    _suspend(client, acme, credential_id, "Under investigation")
    body = client.get(f"/credentials/{credential_id}/status").json()
    assert (body["status"], body["suspension_reason"]) == ("suspended", "Under investigation")


def test_suspended_page_drops_valid_until_and_revoked_page_shows_the_reason(
    client: TestClient, acme: IssuerHandle
) -> None:
    new_id = _suspendable(client, acme)
    before = Page(client.get(f"/credentials/{new_id}", headers=HTML).text)
    assert "is valid until" in before.text
    _suspend(client, acme, new_id, "On hold")
    page = Page(client.get(f"/credentials/{new_id}", headers=HTML).text)
    assert "is valid until" not in page.text
    assert "Suspended by the issuer" in page.text and "On hold" in page.text
    assert (page.meta("og:title") or "").startswith("SUSPENDED: ")

    _revoke(client, acme, new_id)
    spanish = Page(client.get(f"/credentials/{new_id}?lang=es", headers=HTML).text)
    assert "válida hasta" not in spanish.text and REASON in spanish.text
    assert (spanish.meta("og:title") or "").startswith("REVOCADA: ")


def test_revoked_page_previews_and_share_links_say_revoked(
    client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    page = Page(client.get(issued.path, headers=HTML).text)
    assert any("linkedin.com/profile/add" in h for h in page.hrefs())
    _revoke(client, acme, issued.id)
    page = Page(client.get(issued.path, headers=HTML).text)
    assert page.meta("og:title") == "REVOKED: Ada Lovelace: Data Analysis Micro-internship"
    assert "revoked" in (page.meta("og:description") or "")
    hrefs = page.hrefs()
    # No "add to profile" for a revoked credential; each share link's text says revoked.
    assert not any("linkedin.com/profile/add" in h for h in hrefs)
    shares = [h for h in hrefs if h.startswith(("mailto:", "https://twitter.com"))]
    assert shares and all("REVOKED" in h for h in shares)
    assert page.all("p", id="linkedin-withdrawn")
    # The PDF link says what it now gives.
    assert "Status notice (PDF)" in page.text and "Certificate (PDF)" not in page.text


def test_revoked_images_are_stamped_and_still_carry_the_signed_credential(
    app: FastAPI, client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    valid = client.get(f"{issued.path}/badge.png")
    assert not _red_band(valid.content)
    _revoke(client, acme, issued.id)
    png = client.get(f"{issued.path}/badge.png")
    assert png.status_code == 200
    assert _red_band(png.content)
    assert "revoked" in png.headers["content-disposition"]
    # The baked credential is still the exact signed text (its status says revoked).
    assert json.loads(extract(png.content)) == issued.credential
    svg = client.get(f"{issued.path}/badge.svg?lang=es")
    assert svg.status_code == 200
    assert b"REVOCADA" in svg.content and b"<script" not in svg.content
    assert json.loads(extract(svg.content)) == issued.credential
    preview = client.get(f"{issued.path}/preview.png")
    assert _red_band(preview.content)


def test_revoked_certificate_is_a_notice_not_a_certificate(
    client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    valid = _pdf_text(client.get(f"{issued.path}/certificate.pdf").content)
    assert "not a certificate" not in valid
    _revoke(client, acme, issued.id)
    r = client.get(f"{issued.path}/certificate.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert "revoked" in r.headers["content-disposition"]
    text = _pdf_text(r.content)
    assert "Revoked credential: this is not a certificate" in text
    assert REASON in text and issued.url in text
    spanish = _pdf_text(client.get(f"{issued.path}/certificate.pdf?lang=es").content)
    assert "Credencial revocada: esto no es un certificado" in spanish


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_suspended_certificate_is_a_notice(client: TestClient, acme: IssuerHandle) -> None:
    credential_id = _suspendable(client, acme)
    _suspend(client, acme, credential_id, "On hold")
    text = _pdf_text(client.get(f"/credentials/{credential_id}/certificate.pdf").content)
    assert "Suspended credential: this is not a certificate" in text and "On hold" in text
