"""Dates, numbers, plurals and the verifier's check messages in the page's language."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.services.portfolio import certificate
from badgeworks.web.i18n import LANGUAGES, Translator, catalog
from badgeworks.web.pages import make_environment
from tests.did_key_badges import signed
from tests.html_page import Page

DECEMBER_3 = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "long", "medium", "moment", "number"),
    [
        ("en", "December 3, 2026", "Dec 3, 2026", "December 3, 2026, 2:05\u202fPM UTC", "12,345.5"),
        (
            "es",
            "3 de diciembre de 2026",
            "3 dic 2026",
            "3 de diciembre de 2026, 14:05 UTC",
            "12.345,5",
        ),
    ],
)
def test_filters_write_dates_and_numbers_the_languages_way(
    lang: str, long: str, medium: str, moment: str, number: str
) -> None:
    env = make_environment()
    page = env.from_string(
        "{{ d|date }}|{{ d|date('medium') }}|{{ d|datetime }}|{{ n|number }}|"
        "{{ iso|date }}|{{ day|date }}|{{ odd|date }}"
    ).render(
        t=Translator(lang),
        lang=lang,
        d=DECEMBER_3,
        n=12345.5,
        iso="2026-12-03T23:30:00-05:00",
        day=date(2026, 12, 3),
        odd="sometime",
    )
    # An ISO text keeps the calendar day it names; text that is no date is shown as it is.
    assert page.split("|") == [long, medium, moment, number, long, long, "sometime"]


def test_a_naive_time_is_utc_and_an_empty_one_shows_nothing() -> None:
    t = Translator("es")
    assert t.datetime(datetime(2026, 12, 3, 23, 59)) == "3 de diciembre de 2026, 23:59 UTC"
    assert t.date(datetime(2026, 12, 3, 23, 30, tzinfo=UTC)) == "3 de diciembre de 2026"
    assert t.date(None) == t.date("") == t.datetime(None) == t.number(None) == ""
    assert t.time(DECEMBER_3) == "14:05 UTC"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["Issue 0 credentials", "Issue 1 credential", "Issue 2 credentials"]),
        ("es", ["Emitir 0 credenciales", "Emitir 1 credencial", "Emitir 2 credenciales"]),
    ],
)
def test_the_console_issue_button_counts_in_both_languages(lang: str, expected: list[str]) -> None:
    t = Translator(lang)
    assert [t.plural("console.bulk.issue", n) for n in (0, 1, 2)] == expected
    assert [t("console.bulk.issue", n=n) for n in (0, 1, 2)] == expected
    assert t.plural("console.bulk.issue", 1500).endswith(
        ("1,500 credentials", "1.500 credenciales")
    )


@pytest.mark.parametrize(
    ("key", "en", "es"),
    [
        (
            "verify.presentation_title",
            ["Presentation of 0 credentials", "Presentation of 1 credential"],
            ["Presentación de 0 credenciales", "Presentación de 1 credencial"],
        ),
        (
            "candidate.wait_seconds",
            ["0 seconds", "1 second"],
            ["0 segundos", "1 segundo"],
        ),
        (
            "console.achievements.validity_days",
            [
                "Credentials issued with this version are valid for 0 days after they are issued.",
                "Credentials issued with this version are valid for 1 day after they are issued.",
            ],
            [
                "Las credenciales emitidas con esta versión son válidas durante 0 días después "
                "de emitirse.",
                "Las credenciales emitidas con esta versión son válidas durante 1 día después "
                "de emitirse.",
            ],
        ),
    ],
)
def test_plural_entries_for_zero_one_and_two(key: str, en: list[str], es: list[str]) -> None:
    assert [Translator("en").plural(key, n) for n in (0, 1)] == en
    assert [Translator("es").plural(key, n) for n in (0, 1)] == es
    two_en, two_es = Translator("en").plural(key, 2), Translator("es").plural(key, 2)
    assert "2" in two_en and two_en != en[1] and "2" in two_es and two_es != es[1]


def test_a_fraction_takes_the_languages_form_for_fractions() -> None:
    assert Translator("en").plural("candidate.wait_seconds", 1.5) == "1.5 seconds"
    assert Translator("es").plural("candidate.wait_seconds", 0.5) == "0,5 segundos"


def test_no_count_is_pasted_before_a_noun_with_a_bracketed_plural() -> None:
    for lang in LANGUAGES:
        for key, entry in catalog(lang).items():
            texts = entry.forms if not isinstance(entry, str) else (entry,)
            for text in texts:
                assert not re.search(r"\w\((s|es)\)", text), (lang, key, text)


def _core_codes() -> set[str]:
    """Every code the core can put in a report (the rule docs/verification.md is held to)."""
    root = Path(__file__).resolve().parents[2]
    areas = (
        "badgeworks|baking|config|context|credential|did|endorsement|input|internal|issuer|"
        "jsonld|jwt|key|multibase|presentation|proof|rdfc|schema|status|structure|validity|"
        "deliverable|recipient|fetch|verify|holder"
    )
    pattern = re.compile(rf'"((?:{areas})\.[a-z][a-z_]*)"')
    found: set[str] = set()
    for path in (root / "src" / "badgeworks" / "core").rglob("*.py"):
        found |= set(pattern.findall(path.read_text("utf-8")))
    return found


def test_every_code_the_core_can_emit_has_an_english_and_a_spanish_message() -> None:
    codes = _core_codes()
    assert len(codes) > 150
    for lang in LANGUAGES:
        strings = catalog(lang)
        missing = sorted(code for code in codes if not strings.get(f"check.{code}"))
        assert not missing, (lang, missing)


def test_a_check_message_is_translated_by_code_with_its_dates() -> None:
    t = Translator("es")
    expired = {
        "check": "validity",
        "outcome": "fail",
        "code": "validity.expired",
        "message": "This credential expired on 03 December 2026.",
        "detail": {"validFrom": "2025-01-01T00:00:00Z", "validUntil": "2026-12-03T10:00:00Z"},
    }
    assert t.check_message(expired) == "Esta credencial caducó el 3 de diciembre de 2026."
    # English pages keep the report's own message; an unknown code and a message whose
    # detail lacks what the sentence names fall back to it too.
    assert Translator("en").check_message(expired) is None
    assert t.check_message({**expired, "code": "elsewhere.unknown"}) is None
    assert t.check_message({**expired, "detail": {}}) is None
    assert t.check_message({**expired, "detail": "not a mapping"}) is None
    hostile = {**expired, "code": "proof.verified", "detail": {"x": "{0.__class__}"}}
    assert t.check_message(hostile) == (
        "La firma está intacta: nadie ha cambiado el documento desde que se firmó."
    )


def test_the_spanish_verifier_page_speaks_spanish(vapp: FastAPI, vclient: TestClient) -> None:
    loader = vapp.state.ctx.loader
    good = signed(loader, valid_from=ob.xsd_datetime(datetime(2026, 12, 3, 9, 0, tzinfo=UTC)))
    page = vclient.post("/verify?lang=es", files={"credential": (None, json.dumps(good))})
    assert page.status_code in (200, 422), page.text[:300]  # 422: not verified
    doc = Page(page.text)
    # The credential is dated after the verifier's clock: the summary and the check say
    # when it starts, the Spanish way, and the machine form stays in <time datetime>.
    assert "3 de diciembre de 2026" in doc.text
    assert 'datetime="2026-12-03T09:00:00Z"' in page.text
    assert "Esta credencial aún no es válida: lo será a partir del 3 de diciembre de 2026." in (
        doc.text
    )
    assert "La firma está intacta: nadie ha cambiado el documento desde que se firmó." in doc.text
    assert "The signature is intact" in page.text  # the English detail, behind its summary
    assert "Detalle técnico (en inglés)" in doc.text

    tampered = {**good, "name": "Something else entirely"}
    page = vclient.post("/verify?lang=es", files={"credential": (None, json.dumps(tampered))})
    doc = Page(page.text)
    assert "La firma no coincide" in doc.text
    # In English, the report's own messages, as before.
    page = vclient.post("/verify?lang=en", files={"credential": (None, json.dumps(tampered))})
    assert "The signature does not match" in Page(page.text).text
    assert "Detalle técnico" not in page.text and "check-original" not in page.text


def test_the_certificate_writes_its_dates_in_its_language() -> None:
    assert certificate._date(DECEMBER_3, "es") == "3 de diciembre de 2026"
    assert certificate._date("2026-12-03", "en") == "December 3, 2026"
    assert certificate._date(None, "es") == ""


def test_the_dashboard_tiles_agree_with_their_numbers() -> None:
    en, es = Translator("en"), Translator("es")
    assert [en.plural("console.dashboard.active", n) for n in (0, 1, 2)] == [
        "active credentials",
        "active credential",
        "active credentials",
    ]
    assert [es.plural("console.dashboard.revoked", n) for n in (0, 1, 2)] == [
        "revocadas",
        "revocada",
        "revocadas",
    ]
    assert es.plural("console.dashboard.achievements", 1) == "logro"


@pytest.mark.parametrize(
    ("lang", "rows", "good", "expected"),
    [
        ("en", 1, 1, "Grace uploaded a bulk file of 1 row (1 ready to issue)."),
        ("en", 2, 0, "Grace uploaded a bulk file of 2 rows (0 ready to issue)."),
        ("es", 1, 1, "Grace subió un archivo masivo de 1 fila (1 lista para emitir)."),
        ("es", "3", "2", "Grace subió un archivo masivo de 3 filas (2 listas para emitir)."),
    ],
)
def test_the_bulk_upload_activity_counts_rows(
    lang: str, rows: int | str, good: int | str, expected: str
) -> None:
    from types import SimpleNamespace

    activity = SimpleNamespace(
        sentence="activity.bulk.validate",
        action="bulk.validate",
        actor_kind="name",
        actor="Grace",
        values={"rows": rows, "good": good, "person": "", "title": ""},
    )
    html = (
        make_environment()
        .from_string('{% import "console/_activity.html" as a %}{{ a.sentence(t, act) }}')
        .render(t=Translator(lang), act=activity)
    )
    assert html.strip() == expected


@pytest.mark.parametrize(
    ("limit", "lang", "expected"),
    [
        (5 * 1024 * 1024, "en", "5 MB"),
        (1536 * 1024, "en", "1.5 MB"),
        (1536 * 1024, "es", "1,5 MB"),
        (2048, "es", "2 KB"),
        (512, "es", "512 B"),
    ],
)
def test_upload_limits_are_written_the_languages_way(limit: int, lang: str, expected: str) -> None:
    from badgeworks.web.limits import _size

    assert _size(limit, lang) == expected


def test_the_verify_api_follows_accept_language_like_its_refusals(
    vapp: FastAPI, vclient: TestClient
) -> None:
    loader = vapp.state.ctx.loader
    tampered = {**signed(loader), "name": "Something else entirely"}
    english = vclient.post("/api/v1/verify", json={"credential": tampered})
    spanish = vclient.post(
        "/api/v1/verify",
        json={"credential": tampered},
        headers={"Accept-Language": "es-ES,es;q=0.9"},
    )
    assert english.status_code == spanish.status_code == 422
    assert english.headers["content-language"] == "en"
    assert spanish.headers["content-language"] == "es"
    assert "accept-language" in spanish.headers["vary"].lower()
    en_checks, es_checks = english.json()["checks"], spanish.json()["checks"]
    # The same checks, codes and outcomes; only the words differ.
    assert [(c["check"], c["code"], c["outcome"]) for c in en_checks] == [
        (c["check"], c["code"], c["outcome"]) for c in es_checks
    ]
    proof_en = next(c for c in en_checks if c["code"] == "proof.signature_invalid")
    proof_es = next(c for c in es_checks if c["code"] == "proof.signature_invalid")
    assert proof_en["message"].startswith("The signature check failed")
    assert proof_es["message"].startswith("La firma no coincide")
    assert english.json()["verdict"] == spanish.json()["verdict"] == "not_verified"
