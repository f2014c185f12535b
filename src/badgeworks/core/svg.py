"""SVG images from strangers, made safe to store, serve and bake: an allow-list rewrite.

An issuer's badge SVG is shown by browsers on our origin and travels inside every baked
badge, so anything that can run or fetch is removed, and the image is rebuilt from what
remains rather than edited in place:

- Parsing is expat's with any entity declaration, external entity or DOCTYPE refused
  outright (``svg.unsafe_xml``): no entity can expand, none can read a file. The one
  exception is the plain W3C line editors write, ``<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG
  1.1//EN" "http://www.w3.org/…">`` (``standard_doctype``): it declares nothing, so it is
  blanked before parsing and expat never sees it. Nothing is fetched, and an undefined
  entity such as ``&nbsp;`` stays an error instead of being skipped.
- Only drawing elements of the SVG namespace are kept (shapes, text, gradients, patterns,
  clip paths, masks, filters). ``script``, ``style``, ``foreignObject``, animation
  (``set``, ``animate*``, which can rewrite ``href``), ``feImage``, elements of other
  namespaces (XHTML, editors' metadata, old ``openbadges:credential`` elements) and
  everything inside them are dropped. ``a`` is unwrapped: its children stay, the link goes.
- Only presentation and geometry attributes are kept, so no ``on*`` event handler
  survives. ``href`` (or ``xlink:href``) is kept only as a reference inside the document
  (``#id``), or on ``image`` as a ``data:`` PNG, JPEG, GIF or WebP; any ``url(…)`` must
  point inside the document too, so nothing is fetched from elsewhere.
- Comments and processing instructions (``xml-stylesheet``) are dropped.

The output is a new, well-formed SVG document (UTF-8 text, no XML declaration).
"""

from __future__ import annotations

import re
from typing import Any, NoReturn
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from .errors import BadgeworksError

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"
XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace"

#: The largest SVG read at all.
MAX_SVG_BYTES = 32 * 1024 * 1024
#: More elements than any badge needs; bounds the work and the output.
MAX_ELEMENTS = 100_000


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


_KEEP = _names(
    """svg g defs title desc symbol use path rect circle ellipse line polyline polygon text
    tspan textPath linearGradient radialGradient stop clipPath mask pattern marker image
    filter feBlend feColorMatrix feComponentTransfer feComposite feConvolveMatrix
    feDiffuseLighting feDisplacementMap feDistantLight feDropShadow feFlood feFuncA feFuncB
    feFuncG feFuncR feGaussianBlur feMerge feMergeNode feMorphology feOffset fePointLight
    feSpecularLighting feSpotLight feTile feTurbulence switch"""
)
#: Unwrapped: the element goes, its children stay.
_UNWRAP = frozenset({"a"})

