"""Deserialize JSON-LD to RDF (JSON-LD 1.1 §8.1), as pyld's node map and ``toRdf`` run it."""

from __future__ import annotations

import json
import re
from typing import Any

from .. import rdfc
from ..errors import JsonLdError
from .syntax import (
    I18N,
    MAX_DEPTH,
    RDF_FIRST,
    RDF_JSON,
    RDF_LANGSTRING,
    RDF_NIL,
    RDF_REST,
    RDF_TYPE,
    XSD_BOOLEAN,
    XSD_DOUBLE,
    XSD_INTEGER,
    XSD_STRING,
    Unsupported,
    arrayify,
    check_depth,
    pyld_absolute,
    strict_absolute,
    too_deep,
)

_DOUBLE_CLEANUP = re.compile(r"(\d)0*E\+?(-)?0*(\d)")


def _relative(value: str, what: str) -> JsonLdError:
    if what == "id":
        message = f"the identifier {value!r:.120} is a relative IRI; use an absolute URL"
    elif what == "type":
        message = (
            f"the type {value!r:.120} is not defined by any context and is not an absolute IRI"
        )
    else:
        message = f"the property {value!r:.120} expands to a relative IRI"
    return JsonLdError(message, code="jsonld.relative_iri", value=value)


def canonical_double(value: float) -> str:
    """The xsd:double lexical form pyld (and jsonld.js) produce."""
    return _DOUBLE_CLEANUP.sub(r"\1E\2\3", f"{value:1.15E}")


def _utf16_key(key: str) -> list[int]:
    encoded = key.encode("utf-16-be")
    return [int.from_bytes(encoded[i : i + 2], "big") for i in range(0, len(encoded), 2)]


