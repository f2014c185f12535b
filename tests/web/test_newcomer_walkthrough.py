"""The README's promise, in a real browser, on the demo data ``make run`` seeds.

A newcomer opens the demo candidate's portfolio, scans its QR code (decoded here by an
independent decoder, zxing-cpp), opens the credential, checks the LinkedIn "Add to
profile" link, downloads the PDF certificate and the baked PNG, and verifies that PNG in
the public verifier — the same steps docs/candidate-guide.md describes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
from fastapi import FastAPI

from badgeworks.core.baking import extract
from badgeworks.services.demo import DemoResult, seed_demo
from tests.browser_support import assert_accessible, requires_chromium, served_app

pytestmark = requires_chromium


@dataclass
class Demo:
    base: str
    app: FastAPI
    result: DemoResult


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    # The verifier fetches the credential's deliverables from this loopback server.
    with served_app(tmp_path_factory.mktemp("walkthrough"), fetch_allow_private=True) as (
        base,
        application,
    ):
        with application.state.session_factory() as session:
            result = seed_demo(session, application.state.ctx)
        yield Demo(base, application, result)


def decode_qr(png: bytes) -> str:
    """What a phone camera would read: the text of the one QR code in ``png``."""
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert len(found) == 1, f"{len(found)} codes found"
    text: str = found[0].text
    return text


def test_newcomer_shares_and_an_employer_verifies(demo: Demo, browser: Any) -> None:
    result = demo.result
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        # 1. The portfolio, and its QR code for a printed CV.
        response = page.goto(result.portfolio_url)
        assert response is not None and response.status == 200
        assert_accessible(page)
        print_qr = page.locator(".qr-figure a").get_attribute("href")
        assert print_qr
        qr = page.request.get(urljoin(page.url, print_qr))
        assert qr.ok and qr.headers["content-type"] == "image/png"
        assert decode_qr(qr.body()) == result.portfolio_url

        # 2. From the portfolio to the credential page; its QR code opens that page.
        page.locator(f"a[href='{result.credential_url}']").first.click()
        page.wait_for_url(result.credential_url)
        assert_accessible(page)
        for link in page.locator(".qr-section a").all():
            if link.inner_text().strip() == "PNG":
                png = page.request.get(urljoin(page.url, link.get_attribute("href") or ""))
                assert decode_qr(png.body()) == result.credential_url
                break
        else:  # pragma: no cover - the page lost its QR download
            raise AssertionError("no QR PNG link on the credential page")
        verify_qr = page.request.get(f"{result.credential_url}/qr.png?target=verify")
        verify_target = f"{demo.base}/verify?url={quote(result.credential_url, safe='')}"
        assert decode_qr(verify_qr.body()) == verify_target

        # 3. LinkedIn "Add to profile": every field of the certification entry.
        credential = page.request.get(f"{result.credential_url}.json").json()
        href = page.locator("a[href^='https://www.linkedin.com/profile/add']").get_attribute("href")
        assert href
        parts = urlsplit(href)
        query = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=True).items()}
        issued = datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))
        assert (parts.scheme, parts.netloc, parts.path) == (
            "https",
            "www.linkedin.com",
            "/profile/add",
        )
        assert query["startTask"] == "CERTIFICATION_NAME"
        assert query["name"] == credential["credentialSubject"]["achievement"]["name"]
        assert query["organizationName"] == credential["issuer"]["name"]
        assert (query["issueYear"], query["issueMonth"]) == (str(issued.year), str(issued.month))
        assert query["certUrl"] == result.credential_url
        # The short id people type into LinkedIn; certUrl carries the full id.
        assert query["certId"] == credential["id"].rsplit("/", 1)[1]

        # 4. The PDF certificate and the baked PNG, as downloads.
        with page.expect_download() as pdf_download:
            page.locator("a[href*='certificate.pdf']").click()
        pdf = Path(pdf_download.value.path()).read_bytes()
        assert pdf.startswith(b"%PDF-") and len(pdf) > 2000
        with page.expect_download() as png_download:
            page.locator("a[href$='badge.png']").click()
        baked_path = Path(png_download.value.path())
        baked = baked_path.read_bytes()
        assert json.loads(extract(baked))["id"] == credential["id"]

        # 5. An employer drops the PNG into the public verifier.
        page.goto(f"{demo.base}/verify")
        page.set_input_files("#field-file", str(baked_path))
        page.locator("form button[type=submit]").first.click()
        page.wait_for_load_state()
        title = page.locator("#verdict-title").inner_text()
        assert "Verified" in title and "not" not in title.lower(), page.locator("main").inner_text()
        assert_accessible(page)
    finally:
        context.close()
