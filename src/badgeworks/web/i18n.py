"""Translations for the HTML pages: English and Spanish.

Catalogs are JSON files in ``web/locales/``, one per area and language
(``<area>.<lang>.json``), merged at start-up so each feature keeps its own strings. A
missing Spanish string falls back to English, and a missing English one to the key itself,
so a page never breaks over a translation. The language comes from ``?lang=``, then the
``lang`` cookie, then ``Accept-Language``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


@cache
def catalog(lang: str) -> dict[str, str]:
    """All strings for ``lang``, merged across the area files."""
    merged: dict[str, str] = {}
    for path in sorted(LOCALES.glob(f"*.{lang}.json")):
        merged.update(json.loads(path.read_text("utf-8")))
    return merged


class Translator:
    """``t("key", name=…)``: the string for the page's language, formatted with ``str.format``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._strings = catalog(self.lang)
        self._fallback = catalog(DEFAULT_LANGUAGE)

    def __call__(self, key: str, /, **values: Any) -> str:
        text = self._strings.get(key) or self._fallback.get(key) or key
        return text.format(**values) if values else text


def negotiate(query_lang: str | None, cookie_lang: str | None, accept_language: str | None) -> str:
    """Pick the page language: explicit choice, then cookie, then the browser's preference."""
    for choice in (query_lang, cookie_lang):
        if choice and choice.lower() in LANGUAGES:
            return choice.lower()
    best, best_q = DEFAULT_LANGUAGE, -1.0
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        q -= index * 1e-6  # earlier entries win ties
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def missing_keys() -> Mapping[str, set[str]]:
    """Keys present in English but not in another language (a test keeps this empty)."""
    english = set(catalog(DEFAULT_LANGUAGE))
    return {lang: english - set(catalog(lang)) for lang in LANGUAGES if lang != DEFAULT_LANGUAGE}
