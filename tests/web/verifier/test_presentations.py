"""The public verifier accepts a presentation and checks each credential in it."""

from __future__ import annotations

import copy
import json

from fastapi.testclient import TestClient

from tests.html_page import Page
from tests.issuer_app import IssuerHandle
from tests.services.portfolio.test_presentation_bundle import download, make_bundle


def test_portfolio_bundle_verifies(client: TestClient, acme: IssuerHandle) -> None:
    bundle = make_bundle(client, acme)
    vp = download(client, bundle.handle)
    r = client.post("/api/v1/verify", json=vp)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True and body["format"] == "presentation"
    assert body["verdict"] == "verified_with_warnings"  # unsigned presentation
    codes = [c["code"] for c in body["presentationResult"]["checks"]]
    assert "presentation.unsigned" in codes and body["presentationResult"]["signed"] is False
    results = body["credentialResults"]
    assert len(results) == 2 and all(x["verified"] for x in results)
    assert {x["credentialId"] for x in results} == {c["id"] for c in bundle.credentials}
    assert all(x["credential"]["issuer"]["id"] for x in results)
    # The same pipeline as a single credential: the same checks, credential by credential.
    single = client.post("/api/v1/verify", json=bundle.credentials[0]).json()
    first = next(x for x in results if x["credentialId"] == bundle.credentials[0]["id"])
    assert [c["code"] for c in first["checks"]] == [c["code"] for c in single["checks"]]

    # Uploaded as a .json file, too.
    r = client.post(
        "/api/v1/verify",
        files={"file": ("portfolio.json", json.dumps(vp).encode(), "application/json")},
    )
    assert r.status_code == 200, r.text


def test_tampered_credential_inside_is_named(client: TestClient, acme: IssuerHandle) -> None:
    bundle = make_bundle(client, acme)
    vp = copy.deepcopy(download(client, bundle.handle))
    tampered = vp["verifiableCredential"][1]
    tampered["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    r = client.post("/api/v1/verify", json=vp)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["verified"] is False and body["verdict"] == "not_verified"
    bad = [x for x in body["credentialResults"] if not x["verified"]]
    assert [x["credentialId"] for x in bad] == [tampered["id"]]
    assert any(c["check"] == "proof" and c["outcome"] == "fail" for c in bad[0]["checks"])
    good = [x for x in body["credentialResults"] if x["verified"]]
    assert len(good) == 1

    # The page says which one failed.
    page = client.post("/verify", files={"credential": (None, json.dumps(vp))})
    assert page.status_code == 422
    doc = Page(page.text)
    sections = doc.all("section", class_="presented-credential")
    assert len(sections) == 2
    verdicts = [s.get("data-verdict") for s in sections]
    assert verdicts.count("not_verified") == 1
    assert "Brain Surgery" in page.text


def test_too_many_credentials(client: TestClient, acme: IssuerHandle) -> None:
    bundle = make_bundle(client, acme)
    vp = download(client, bundle.handle)
    # Small stand-ins: the cap is checked before anything is verified.
    vp["verifiableCredential"] = [{"id": f"urn:uuid:{i}"} for i in range(51)]
    r = client.post("/api/v1/verify", json=vp)
    assert r.status_code in (400, 413), r.text
    assert r.json()["code"] == "verify.too_many_credentials"
    assert "at most 50" in r.json()["error"]
    empty = {"@context": vp["@context"], "type": ["VerifiablePresentation"]}
    r = client.post("/api/v1/verify", json=empty)
    assert r.status_code == 400 and r.json()["code"] == "verify.presentation"


def test_page_renders_a_presentation(client: TestClient, acme: IssuerHandle) -> None:
    bundle = make_bundle(client, acme)
    vp = download(client, bundle.handle)
    r = client.post(
        "/verify",
        files={"file": ("portfolio.json", json.dumps(vp).encode(), "application/json")},
    )
    assert r.status_code == 200, r.text[:500]
    doc = Page(r.text)
    verdict = doc.all("div", id="verdict")
    assert len(verdict) == 1 and verdict[0].get("data-format") == "presentation"
    assert verdict[0].get("data-verdict") == "verified_with_warnings"
    codes = [li.get("data-code") for li in doc.all("li") if li.get("data-code")]
    assert "presentation.unsigned" in codes
    sections = doc.all("section", class_="presented-credential")
    assert [s.get("data-verdict") for s in sections] == ["verified", "verified"]
    assert "Presentation of 2 credentials" in doc.text

    # In Spanish.
    r = client.post(
        "/verify",
        files={"credential": (None, json.dumps(vp))},
        headers={"Accept-Language": "es"},
    )
    assert r.status_code == 200
    assert "Presentación de 2 credenciales" in Page(r.text).text
