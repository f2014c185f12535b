"""The verifier says who made each verified signature, in English and Spanish: the issuer, or
another signer of a proof set (VC Data Integrity "Verify Proof Sets and Chains"), named by the
controller of its key."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.proof import add_proof
from badgeworks.core.verification.credential import verify
from badgeworks.core.verification.report import Check
from badgeworks.web.i18n import Translator
from badgeworks.web.pages import make_environment
from tests.did_key_badges import ISSUED, KEY, signed

_MACRO = '{% import "_verify_checks.html" as v with context %}<ul>{{ v.check(c) }}</ul>'
NOW = datetime(2025, 6, 1, tzinfo=UTC)
WITNESS = Ed25519KeyPair.generate()


def _render(check: Check, lang: str) -> ET.Element:
    html = make_environment().from_string(_MACRO).render(t=Translator(lang), c=check)
    return ET.fromstring(html)


def _proof_checks(loader: DocumentLoader) -> list[Check]:
    cosigned = add_proof(
        signed(loader), WITNESS, loader, created=ISSUED, cryptosuite="eddsa-jcs-2022"
    )
    report = verify(cosigned, loader=loader, now=NOW)
    assert report.verified, report.as_dict()
    return [c for c in report.checks if c.check == "proof"]


@pytest.mark.parametrize(
    ("lang", "by_issuer", "by_other"),
    [
        (
            "en",
            "Signed by the issuer.",
            "Signed by someone other than the issuer (a co-signer or witness):",
        ),
        (
            "es",
            "Firmada por el emisor.",
            "Firmada por alguien distinto del emisor (un cofirmante o testigo):",
        ),
    ],
)
def test_each_signature_names_its_signer(
    loader: DocumentLoader, lang: str, by_issuer: str, by_other: str
) -> None:
    issuer_check, witness_check = _proof_checks(loader)

    issuer_line = _render(issuer_check, lang).find(".//span[@class='signer']")
    assert issuer_line is not None
    assert issuer_line.get("data-signer-is-issuer") == "true"
    assert (issuer_line.text or "").strip() == by_issuer
    assert issuer_line.find("code") is None

    witness_line = _render(witness_check, lang).find(".//span[@class='signer']")
    assert witness_line is not None
    assert witness_line.get("data-signer-is-issuer") == "false"
    assert (witness_line.text or "").strip() == by_other
    assert witness_line.findtext("code") == WITNESS.controller
    assert KEY.controller not in ET.tostring(witness_line, encoding="unicode")


def test_failed_signatures_name_no_signer(loader: DocumentLoader) -> None:
    document = signed(loader)
    document["name"] = "Changed"
    report = verify(document, loader=loader, now=NOW)
    [proof] = [c for c in report.checks if c.check == "proof"]
    assert proof.outcome == "fail"
    assert _render(proof, "es").find(".//span[@class='signer']") is None
