"""Baking credentials into PNG and SVG images, and reading them back from hostile files."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import pytest

from badgeworks.core import baking
from badgeworks.core.baking import (
    BakingError,
    bake_png,
    bake_svg,
    extract,
    extract_png,
    extract_svg,
)

CREDENTIAL = json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "Bädge"})
JWS = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6ZXhhbXBsZToxIn0.c2lnbmF0dXJl"


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png(*extra: bytes) -> bytes:
    """A 1x1 grey PNG built with zlib and struct; ``extra`` chunks go after IHDR."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x80")
    return (
        baking.PNG_SIGNATURE
        + chunk(b"IHDR", ihdr)
        + b"".join(extra)
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def itxt(
    text: bytes, *, compressed: bool = False, keyword: bytes = b"openbadgecredential"
) -> bytes:
    body = zlib.compress(text) if compressed else text
    flag = b"\x01\x00" if compressed else b"\x00\x00"
    return chunk(b"iTXt", keyword + b"\x00" + flag + b"\x00\x00" + body)


def codes_of(exc: pytest.ExceptionInfo[BakingError]) -> str:
    return exc.value.code


# --------------------------------------------------------------------------- PNG


def test_png_round_trip_json_and_jws() -> None:
    png = make_png()
    assert extract_png(bake_png(png, CREDENTIAL)) == CREDENTIAL
    assert extract_png(bake_png(png, JWS)) == JWS
    assert extract(bake_png(png, JWS)) == JWS


def test_baked_png_has_one_uncompressed_itxt_right_after_ihdr() -> None:
    baked = bake_png(make_png(itxt(b"old")), CREDENTIAL)
    chunks = baking._png_chunks(baked)
    assert [c.type for c in chunks] == [b"IHDR", b"iTXt", b"IDAT", b"IEND"]
    assert chunks[1].data == b"openbadgecredential\x00\x00\x00\x00\x00" + CREDENTIAL.encode()


def test_baking_replaces_every_existing_credential_chunk() -> None:
    old = make_png(
        itxt(b"one"),
        chunk(b"tEXt", b"openbadgecredential\x00two"),
        chunk(b"zTXt", b"openbadgecredential\x00\x00" + zlib.compress(b"three")),
        chunk(b"tEXt", b"Comment\x00kept"),
    )
    baked = bake_png(old, JWS)
    types = [(c.type, baking._keyword(c)) for c in baking._png_chunks(baked)]
    assert types.count((b"iTXt", "openbadgecredential")) == 1
    assert (b"tEXt", "openbadgecredential") not in types
    assert (b"tEXt", "Comment") in types
    assert extract_png(baked) == JWS


def test_baked_png_is_still_a_valid_png_checked_by_a_separate_reader() -> None:
    baked = bake_png(make_png(), CREDENTIAL)
    # An independent reader in a fresh interpreter: stdlib only, checks signature,
    # every CRC, IHDR first, IEND last, and that the image data still inflates.
    script = r"""
import struct, sys, zlib
data = sys.stdin.buffer.read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, kinds, idat = 8, [], b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body)
    kinds.append(kind)
    idat += body if kind == b"IDAT" else b""
    pos += 12 + n
assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
assert zlib.decompress(idat) == b"\x00\x80"
print("ok")
"""
    out = subprocess.run(
        [sys.executable, "-c", script], input=baked, capture_output=True, check=True
    )
    assert out.stdout.strip() == b"ok"


def test_png_first_chunk_wins() -> None:
    png = make_png(itxt(b"first.token.here"), itxt(b"second.token.here"))
    assert extract_png(png) == "first.token.here"


def test_png_compressed_itxt_from_other_bakers() -> None:
    png = make_png(itxt(CREDENTIAL.encode(), compressed=True))
    assert extract_png(png) == CREDENTIAL


def test_png_compressed_bomb_is_capped() -> None:
    bomb = b"{" + b" " * (baking.MAX_CREDENTIAL_BYTES + 10) + b"}"
    with pytest.raises(BakingError) as exc:
        extract_png(make_png(itxt(bomb, compressed=True)))
    assert codes_of(exc) == "baking.too_large"


def test_png_truncated_compressed_text_is_corrupt() -> None:
    body = b"openbadgecredential\x00\x01\x00\x00\x00" + zlib.compress(b"x" * 1000)[:-6]
    with pytest.raises(BakingError) as exc:
        extract_png(make_png(chunk(b"iTXt", body)))
    assert codes_of(exc) == "baking.corrupt"


def test_png_without_credential() -> None:
    with pytest.raises(BakingError) as exc:
        extract_png(make_png(chunk(b"tEXt", b"Comment\x00hello")))
    assert codes_of(exc) == "baking.no_credential"


def test_png_ob2_badge_is_named() -> None:
    with pytest.raises(BakingError) as exc:
        extract_png(make_png(itxt(b"{}", keyword=b"openbadges")))
    assert codes_of(exc) == "baking.no_credential"
    assert "2.0" in str(exc.value)


def test_png_tampered_crc_is_corrupt() -> None:
    baked = bytearray(bake_png(make_png(), CREDENTIAL))
    baked[60] ^= 0xFF  # inside the credential text: its chunk CRC no longer matches
    with pytest.raises(BakingError) as exc:
        extract_png(bytes(baked))
    assert codes_of(exc) == "baking.corrupt"
    with pytest.raises(BakingError):
        bake_png(bytes(baked), CREDENTIAL)


@pytest.mark.parametrize("cut", [9, 20, 40, -5])
def test_png_truncated_is_corrupt(cut: int) -> None:
    baked = bake_png(make_png(), CREDENTIAL)
    with pytest.raises(BakingError) as exc:
        extract_png(baked[:cut])
    assert codes_of(exc) == "baking.corrupt"


@pytest.mark.parametrize("data", [b"", b"GIF89a", b"{}", "text"])
def test_not_a_png(data: object) -> None:
    with pytest.raises(BakingError) as exc:
        extract_png(data)  # type: ignore[arg-type]
    assert codes_of(exc) == "baking.not_png"


def test_png_must_start_with_ihdr() -> None:
    data = baking.PNG_SIGNATURE + chunk(b"IDAT", b"") + chunk(b"IEND", b"")
    with pytest.raises(BakingError) as exc:
        extract_png(data)
    assert codes_of(exc) == "baking.corrupt"


def test_png_chunk_count_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(baking, "MAX_CHUNKS", 10)
    many = make_png(*[chunk(b"tEXt", b"a\x00b")] * 20)
    with pytest.raises(BakingError) as exc:
        extract_png(many)
    assert codes_of(exc) == "baking.too_large"


def test_png_huge_length_field_is_corrupt_not_slow() -> None:
    data = baking.PNG_SIGNATURE + chunk(b"IHDR", b"\x00" * 13) + b"\x7f\xff\xff\xffIDAT"
    with pytest.raises(BakingError) as exc:
        extract_png(data)
    assert codes_of(exc) == "baking.corrupt"


@pytest.mark.parametrize("bad", ["", "not json", "[1, 2]", "a.b"])
def test_bake_refuses_what_is_not_a_credential(bad: str) -> None:
    with pytest.raises(BakingError) as exc:
        bake_png(make_png(), bad)
    assert codes_of(exc) == "baking.invalid"


# --------------------------------------------------------------------------- SVG

SVG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<circle r="4" title="a &gt; b"/></svg>'
)


