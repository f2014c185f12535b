"""JSON-LD 1.1 vocabulary every stage shares: keywords, IRI forms, limits and ``Unsupported``."""

from __future__ import annotations

import re
from typing import Any

from ..errors import JsonLdError

#: Maximum nesting of the document (and of contexts) before ``jsonld.too_deep``.
MAX_DEPTH = 128

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_TYPE = "<" + RDF + "type>"
RDF_FIRST = "<" + RDF + "first>"
RDF_REST = "<" + RDF + "rest>"
RDF_NIL = "<" + RDF + "nil>"
RDF_JSON = RDF + "JSON"
RDF_LANGSTRING = RDF + "langString"
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_BOOLEAN = XSD + "boolean"
XSD_DOUBLE = XSD + "double"
XSD_INTEGER = XSD + "integer"
XSD_STRING = XSD + "string"
I18N = "https://www.w3.org/ns/i18n#"

KEYWORDS = frozenset(
    {
        "@base",
        "@container",
        "@context",
        "@default",
        "@direction",
        "@embed",
        "@explicit",
        "@first",
        "@graph",
        "@id",
        "@import",
        "@included",
        "@index",
        "@json",
        "@language",
        "@list",
        "@nest",
        "@none",
        "@omitDefault",
        "@prefix",
        "@preserve",
        "@propagate",
        "@protected",
        "@requireAll",
        "@reverse",
        "@set",
        "@type",
        "@value",
        "@version",
        "@vocab",
    }
)

# pyld's notion of an absolute IRI (used by its expansion and RDF serialization).
_PYLD_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")
# Our strict notion (canonicalize.is_absolute_iri): a scheme and no whitespace.
_STRICT_ABSOLUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*|_):\S*\Z")


class Unsupported(Exception):
    """A JSON-LD feature this fast path does not implement; use the pyld path."""


class _IriCache:
    """Bounded memo of regex tests on IRIs (the same IRIs recur in every credential)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.memo: dict[str, bool] = {}

    def __call__(self, value: str) -> bool:
        found = self.memo.get(value)
        if found is None:
            found = self.pattern.match(value) is not None
            if len(self.memo) < 50_000:
                self.memo[value] = found
        return found


pyld_absolute = _IriCache(_PYLD_ABSOLUTE)
strict_absolute = _IriCache(_STRICT_ABSOLUTE)


def arrayify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def too_deep() -> JsonLdError:
    return JsonLdError(
        f"the document nests more than {MAX_DEPTH} levels deep", code="jsonld.too_deep"
    )


def check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise too_deep()


def raise_dropped(term: str | None) -> None:
    """Refuse a property the context does not define (expansion would drop it)."""
    raise JsonLdError(
        f"the property {term!r:.120} is not defined by the credential's @context, so "
        "signing would silently drop it",
        code="jsonld.dropped_term",
        term=term,
    )
