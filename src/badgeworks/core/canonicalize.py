"""JSON-LD document -> RDFC-1.0 canonical N-Quads, in strict mode.

Strict mode (vc-di-eddsa §3 "Transformation" requires that signing never silently
loses data): a property term that expansion would drop raises ``jsonld.dropped_term``,
and an IRI that is not absolute raises ``jsonld.relative_iri``.

``canonicalize`` takes the fast path (``jsonld.to_quads`` + ``rdfc.canonicalize``) and
falls back to ``canonicalize_fallback`` only when the fast path meets a JSON-LD feature
it does not implement: pyld expands the document and builds its RDF dataset, and our
``rdfc`` canonicalizes and serializes it, so the fallback writes literals exactly as the
fast path (and Digital Bazaar's rdf-canonize) do.

``canonicalize_plain`` is pyld as shipped, end to end (the reference path of the
differential tests and the benchmark baseline). It is byte-identical to the other two
except for literals holding control characters other than tab, newline and carriage
return: RDFC-1.0's canonical N-Quads form writes ``\\b``, ``\\f`` and ``\\uXXXX`` for them,
pyld's serializer writes them raw.

All three use the JSON-LD 1.1 toRdf option ``rdfDirection: "i18n-datatype"``, which
Digital Bazaar's eddsa-rdfc-2022 cryptosuite sets (its ``lib/canonize.js``): a value
object with ``@direction`` (the pattern of VC 2.0 "Language and Base Direction")
becomes a literal typed ``https://www.w3.org/ns/i18n#<language>_<direction>``.
"""

from __future__ import annotations

import re
from typing import Any

from pyld import jsonld

from . import jsonld as fast_jsonld
from . import rdfc
from .errors import ContextError, JsonLdError
from .jsonld.syntax import raise_dropped
from .loader import DocumentLoader

# A scheme, a colon, and no whitespace: pyld's RDF serializer silently drops IRIs with
# whitespace, so strict mode must reject them rather than lose the statement.
_ABSOLUTE_IRI = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*|_):\S*\Z")


def is_absolute_iri(value: str) -> bool:
    """True for an IRI with a scheme (``https:``, ``urn:``, ``did:``) or a blank node id."""
    return bool(_ABSOLUTE_IRI.match(value))


def _check_expanded(node: Any) -> None:
    """Walk expanded JSON-LD and reject relative IRIs in ids, types and property names."""
    if isinstance(node, list):
        for item in node:
            _check_expanded(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "@id":
            if isinstance(value, str) and not is_absolute_iri(value):
                raise JsonLdError(
                    f"the identifier {value!r:.120} is a relative IRI; use an absolute URL",
                    code="jsonld.relative_iri",
                    value=value,
                )
        elif key == "@type":
            types = value if isinstance(value, list) else [value]
            for t in types:
                if isinstance(t, str) and t != "@json" and not is_absolute_iri(t):
                    raise JsonLdError(
                        f"the type {t!r:.120} is not defined by any context and is not "
                        "an absolute IRI",
                        code="jsonld.relative_iri",
                        value=t,
                    )
        elif key == "@value":
            continue
        else:
            if not key.startswith("@") and not is_absolute_iri(key):
                raise JsonLdError(
                    f"the property {key!r:.120} expands to a relative IRI",
                    code="jsonld.relative_iri",
                    value=key,
                )
            _check_expanded(value)


def expand_strict(document: dict[str, Any], loader: DocumentLoader) -> list[Any]:
    """pyld expansion that raises instead of dropping terms or keeping relative IRIs."""
    processor = jsonld.JsonLdProcessor(on_property_dropped=raise_dropped)
    try:
        expanded = processor.expand(document, {"documentLoader": loader, "base": None})
    except (JsonLdError, ContextError):
        raise
    except jsonld.JsonLdError as exc:
        cause = _root_cause(exc)
        if isinstance(cause, JsonLdError | ContextError):
            raise cause from None
        raise JsonLdError(f"JSON-LD processing failed: {exc.type}: {_message(exc)}") from None
    _check_expanded(expanded)
    return list(expanded)


def _root_cause(exc: BaseException) -> BaseException:
    seen = 0
    while seen < 20:
        nxt = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
        if nxt is None:
            return exc
        exc = nxt
        seen += 1
    return exc


def _message(exc: Any) -> str:
    return str(getattr(exc, "msg", None) or exc).splitlines()[0][:300]


#: How a value with ``@direction`` becomes RDF (see the module docstring).
RDF_DIRECTION = "i18n-datatype"


def canonicalize_plain(document: dict[str, Any], loader: DocumentLoader) -> str:
    """Canonical N-Quads via pyld as shipped, with our strict checks."""
    expanded = expand_strict(document, loader)
    try:
        result = jsonld.normalize(
            expanded,
            {
                "algorithm": "URDNA2015",
                "format": "application/n-quads",
                "documentLoader": loader,
                "rdfDirection": RDF_DIRECTION,
            },
        )
    except jsonld.JsonLdError as exc:
        raise JsonLdError(f"RDF canonicalization failed: {_message(exc)}") from None
    return str(result)


def _pyld_term(term: dict[str, Any]) -> str:
    value = str(term["value"])
    if term["type"] == "IRI":
        return "<" + value + ">"
    if term["type"] == "blank node":
        return value
    return rdfc.literal(term["value"], term["datatype"], term.get("language"))


def pyld_quads(document: dict[str, Any], loader: DocumentLoader) -> list[rdfc.Quad]:
    """pyld's RDF dataset for ``document`` (strictly expanded) as ``rdfc`` quads."""
    expanded = expand_strict(document, loader)
    try:
        dataset = jsonld.to_rdf(expanded, {"documentLoader": loader, "rdfDirection": RDF_DIRECTION})
    except jsonld.JsonLdError as exc:
        raise JsonLdError(f"RDF conversion failed: {_message(exc)}") from None
    quads: list[rdfc.Quad] = []
    for graph_name, triples in dataset.items():
        if graph_name == "@default":
            graph = ""
        else:
            graph = graph_name if graph_name.startswith("_:") else "<" + graph_name + ">"
        for triple in triples:
            quads.append(
                (
                    _pyld_term(triple["subject"]),
                    _pyld_term(triple["predicate"]),
                    _pyld_term(triple["object"]),
                    graph,
                )
            )
    return quads


def canonicalize_fallback(
    document: dict[str, Any], loader: DocumentLoader, *, max_work: int = rdfc.DEFAULT_MAX_WORK
) -> str:
    """Canonical N-Quads from pyld's dataset, canonicalized and escaped by ``rdfc``."""
    return _rdfc(pyld_quads(document, loader), max_work)


def _rdfc(quads: list[rdfc.Quad], max_work: int) -> str:
    try:
        return rdfc.canonicalize(quads, max_work=max_work)
    except UnicodeEncodeError:
        raise JsonLdError(
            "the credential holds a string that is not valid Unicode (a lone surrogate)",
            code="jsonld.invalid_string",
        ) from None


def canonicalize(
    document: dict[str, Any], loader: DocumentLoader, *, max_work: int = rdfc.DEFAULT_MAX_WORK
) -> str:
    """Canonical N-Quads (RDFC-1.0) of ``document``; the string that gets hashed.

    ``max_work`` bounds the RDFC-1.0 N-degree algorithm (``rdfc.too_complex``).
    """
    try:
        quads = fast_jsonld.to_quads(document, loader)
    except fast_jsonld.Unsupported:
        return canonicalize_fallback(document, loader, max_work=max_work)
    return _rdfc(quads, max_work)
