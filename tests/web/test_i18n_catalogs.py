"""The gettext page catalogs: every file reads, every language says what English says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from badgeworks.web import catalogs
from badgeworks.web.i18n import LANGUAGES, LOCALES, Plural, Translator, catalog

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _po_files() -> list[Path]:
    return sorted(LOCALES.glob("*/LC_MESSAGES/*.po"))


def test_there_are_no_json_catalogs_left() -> None:
    assert not list(LOCALES.glob("*.json"))
    assert {path.parent.parent.name for path in _po_files()} == set(LANGUAGES)


@pytest.mark.parametrize(
    "path", _po_files(), ids=lambda path: f"{path.parent.parent.name}/{path.name}"
)
def test_each_catalog_reads_strictly_as_utf8(path: Path) -> None:
    with path.open("rb") as handle:
        po = read_po(handle, locale=path.parent.parent.name, abort_invalid=True)
    assert po.charset.lower() == "utf-8"
    assert len([message for message in po if message.id]) > 0


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_key_is_in_two_areas(lang: str) -> None:
    seen: dict[str, str] = {}
    for path in catalogs.area_dir(lang).glob("*.po"):
        for message in catalogs.read(path, lang):
            if not message.id:
                continue
            key = catalogs._key(message)
            assert key not in seen, f"{key} is in both {seen[key]} and {path.name}"
            seen[key] = path.name


def _texts(entry: str | Plural) -> list[str]:
    return [form for form in entry.forms if form] if isinstance(entry, Plural) else [entry]


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_translations_keep_the_english_placeholders_and_plural_kind(lang: str) -> None:
    english, other = catalog("en"), catalog(lang)
    for key, entry in english.items():
        if key not in other:
            continue  # reported by test_every_english_string_has_a_spanish_translation
        assert isinstance(other[key], Plural) == isinstance(entry, Plural), key
        wanted = set().union(*(PLACEHOLDER.findall(text) for text in _texts(entry)))
        for text in _texts(other[key]):
            assert set(PLACEHOLDER.findall(text)) <= wanted, (key, text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_plural_entries_give_the_singular_and_the_plural(lang: str) -> None:
    for key, entry in catalog(lang).items():
        if isinstance(entry, Plural):
            assert entry.forms[0] and len(_texts(entry)) >= 2, (lang, key, entry.forms)


def test_the_catalogs_are_in_step_with_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogs.main(["--check"]) == 0
    assert "es: strings to translate: 0" in capsys.readouterr().out


def test_make_messages_adds_new_english_keys_untranslated_and_keeps_translations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for lang in ("en", "es"):
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
    (tmp_path / "en" / "LC_MESSAGES" / "demo.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "demo.old"\nmsgstr "Old"\n\n'
        'msgid "demo.new"\nmsgstr "New"\n\n'
        'msgid "demo.count"\nmsgid_plural "demo.count"\n'
        'msgstr[0] "{n} thing"\nmsgstr[1] "{n} things"\n',
        "utf-8",
    )
    (tmp_path / "es" / "LC_MESSAGES" / "demo.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "demo.old"\nmsgstr "Viejo"\n\n'
        'msgid "demo.gone"\nmsgstr "Desaparecido"\n',
        "utf-8",
    )
    monkeypatch.setattr(catalogs, "LOCALES", tmp_path)
    monkeypatch.setattr(catalogs, "TEMPLATE", tmp_path / "messages.pot")
    catalogs.main([])
    spanish = catalogs.read(tmp_path / "es" / "LC_MESSAGES" / "demo.po", "es")
    assert spanish["demo.old"].string == "Viejo"
    assert spanish["demo.new"].string == ""
    assert spanish["demo.count"].string == ("", "", "")
    assert "demo.gone" in spanish.obsolete and "demo.gone" not in spanish
    template = (tmp_path / "messages.pot").read_text("utf-8")
    assert 'msgid "demo.new"' in template and "#. New" in template
    assert catalogs.main(["--check"]) == 1
    assert catalogs.missing("es", catalogs.english_areas()) == ["demo.new", "demo.count"]


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        ("en", 0, "0 things"),
        ("en", 1, "1 thing"),
        ("en", 2, "2 things"),
        ("en", 12345, "12,345 things"),
        ("es", 0, "0 cosas"),
        ("es", 1, "1 cosa"),
        ("es", 2, "2 cosas"),
        ("es", 12345, "12.345 cosas"),
        ("es", 1_000_000, "1.000.000 de cosas"),
    ],
)
def test_plural_picks_the_form_by_the_catalog_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str, n: int, expected: str
) -> None:
    from badgeworks.web import i18n

    header = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    bodies = {
        "en": 'msgid "x.things"\nmsgid_plural "x.things"\n'
        'msgstr[0] "{n} thing"\nmsgstr[1] "{n} things"\n',
        # Babel's Spanish rule has three forms: one, many (round millions), other.
        "es": 'msgid "x.things"\nmsgid_plural "x.things"\nmsgstr[0] "{n} cosa"\n'
        'msgstr[1] "{n} de cosas"\nmsgstr[2] "{n} cosas"\n',
    }
    for code, body in bodies.items():
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "x.po").write_text(header + body, "utf-8")
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    i18n.catalog.cache_clear()
    try:
        assert Translator(lang).plural("x.things", n) == expected
    finally:
        i18n.catalog.cache_clear()


def test_a_two_form_spanish_plural_uses_the_plural_for_millions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from badgeworks.web import i18n

    for code, body in {
        "en": 'msgid "x.rows"\nmsgid_plural "x.rows"\nmsgstr[0] "{n} row"\nmsgstr[1] "{n} rows"\n',
        "es": 'msgid "x.rows"\nmsgid_plural "x.rows"\n'
        'msgstr[0] "{n} fila"\nmsgstr[1] "{n} filas"\n',
    }.items():
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "x.po").write_text(
            'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n' + body, "utf-8"
        )
    monkeypatch.setattr(i18n, "LOCALES", tmp_path)
    i18n.catalog.cache_clear()
    try:
        t = Translator("es")
        assert [t.plural("x.rows", n) for n in (0, 1, 2, 1_000_000)] == [
            "0 filas",
            "1 fila",
            "2 filas",
            "1.000.000 filas",
        ]
        assert Translator("es").plural("x.missing", 3) == "x.missing"
    finally:
        i18n.catalog.cache_clear()
