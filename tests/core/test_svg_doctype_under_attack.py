"""SVGs with a DOCTYPE: the plain W3C line is read, every DTD trick is still refused.

Editors write SVG 1.1's document type declaration (SVG 1.1 Second Edition, Appendix A,
"Document Type Definition": ``<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"
"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">``). It declares nothing itself; the
external DTD it names is never fetched. An internal subset (XML 1.0 §2.8, ``[…]``) is
where entities are declared (§4.2: general and parameter entities, internal or
external), so any DOCTYPE with one is refused before anything in it is read, as is any
other DOCTYPE. Each attack below is performed for real against the parser.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from badgeworks.core.baking import BakingError, bake_svg, extract, extract_svg
from badgeworks.core.svg import SvgError, sanitize_svg, standard_doctype

SVG_NS = "http://www.w3.org/2000/svg"
JWS = "eyJhbGciOiJFZERTQSJ9.eyJpc3MiOiJkaWQ6a2V5OnoifQ.c2ln"
SVG11 = (
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
)
#: What Adobe Illustrator writes (XML declaration, generator comment, the SVG 1.1 DOCTYPE).
ILLUSTRATOR = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    "<!-- Generator: Adobe Illustrator 27.0.0, SVG Export Plug-In . SVG Version: 6.00 -->\n"
    f"{SVG11}\n"
    f'<svg version="1.1" xmlns="{SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" '
    'x="0px" y="0px" viewBox="0 0 100 100" xml:space="preserve">\n'
    '<circle cx="50" cy="50" r="40" fill="#1d4ed8"/>\n</svg>\n'
)
#: Inkscape's older "plain SVG" export and SVG 1.0 files.
SVG10 = (
    '<?xml version="1.0" standalone="no"?>\n'
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 20010904//EN"\n'
    '  "http://www.w3.org/TR/2001/REC-SVG-20010904/DTD/svg10.dtd">\n'
    f'<svg xmlns="{SVG_NS}" width="10" height="10"><rect width="10" height="10"/></svg>'
)
SYSTEM_ONLY = (
    '<!DOCTYPE svg SYSTEM "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    f'<svg xmlns="{SVG_NS}"/>'
)


def readers(svg: str) -> list[tuple[str, Callable[[], Any]]]:
    """Every way an SVG from outside is read: sanitised (uploads), baked, extracted."""
    return [
        ("sanitize", lambda: sanitize_svg(svg.encode())),
        ("bake", lambda: bake_svg(svg, JWS)),
        ("extract text", lambda: extract_svg(svg)),
        ("extract bytes", lambda: extract(svg.encode())),
    ]


def refused_as(svg: str) -> set[str]:
    codes = set()
    for _, read in readers(svg):
        with pytest.raises((SvgError, BakingError)) as info:
            read()
        codes.add(info.value.code)
    return codes


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Any connection attempt is recorded and fails: proof that nothing was fetched."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network use during an SVG parse")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts


# --------------------------------------------------------------------------- accepted


WITH_BOM = f"\ufeff{SVG11}<svg xmlns='{SVG_NS}'/>"


@pytest.mark.parametrize("svg", [ILLUSTRATOR, SVG10, SYSTEM_ONLY, WITH_BOM])
def test_the_standard_doctype_is_read_without_fetching(svg: str, no_network: list[Any]) -> None:
    baked = bake_svg(svg, JWS)
    assert extract_svg(baked) == JWS
    assert extract(baked.encode()) == JWS
    cleaned = sanitize_svg(svg.encode())
    assert "DOCTYPE" not in cleaned and cleaned.startswith("<svg")
    assert no_network == []


def test_baking_keeps_the_doctype_and_every_other_byte() -> None:
    baked = bake_svg(ILLUSTRATOR, JWS)
    assert baked.startswith(ILLUSTRATOR[: ILLUSTRATOR.index("<svg")])
    assert SVG11 in baked
    assert '<circle cx="50" cy="50" r="40" fill="#1d4ed8"/>' in baked
    assert standard_doctype(baked) == standard_doctype(ILLUSTRATOR)


# --------------------------------------------------------------------------- refused


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE svg [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + f']>\n<svg xmlns="{SVG_NS}"><text>&lol9;</text></svg>'
)
#: The same bomb behind the standard public identifier: the subset is still refused.
BILLION_LAUGHS_BEHIND_SVG11 = BILLION_LAUGHS.replace(
    "<!DOCTYPE svg [",
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [',
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<svg xmlns="{SVG_NS}"><text>&xxe;</text></svg>'
)
EXTERNAL_ENTITY_OVER_HTTP = (
    '<!DOCTYPE svg [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>'
    f'<svg xmlns="{SVG_NS}"><text>&xxe;</text></svg>'
)
PARAMETER_ENTITIES = (
    '<!DOCTYPE svg [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote; '
    "<!ENTITY % inner \"<!ENTITY x 'boom'>\"> %inner;]>"
    f'<svg xmlns="{SVG_NS}"><text>&x;</text></svg>'
)
HARMLESS_LOOKING_SUBSET = (
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
    '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd" [ <!-- nothing here --> ]>'
    f'<svg xmlns="{SVG_NS}"/>'
)
#: A DTD that is not W3C's: never fetched, and refused rather than blanked.
FOREIGN_SYSTEM_ID = f'<!DOCTYPE svg SYSTEM "file:///etc/passwd"><svg xmlns="{SVG_NS}"/>'
FOREIGN_PUBLIC_ID = (
    '<!DOCTYPE svg PUBLIC "-//EVIL//DTD SVG 1.1//EN" "http://127.0.0.1:9/svg11.dtd">'
    f'<svg xmlns="{SVG_NS}"/>'
)
HTML_DOCTYPE = f'<!DOCTYPE html><svg xmlns="{SVG_NS}"/>'


@pytest.mark.parametrize(
    "svg",
    [
        BILLION_LAUGHS,
        BILLION_LAUGHS_BEHIND_SVG11,
        EXTERNAL_ENTITY,
        EXTERNAL_ENTITY_OVER_HTTP,
        PARAMETER_ENTITIES,
        HARMLESS_LOOKING_SUBSET,
        FOREIGN_SYSTEM_ID,
        FOREIGN_PUBLIC_ID,
        HTML_DOCTYPE,
    ],
    ids=[
        "billion-laughs",
        "billion-laughs-behind-svg11",
        "external-entity-file",
        "external-entity-http",
        "parameter-entities",
        "internal-subset",
        "foreign-system-id",
        "foreign-public-id",
        "html-doctype",
    ],
)
def test_dtd_attacks_are_refused_before_anything_expands(svg: str, no_network: list[Any]) -> None:
    assert refused_as(svg) == {"svg.unsafe_xml", "baking.unsafe_xml"}
    assert no_network == []


def test_a_second_doctype_after_the_standard_one_is_refused() -> None:
    """Only the first, plain line is blanked; anything else the parser sees is refused."""
    svg = f'{SVG11}<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="{SVG_NS}">&a;</svg>'
    codes = refused_as(svg)
    assert codes <= {"svg.unsafe_xml", "baking.unsafe_xml", "svg.corrupt", "baking.corrupt"}


@pytest.mark.parametrize(
    "body",
    [
        "<text>a&nbsp;b</text>",  # an HTML entity in text
        '<rect width="&w;" height="1"/>',  # an undeclared entity in an attribute
    ],
)
def test_undeclared_entities_stay_errors_behind_the_standard_doctype(body: str) -> None:
    """With the DTD unread, expat would skip undeclared entities (silently, in attribute
    values); the DOCTYPE is blanked instead, so they stay well-formedness errors."""
    svg = f'{SVG11}<svg xmlns="{SVG_NS}">{body}</svg>'
    assert refused_as(svg) == {"svg.corrupt", "baking.corrupt"}


UNREADABLE = {"svg.corrupt", "baking.corrupt", "svg.unsafe_xml", "baking.unsafe_xml"}


def test_the_doctype_must_come_before_the_root() -> None:
    svg = f'<svg xmlns="{SVG_NS}">{SVG11}</svg>'
    assert standard_doctype(svg) is None
    assert refused_as(svg) <= {
        "svg.unsafe_xml",
        "baking.unsafe_xml",
        "svg.corrupt",
        "baking.corrupt",
    }


def test_a_long_prolog_does_not_make_the_match_slow() -> None:
    """The DOCTYPE pattern repeats one character at a time: 200,000 spaces before a root
    that has no DOCTYPE is matched (and refused) in linear time."""
    svg = "<?xml version='1.0'?>" + " \n" * 100_000 + "<!-- x -->" * 1000 + "<svg/>"
    started = time.perf_counter()
    assert standard_doctype(svg) is None
    assert standard_doctype(svg.encode()) is None
    assert time.perf_counter() - started < 1.0
