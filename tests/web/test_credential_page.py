"""The credential page (HTML face of the id URL), its downloads, QR codes and sharing."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import parse_qs, quote, urlsplit
from xml.etree import ElementTree

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from badgeworks.adapters import qr
from badgeworks.core.baking import extract
from badgeworks.core.verification.credential import verify
from badgeworks.db.models import Credential
from badgeworks.services.portfolio import sharing
from tests.html_page import Page
from tests.issuer_app import BASE, NOW, Issued

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _stored(app: FastAPI, credential_id: str) -> str:
    with app.state.session_factory() as session:
        row = session.get(Credential, credential_id)
        assert row is not None
        return row.document


def test_page_structure_checks_and_links(app: FastAPI, client: TestClient, issued: Issued) -> None:
    r = client.get(issued.path, headers=HTML)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "Accept" in r.headers["vary"]
    page = Page(r.text)
    (html,) = page.all("html")
    assert html["lang"] == "en"
    assert len(page.all("h1")) == 1
    assert page.all("main", id="main")
    assert "Data Analysis Micro-internship" in page.text
    assert "Northwind Traders" in page.text
    assert "Ada Lovelace" in page.text  # the candidate shows their name by default
    assert "Grace Hopper" in page.text  # the mentor, from the signed description
    assert "Exceeds expectations" in page.text  # the rubric result
    assert "Data analysis" in page.text  # the skill alignment
    assert "Verified: signature checked, not revoked" in page.text
    # Both uploaded files are checked against the credential's digestMultibase.
    assert page.text.count("Fingerprint checked") == 2
    # The verifier link carries the credential URL, percent-encoded.
    (verify_link,) = page.all("a", id="verify-link")
    assert verify_link["href"] == f"{BASE}/verify?url={quote(issued.url, safe='')}"
    hrefs = page.hrefs()
    for suffix in ("badge.png", "badge.svg", "certificate.pdf?lang=en", "qr.png", "qr.svg"):
        assert f"{issued.url}/{suffix}" in hrefs
    assert issued.url + ".json" in hrefs
    # The image preview of the diagram is inline, with alt text.
    images = page.all("img")
    assert all(img.get("alt") for img in images)
    # Open Graph and Twitter card metadata.
    assert page.meta("og:title") == "Ada Lovelace: Data Analysis Micro-internship"
    assert page.meta("og:url") == issued.url
    assert page.meta("og:image") == f"{issued.url}/preview.png"
    assert page.meta("twitter:card") == "summary"
    assert page.meta("og:image:alt") == "A teal disc: the data analysis badge"
    # Not on a public portfolio (the default is unlisted): not indexed.
    assert page.meta("robots") == "noindex"
    assert r.headers["x-robots-tag"] == "noindex"
    # No script anywhere: the page works without JavaScript.
    assert not page.all("script")


def test_json_branch_is_still_the_exact_stored_bytes(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    stored = _stored(app, issued.id).encode("utf-8")
    for accept in ("application/vc+ld+json", "application/json", "*/*"):
        assert client.get(issued.path, headers={"Accept": accept}).content == stored
    assert client.get(issued.path + ".json", headers=HTML).content == stored


@sqlite_only
def test_linkedin_url_parameters_are_exact(client: TestClient, issued: Issued) -> None:
    page = Page(client.get(issued.path, headers=HTML).text)
    (linkedin,) = [h for h in page.hrefs() if h.startswith(sharing.LINKEDIN_ADD)]
    parts = urlsplit(linkedin)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    assert parse_qs(parts.query, strict_parsing=True) == {
        "startTask": ["CERTIFICATION_NAME"],
        "name": ["Data Analysis Micro-internship"],
        "organizationName": ["Acme Academy"],
        "issueYear": [str(NOW.year)],
        "issueMonth": [str(NOW.month)],
        "certUrl": [issued.url],
        "certId": [issued.id],
    }
    # Share links are plain links to the networks' share pages, with our URL.
    share = [h for h in page.hrefs() if "twitter.com/intent" in h or "facebook.com" in h]
    assert len(share) == 2 and all(quote(issued.url, safe="") in h for h in share)
    (mail,) = [h for h in page.hrefs() if h.startswith("mailto:")]
    assert quote(issued.url, safe="") in mail


def test_linkedin_url_with_expiry() -> None:
    from datetime import datetime

    url = sharing.linkedin_add_to_profile(
        name="Café & co",
        organization="Academia Ñ",
        issued=datetime(2025, 1, 31),
        expires=datetime(2027, 12, 1),
        cert_url="https://x.example/credentials/1",
        cert_id="1",
    )
    q = parse_qs(urlsplit(url).query)
    assert q["expirationYear"] == ["2027"] and q["expirationMonth"] == ["12"]
    assert q["name"] == ["Café & co"] and q["organizationName"] == ["Academia Ñ"]
    assert q["issueMonth"] == ["1"]


@sqlite_only
def test_baked_png_and_svg_extract_to_the_stored_credential_and_verify(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    stored = _stored(app, issued.id)
    for suffix, media in (("badge.png", "image/png"), ("badge.svg", "image/svg+xml")):
        r = client.get(f"{issued.path}/{suffix}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(media)
        assert r.headers["content-disposition"].startswith("attachment;")
        baked = extract(r.content)
        assert baked == stored.strip()
        report = verify(json.loads(baked), loader=app.state.ctx.loader, now=NOW)
        assert report.verified, report.as_dict()
    svg = client.get(f"{issued.path}/badge.svg")
    assert "sandbox" in svg.headers["content-security-policy"]
    ElementTree.fromstring(svg.content)  # well-formed XML


@sqlite_only
def test_badges_without_an_achievement_image_are_drawn(
    app: FastAPI, client: TestClient, acme: object
) -> None:
    from tests.issuer_app import issue_with_deliverables

    plain = issue_with_deliverables(client, acme, with_image=False)  # type: ignore[arg-type]
    png = client.get(f"{plain.path}/badge.png").content
    assert Image.open(io.BytesIO(png)).size == (512, 512)
    assert extract(png) == _stored(app, plain.id).strip()
    assert extract(client.get(f"{plain.path}/badge.svg").content) == _stored(app, plain.id).strip()


@sqlite_only
def test_pdf_certificate(client: TestClient, issued: Issued) -> None:
    r = client.get(f"{issued.path}/certificate.pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    pdf = r.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    # The QR code and the text are links to the credential and the verifier.
    assert f"/URI ({issued.url})".encode() in pdf
    assert f"/URI ({BASE}/verify?url={quote(issued.url, safe='')})".encode() in pdf
    spanish = client.get(f"{issued.path}/certificate.pdf?lang=es")
    assert spanish.status_code == 200 and spanish.content != pdf


def _modules_from_svg(svg: bytes) -> list[list[bool]]:
    root = ElementTree.fromstring(svg)
    size = int(root.attrib["viewBox"].split()[2])
    grid = [[False] * size for _ in range(size)]
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.attrib["d"]):
        for i in range(int(w)):
            grid[int(y)][int(x) + i] = True
    return grid


@sqlite_only
def test_qr_codes_encode_the_credential_url(client: TestClient, issued: Issued) -> None:
    expected = qr.matrix(issued.url)
    assert expected == qr.matrix(issued.url)  # deterministic
    svg = client.get(f"{issued.path}/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert _modules_from_svg(svg.content) == expected
    # The PNG, sampled at each module's centre, is the same matrix.
    scale = 10
    png = client.get(f"{issued.path}/qr.png?scale={scale}")
    image = Image.open(io.BytesIO(png.content)).convert("L")
    n = len(expected)
    assert image.size == (n * scale, n * scale)
    sampled = [
        [image.getpixel((x * scale + scale // 2, y * scale + scale // 2)) < 128 for x in range(n)]  # type: ignore[operator]
        for y in range(n)
    ]
    assert sampled == expected
    # The verifier target.
    target = client.get(f"{issued.path}/qr.svg?target=verify")
    assert _modules_from_svg(target.content) == qr.matrix(
        f"{BASE}/verify?url={quote(issued.url, safe='')}"
    )
    # Print resolution is capped.
    big = client.get(f"{issued.path}/qr.png?scale={qr.MAX_SCALE}")
    assert Image.open(io.BytesIO(big.content)).size == (n * qr.MAX_SCALE,) * 2
    for bad in ("scale=41", "scale=0", "scale=-3", "scale=abc", "scale=1e9", "target=evil"):
        r = client.get(f"{issued.path}/qr.png?{bad}")
        assert r.status_code == 422, bad
        assert r.json()["ok"] is False


@sqlite_only
def test_spanish_page(client: TestClient, issued: Issued) -> None:
    r = client.get(issued.path + "?lang=es", headers=HTML)
    page = Page(r.text)
    assert page.all("html")[0]["lang"] == "es"
    assert "Verificar esta credencial" in page.text
    assert page.meta("og:locale") == "es_ES"
    r = client.get(issued.path, headers={**HTML, "Accept-Language": "es-MX,es;q=0.9"})
    assert "Verificar esta credencial" in r.text


@sqlite_only
@pytest.mark.parametrize(
    "path",
    [
        "/credentials/nope/badge.png",
        "/credentials/00000000-0000-0000-0000-000000000000/badge.svg",
        "/credentials/..%2F..%2Fetc%2Fpasswd/certificate.pdf",
        "/credentials/" + "a" * 5000 + "/qr.png",
        "/credentials/%00/qr.svg",
        "/credentials/<script>/preview.png",
    ],
)
def test_downloads_of_unknown_credentials_are_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    body = r.json()
    assert (
        body["ok"] is False
        and body["status"] == 404
        and set(body)
        == {
            "ok",
            "status",
            "code",
            "error",
            "request_id",
        }
        and body["request_id"] == r.headers["X-Request-ID"]
    )


@sqlite_only
def test_endorsements_and_markup_are_shown_escaped(
    app: FastAPI, client: TestClient, issued: Issued
) -> None:
    # Endorsements come from the stored credential's ``endorsement`` array. This row is
    # not signed as stored (so it must show as failing verification), which also lets the
    # test carry hostile markup in every field the page shows.
    doc = json.loads(_stored(app, issued.id))
    doc["endorsement"] = [
        {
            "type": ["VerifiableCredential", "EndorsementCredential"],
            "issuer": {"id": "https://mentor.example", "name": "Grace <b>Hopper</b>"},
            "validFrom": "2025-05-30T00:00:00Z",
            "credentialSubject": {
                "id": issued.url,
                "type": "EndorsementSubject",
                "endorsementComment": 'Superb work <script>alert(1)</script> "quoted"',
            },
        }
    ]
    doc["name"] = "<img src=x onerror=alert(1)>"
    # Hashed identifiers only, as a credential of a program that signs no names.
    subject = doc["credentialSubject"]
    subject["identifier"] = [i for i in subject["identifier"] if i["hashed"]]
    doc["evidence"][0]["id"] = "javascript:alert(1)"
    with app.state.session_factory() as session:
        original = session.get(Credential, issued.id)
        assert original is not None
        fake_id = "11111111-2222-4333-8444-555555555555"
        doc["id"] = f"{BASE}/credentials/{fake_id}"
        session.add(
            Credential(
                id=fake_id,
                issuer_id=original.issuer_id,
                candidate_id=None,
                achievement_version_id=None,
                document=json.dumps(doc),
            )
        )
        session.commit()
    r = client.get(f"/credentials/{fake_id}", headers=HTML)
    assert r.status_code == 200
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<img src=x" not in r.text
    assert "javascript:" not in r.text
    page = Page(r.text)
    assert "Superb work <script>alert(1)</script>" in page.text
    assert page.all("blockquote")
    assert "Verification failed" in page.text
    # No candidate row (as for VC-API credentials): no name, still downloadable.
    assert "Ada Lovelace" not in r.text
    assert client.get(f"/credentials/{fake_id}/badge.png").status_code == 200