def _jcs(value: Any, depth: int = 0) -> str:
    """RFC 8785 JSON Canonicalization of an ``@json`` value (integers only)."""
    if depth > MAX_DEPTH:
        raise too_deep()
    if value is None or isinstance(value, bool | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise Unsupported("a large integer in @json")
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        raise Unsupported("a non-integral number in @json")
    if isinstance(value, list):
        return "[" + ",".join(_jcs(v, depth + 1) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _utf16_key(kv[0]))
        return (
            "{"
            + ",".join(
                json.dumps(k, ensure_ascii=False) + ":" + _jcs(v, depth + 1) for k, v in items
            )
            + "}"
        )
    raise Unsupported("a non-JSON value")


class RdfWriter:
    """Turns expanded JSON-LD into quads, deduplicating values like pyld's node map."""

    def __init__(self) -> None:
        self.quads: list[rdfc.Quad] = []
        # Blank nodes are labelled _:b0, _:b1… in order; one label names one node.
        self.bnode = rdfc.IdentifierIssuer("_:b").issue
        self.seen: dict[tuple[str, str, str, str], set[Any] | list[Any]] = {}

    def emit(self, s: str, p: str, o: str, g: str, key: Any) -> None:
        if key is not None:
            slot = (g, s, p, "")
            seen = self.seen.get(slot)
            if seen is None:
                seen = self.seen[slot] = set() if not isinstance(key, list) else []
            if isinstance(key, list):
                # An unhashable @json value: compare with == as pyld does.
                if isinstance(seen, set):
                    self.seen[slot] = seen = list(seen)
                if key[0] in seen:
                    return
                seen.append(key[0])
            else:
                if isinstance(seen, list):
                    if key in seen:
                        return
                    seen.append(key)
                elif key in seen:
                    return
                else:
                    seen.add(key)
        self.quads.append((s, p, o, g))

    def node(self, node: dict[str, Any], graph: str, depth: int) -> tuple[str, str | None]:
        """Write ``node``'s statements; return its id and its subject term (or None)."""
        check_depth(depth)
        ident = node.get("@id")
        if ident is None or ident.startswith("_:"):
            sid = self.bnode(ident)
            subject: str | None = sid
        else:
            if not strict_absolute(ident):
                raise _relative(ident, "id")
            sid = ident
            subject = "<" + ident + ">" if pyld_absolute(ident) else None
        types = node.get("@type")
        if types:
            for t in types:
                if t != "@json" and not strict_absolute(t):
                    raise _relative(t, "type")
                if t.startswith("_:"):
                    t = self.bnode(t)
                    obj = t
                else:
                    obj = "<" + t + ">" if pyld_absolute(t) else ""
                if subject is not None and obj:
                    self.emit(subject, RDF_TYPE, obj, graph, ("t", t))
        for prop in sorted(node):
            if prop[:1] == "@":
                if prop == "@graph":
                    self.graph(node["@graph"], sid, depth + 1)
                elif prop in ("@reverse", "@included"):
                    raise Unsupported(prop)
                continue
            if not strict_absolute(prop):
                raise _relative(prop, "property")
            predicate: str | None = (
                "<" + prop + ">" if not prop.startswith("_:") and pyld_absolute(prop) else None
            )
            for item in node[prop]:
                term, key = self.object(item, graph, depth + 1)
                if subject is not None and predicate is not None and term is not None:
                    self.emit(subject, predicate, term, graph, key)
        return sid, subject

    def graph(self, items: Any, name: str, depth: int) -> None:
        check_depth(depth)
        graph = name if name.startswith("_:") else "<" + name + ">"
        if not name.startswith("_:") and not pyld_absolute(name):
            raise Unsupported("a relative graph name")
        for item in arrayify(items):
            if isinstance(item, dict) and "@value" not in item and "@list" not in item:
                self.node(item, graph, depth + 1)

    def object(self, item: Any, graph: str, depth: int) -> tuple[str | None, Any]:
        if "@value" in item:
            return self.literal(item)
        if "@list" in item:
            return self.rdf_list(item["@list"], graph, depth + 1), None
        sid, _ = self.node(item, graph, depth)
        if sid.startswith("_:"):
            return sid, ("n", sid)
        return ("<" + sid + ">" if pyld_absolute(sid) else None), ("n", sid)

    def rdf_list(self, items: list[Any], graph: str, depth: int) -> str:
        check_depth(depth)
        if not items:
            return RDF_NIL
        head = subject = self.bnode()
        last = len(items) - 1
        for i, item in enumerate(items):
            obj, _ = self.object(item, graph, depth + 1)
            if obj is None:
                raise Unsupported("a list item that pyld cannot serialize")
            self.quads.append((subject, RDF_FIRST, obj, graph))
            nxt = RDF_NIL if i == last else self.bnode()
            self.quads.append((subject, RDF_REST, nxt, graph))
            subject = nxt
        return head

    def literal(self, item: dict[str, Any]) -> tuple[str, Any]:
        return literal_term(
            item["@value"],
            item.get("@type"),
            item.get("@language"),
            item.get("@index"),
            item.get("@direction"),
            item,
        )


def literal_term(
    value: Any,
    datatype: str | None,
    language: str | None,
    index: Any = None,
    direction: str | None = None,
    item: Any = None,
) -> tuple[str, Any]:
    """A value object's literal term and its node-map identity (pyld ``_object_to_rdf``).

    The identity is what pyld's node map compares to drop duplicate values of one
    property; ``item`` is only needed for ``@json`` objects, which compare by ``==``.
    """
    given_type = datatype
    given_language = language
    if datatype is not None and datatype != "@json" and not strict_absolute(datatype):
        raise _relative(datatype, "type")
    if datatype == "@json":
        lexical = _jcs(value)
        datatype = RDF_JSON
        if isinstance(value, dict | list):
            return rdfc.literal(lexical, datatype), [item]
    elif isinstance(value, bool):
        lexical = "true" if value else "false"
        datatype = datatype or XSD_BOOLEAN
    elif isinstance(value, float) and not value.is_integer():
        lexical = canonical_double(value)
        datatype = datatype or XSD_DOUBLE
    elif datatype == XSD_DOUBLE:
        try:
            lexical = canonical_double(float(value))
        except (ValueError, TypeError):
            if not isinstance(value, str):
                raise Unsupported("an odd xsd:double value") from None
            lexical = value
    elif isinstance(value, int | float) and abs(value) >= 1e21:
        try:
            lexical = canonical_double(float(value))
        except OverflowError:
            raise Unsupported("an integer beyond the double range") from None
        datatype = datatype or XSD_DOUBLE
    elif isinstance(value, int | float):
        lexical = str(int(value))
        datatype = datatype or XSD_INTEGER
    elif direction is not None:
        # JSON-LD 1.1 API "Object to RDF Conversion" with rdfDirection "i18n-datatype"
        # (Digital Bazaar's eddsa-rdfc-2022 sets it): the direction goes in the datatype.
        if not isinstance(value, str):
            raise Unsupported("a non-string value with @direction")
        lexical = value
        datatype = I18N + (language or "") + "_" + direction
        language = None
    elif language is not None:
        lexical = value
        datatype = datatype or RDF_LANGSTRING
    else:
        if not isinstance(value, str):
            raise Unsupported("a non-JSON value")
        lexical = value
        datatype = datatype or XSD_STRING
    key = ("v", type(value) is bool, value, given_type, given_language, index, direction)
    return rdfc.literal(lexical, datatype, language), key
