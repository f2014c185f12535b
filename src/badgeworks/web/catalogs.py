"""Keeping the page catalogs in step with English (``make messages``).

English is the source: each area's strings are written first in
``web/locales/en/LC_MESSAGES/<area>.po``. This tool, built on Babel's catalog API (the
same code as ``pybabel update``), then

1. writes ``web/locales/messages.pot``, the template for translators: every key of every
   English area, with the English text as a comment and the area as its location;
2. updates every other language's area files against the English area: a new key appears
   untranslated (``msgstr ""``), a key English dropped becomes obsolete (``#~``), and the
   translations already there stay. A language without a file for an area gets one, with
   Babel's plural forms for that language in its header. A language kept in one file
   (``messages.po``, started from the template with ``pybabel init``) is updated against
   the whole template instead;
3. prints, per language, how many keys still need a translation.

Run it with ``python -m badgeworks.web.catalogs`` (``make messages``); ``--check`` only
reports and exits 1 when a language lacks a translation.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from badgeworks.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, LOCALES

TEMPLATE = LOCALES / "messages.pot"
SINGLE_FILE = "messages"
WIDTH = 76
VERSION = "0.1"


def header(lang: str | None, area: str) -> str:
    """The comment at the top of a catalog file (lines short enough not to be wrapped)."""
    what = f"{Locale.parse(lang).english_name} strings, {area} area" if lang else "the template"
    return (
        f"# badgeworks pages: {what}.\n"
        "# msgid is the key the code asks for, msgstr the text shown.\n"
        "# Keep {placeholders} as they are. A plural entry has one\n"
        "# msgstr[i] per form named by the Plural-Forms header."
    )


def area_dir(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES"


def read(path: Path, lang: str | None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=path.stem)


def write(path: Path, po: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, po, width=WIDTH, ignore_obsolete=False, include_previous=False)


def new_catalog(lang: str | None, area: str) -> Catalog:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    po = Catalog(
        locale=lang,
        domain=area,
        project="badgeworks",
        version=VERSION,
        copyright_holder="badgeworks",
        msgid_bugs_address="",
        creation_date=now,
        revision_date=now,
        fuzzy=False,
        header_comment=header(lang, area),
    )
    if lang:
        po.language_team = str(Locale.parse(lang).english_name)
    return po


def english_areas() -> dict[str, Catalog]:
    return {
        path.stem: read(path, DEFAULT_LANGUAGE)
        for path in sorted(area_dir(DEFAULT_LANGUAGE).glob("*.po"))
    }


def template_for(areas: dict[str, Catalog], only: str | None = None) -> Catalog:
    """The untranslated template: each English key, its text as a comment, its area as location."""
    pot = new_catalog(None, only or SINGLE_FILE)
    for area, english in areas.items():
        if only and area != only:
            continue
        for message in english:
            if not message.id:
                continue
            if isinstance(message.string, tuple | list):
                english_text = " | ".join(str(form) for form in message.string)
                string: str | tuple[str, ...] = ("", "")
            else:
                english_text, string = str(message.string), ""
            pot[message.id] = Message(
                message.id,
                string,
                auto_comments=[english_text],
                locations=[(f"{area}.po", 0)],  # no line: written as the file alone
            )
    return pot


def update_language(lang: str, areas: dict[str, Catalog]) -> int:
    """Bring ``lang``'s files in step with English; the number of keys left untranslated."""
    folder = area_dir(lang)
    single = folder / f"{SINGLE_FILE}.po"
    if single.exists():
        targets = {SINGLE_FILE: template_for(areas)}
    else:
        targets = {area: template_for(areas, only=area) for area in areas}
    untranslated = 0
    for area, template in targets.items():
        path = folder / f"{area}.po"
        po = read(path, lang) if path.exists() else new_catalog(lang, area)
        po.update(template, no_fuzzy_matching=True, update_header_comment=False)
        write(path, po)
        for message in po:
            if message.id and not _translated(message):
                untranslated += 1
    return untranslated


def _translated(message: Message) -> bool:
    if isinstance(message.string, tuple | list):
        return all(message.string[:2])
    return bool(message.string)


def missing(lang: str, areas: dict[str, Catalog]) -> list[str]:
    """English keys without a translation in ``lang``'s files."""
    found: dict[str, Message] = {}
    for path in sorted(area_dir(lang).glob("*.po")):
        for message in read(path, lang):
            if message.id and _translated(message):
                found[_key(message)] = message
    return [
        _key(message)
        for english in areas.values()
        for message in english
        if message.id and _key(message) not in found
    ]


def _key(message: Message) -> str:
    return str(message.id[0] if isinstance(message.id, tuple | list) else message.id)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="only report; exit 1 when a string is missing"
    )
    args = parser.parse_args(argv)
    areas = english_areas()
    failed = False
    if not args.check:
        write(TEMPLATE, template_for(areas))
    for lang in LANGUAGES:
        if lang == DEFAULT_LANGUAGE:
            continue
        if not args.check:
            update_language(lang, areas)
        left = missing(lang, areas)
        failed = failed or bool(left)
        print(
            f"{lang}: strings to translate: {len(left)}"
            + (f" ({', '.join(left[:20])})" if left else "")
        )
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
