"""Baking: carry a credential inside a badge image (PNG or SVG), and get it back out.

Implements Open Badges 3.0 "Open Badges Document Formats" > "Baking":

- PNG: one ``iTXt`` chunk with keyword ``openbadgecredential``, not compressed, whose
  text is the credential JSON or its compact JWS. The chunk MUST NOT appear more than
  once; a verifier extracts the first one.
- SVG: the root declares ``xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`` and
  one ``<openbadges:credential>`` element follows the opening ``<svg>`` tag directly:
  JSON in its body inside ``<![CDATA[…]]>``, a JWS in its ``verify`` attribute.

Images come from strangers, so reading is bounded: a size cap on the file, the chunk
count and any decompressed text, CRCs checked on every chunk, and SVG parsed by expat
with any DOCTYPE or entity declaration refused outright (no entity can expand, so no
"billion laughs" and no external entity reads a file). Baking raises ``BakingError``.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from .document import parse_json_document
from .errors import BadgeworksError, InputError
from .svg import hardened_parser, parse_hardened

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = "openbadgecredential"
#: The Open Badges 2.0 keyword, recognised only to say what an old badge is.
OB2_KEYWORD = "openbadges"
OB_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

MiB = 1024 * 1024
#: The largest image we read or write.
MAX_IMAGE_BYTES = 32 * MiB
#: The largest credential text we embed or extract (``parse_json_document``'s default).
MAX_CREDENTIAL_BYTES = 8 * MiB
#: More chunks than any real encoder writes for a 32 MiB image; bounds the parse loop.
MAX_CHUNKS = 100_000

_TEXT_CHUNKS = (b"iTXt", b"tEXt", b"zTXt")
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class BakingError(BadgeworksError):
    """An image cannot be baked or read: not a PNG/SVG, corrupt, unsafe or too large."""

    code = "baking.invalid"


def _credential_bytes(credential: Any) -> tuple[str, bool]:
    """The credential text, stripped, and whether it is a compact JWS (else JSON)."""
    if not isinstance(credential, str):
        raise BakingError("the credential to bake must be text (JSON or a compact JWS)")
    text = credential.strip()
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CREDENTIAL_BYTES:
        raise BakingError(
            f"the credential is larger than {MAX_CREDENTIAL_BYTES // MiB} MiB",
            code="baking.too_large",
        )
    if _COMPACT_JWS.fullmatch(text):
        return text, True
    try:
        value = parse_json_document(text)
    except InputError as exc:
        raise BakingError(f"the credential is neither a compact JWS nor JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BakingError("the credential JSON must be an object")
    return text, False


# --------------------------------------------------------------------------- PNG


@dataclass(frozen=True)
class _Chunk:
    type: bytes
    data: bytes

    def encode(self) -> bytes:
        crc = zlib.crc32(self.type + self.data)
        return struct.pack(">I", len(self.data)) + self.type + self.data + struct.pack(">I", crc)


def _png_chunks(png: Any) -> list[_Chunk]:
    """Every chunk from IHDR to IEND, CRCs checked; bytes after IEND are ignored."""
    if not isinstance(png, bytes | bytearray | memoryview):
        raise BakingError("a PNG image is bytes", code="baking.not_png")
    data = bytes(png)
    if not data.startswith(PNG_SIGNATURE):
        raise BakingError("this is not a PNG image (no PNG signature)", code="baking.not_png")
    if len(data) > MAX_IMAGE_BYTES:
        raise BakingError(
            f"the image is larger than {MAX_IMAGE_BYTES // MiB} MiB", code="baking.too_large"
        )
    chunks: list[_Chunk] = []
    pos = len(PNG_SIGNATURE)
    while True:
        if len(chunks) >= MAX_CHUNKS:
            raise BakingError(f"the PNG has more than {MAX_CHUNKS} chunks", code="baking.too_large")
        if pos + 8 > len(data):
            raise BakingError("the PNG is truncated (it ends before IEND)", code="baking.corrupt")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        # PNG §5.3: the length is at most 2^31-1, and the type is four ASCII letters.
        if length > 0x7FFFFFFF or not kind.isalpha():
            raise BakingError(
                f"the PNG has a malformed chunk header at byte {pos}", code="baking.corrupt"
            )
        end = pos + 12 + length
        if end > len(data):
            raise BakingError(
                f"the PNG is truncated (chunk {kind.decode('ascii')!r} is cut short)",
                code="baking.corrupt",
            )
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(kind + body) != crc:
            raise BakingError(
                f"the PNG chunk {kind.decode('ascii')!r} at byte {pos} has a wrong CRC",
                code="baking.corrupt",
            )
        if not chunks and (kind != b"IHDR" or length != 13):
            raise BakingError("the PNG does not start with an IHDR chunk", code="baking.corrupt")
        chunks.append(_Chunk(kind, body))
        pos = end
        if kind == b"IEND":
            return chunks


def check_png(png: bytes) -> None:
    """Raise ``BakingError`` unless ``png`` is a whole PNG: signature, IHDR first, every
    chunk complete with a right CRC, up to IEND (``baking.not_png``, ``baking.corrupt``,
    ``baking.too_large``). A truncated file fails here even where a decoder would not."""
    _png_chunks(png)


def _keyword(chunk: _Chunk) -> str | None:
    if chunk.type not in _TEXT_CHUNKS:
        return None
    keyword, sep, _ = chunk.data.partition(b"\x00")
    if not sep or not 1 <= len(keyword) <= 79:
        return None
    return keyword.decode("latin-1")


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_CREDENTIAL_BYTES + 1)
    except zlib.error:
        raise BakingError(
            "the compressed credential in the PNG is corrupt", code="baking.corrupt"
        ) from None
    if len(out) > MAX_CREDENTIAL_BYTES:
        raise BakingError(
            f"the compressed credential expands past {MAX_CREDENTIAL_BYTES // MiB} MiB",
            code="baking.too_large",
        )
    if not inflater.eof:
        raise BakingError(
            "the compressed credential in the PNG is truncated", code="baking.corrupt"
        )
    return out


def _itxt_text(chunk: _Chunk) -> str:
    # PNG §11.3.4.5 iTXt: keyword NUL, compression flag, method, language NUL,
    # translated keyword NUL, text.
    _, _, rest = chunk.data.partition(b"\x00")
    if len(rest) < 2:
        raise BakingError("the PNG's credential chunk is malformed", code="baking.corrupt")
    flag, method, rest = rest[0], rest[1], rest[2:]
    parts = rest.split(b"\x00", 2)
    if len(parts) != 3:
        raise BakingError("the PNG's credential chunk is malformed", code="baking.corrupt")
    text = parts[2]
    if flag == 1:
        # The spec says "no compression", but other bakers compress; we still read it.
        if method != 0:
            raise BakingError(
                "the PNG's credential chunk uses an unknown compression method",
                code="baking.corrupt",
            )
        text = _inflate(text)
    elif flag != 0:
        raise BakingError("the PNG's credential chunk is malformed", code="baking.corrupt")
    if len(text) > MAX_CREDENTIAL_BYTES:
        raise BakingError(
            f"the baked credential is larger than {MAX_CREDENTIAL_BYTES // MiB} MiB",
            code="baking.too_large",
        )
    try:
        return text.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise BakingError(
            "the PNG's credential chunk is not UTF-8 text", code="baking.corrupt"
        ) from None


def extract_png(png: bytes) -> str:
    """The credential text (JSON or compact JWS) baked into ``png``; the first chunk wins.

    Raises ``BakingError``: ``baking.not_png``, ``baking.corrupt`` (bad CRC, truncated,
    malformed chunk), ``baking.too_large``, ``baking.no_credential``.
    """
    ob2 = False
    for chunk in _png_chunks(png):
        keyword = _keyword(chunk)
        if keyword == KEYWORD and chunk.type == b"iTXt":
            text = _itxt_text(chunk)
            if not text:
                raise BakingError(
                    "the PNG's credential chunk is empty", code="baking.no_credential"
                )
            return text
        ob2 = ob2 or keyword == OB2_KEYWORD
    if ob2:
        raise BakingError(
            "this PNG holds an Open Badges 2.0 assertion ('openbadges'), not an Open Badges "
            "3.0 credential",
            code="baking.no_credential",
        )
    raise BakingError(
        "this PNG has no baked credential (no 'openbadgecredential' iTXt chunk)",
        code="baking.no_credential",
    )


def bake_png(png: bytes, credential: str) -> bytes:
    """``png`` with ``credential`` (JSON text or compact JWS) baked in.

    Any existing ``openbadgecredential`` chunk (iTXt, tEXt or zTXt) is removed, and one
    uncompressed iTXt chunk is inserted right after IHDR. Bytes after IEND are dropped.
    Raises ``BakingError`` for a PNG that is not valid or a credential that is not JSON
    or a JWS.
    """
    text, _ = _credential_bytes(credential)
    chunks = [c for c in _png_chunks(png) if _keyword(c) != KEYWORD]
    body = KEYWORD.encode("latin-1") + b"\x00" + b"\x00\x00" + b"\x00" + b"\x00"
    baked = _Chunk(b"iTXt", body + text.encode("utf-8"))
    out = [PNG_SIGNATURE, chunks[0].encode(), baked.encode()]
    out.extend(c.encode() for c in chunks[1:])
    result = b"".join(out)
    if len(result) > MAX_IMAGE_BYTES:
        raise BakingError(
            f"the baked image would be larger than {MAX_IMAGE_BYTES // MiB} MiB",
            code="baking.too_large",
        )
    return result


# --------------------------------------------------------------------------- SVG


@dataclass
class _SvgScan:
    """What one expat pass over an SVG finds: the root tag and the credential elements."""

    root_start: int = -1
    root_name: str = ""
    root_prefixes: dict[str, str] = field(default_factory=dict)
    # (start, end-tag index or -1 while open) of each top-level credential element.
    spans: list[list[int]] = field(default_factory=list)
    first_verify: str | None = None
    first_text: list[str] = field(default_factory=list)
    depth: int = 0
    open_depth: int = 0


def _scan_svg(data: bytes, *, encoding: str | None) -> _SvgScan:
    if len(data) > MAX_IMAGE_BYTES:
        raise BakingError(
            f"the image is larger than {MAX_IMAGE_BYTES // MiB} MiB", code="baking.too_large"
        )
    scan = _SvgScan()
    parser = hardened_parser(encoding)
    pending: dict[str, str] = {}

    def ns_decl(prefix: str | None, uri: str) -> None:
        pending[prefix or ""] = uri

    def start(name: str, attrs: dict[str, str]) -> None:
        scan.depth += 1
        if scan.depth == 1:
            scan.root_start = parser.CurrentByteIndex
            scan.root_name = name
            scan.root_prefixes = dict(pending)
        pending.clear()
        if name == f"{OB_NAMESPACE} credential" and scan.open_depth == 0:
            scan.open_depth = scan.depth
            scan.spans.append([parser.CurrentByteIndex, -1])
            if len(scan.spans) == 1:
                scan.first_verify = attrs.get("verify")

    def end(name: str) -> None:
        if scan.open_depth == scan.depth:
            scan.open_depth = 0
            scan.spans[-1][1] = parser.CurrentByteIndex
        scan.depth -= 1

    def text(data: str) -> None:
        if scan.open_depth and len(scan.spans) == 1:
            scan.first_text.append(data)

    parser.StartNamespaceDeclHandler = ns_decl
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parse_hardened(parser, data, BakingError, "baking")
    if scan.root_name not in (f"{SVG_NAMESPACE} svg", "svg"):
        raise BakingError("this is XML, but not an SVG image", code="baking.not_svg")
    return scan


def _tag_end(data: bytes, start: int) -> int:
    """The index just past the ``>`` closing the tag that opens at ``start``."""
    quote = 0
    for i in range(start, len(data)):
        ch = data[i]
        if quote:
            if ch == quote:
                quote = 0
        elif ch in b"\"'":
            quote = ch
        elif ch == ord(">"):
            return i + 1
    raise BakingError("the SVG ends inside a tag", code="baking.corrupt")


def extract_svg(svg: str | bytes) -> str:
    """The credential text baked into ``svg``: the first ``<openbadges:credential>`` wins.

    A JWS comes from its ``verify`` attribute, JSON from its text. Raises ``BakingError``:
    ``baking.unsafe_xml`` (DOCTYPE/ENTITY), ``baking.corrupt``, ``baking.not_svg``,
    ``baking.too_large``, ``baking.no_credential``.
    """
    if isinstance(svg, str):
        scan = _scan_svg(svg.encode("utf-8", "surrogatepass"), encoding="utf-8")
    elif isinstance(svg, bytes | bytearray | memoryview):
        scan = _scan_svg(bytes(svg), encoding=None)
    else:
        raise BakingError("an SVG image is text or bytes", code="baking.not_svg")
    if not scan.spans:
        raise BakingError(
            "this SVG has no baked credential (no <openbadges:credential> element)",
            code="baking.no_credential",
        )
    text = (scan.first_verify or "").strip() or "".join(scan.first_text).strip()
    if not text:
        raise BakingError("the SVG's credential element is empty", code="baking.no_credential")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CREDENTIAL_BYTES:
        raise BakingError(
            f"the baked credential is larger than {MAX_CREDENTIAL_BYTES // MiB} MiB",
            code="baking.too_large",
        )
    return text


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside a CDATA section; end the section after "]]" and start a
    # new one before ">", which a parser joins back into the same text.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def bake_svg(svg: str, credential: str) -> str:
    """``svg`` with ``credential`` (JSON text or compact JWS) baked in.

    Existing ``<openbadges:credential>`` elements are removed; the root gets the
    ``xmlns:openbadges`` declaration if it lacks it, and one element is inserted right
    after the opening ``<svg …>`` tag. Everything else keeps its bytes. Raises
    ``BakingError`` as ``extract_svg`` does, and when the root binds the ``openbadges``
    prefix to another namespace.
    """
    if not isinstance(svg, str):
        raise BakingError("bake_svg takes the SVG as text", code="baking.not_svg")
    text, is_jws = _credential_bytes(credential)
    data = svg.encode("utf-8", "surrogatepass")
    scan = _scan_svg(data, encoding="utf-8")
    declared = scan.root_prefixes.get("openbadges")
    if declared is not None and declared != OB_NAMESPACE:
        raise BakingError(
            f"the SVG binds the prefix 'openbadges' to {declared!r:.120}, not {OB_NAMESPACE!r}"
        )

    # Remove the old elements, last first so earlier offsets stay valid.
    for start, end_tag in reversed(scan.spans):
        stop = _tag_end(data, start)
        if data[stop - 2 : stop] != b"/>":
            # Not an empty-element tag: expat gave the index of the end tag's "<".
            stop = _tag_end(data, end_tag)
        data = data[:start] + data[stop:]

    if is_jws:
        element = f'<openbadges:credential verify="{text}"></openbadges:credential>'
    else:
        element = f"<openbadges:credential>{_cdata(text)}</openbadges:credential>"
    open_end = _tag_end(data, scan.root_start)
    self_closing = data[open_end - 2 : open_end] == b"/>"
    head = data[: open_end - 2 if self_closing else open_end - 1]
    if declared is None:
        head += f' xmlns:openbadges="{OB_NAMESPACE}"'.encode("ascii")
    tail = data[open_end:]
    inserted = ">" + element
    if self_closing:
        raw_name = re.match(rb"<([^\s/>]+)", data[scan.root_start :])
        inserted += f"</{raw_name.group(1).decode('utf-8') if raw_name else 'svg'}>"
    out = (head + inserted.encode("utf-8") + tail).decode("utf-8", "surrogatepass")
    if len(out) > MAX_IMAGE_BYTES:
        raise BakingError(
            f"the baked image would be larger than {MAX_IMAGE_BYTES // MiB} MiB",
            code="baking.too_large",
        )
    return out


# --------------------------------------------------------------------------- either


def extract(data: bytes) -> str:
    """The credential baked into a PNG or SVG image, told apart by their first bytes."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BakingError("an image is bytes", code="baking.unknown_format")
    raw = bytes(data)
    if raw.startswith(PNG_SIGNATURE):
        return extract_png(raw)
    head = raw[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return extract_svg(raw)
    raise BakingError("this is neither a PNG nor an SVG image", code="baking.unknown_format")
