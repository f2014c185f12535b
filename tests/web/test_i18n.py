"""Page language negotiation and catalog completeness."""

from __future__ import annotations

import pytest

from badgeworks.web.i18n import Translator, catalog, missing_keys, negotiate


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        (None, None, None, "en"),
        (None, None, "es-ES,es;q=0.9,en;q=0.8", "es"),
        (None, None, "fr-FR,fr;q=0.9,en;q=0.5", "en"),
        (None, None, "en;q=0.4,es;q=0.6", "es"),
        ("es", None, "en", "es"),
        (None, "es", "en", "es"),
        ("xx", "es", "en", "es"),
        (None, None, "garbage;;;q=zz,,,", "en"),
    ],
)
def test_negotiate(
    query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert negotiate(query, cookie, accept) == expected


def test_every_english_string_has_a_spanish_translation() -> None:
    assert missing_keys() == {"es": set()}


def test_translator_formats_and_falls_back() -> None:
    assert Translator("es")("base.skip") == catalog("es")["base.skip"]
    assert Translator("zz").lang == "en"
    assert Translator("en")("no.such.key") == "no.such.key"
