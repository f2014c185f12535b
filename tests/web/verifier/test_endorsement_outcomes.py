"""An embedded endorsement is judged on its own (docs/verification.md, "What fails and what
warns"): one that does not verify is shown as failed, on the page in English and Spanish
and in the API report, while the credential it is attached to still verifies."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.issue import issue
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.verification.report import Check
from badgeworks.web.i18n import Translator
from badgeworks.web.pages import make_environment
from tests.did_key_badges import ISSUED, KEY, signed

_MACRO = '{% import "_verify_checks.html" as v with context %}<ul>{{ v.check(c) }}</ul>'
MENTOR = Ed25519KeyPair.generate()
FAILED = {
    "en": "This endorsement did not verify: it does not count. The credential itself is not "
    "affected.",
    "es": "Este aval no se ha podido verificar: no cuenta. La credencial en sí no se ve afectada.",
}


def _tampered_endorsement(loader: DocumentLoader) -> dict[str, Any]:
    unsigned = ob.endorsement_credential(
        id="urn:uuid:0d3c9d7e-1111-4c3b-9c41-5c1f2d8f9a03",
        issuer=ob.profile(id=MENTOR.controller, name="Grace, mentor at Acme Robotics"),
        valid_from=ob.xsd_datetime(ISSUED),
        subject_id="https://northwind.example/achievements/data-pipeline",
        name="Mentor endorsement",
        endorsement_comment="Ada shipped a robust pipeline ahead of schedule.",
        credential_schema=False,
    )
    endorsement = issue(unsigned, MENTOR, loader, now=ISSUED)
    endorsement["credentialSubject"]["endorsementComment"] = "Ada was late every day."
    return endorsement


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_failed_endorsement_is_marked_on_the_page(lang: str) -> None:
    check = Check(
        "endorsement", "warning", "endorsement.failed", "The endorsement … did not verify"
    )
    html = make_environment().from_string(_MACRO).render(t=Translator(lang), c=check)
    note = ET.fromstring(html).find(".//span[@class='endorsement-note']")
    assert note is not None
    assert note.get("data-endorsement-verified") == "false"
    assert (note.text or "").strip() == FAILED[lang]
    # A genuine endorsement carries no such note.
    ok = Check("endorsement", "pass", "endorsement.ok", "The endorsement … is genuine.")
    html = make_environment().from_string(_MACRO).render(t=Translator(lang), c=ok)
    assert ET.fromstring(html).find(".//span[@class='endorsement-note']") is None


def test_a_failed_endorsement_does_not_fail_the_credential(
    client: TestClient, loader: DocumentLoader
) -> None:
    badge = signed(loader, KEY, achievement_endorsement=[_tampered_endorsement(loader)])
    r = client.post("/api/v1/verify", json={"credential": badge})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "verified_with_warnings"
    (check,) = [c for c in body["checks"] if c["check"] == "endorsement"]
    assert (check["outcome"], check["code"]) == ("warning", "endorsement.failed")
    assert check["detail"]["report"]["verified"] is False
    assert "did not verify" in check["message"]
    page = client.post("/verify", files={"credential": (None, json.dumps(badge))})
    assert page.status_code == 200
    assert 'data-code="endorsement.failed"' in page.text
    assert FAILED["en"] in page.text
