"""The verifier shows a status entry's value by its issuer's message (Bitstring Status List
v1.0 §2.1 ``statusMessage``), with the issuer's ``statusReference`` linked (three at most),
in English and Spanish; a reference that is not an http(s) URL is never a link."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from badgeworks.core.verification.report import Check
from badgeworks.web.i18n import Translator
from badgeworks.web.pages import make_environment

_MACRO = '{% import "_verify_checks.html" as v with context %}<ul>{{ v.check(c) }}</ul>'


def _render(check: Check, lang: str) -> ET.Element:
    """The rendered check, parsed (the fragment is well-formed XML)."""
    html = make_environment().from_string(_MACRO).render(t=Translator(lang), c=check)
    return ET.fromstring(html)


def _shown(page: ET.Element) -> ET.Element | None:
    return page.find(".//span[@class='status-message']")


def _status(message: str, reference: list[str] | None = None) -> Check:
    detail: dict[str, Any] = {
        "statusListCredential": "https://issuer.example/status/1",
        "statusListIndex": 5,
        "statusPurpose": "message",
        "statusSize": 2,
        "status": 2,
        "valid": False,
        "message": message,
    }
    if reference is not None:
        detail["statusReference"] = reference
    return Check("status", "warning", "status.message", "The issuer's status …", detail)


@pytest.mark.parametrize(
    ("lang", "label", "link"),
    [("en", "Status:", "What this status means"), ("es", "Estado:", "Qué significa este estado")],
)
def test_the_message_and_its_reference_are_shown(lang: str, label: str, link: str) -> None:
    page = _render(_status("pending review", ["https://issuer.example/reasons"]), lang)
    shown = _shown(page)
    assert shown is not None
    assert shown.get("data-status-value") == "2"
    assert (shown.text or "").strip() == label
    assert shown.findtext("q") == "pending review"
    anchor = shown.find("a")
    assert anchor is not None
    assert (anchor.get("href"), anchor.text) == ("https://issuer.example/reasons", link)


def test_hostile_messages_and_references_stay_text() -> None:
    page = _render(
        _status('<script>alert(1)</script>"' + "x" * 500, ["javascript:alert(1)", "data:,x"]),
        "en",
    )
    shown = _shown(page)
    assert shown is not None
    assert page.find(".//script") is None and shown.find("a") is None
    assert (shown.findtext("q") or "").startswith('<script>alert(1)</script>"')
    assert len(shown.findtext("q") or "") <= 203


def test_at_most_three_references_are_linked() -> None:
    many = [f"https://issuer.example/reasons/{n}" for n in range(1000)]
    shown = _shown(_render(_status("pending review", many), "es"))
    assert shown is not None
    assert [a.get("href") for a in shown.findall("a")] == many[:3]


def test_checks_without_a_message_show_none() -> None:
    check = Check("status", "pass", "status.ok", "Not revoked.", {"status": 0, "valid": True})
    assert _shown(_render(check, "en")) is None