def test_svg_round_trip_json_in_cdata() -> None:
    baked = bake_svg(SVG, CREDENTIAL)
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked
    assert '"><openbadges:credential><![CDATA[' in baked
    assert extract_svg(baked) == CREDENTIAL
    assert extract(baked.encode()) == CREDENTIAL
    assert '<circle r="4" title="a &gt; b"/>' in baked


def test_svg_cdata_end_marker_in_credential_is_split() -> None:
    tricky = json.dumps({"name": "x]]>y]]>", "description": "<b>&amp;</b>"})
    baked = bake_svg(SVG, tricky)
    assert extract_svg(baked) == tricky
    assert json.loads(extract_svg(baked.encode("utf-8")))["name"] == "x]]>y]]>"


def test_svg_jws_goes_in_verify_attribute() -> None:
    baked = bake_svg(SVG, JWS)
    assert f'<openbadges:credential verify="{JWS}"></openbadges:credential>' in baked
    assert extract_svg(baked) == JWS


def test_svg_rebaking_replaces_existing_elements() -> None:
    once = bake_svg(SVG, CREDENTIAL)
    twice = bake_svg(once, JWS)
    assert twice.count("<openbadges:credential") == 1
    assert twice.count("xmlns:openbadges=") == 1
    assert extract_svg(twice) == JWS


def test_svg_first_element_wins_and_other_prefixes_are_recognised() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="https://purl.imsglobal.org/ob/v3p0">'
        '<ob:credential verify="a.b.c"/><g><ob:credential>{"x": 1}</ob:credential></g></svg>'
    )
    assert extract_svg(svg) == "a.b.c"
    baked = bake_svg(svg, CREDENTIAL)
    assert "ob:credential" not in baked
    assert "<g></g>" in baked
    assert extract_svg(baked) == CREDENTIAL


def test_svg_self_closing_root() -> None:
    baked = bake_svg('<svg xmlns="http://www.w3.org/2000/svg"/>', JWS)
    assert baked.endswith("</openbadges:credential></svg>")
    assert extract_svg(baked) == JWS


def test_svg_conflicting_prefix_is_refused() -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="urn:other"/>'
    with pytest.raises(BakingError):
        bake_svg(svg, JWS)


BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY a "aaaaaaaaaa">\n'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n'
    ']>\n<svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>'
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>'
)
DOCTYPE_WITH_SUBSET = (
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [ <!ATTLIST svg x CDATA "1"> ]>'
    '<svg xmlns="http://www.w3.org/2000/svg"/>'
)


@pytest.mark.parametrize("svg", [BOMB, XXE, DOCTYPE_WITH_SUBSET])
def test_svg_doctype_and_entities_are_refused(svg: str) -> None:
    for call in (
        lambda: extract_svg(svg),
        lambda: extract_svg(svg.encode()),
        lambda: bake_svg(svg, JWS),
    ):
        with pytest.raises(BakingError) as exc:
            call()
        assert codes_of(exc) == "baking.unsafe_xml"


def test_svg_without_credential() -> None:
    with pytest.raises(BakingError) as exc:
        extract_svg(SVG)
    assert codes_of(exc) == "baking.no_credential"


@pytest.mark.parametrize(
    ("svg", "code"),
    [
        ("<svg", "baking.corrupt"),
        ("<svg><g></svg>", "baking.corrupt"),
        ("<html/>", "baking.not_svg"),
        ('<svg xmlns="http://example.org/not-svg"/>', "baking.not_svg"),
    ],
)
def test_svg_malformed(svg: str, code: str) -> None:
    with pytest.raises(BakingError) as exc:
        extract_svg(svg)
    assert codes_of(exc) == code


def test_extract_sniffs_format() -> None:
    with pytest.raises(BakingError) as exc:
        extract(b"GIF89a....")
    assert codes_of(exc) == "baking.unknown_format"
    assert extract(b"\xef\xbb\xbf" + bake_svg(SVG, JWS).encode()) == JWS
