"""Translations for the HTML pages: English and Spanish.

Catalogs are gettext ``.po`` files in ``web/locales/<lang>/LC_MESSAGES/``, one per area
(``<area>.po``), read with Babel and merged at start-up so each feature keeps its own
strings. The ``msgid`` is a stable key (``verify.title``) and the ``msgstr`` the text, with
``{name}`` placeholders filled by ``str.format``. A plural entry (``msgid_plural``) keeps
one ``msgstr[i]`` per plural form, chosen by the file's ``Plural-Forms`` header (Babel's
rule for the language when the header has none).

``web/locales/messages.pot`` is the template for translators, and ``make messages``
(``web/catalogs.py``) keeps every language's files in step with English
(``docs/translations.md``).

A missing Spanish string falls back to English, and a missing English one to the key
itself, so a page never breaks over a translation. The language comes from ``?lang=``,
then the ``lang`` cookie, then ``Accept-Language``.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime as _datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from badgeworks.services.locale_format import (
    Day,
    Width,
    local_date,
    local_datetime,
    local_number,
    local_time,
)

LOCALES = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"en": "English", "es": "Español"}


@dataclass(frozen=True)
class Plural:
    """A plural entry: its forms, and the rule (from its file's header) that picks one for ``n``."""

    forms: tuple[str, ...]
    rule: Callable[[int], int]
    expression: str

    def form(self, n: int) -> str:
        """The form for ``n``; the last one given when the catalog leaves that form empty.

        Babel's rule for Spanish names three forms (one, many for round millions, other);
        a catalog that gives only two still reads well, with "other" for the millions.
        """
        index = self.rule(n)
        if index < len(self.forms) and self.forms[index]:
            return self.forms[index]
        given = [form for form in self.forms if form]
        return given[-1] if given else ""


def _whole_like(lang: str, n: float) -> int:
    """A whole number in the same CLDR plural category as the fraction ``n`` (gettext rules
    take whole numbers): 1.5 seconds is "other" in English and Spanish, like 2."""
    return _whole_for_category(lang, str(Locale.parse(lang).plural_form(n)))


@cache
def _whole_for_category(lang: str, category: str) -> int:
    locale = Locale.parse(lang)
    wholes: tuple[int, ...] = (*range(0, 200), 1_000_000)
    return next((whole for whole in wholes if locale.plural_form(whole) == category), 2)


Entry = str | Plural


@cache
def _plural_rule(expression: str) -> Callable[[int], int]:
    return gettext.c2py(expression)


def po_files(lang: str) -> list[Path]:
    """The gettext catalogs of ``lang``, one per area."""
    return sorted((LOCALES / lang / "LC_MESSAGES").glob("*.po"))


def read_catalog(path: Path, lang: str) -> Catalog:
    """One ``.po`` file as Babel reads it (the header's plural forms, else the language's)."""
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=path.stem)


def _entries(po: Catalog) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    rule = _plural_rule(po.plural_expr)
    for message in po:
        if not message.id:
            continue  # the header
        if isinstance(message.id, tuple | list):
            forms = tuple(message.string) if isinstance(message.string, tuple | list) else ()
            if any(forms):
                entries[str(message.id[0])] = Plural(forms, rule, po.plural_expr)
        elif isinstance(message.string, str) and message.string:
            entries[str(message.id)] = message.string
    return entries


@cache
def catalog(lang: str) -> dict[str, Entry]:
    """All strings for ``lang``, merged across the area files."""
    merged: dict[str, Entry] = {}
    for path in po_files(lang):
        merged.update(_entries(read_catalog(path, lang)))
    return merged


class Translator:
    """``t("key", name=…)``: the string for the page's language, formatted with ``str.format``.

    ``t.plural("key", n, name=…)`` picks the plural form for ``n``; ``{n}`` in it is ``n``
    written the page language's way (``12,345`` / ``12.345``). ``t.date``, ``t.datetime``,
    ``t.time`` and ``t.number`` write dates, times and numbers in the page's language (they
    are also the ``date``, ``datetime``, ``time`` and ``number`` filters of the templates).
    """

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self._strings = catalog(self.lang)
        self._fallback = catalog(DEFAULT_LANGUAGE)

    def _entry(self, key: str) -> Entry | None:
        return self._strings.get(key) or self._fallback.get(key)

    def __call__(self, key: str, /, **values: Any) -> str:
        entry = self._entry(key)
        count = values.get("n")
        if isinstance(entry, Plural) and isinstance(count, int | float):
            # A plural entry asked for the old way, t("key", n=3), still agrees with n.
            del values["n"]
            return self.plural(key, count, **values)
        text = entry.form(1) if isinstance(entry, Plural) else entry or key
        return text.format(**values) if values else text

    def plural(self, key: str, n: int | float, /, **values: Any) -> str:
        """The sentence for ``n`` things in the plural form the language uses for ``n``."""
        entry = self._entry(key)
        whole = int(n) if float(n).is_integer() else _whole_like(self.lang, n)
        text = entry.form(whole) if isinstance(entry, Plural) else entry or key
        values.setdefault("n", local_number(n, self.lang))
        return text.format(**values)

    def date(self, value: Day, width: Width = "long") -> str:
        """A calendar day: "December 3, 2026" / "3 de diciembre de 2026" (``medium``: "Dec 3,
        2026" / "3 dic 2026")."""
        return local_date(value, self.lang, width)

    def datetime(self, value: Day, width: Width = "long") -> str:
        """A moment, in UTC: "December 3, 2026, 2:05 PM UTC" / "3 de diciembre de 2026,
        14:05 UTC"."""
        if value is None or isinstance(value, str | _datetime):
            return local_datetime(value, self.lang, width)
        return local_date(value, self.lang, width)

    def time(self, value: _datetime | str | None) -> str:
        """A time of day, in UTC: "2:05 PM UTC" / "14:05 UTC"."""
        return local_time(value, self.lang)

    def check_message(self, check: Any) -> str | None:
        """A verification check's message (from its dict, or the ``Check`` itself) in the
        page's language, by its ``code`` (``check.<code>`` in ``verify_checks.po``), filled
        from its ``detail``.

        None on an English page (the report's own English message says more) and for a
        code without a translation, so the page shows the English message instead.
        """

        def part(name: str) -> Any:
            return check.get(name) if isinstance(check, Mapping) else getattr(check, name, None)

        code = part("code")
        if self.lang == DEFAULT_LANGUAGE or not isinstance(code, str):
            return None
        entry = self._strings.get(f"check.{code}")
        if not isinstance(entry, str):
            return None
        detail = part("detail")
        values = _check_values(detail if isinstance(detail, Mapping) else {}, self)
        try:
            return entry.format(**values) if "{" in entry else entry
        except (KeyError, IndexError, ValueError):
            return None

    def number(self, value: int | float | None) -> str:
        """A number with the language's grouping and decimal sign."""
        return local_number(value, self.lang)


#: A check's ``detail`` dates, by the placeholder a translated message names them with.
_CHECK_DATES = {
    "since": ("validFrom", "issuanceDate"),
    "until": ("validUntil", "expirationDate"),
}


def _check_values(detail: Mapping[str, Any], t: Translator) -> dict[str, str]:
    """The placeholders a translated check message may use: the detail's short texts and
    numbers, and its validity dates written in the page's language."""
    values = {
        key: str(value)[:200]
        for key, value in detail.items()
        if isinstance(value, str | int) and not isinstance(value, bool)
    }
    for name, keys in _CHECK_DATES.items():
        for key in keys:
            if isinstance(detail.get(key), str):
                values[name] = t.date(detail[key])
                break
    return values


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