_ATTRIBUTES = _names(
    """id class x y x1 y1 x2 y2 cx cy r rx ry fx fy fr width height d points transform
    viewBox preserveAspectRatio version fill fill-opacity fill-rule stroke stroke-width
    stroke-linecap stroke-linejoin stroke-miterlimit stroke-dasharray stroke-dashoffset
    stroke-opacity opacity style color display visibility overflow font-family font-size
    font-size-adjust font-stretch font-weight font-style font-variant text-anchor
    dominant-baseline alignment-baseline baseline-shift letter-spacing word-spacing
    text-decoration writing-mode direction unicode-bidi dx dy rotate textLength lengthAdjust
    startOffset method spacing side pathLength offset stop-color stop-opacity gradientUnits
    gradientTransform spreadMethod patternUnits patternContentUnits patternTransform
    clip-path clipPathUnits clip-rule mask maskUnits maskContentUnits mask-type filter
    filterUnits primitiveUnits in in2 result stdDeviation mode operator k1 k2 k3 k4 values
    type tableValues slope intercept amplitude exponent flood-color flood-opacity
    baseFrequency numOctaves seed stitchTiles scale xChannelSelector yChannelSelector
    radius order kernelMatrix divisor bias targetX targetY edgeMode preserveAlpha
    kernelUnitLength surfaceScale specularConstant specularExponent diffuseConstant
    lighting-color azimuth elevation z pointsAtX pointsAtY pointsAtZ limitingConeAngle
    marker-start marker-mid marker-end markerWidth markerHeight markerUnits refX refY
    orient shape-rendering text-rendering image-rendering color-interpolation
    color-interpolation-filters vector-effect paint-order isolation mix-blend-mode role
    aria-label aria-labelledby aria-describedby aria-hidden lang"""
)
_XML_ATTRIBUTES = frozenset({"space", "lang"})
_LOCAL_REF = re.compile(r"^#[A-Za-z_][\w.:-]*$")
_DATA_IMAGE = re.compile(r"^data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
_URL = re.compile(r"url\(\s*(['\"]?)\s*([^'\")\s]*)", re.IGNORECASE)
# What no attribute value or style may hold: script URLs, absolute or protocol-relative
# URLs (``//``: nothing is fetched from elsewhere, whatever the CSS function), imports,
# old IE/Gecko hooks, CSS escapes (which could spell any of these) and markup.
_FORBIDDEN = re.compile(
    r"javascript:|vbscript:|data:|//|@import|image-set|expression\s*\(|-moz-binding"
    r"|behavior\s*:|\\|<",
    re.IGNORECASE,
)
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")


class SvgError(BadgeworksError):
    """An SVG that cannot be made safe: not well-formed, not SVG, or unsafe XML."""

    code = "svg.invalid"


class UnsafeXml(Exception):
    """Raised by a ``hardened_parser`` that met a DOCTYPE or an entity declaration."""


# The DOCTYPE line Inkscape, Illustrator and the SVG 1.0/1.1 specifications write: the name
# ``svg``, a W3C SVG public identifier and a www.w3.org system identifier (or the system
# identifier alone), and no internal subset (``[…]``, where entities would be declared).
# It may follow only an XML declaration, whitespace and comments (XML 1.0 §2.8, prolog).
_QUOTED_W3C_URL = r"""(?:"https?://www\.w3\.org/[^"<>\[\]]*"|'https?://www\.w3\.org/[^'<>\[\]]*')"""
_QUOTED_SVG_FPI = r"""(?:"-//W3C//DTD SVG [^"<>\[\]]*"|'-//W3C//DTD SVG [^'<>\[\]]*')"""
# XML whitespace only (S, XML 1.0 §2.3); one character per repetition, so a long run of
# whitespace cannot make the match backtrack exponentially.
_S = r"[ \t\r\n]"
_STANDARD_DOCTYPE = (
    rf"\A(?:\ufeff)?(?:<\?xml[^>]*\?>)?(?:{_S}|<!--(?:(?!--).)*-->)*"
    rf"(<!DOCTYPE{_S}+svg{_S}+(?:PUBLIC{_S}+{_QUOTED_SVG_FPI}{_S}+|SYSTEM{_S}+)"
    rf"{_QUOTED_W3C_URL}{_S}*>)"
)
_STANDARD_DOCTYPE_TEXT = re.compile(_STANDARD_DOCTYPE, re.DOTALL)
_STANDARD_DOCTYPE_BYTES = re.compile(
    _STANDARD_DOCTYPE.replace(r"(?:\ufeff)?", r"(?:\xef\xbb\xbf)?").encode("ascii"), re.DOTALL
)


def standard_doctype(data: str | bytes) -> tuple[int, int] | None:
    """Where the plain W3C SVG DOCTYPE line of ``data`` is (start, end), or None.

    Bytes are matched as UTF-8 (or ASCII): a document in another encoding with a DOCTYPE
    is refused as before.
    """
    if isinstance(data, str):
        text = _STANDARD_DOCTYPE_TEXT.match(data)
        return text.span(1) if text else None
    raw = _STANDARD_DOCTYPE_BYTES.match(data)
    return raw.span(1) if raw else None


def _without_standard_doctype(data: str | bytes) -> str | bytes:
    """``data`` with its plain W3C SVG DOCTYPE line (if any) turned into spaces.

    The length and line breaks stay, so offsets expat reports still index ``data`` (baking
    edits the original bytes at those offsets).
    """
    span = standard_doctype(data)
    if span is None:
        return data
    start, end = span
    if isinstance(data, str):
        return data[:start] + re.sub(r"[^\r\n]", " ", data[start:end]) + data[end:]
    return data[:start] + re.sub(rb"[^\r\n]", b" ", data[start:end]) + data[end:]


def hardened_parser(encoding: str | None) -> Any:
    """An expat parser (namespace separator ``" "``) that refuses DTDs and entities.

    A DOCTYPE or entity can expand without bound or name local files; the parser raises
    ``UnsafeXml`` at the first one, before anything is expanded. Every reader of SVG text
    (sanitising, baking) starts from this parser.
    """
    parser = expat.ParserCreate(encoding, namespace_separator=" ")

    def refuse(*_: Any) -> NoReturn:
        raise UnsafeXml

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def parse_hardened(
    parser: Any,
    data: str | bytes,
    error: type[BadgeworksError],
    area: str,
    *,
    advice: str = "",
) -> None:
    """Run a ``hardened_parser`` over all of ``data``.

    A plain W3C SVG DOCTYPE line is blanked first (``standard_doctype``). Unsafe XML raises
    ``error`` with code ``<area>.unsafe_xml`` (its message ends with ``advice``), XML that
    is not well-formed ``<area>.corrupt``; what the handlers raise passes through.
    """
    try:
        parser.Parse(_without_standard_doctype(data), True)
    except UnsafeXml:
        raise error(
            "the SVG declares entities or a DOCTYPE other than the plain W3C SVG one "
            '(\'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/…">\', '
            "with no internal subset), which we refuse to read (entities can expand without "
            "bound or read local files)" + advice,
            code=f"{area}.unsafe_xml",
        ) from None
    except expat.ExpatError as exc:
        raise error(f"the SVG is not well-formed XML: {exc}", code=f"{area}.corrupt") from None


def _split(name: str) -> tuple[str, str]:
    namespace, _, local = name.rpartition(" ")
    return namespace, local


def _safe_value(value: str) -> bool:
    # Browsers ignore whitespace and control characters inside a URL scheme
    # ("java\tscript:"), so they are removed before looking.
    squeezed = _CONTROL.sub("", value)
    if _FORBIDDEN.search(squeezed):
        return False
    return all(_LOCAL_REF.match(target or "#x") for _, target in _URL.findall(value))


def _href(element: str, value: str) -> str | None:
    value = value.strip()
    if _LOCAL_REF.match(value):
        return value
    if element == "image" and _DATA_IMAGE.match(value):
        return re.sub(r"\s+", "", value)
    return None


def _attributes(element: str, attrs: dict[str, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in attrs.items():
        namespace, local = _split(name)
        if local == "href" and namespace in ("", XLINK_NAMESPACE):
            href = _href(element, value)
            if href is not None:
                out.append(("xlink:href", href))
            continue
        if namespace == XML_NAMESPACE and local in _XML_ATTRIBUTES:
            if _safe_value(value):
                out.append((f"xml:{local}", value))
            continue
        if namespace or local not in _ATTRIBUTES or not _safe_value(value):
            continue
        out.append((local, value))
    # One of each name (href and xlink:href both given: the first one kept wins).
    unique: dict[str, str] = {}
    for name, value in out:
        unique.setdefault(name, value)
    return list(unique.items())


def sanitize_svg(data: bytes | str) -> str:
    """``data`` rebuilt with only safe SVG elements and attributes (see the module).

    Raises ``SvgError``: ``svg.unsafe_xml`` (DOCTYPE or entities), ``svg.corrupt`` (not
    well-formed XML), ``svg.not_svg`` (the root is not an SVG ``svg`` element),
    ``svg.too_large`` (over ``MAX_SVG_BYTES`` or ``MAX_ELEMENTS``).
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_SVG_BYTES:
        raise SvgError(
            f"the SVG is larger than {MAX_SVG_BYTES // (1024 * 1024)} MiB", code="svg.too_large"
        )
    out: list[str] = []
    # Per open element: "keep" (written), "unwrap" (children kept) or "drop" (all dropped).
    stack: list[str] = []
    count = 0
    parser = hardened_parser("utf-8" if isinstance(data, str) else None)

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise SvgError(f"the SVG has more than {MAX_ELEMENTS} elements", code="svg.too_large")
        namespace, local = _split(name)
        if not stack:
            if namespace not in ("", SVG_NAMESPACE) or local != "svg":
                raise SvgError("this is XML, but not an SVG image", code="svg.not_svg")
            kept = _attributes(local, attrs)
            head = f'<svg xmlns="{SVG_NAMESPACE}" xmlns:xlink="{XLINK_NAMESPACE}"'
            out.append(head + "".join(f" {n}={quoteattr(v)}" for n, v in kept) + ">")
            stack.append("keep")
            return
        if stack[-1] == "drop" or namespace not in ("", SVG_NAMESPACE):
            stack.append("drop")
        elif local in _UNWRAP:
            stack.append("unwrap")
        elif local in _KEEP:
            kept = _attributes(local, attrs)
            out.append(f"<{local}" + "".join(f" {n}={quoteattr(v)}" for n, v in kept) + ">")
            stack.append("keep")
        else:
            stack.append("drop")

    def end(name: str) -> None:
        kind = stack.pop()
        if kind == "keep":
            out.append(f"</{_split(name)[1]}>")

    def text(value: str) -> None:
        if stack and stack[-1] != "drop":
            out.append(escape(value))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parse_hardened(parser, raw, SvgError, "svg", advice="; save it again without them")
    if not out:
        raise SvgError("this is not an SVG image", code="svg.not_svg")
    return "".join(out) + "\n"
