"""``parse_json_document``: untrusted bytes in, JSON out, or one clear ``InputError``."""

from __future__ import annotations

import pytest

from badgeworks.core.document import json_depth_exceeds, parse_json_document
from badgeworks.core.errors import InputError


def code_of(data: bytes | str, **kwargs: int) -> str:
    with pytest.raises(InputError) as exc:
        parse_json_document(data, **kwargs)
    assert "\n" not in str(exc.value)
    return exc.value.code


def test_parses_json_bytes_and_text() -> None:
    assert parse_json_document(b'{"a": [1, "x"]}') == {"a": [1, "x"]}
    assert parse_json_document('{"a": "\u00e9"}') == {"a": "é"}
    assert parse_json_document(b"\xef\xbb\xbf[1]") == [1]


def test_too_large() -> None:
    assert code_of(b"[" + b"1," * 600 + b"1]", max_bytes=1000) == "input.too_large"
    assert code_of("x" * 1001, max_bytes=1000) == "input.too_large"


def test_too_deep_without_recursion_error() -> None:
    assert code_of("[" * 10_000 + "]" * 10_000) == "input.too_deep"
    assert code_of('{"a":' * 100_000) == "input.too_deep"
    assert parse_json_document("[" * 64 + "]" * 64) is not None
    assert code_of("[" * 65 + "]" * 65) == "input.too_deep"


def test_brackets_inside_strings_do_not_count() -> None:
    text = '{"a": "' + "[" * 1000 + '\\"[[["}'
    assert parse_json_document(text) == {"a": "[" * 1000 + '"[[['}
    assert not json_depth_exceeds(text, 2)


def test_not_utf8_and_binary() -> None:
    assert code_of(b'{"a": "\xff"}') == "input.not_utf8"
    assert code_of(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR") == "input.binary"
    assert code_of(b"\x1f\x8b\x08\x00") == "input.binary"
    assert code_of(b'{"a": 1}\x00\x00') == "input.binary"


@pytest.mark.parametrize(
    "text", ["", "   ", "{", "not json", "{'a': 1}", "[1,]", "NaN", '{"a": Infinity}', "1" * 5000]
)
def test_not_json(text: str) -> None:
    assert code_of(text) == "input.not_json"


def test_duplicate_keys_are_refused() -> None:
    assert code_of('{"issuer": "a", "issuer": "b"}') == "input.duplicate_key"


def test_rejects_other_types() -> None:
    assert code_of(None) == "input.not_json"  # type: ignore[arg-type]
