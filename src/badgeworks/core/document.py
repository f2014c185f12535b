"""Read untrusted bytes into a JSON value, refusing anything that could hurt the reader.

Every front end (the CLI, later the web verifier) reads documents through
``parse_json_document``. It refuses, each with one clear ``InputError``:

- more than ``max_bytes`` (``input.too_large``);
- binary data such as an image or an archive (``input.binary``);
- bytes that are not UTF-8 (``input.not_utf8``; RFC 8259 §8.1 requires UTF-8);
- nesting deeper than ``max_depth`` (``input.too_deep``), measured by a flat scan
  *before* parsing, because ``json.loads`` recurses and a few thousand ``[`` would
  otherwise end in ``RecursionError``;
- text that is not JSON, including ``NaN``/``Infinity`` and duplicate object keys
  (``input.not_json``, ``input.duplicate_key``): two parsers that keep different
  copies of a duplicated key would show a different credential from the one signed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import InputError

MiB = 1024 * 1024
DEFAULT_MAX_BYTES = 8 * MiB
DEFAULT_MAX_DEPTH = 64

# A JSON string (with escapes) or one bracket. Strings are matched whole so that
# brackets inside them are not counted as nesting.
_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"%PDF", "a PDF document"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
)


def _human_size(n: int) -> str:
    return f"{n / MiB:.0f} MiB" if n >= MiB else f"{n} bytes"


def _check_binary(data: bytes) -> None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise InputError(
                f"this is {what}, not a JSON credential", code="input.binary", kind=what
            )
    if b"\x00" in data[:65536]:
        raise InputError(
            "this is binary data (it contains NUL bytes), not a JSON credential",
            code="input.binary",
        )


def _decode(data: bytes) -> str:
    # RFC 8259 §8.1: a parser MAY ignore a byte order mark; we do, since editors add one.
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the document is not UTF-8 text (invalid byte at offset {exc.start})",
            code="input.not_utf8",
            offset=exc.start,
        ) from None


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """True if brackets nest deeper than ``max_depth``; a flat scan, no recursion."""
    depth = 0
    for match in _STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError(
                f"the key {key!r:.80} appears twice in one object; a signed document "
                "must be unambiguous",
                code="input.duplicate_key",
                key=key,
            )
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise InputError(f"{name} is not valid JSON", code="input.not_json")


def parse_json_document(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """Parse untrusted JSON; raise ``InputError`` (one-line message, stable code) if unsafe."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > max_bytes:
            raise InputError(
                f"the document is {_human_size(len(raw))}; the limit is {_human_size(max_bytes)}",
                code="input.too_large",
                size=len(raw),
            )
        _check_binary(raw)
        text = _decode(raw)
    elif isinstance(data, str):
        # A str longer than the limit in characters is certainly longer in UTF-8 bytes.
        if len(data) > max_bytes or len(data.encode("utf-8", "surrogatepass")) > max_bytes:
            raise InputError(
                f"the document is larger than the limit of {_human_size(max_bytes)}",
                code="input.too_large",
            )
        if "\x00" in data:
            raise InputError("the document contains NUL characters", code="input.binary")
        text = data.removeprefix("\ufeff")
    else:
        raise InputError(
            f"expected bytes or text, got {type(data).__name__}", code="input.not_json"
        )
    if not text.strip():
        raise InputError("the document is empty", code="input.not_json")
    if json_depth_exceeds(text, max_depth):
        raise InputError(
            f"the document nests more than {max_depth} levels deep", code="input.too_deep"
        )
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except InputError:
        raise
    except json.JSONDecodeError as exc:
        raise InputError(
            f"this is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            code="input.not_json",
        ) from None
    except (ValueError, RecursionError) as exc:
        # ValueError: for example an integer with more digits than Python converts.
        raise InputError(f"this is not usable JSON: {exc}"[:300], code="input.not_json") from None
