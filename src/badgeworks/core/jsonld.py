"""Fast, strict JSON-LD 1.1 expansion and deserialization to RDF quads.

This implements the parts of JSON-LD 1.1 Processing Algorithms that credentials use:
Context Processing (§4.1) with ``@protected``, ``@propagate``, ``@vocab``,
``@language``, ``@version`` and property- and type-scoped contexts; Create Term
Definition (§4.2) with ``@id``/``@vocab``/datatype coercion, ``@json``, ``@prefix`` and
the containers ``@set``, ``@list``, ``@graph`` and ``@language``; IRI Expansion (§5.2);
Expansion (§5.1) and Deserialize JSON-LD to RDF (§8.1). It follows pyld 3.3.0's
behaviour where pyld differs from the letter of the specification, because pyld is the
reference path and the outputs must be byte-identical.

Processed contexts are cached on the parent context object, keyed by the context URL
or value, so the bundled contexts are processed once per loader and process.

Value objects with ``@direction`` become ``i18n`` datatype literals (JSON-LD 1.1 API
"Object to RDF Conversion" with ``rdfDirection: "i18n-datatype"``, the option Digital
Bazaar's eddsa-rdfc-2022 cryptosuite sets). Anything else raises :class:`Unsupported`
(``@reverse``, ``@nest``, ``@included``, ``@import``, ``@direction`` in a context or term
definition, non-null ``@base``, ``@index``/``@id``/``@type`` containers, ``@type`` term
definitions, non-finite numbers, non-integral numbers inside ``@json`` values ...):
``canonicalize()`` then falls back to pyld.

Strict mode is built in (see ``canonicalize.py``). Error codes raised here:

- ``jsonld.dropped_term``: a key that expansion would drop (undefined term, term
  defined as null, key that does not expand to an absolute IRI or keyword);
- ``jsonld.relative_iri``: a relative IRI in ``@id``, ``@type`` or a property;
- ``jsonld.invalid_context``: a malformed context or term definition;
- ``jsonld.protected_redefinition``: a protected term redefined;
- ``jsonld.invalid_value``: a keyword with a value of the wrong shape;
- ``jsonld.too_deep``: the document or its contexts nest too deeply;
- ``context.not_allowed`` (``ContextError``) from the loader, unchanged.
"""

from __future__ import annotations

import json
import math
import re
import weakref
from typing import Any

from . import rdfc
from .errors import ContextError, JsonLdError
from .loader import DocumentLoader

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
# Context keys handled by Context Processing itself, not as term definitions.
_CONTEXT_KEYWORDS = frozenset(
    {"@base", "@direction", "@import", "@language", "@propagate", "@protected", "@version"}
) | {"@vocab"}
_TERM_KEYS = frozenset(
    {
        "@container",
        "@id",
        "@language",
        "@reverse",
        "@type",
        "@context",
        "@direction",
        "@index",
        "@nest",
        "@prefix",
        "@protected",
    }
)
_SUPPORTED_CONTAINERS = {
    frozenset({"@set"}),
    frozenset({"@list"}),
    frozenset({"@graph"}),
    frozenset({"@graph", "@set"}),
    frozenset({"@language"}),
    frozenset({"@language", "@set"}),
}
_KEYWORD_FORM = re.compile(r"^@[a-zA-Z]+$")
# pyld's notion of an absolute IRI (used by its expansion and RDF serialization).
_PYLD_ABSOLUTE = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")
# Our strict notion (canonicalize.is_absolute_iri): a scheme and no whitespace.
_STRICT_ABSOLUTE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*|_):\S*\Z")
_PREFIX_END = re.compile(r".*[:/\?#\[\]@]$")
_TERM_NEEDS_CHECK = re.compile(r".*((:[^:])|/)")
_DOUBLE_CLEANUP = re.compile(r"(\d)0*E\+?(-)?0*(\d)")

_MISSING: Any = object()
_CACHE_LIMIT = 512


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


_pyld_absolute = _IriCache(_PYLD_ABSOLUTE)
_strict_absolute = _IriCache(_STRICT_ABSOLUTE)


def _invalid(message: str, code: str = "jsonld.invalid_context") -> JsonLdError:
    return JsonLdError(message, code=code)


class TermDef:
    """A processed term definition (JSON-LD 1.1 §4.2)."""

    __slots__ = (
        "container",
        "context",
        "context_key",
        "has_context",
        "has_language",
        "iri",
        "language",
        "prefix",
        "protected",
        "type",
    )

    def __init__(self) -> None:
        self.iri: str | None = None
        self.type: str | None = None
        self.container: frozenset[str] = frozenset()
        self.language: str | None = None
        self.has_language = False
        self.context: Any = None
        self.context_key: str = ""
        self.has_context = False
        self.protected = False
        self.prefix = False

    def same_as(self, other: TermDef) -> bool:
        return (
            self.iri == other.iri
            and self.type == other.type
            and self.container == other.container
            and self.language == other.language
            and self.has_language == other.has_language
            and self.has_context == other.has_context
            and self.context == other.context
            and self.prefix == other.prefix
        )


class Context:
    """An active context; ``children`` caches contexts derived from it."""

    __slots__ = (
        "__weakref__",
        "children",
        "id_memo",
        "key_info",
        "language",
        "previous",
        "terms",
        "type_memo",
        "vocab",
        "vocab_memo",
    )

    def __init__(self) -> None:
        self.terms: dict[str, TermDef] = {}
        self.vocab: str | None = None
        self.language: str | None = None
        self.previous: Context | None = None
        self.children: dict[tuple[str, bool, bool], Context] = {}
        # Memos for the direct path (``_Direct``), filled only once the context is
        # complete: what each key means here, and how strings expand as IRIs.
        self.key_info: dict[str, _KeyInfo] = {}
        self.vocab_memo: dict[str, Any] = {}
        self.id_memo: dict[str, Any] = {}
        self.type_memo: dict[tuple[str, ...], tuple[Context, tuple[tuple[str, Any], ...]]] = {}

    def clone(self) -> Context:
        other = Context()
        other.terms = dict(self.terms)
        other.vocab = self.vocab
        other.language = self.language
        other.previous = self.previous
        return other


_ROOTS: weakref.WeakKeyDictionary[DocumentLoader, Context] = weakref.WeakKeyDictionary()


def _root_for(loader: DocumentLoader) -> Context:
    root = _ROOTS.get(loader)
    if root is None:
        root = Context()
        _ROOTS[loader] = root
    return root


def _context_key(value: Any) -> str:
    if isinstance(value, str):
        return "u" + value
    try:
        return "j" + json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise _invalid(f"the @context value is not JSON: {exc}") from None


def _arrayify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _add_value(subject: dict[str, Any], prop: str, value: Any, as_array: bool) -> None:
    """pyld's ``add_value`` with duplicates allowed."""
    if isinstance(value, list):
        if not value and as_array and prop not in subject:
            subject[prop] = []
        for item in value:
            _add_value(subject, prop, item, as_array)
    elif prop in subject:
        existing = subject[prop]
        if not isinstance(existing, list):
            subject[prop] = existing = [existing]
        existing.append(value)
    else:
        subject[prop] = [value] if as_array else value


def _raise_dropped(term: str | None) -> None:
    raise JsonLdError(
        f"the property {term!r:.120} is not defined by the credential's @context, so "
        "signing would silently drop it",
        code="jsonld.dropped_term",
        term=term,
    )


def _too_deep() -> JsonLdError:
    return JsonLdError(
        f"the document nests more than {MAX_DEPTH} levels deep", code="jsonld.too_deep"
    )


class _Processor:
    """One expansion: the loader, its context cache root and the strictness state."""

    def __init__(self, loader: DocumentLoader) -> None:
        self.loader = loader
        self.root = _root_for(loader)

    # -- Context Processing (JSON-LD 1.1 §4.1) -------------------------------------

    def process(
        self,
        active: Context,
        local: Any,
        key: str | None,
        *,
        override_protected: bool = False,
        propagate: bool = True,
        cache: bool = True,
        depth: int = 0,
    ) -> Context:
        if key is None:
            key = _context_key(local)
        cache_key = (key, override_protected, propagate)
        if cache:
            found = active.children.get(cache_key)
            if found is not None:
                return found
        result = self._process(active, local, override_protected, propagate, depth)
        if cache and len(active.children) < _CACHE_LIMIT:
            active.children[cache_key] = result
        return result

    def _resolve(self, local: Any, out: list[Any], depth: int) -> None:
        if depth > 16:
            raise _invalid("context references nest too deeply (a cycle?)", "jsonld.too_deep")
        for item in _arrayify(local):
            if isinstance(item, str):
                doc = self.loader.load_context(item)
                if not isinstance(doc, dict) or "@context" not in doc:
                    raise _invalid(f"the document {item!r:.120} is not a JSON-LD context")
                inner = doc["@context"]
                if isinstance(inner, dict):
                    out.append(inner)
                else:
                    self._resolve(inner, out, depth + 1)
            elif item is None or isinstance(item, dict):
                if isinstance(item, dict) and "@context" in item:
                    raise Unsupported("an embedded context wrapping @context")
                out.append(item)
            else:
                raise _invalid(f"invalid @context entry {item!r:.80}")

    def _process(
        self, active: Context, local: Any, override_protected: bool, propagate: bool, depth: int
    ) -> Context:
        if depth > MAX_DEPTH:
            raise _too_deep()
        if isinstance(local, dict) and isinstance(local.get("@context"), list):
            local = local["@context"]
        if isinstance(local, list) and not local:
            return active
        resolved: list[Any] = []
        self._resolve(local, resolved, 0)
        first = resolved[0]
        if isinstance(first, dict) and isinstance(first.get("@propagate"), bool):
            if not isinstance(local, dict) and not (
                isinstance(local, list) and local and isinstance(local[0], dict)
            ):
                raise Unsupported("@propagate in a remote context")
            propagate = first["@propagate"]
        result = active
        if not propagate and result.previous is None:
            result = result.clone()
            result.previous = active
        for ctx in resolved:
            if ctx is None:
                if not override_protected and any(t.protected for t in result.terms.values()):
                    raise _invalid(
                        "a context with protected terms cannot be set to null here",
                        "jsonld.protected_redefinition",
                    )
                result = self.root
                continue
            result = self._define(result, ctx, override_protected, depth)
        return result

    def _define(
        self, active: Context, ctx: dict[str, Any], override_protected: bool, depth: int
    ) -> Context:
        result = active.clone()
        if "@version" in ctx and ctx["@version"] != 1.1:
            raise _invalid(f"unsupported @version {ctx['@version']!r:.40}")
        if "@import" in ctx:
            raise Unsupported("@import")
        if "@base" in ctx and ctx["@base"] is not None:
            raise Unsupported("@base")
        if "@direction" in ctx:
            raise Unsupported("@direction")
        if "@vocab" in ctx:
            vocab = ctx["@vocab"]
            if vocab is None:
                result.vocab = None
            elif not isinstance(vocab, str):
                raise _invalid("@vocab must be a string or null")
            else:
                expanded = self.expand_iri(result, vocab, vocab=True)
                if not isinstance(expanded, str) or not _strict_absolute(expanded):
                    raise Unsupported("a relative or blank-node @vocab")
                result.vocab = expanded
        if "@language" in ctx:
            language = ctx["@language"]
            if language is None:
                result.language = None
            elif not isinstance(language, str):
                raise _invalid("@language must be a string or null")
            else:
                result.language = language.lower()
        if "@propagate" in ctx and not isinstance(ctx["@propagate"], bool):
            raise _invalid("@propagate must be true or false")
        protected = ctx.get("@protected", False)
        if "@protected" in ctx and protected is not True:
            # pyld rejects an explicit false (as a cyclic definition); so do we.
            raise _invalid("@protected must be true")
        # Like pyld, the context's @protected default travels in ``defined`` so that
        # terms defined recursively (as prefixes or @id references) inherit it.
        defined: dict[str, bool] = {"@protected": protected is True}
        for term in ctx:
            if term in _CONTEXT_KEYWORDS:
                continue
            self._create_term(result, ctx, term, defined, override_protected)
            value = ctx[term]
            if isinstance(value, dict) and "@context" in value:
                # pyld validates every scoped context while defining the term, so a
                # context it may not load fails here, not only when the term is used.
                scoped = value["@context"]
                try:
                    self.process(
                        result,
                        scoped,
                        None,
                        override_protected=True,
                        cache=False,
                        depth=depth + 1,
                    )
                except JsonLdError as exc:
                    if exc.code in ("jsonld.too_deep",):
                        raise
                    raise _invalid(f"invalid scoped context for {term!r:.80}: {exc}") from None
        return result

    def _create_term(
        self,
        active: Context,
        local: dict[str, Any],
        term: str,
        defined: dict[str, bool],
        override_protected: bool,
    ) -> None:
        state = defined.get(term)
        if state is True:
            return
        if state is False:
            raise _invalid(f"cyclic IRI mapping for term {term!r:.80}")
        defined[term] = False
        value = local.get(term)
        if term == "@type":
            raise Unsupported("a @type term definition")
        if term in KEYWORDS:
            raise _invalid(f"keywords cannot be redefined: {term!r:.80}")
        if _KEYWORD_FORM.match(term):
            defined[term] = True
            return
        if term == "":
            raise _invalid("the empty string is not a valid term")
        previous = active.terms.pop(term, None)
        simple = False
        if value is None or isinstance(value, str):
            simple = True
            value = {"@id": value}
        if not isinstance(value, dict):
            raise _invalid(f"term definition for {term!r:.80} must be a string or object")
        for kw in value:
            if kw not in _TERM_KEYS:
                raise _invalid(f"invalid key {kw!r:.40} in term definition {term!r:.80}")
        for kw in ("@reverse", "@nest", "@index", "@direction"):
            if kw in value:
                raise Unsupported(kw)
        td = TermDef()
        colon = term.find(":")
        term_has_colon = colon > 0
        has_iri = False
        if "@id" in value:
            iri = value["@id"]
            if iri is not None and not isinstance(iri, str):
                raise _invalid(f"invalid IRI mapping for {term!r:.80}")
            if iri is None:
                has_iri = True
            elif iri not in KEYWORDS and _KEYWORD_FORM.match(iri):
                raise Unsupported("a term mapped to a reserved @-form")
            elif iri != term:
                expanded = self.expand_iri(active, iri, vocab=True, local=local, defined=defined)
                if not isinstance(expanded, str) or (
                    expanded not in KEYWORDS and not _pyld_absolute(expanded)
                ):
                    raise _invalid(f"the term {term!r:.80} does not map to an absolute IRI")
                if _TERM_NEEDS_CHECK.match(term):
                    check = dict(defined)
                    check[term] = True
                    if self.expand_iri(active, term, vocab=True, local=local, defined=check) != (
                        expanded
                    ):
                        raise _invalid(f"the term {term!r:.80} must expand to its definition")
                td.iri = expanded
                has_iri = True
                td.prefix = (
                    simple
                    and not term_has_colon
                    and (expanded.startswith("_:") or _PREFIX_END.match(expanded) is not None)
                )
        if not has_iri:
            if term_has_colon:
                prefix = term[:colon]
                if prefix in local:
                    self._create_term(active, local, prefix, defined, False)
                prefix_def = active.terms.get(prefix)
                if prefix_def is not None and prefix_def.iri is not None:
                    td.iri = prefix_def.iri + term[colon + 1 :]
                elif prefix_def is not None:
                    raise Unsupported("a compact IRI over a null prefix")
                else:
                    td.iri = term
            elif "/" in term:
                raise Unsupported("a relative-IRI term")
            else:
                if active.vocab is None:
                    raise _invalid(f"the term {term!r:.80} has no IRI and there is no @vocab")
                td.iri = active.vocab + term
        if value.get("@protected") or (defined["@protected"] and value.get("@protected", True)):
            td.protected = True
        if "@type" in value:
            type_ = value["@type"]
            if not isinstance(type_, str):
                raise _invalid(f"invalid type mapping for {term!r:.80}")
            if type_ == "@none":
                raise Unsupported("@type: @none")
            if type_ not in ("@id", "@vocab", "@json"):
                type_ = self.expand_iri(active, type_, vocab=True, local=local, defined=defined)
                if not isinstance(type_, str) or not _pyld_absolute(type_):
                    raise _invalid(f"the type mapping of {term!r:.80} must be an absolute IRI")
                if type_.startswith("_:"):
                    raise _invalid(f"the type mapping of {term!r:.80} is a blank node")
            td.type = type_
        if "@container" in value:
            raw = _arrayify(value["@container"])
            if not all(isinstance(c, str) for c in raw):
                raise _invalid(f"invalid container mapping for {term!r:.80}")
            container = frozenset(raw)
            if len(container) != len(raw) or container not in _SUPPORTED_CONTAINERS:
                if container <= {"@list", "@set", "@index", "@language", "@graph", "@id", "@type"}:
                    raise Unsupported(f"@container {sorted(container)}")
                raise _invalid(f"invalid container mapping for {term!r:.80}")
            td.container = container
        if "@context" in value:
            td.has_context = True
            td.context = value["@context"]
            td.context_key = _context_key(td.context)
        if "@language" in value and "@type" not in value:
            language = value["@language"]
            if language is not None and not isinstance(language, str):
                raise _invalid(f"invalid language mapping for {term!r:.80}")
            td.language = language.lower() if language is not None else None
            td.has_language = True
        if "@prefix" in value:
            if ":" in term or "/" in term:
                raise _invalid(f"@prefix is not allowed on {term!r:.80}")
            if td.iri in KEYWORDS:
                raise _invalid(f"@prefix is not allowed on keyword alias {term!r:.80}")
            if not isinstance(value["@prefix"], bool):
                raise _invalid("@prefix must be true or false")
            td.prefix = value["@prefix"]
        if td.iri in ("@context", "@preserve"):
            raise _invalid(f"{td.iri} cannot be aliased")
        if previous is not None and previous.protected and not override_protected:
            td.protected = True
            if not td.same_as(previous):
                raise _invalid(
                    f"the protected term {term!r:.80} cannot be redefined",
                    "jsonld.protected_redefinition",
                )
            td = previous
        active.terms[term] = td
        defined[term] = True

    # -- IRI Expansion (JSON-LD 1.1 §5.2) --------------------------------------------

    def expand_iri(
        self,
        active: Context,
        value: Any,
        *,
        vocab: bool = False,
        local: dict[str, Any] | None = None,
        defined: dict[str, bool] | None = None,
    ) -> Any:
        if value is None or not isinstance(value, str) or value in KEYWORDS:
            return value
        if value[:1] == "@" and _KEYWORD_FORM.match(value):
            return None
        if (
            defined is not None
            and local is not None
            and value in local
            and defined.get(value) is not True
        ):
            self._create_term(active, local, value, defined, False)
        if vocab:
            td = active.terms.get(value)
            if td is not None:
                return td.iri
        colon = value.find(":")
        if colon > 0:
            prefix = value[:colon]
            suffix = value[colon + 1 :]
            if prefix == "_" or suffix.startswith("//"):
                return value
            if (
                local is not None
                and defined is not None
                and prefix in local
                and not defined.get(prefix)
            ):
                self._create_term(active, local, prefix, defined, False)
            td = active.terms.get(prefix)
            if td is not None and td.prefix and td.iri is not None:
                return td.iri + suffix
            if _pyld_absolute(value):
                return value
        if vocab and active.vocab is not None:
            return active.vocab + value
        return value


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _too_deep()


class _Expander(_Processor):
    """JSON-LD 1.1 Expansion (§5.1), mirroring pyld 3.3.0's control flow."""

    def expand_document(self, document: Any) -> list[Any]:
        expanded = self.expand(self.root, None, document, False, None, 0)
        if isinstance(expanded, dict) and "@graph" in expanded and len(expanded) == 1:
            expanded = expanded["@graph"]
        elif expanded is None:
            expanded = []
        return _arrayify(expanded)

    def expand(
        self,
        active: Context,
        prop: str | None,
        element: Any,
        inside_list: bool,
        type_scoped: Context | None,
        depth: int,
    ) -> Any:
        if depth > MAX_DEPTH:
            raise _too_deep()
        if element is None:
            return None
        if isinstance(element, list):
            td = active.terms.get(prop) if prop is not None else None
            inside_list = inside_list or (td is not None and "@list" in td.container)
            out: list[Any] = []
            for item in element:
                item = self.expand(active, prop, item, inside_list, type_scoped, depth + 1)
                if inside_list and isinstance(item, list):
                    item = {"@list": item}
                if item is not None:
                    if isinstance(item, list):
                        out.extend(item)
                    else:
                        out.append(item)
            return out
        if not isinstance(element, dict):
            if not inside_list and (
                prop is None or self.expand_iri(active, prop, vocab=True) == "@graph"
            ):
                return None
            return self.expand_value(active, prop, element)
        return self.expand_map(active, prop, element, inside_list, type_scoped, depth)

    def expand_value(self, active: Context, prop: str | None, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise Unsupported("a non-finite number")
        expanded_prop = self.expand_iri(active, prop, vocab=True)
        if expanded_prop == "@id":
            return self.expand_iri(active, value)
        if expanded_prop == "@type":
            return self.expand_iri(active, value, vocab=True)
        td = active.terms.get(prop) if prop is not None else None
        type_ = td.type if td is not None else None
        if isinstance(value, str):
            if type_ == "@id" or expanded_prop == "@graph":
                return {"@id": self.expand_iri(active, value)}
            if type_ == "@vocab":
                return {"@id": self.expand_iri(active, value, vocab=True)}
        if isinstance(expanded_prop, str) and expanded_prop in KEYWORDS:
            return value
        rval: dict[str, Any] = {}
        if type_ is not None and type_ not in ("@id", "@vocab", "@none"):
            rval["@type"] = type_
        elif isinstance(value, str):
            language = td.language if td is not None and td.has_language else active.language
            if language is not None:
                rval["@language"] = language
        rval["@value"] = value
        return rval

    def expand_map(
        self,
        active: Context,
        prop: str | None,
        element: dict[str, Any],
        inside_list: bool,
        type_scoped: Context | None,
        depth: int,
    ) -> Any:
        expanded_active_prop = (
            self.expand_iri(active, prop, vocab=True) if prop is not None else None
        )
        td = active.terms.get(prop) if prop is not None else None
        if type_scoped is None and active.previous is not None:
            type_scoped = active
        must_revert = True
        if type_scoped is not None and len(element) <= 2 and "@context" not in element:
            for key in sorted(element):
                expanded_key = self.expand_iri(type_scoped, key, vocab=True)
                if expanded_key == "@value":
                    must_revert = False
                    active = type_scoped
                    break
                if expanded_key == "@id" and len(element) == 1:
                    must_revert = False
                    break
        if must_revert and active.previous is not None:
            active = active.previous
        if td is not None and td.has_context:
            active = self.process(active, td.context, td.context_key, override_protected=True)
        if "@context" in element:
            local = element["@context"]
            if isinstance(local, dict) and len(local) == 1 and "@context" in local:
                raise _invalid("keywords cannot be overridden")
            active = self.process(active, local, None, depth=depth)
        type_scoped = active
        type_key: str | None = None
        keys = sorted(element)
        for key in keys:
            if self.expand_iri(active, key, vocab=True) != "@type":
                continue
            if type_key is None:
                type_key = key
            types = [t for t in _arrayify(element[key]) if isinstance(t, str)]
            for type_ in sorted(types):
                ttd = type_scoped.terms.get(type_)
                if ttd is not None and ttd.has_context and ttd.context is not None:
                    active = self.process(active, ttd.context, ttd.context_key, propagate=False)
        rval: dict[str, Any] = {}
        self.expand_object(
            active,
            prop,
            expanded_active_prop,
            element,
            keys,
            rval,
            inside_list,
            type_key,
            type_scoped,
            depth,
        )
        return self._finish(rval, element, active, prop, expanded_active_prop, inside_list)

    def _finish(
        self,
        rval: Any,
        element: dict[str, Any],
        active: Context,
        prop: str | None,
        expanded_active_prop: Any,
        inside_list: bool,
    ) -> Any:
        count = len(rval)
        if "@value" in rval:
            if "@type" in rval and ("@language" in rval or "@direction" in rval):
                raise _invalid(
                    "a value object cannot have both @type and @language or @direction",
                    "jsonld.invalid_value",
                )
            extra = (
                count
                - 1
                - sum(1 for k in ("@type", "@index", "@language", "@direction") if k in rval)
            )
            if extra != 0:
                raise _invalid("a value object has extra entries", "jsonld.invalid_value")
            if "@type" in rval:
                if any(
                    self.expand_iri(active, k, vocab=True) == "@type" and isinstance(v, list)
                    for k, v in element.items()
                ):
                    raise _invalid("a typed value needs a single type", "jsonld.invalid_value")
                if rval["@type"] is None:
                    del rval["@type"]
            types = _arrayify(rval["@type"]) if "@type" in rval else []
            value = rval["@value"]
            if "@json" in types and len(types) == 1:
                pass
            elif value is None:
                rval = None
            elif "@language" in rval and not isinstance(value, str):
                raise _invalid("only strings can be language-tagged", "jsonld.invalid_value")
            elif not all(
                isinstance(t, str) and _pyld_absolute(t) and not t.startswith("_:") for t in types
            ):
                raise _invalid("a typed value needs an absolute IRI type", "jsonld.invalid_value")
        elif "@direction" in rval:
            raise Unsupported("@direction outside a value object")
        elif "@type" in rval:
            if rval["@type"] is None:
                raise _invalid("@type cannot be null", "jsonld.invalid_value")
            if not isinstance(rval["@type"], list):
                rval["@type"] = [rval["@type"]]
        elif "@set" in rval or "@list" in rval:
            if count > 1 and not (count == 2 and "@index" in rval):
                raise _invalid("@set/@list objects allow only @index", "jsonld.invalid_value")
            if "@set" in rval:
                rval = rval["@set"]
                count = len(rval)
        elif count == 1 and "@language" in rval:
            rval = None
        if (
            isinstance(rval, dict)
            and not inside_list
            and (prop is None or expanded_active_prop == "@graph")
            and (
                count == 0 or "@value" in rval or "@list" in rval or (count == 1 and "@id" in rval)
            )
        ):
            rval = None
        return rval

    def expand_object(
        self,
        active: Context,
        prop: str | None,
        expanded_active_prop: Any,
        element: dict[str, Any],
        keys: list[str],
        rval: dict[str, Any],
        inside_list: bool,
        type_key: str | None,
        type_scoped: Context,
        depth: int,
    ) -> None:
        is_json_type = False
        if type_key is not None:
            t = element[type_key]
            if isinstance(t, list) and t:
                t = t[0]
            is_json_type = self.expand_iri(active, t, vocab=True) == "@json"
        unexpanded_value: Any = None
        terms = active.terms
        for key in keys:
            if key == "@context":
                continue
            value = element[key]
            td = terms.get(key)
            if td is not None:
                expanded_prop: Any = td.iri
            else:
                expanded_prop = self.expand_iri(active, key, vocab=True)
            is_keyword = isinstance(expanded_prop, str) and expanded_prop in KEYWORDS
            if expanded_prop is None or not (is_keyword or _pyld_absolute(expanded_prop)):
                _raise_dropped(expanded_prop)
            if is_keyword:
                if expanded_active_prop == "@reverse":
                    raise Unsupported("@reverse")
                if expanded_prop in rval and expanded_prop not in ("@included", "@type"):
                    raise _invalid(f"colliding keywords {expanded_prop}", "jsonld.invalid_value")
                if expanded_prop == "@id":
                    if not isinstance(value, str):
                        raise _invalid("@id must be a string", "jsonld.invalid_value")
                    rval["@id"] = self.expand_iri(active, value)
                    continue
                if expanded_prop == "@type":
                    if value is None:
                        _add_value(rval, "@type", None, False)
                        continue
                    if isinstance(value, dict):
                        raise Unsupported("@type as an object")
                    values = _arrayify(value)
                    if not all(isinstance(v, str) for v in values):
                        raise _invalid("@type must be strings", "jsonld.invalid_value")
                    _add_value(
                        rval,
                        "@type",
                        [self.expand_iri(type_scoped, v, vocab=True) for v in values],
                        False,
                    )
                    continue
                if expanded_prop == "@direction":
                    # JSON-LD 1.1 §5.1.2 step 13.4.10: "ltr" or "rtl" only.
                    if isinstance(value, list):
                        raise Unsupported("@direction as an array")
                    if value not in ("ltr", "rtl"):
                        raise _invalid('@direction must be "ltr" or "rtl"', "jsonld.invalid_value")
                    rval["@direction"] = value
                    continue
                if expanded_prop in ("@included", "@reverse", "@nest"):
                    raise Unsupported(expanded_prop)
                if expanded_prop == "@graph" and not isinstance(value, dict | list):
                    raise _invalid("@graph must be an object or array", "jsonld.invalid_value")
                if expanded_prop == "@value":
                    unexpanded_value = value
                    if isinstance(value, float) and not math.isfinite(value):
                        raise Unsupported("a non-finite number")
                    if is_json_type:
                        rval["@value"] = value
                    else:
                        _add_value(rval, "@value", value, False)
                    continue
                if expanded_prop == "@language":
                    if value is None:
                        continue
                    if not isinstance(value, str):
                        raise _invalid("@language must be a string", "jsonld.invalid_value")
                    rval["@language"] = value.lower()
                    continue
                if expanded_prop == "@index":
                    if not isinstance(value, str):
                        raise _invalid("@index must be a string", "jsonld.invalid_value")
                    rval["@index"] = value
                    continue
            term_ctx = active
            if td is not None and td.has_context:
                term_ctx = self.process(active, td.context, td.context_key, override_protected=True)
            container = td.container if td is not None else frozenset()
            if "@language" in container and isinstance(value, dict):
                expanded_value: Any = self._language_map(term_ctx, value)
            else:
                if expanded_prop in ("@list", "@set"):
                    next_prop = prop
                    is_list = expanded_prop == "@list"
                    if is_list and expanded_active_prop == "@graph":
                        next_prop = None
                    expanded_value = self.expand(
                        term_ctx, next_prop, value, is_list, None, depth + 1
                    )
                elif td is not None and td.type == "@json":
                    expanded_value = {"@type": "@json", "@value": value}
                else:
                    expanded_value = self.expand(term_ctx, key, value, False, None, depth + 1)
            if expanded_value is None and expanded_prop != "@value":
                continue
            if (
                expanded_prop != "@list"
                and "@list" in container
                and not (isinstance(expanded_value, dict) and "@list" in expanded_value)
            ):
                expanded_value = {"@list": _arrayify(expanded_value)}
            if "@graph" in container:
                expanded_value = [{"@graph": [v]} for v in _arrayify(expanded_value)]
            as_array = expanded_prop not in ("@index", "@id", "@type", "@value", "@language")
            _add_value(rval, expanded_prop, expanded_value, as_array)
        if (
            "@value" in rval
            and not (rval.get("@type") == "@json")
            and isinstance(unexpanded_value, dict | list)
        ):
            raise _invalid("@value must be a scalar", "jsonld.invalid_value")

    def _language_map(self, active: Context, value: dict[str, Any]) -> list[Any]:
        out = []
        for key in sorted(value):
            expanded_key = self.expand_iri(active, key, vocab=True)
            for item in _arrayify(value[key]):
                if item is None:
                    continue
                if not isinstance(item, str):
                    raise _invalid("language map values must be strings", "jsonld.invalid_value")
                val: dict[str, Any] = {"@value": item}
                if expanded_key != "@none":
                    val["@language"] = key.lower()
                out.append(val)
        return out


# -- Deserialize JSON-LD to RDF (JSON-LD 1.1 §8.1, as pyld's node map + toRdf) ---------


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
        raise _too_deep()
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


class _RdfWriter:
    """Turns expanded JSON-LD into quads, deduplicating values like pyld's node map."""

    def __init__(self) -> None:
        self.quads: list[rdfc.Quad] = []
        self.labels: dict[str, str] = {}
        self.counter = 0
        self.seen: dict[tuple[str, str, str, str], set[Any] | list[Any]] = {}

    def bnode(self, label: str | None = None) -> str:
        if label is not None:
            found = self.labels.get(label)
            if found is not None:
                return found
        new = "_:b" + str(self.counter)
        self.counter += 1
        if label is not None:
            self.labels[label] = new
        return new

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
        _check_depth(depth)
        ident = node.get("@id")
        if ident is None or ident.startswith("_:"):
            sid = self.bnode(ident)
            subject: str | None = sid
        else:
            if not _strict_absolute(ident):
                raise _relative(ident, "id")
            sid = ident
            subject = "<" + ident + ">" if _pyld_absolute(ident) else None
        types = node.get("@type")
        if types:
            for t in types:
                if t != "@json" and not _strict_absolute(t):
                    raise _relative(t, "type")
                if t.startswith("_:"):
                    t = self.bnode(t)
                    obj = t
                else:
                    obj = "<" + t + ">" if _pyld_absolute(t) else ""
                if subject is not None and obj:
                    self.emit(subject, RDF_TYPE, obj, graph, ("t", t))
        for prop in sorted(node):
            if prop[:1] == "@":
                if prop == "@graph":
                    self.graph(node["@graph"], sid, depth + 1)
                elif prop in ("@reverse", "@included"):
                    raise Unsupported(prop)
                continue
            if not _strict_absolute(prop):
                raise _relative(prop, "property")
            predicate: str | None = (
                "<" + prop + ">" if not prop.startswith("_:") and _pyld_absolute(prop) else None
            )
            for item in node[prop]:
                term, key = self.object(item, graph, depth + 1)
                if subject is not None and predicate is not None and term is not None:
                    self.emit(subject, predicate, term, graph, key)
        return sid, subject

    def graph(self, items: Any, name: str, depth: int) -> None:
        _check_depth(depth)
        graph = name if name.startswith("_:") else "<" + name + ">"
        if not name.startswith("_:") and not _pyld_absolute(name):
            raise Unsupported("a relative graph name")
        for item in _arrayify(items):
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
        return ("<" + sid + ">" if _pyld_absolute(sid) else None), ("n", sid)

    def rdf_list(self, items: list[Any], graph: str, depth: int) -> str:
        _check_depth(depth)
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
        return _literal(
            item["@value"],
            item.get("@type"),
            item.get("@language"),
            item.get("@index"),
            item.get("@direction"),
            item,
        )


def _literal(
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
    if datatype is not None and datatype != "@json" and not _strict_absolute(datatype):
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


# -- The direct path: expansion straight to quads for the common shape -----------------
#
# Credentials are nested node objects whose keys are plain terms, ``id``/``type`` and
# ``@context``, with string, number and boolean values. ``_Direct`` turns exactly that
# shape into quads in one walk, with no expanded form in between, using what each key
# means in each processed context (``_KeyInfo``, memoized on the context). It takes the
# same decisions as ``_Expander`` + ``_RdfWriter`` (JSON-LD 1.1 §5.1 and §8.1 as pyld
# 3.3.0 runs them) and gives up (``_Bail``) on anything else: value objects, lists,
# containers other than ``@set``, ``@json``, language maps, any keyword but ``@id``,
# ``@type`` and ``@context``, and anything strict mode would reject. ``to_quads`` then
# runs the general path, which raises the right error or handles the feature, so the
# direct path never decides an error.
#
# Blank node labels and quad order differ from the general path's; RDFC-1.0 output does
# not depend on either, and the same values are deduplicated (pyld's node map), so the
# canonical N-Quads are the same. tests/core/test_canonicalize_differential.py checks it.

_K_PROP, _K_ID, _K_TYPE, _K_CONTEXT, _K_BAIL = range(5)
_KEY_INFO_LIMIT = 4096
_NO_CONTAINER: frozenset[str] = frozenset()
_SET_ONLY = frozenset({"@set"})
_LIST_ONLY = frozenset({"@list"})
_GRAPH_CONTAINERS = (frozenset({"@graph"}), frozenset({"@graph", "@set"}))
_DIRECT_CONTAINERS = (_NO_CONTAINER, _SET_ONLY, _LIST_ONLY, *_GRAPH_CONTAINERS)


class _Bail(Exception):
    """The direct path met something it leaves to the general path."""


class _KeyInfo:
    """What one key of a node object means in one processed context."""

    __slots__ = (
        "coerce",
        "datatype",
        "is_graph",
        "is_list",
        "kind",
        "language",
        "pred",
        "prop",
        "term_ctx",
    )

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.prop = ""
        self.pred = ""
        self.term_ctx: Context | None = None
        # 0: strings are literals; 1: strings are IRIs (@id); 2: vocabulary IRIs (@vocab).
        self.coerce = 0
        self.datatype: str | None = None
        self.language: str | None = None
        self.is_list = False
        self.is_graph = False


class _Direct(_Processor):
    def __init__(self, loader: DocumentLoader) -> None:
        super().__init__(loader)
        self.quads: list[rdfc.Quad] = []
        self.seen: set[tuple[str, str, str, Any]] = set()
        self.labels: dict[str, str] = {}
        self.counter = 0
        # The graph being written: "" (default) or the blank node of an @graph container.
        self.graph = ""

    def run(self, document: Any) -> list[rdfc.Quad]:
        if not isinstance(document, dict):
            raise _Bail
        self.node(document, self.root, None, 0)
        return self.quads

    def bnode(self, label: str | None = None) -> str:
        if label is not None:
            found = self.labels.get(label)
            if found is not None:
                return found
        new = "_:b" + str(self.counter)
        self.counter += 1
        if label is not None:
            self.labels[label] = new
        return new

    def emit(self, s: str, p: str, o: str, key: Any) -> None:
        # pyld's node map keeps one copy of equal values of a subject's property.
        slot = (self.graph, s, p, key)
        if slot not in self.seen:
            self.seen.add(slot)
            self.quads.append((s, p, o, self.graph))

    def vocab_iri(self, active: Context, value: str) -> Any:
        memo = active.vocab_memo
        found = memo.get(value, _MISSING)
        if found is _MISSING:
            found = self.expand_iri(active, value, vocab=True)
            if len(memo) < _KEY_INFO_LIMIT:
                memo[value] = found
        return found

    def id_iri(self, active: Context, value: str) -> Any:
        memo = active.id_memo
        found = memo.get(value, _MISSING)
        if found is _MISSING:
            found = self.expand_iri(active, value)
            if len(memo) < _KEY_INFO_LIMIT:
                memo[value] = found
        return found

    def iri_term(self, iri: Any) -> str:
        """The N-Quads term for a node identifier, or ``_Bail``."""
        if not isinstance(iri, str):
            raise _Bail
        if iri[:2] == "_:":
            return self.bnode(iri)
        if not _strict_absolute(iri):
            raise _Bail
        return "<" + iri + ">"

    def key_info(self, active: Context, key: str) -> _KeyInfo:
        info = active.key_info.get(key)
        if info is None:
            info = self._key_info(active, key)
            if len(active.key_info) < _KEY_INFO_LIMIT:
                active.key_info[key] = info
        return info

    def _key_info(self, active: Context, key: str) -> _KeyInfo:
        if key == "@context":
            return _KeyInfo(_K_CONTEXT)
        td = active.terms.get(key)
        expanded = td.iri if td is not None else self.expand_iri(active, key, vocab=True)
        if expanded == "@id":
            return _KeyInfo(_K_ID)
        if expanded == "@type":
            return _KeyInfo(_K_TYPE)
        if (
            not isinstance(expanded, str)
            or expanded in KEYWORDS
            or expanded[:2] == "_:"
            or not _strict_absolute(expanded)
        ):
            return _KeyInfo(_K_BAIL)
        container = td.container if td is not None else _NO_CONTAINER
        if container not in _DIRECT_CONTAINERS or (td is not None and td.type == "@json"):
            return _KeyInfo(_K_BAIL)
        term_ctx = active
        if td is not None and td.has_context:
            # As in expand_object: values are expanded in the property-scoped context.
            term_ctx = self.process(active, td.context, td.context_key, override_protected=True)
        vtd = term_ctx.terms.get(key)
        if term_ctx is not active and self.expand_iri(term_ctx, key, vocab=True) != expanded:
            return _KeyInfo(_K_BAIL)
        value_container = vtd.container if vtd is not None else _NO_CONTAINER
        is_list = container == _LIST_ONLY
        # A list needs @list in both the term and the scoped term (expand() checks one,
        # expand_object the other); anything in between is left to the general path.
        is_graph = container in _GRAPH_CONTAINERS
        if (
            (value_container == _LIST_ONLY) != is_list
            or (value_container in _GRAPH_CONTAINERS) != is_graph
            or value_container not in _DIRECT_CONTAINERS
            or (vtd is not None and vtd.type == "@json")
        ):
            return _KeyInfo(_K_BAIL)
        info = _KeyInfo(_K_PROP)
        info.is_list = is_list
        info.is_graph = is_graph
        info.prop = key
        info.pred = "<" + expanded + ">"
        info.term_ctx = term_ctx
        vtype = vtd.type if vtd is not None else None
        if vtype == "@id":
            info.coerce = 1
        elif vtype == "@vocab":
            info.coerce = 2
        elif vtype is not None:
            if vtype == "@none" or not _strict_absolute(vtype):
                return _KeyInfo(_K_BAIL)
            info.datatype = vtype
        if info.datatype is None:
            info.language = (
                vtd.language if vtd is not None and vtd.has_language else term_ctx.language
            )
        return info

    # JSON-LD 1.1 §5.1 "Expansion" for a node object, as expand_map does it, with the
    # statements written as they are found (§8.1, pyld's node map and toRdf).
    def node(self, element: dict[str, Any], ctx: Context, prop: str | None, depth: int) -> str:
        if depth > MAX_DEPTH:
            raise _Bail
        active = ctx
        if ctx.previous is not None:
            # A type-scoped context does not propagate into node objects (§4.1.2 step 4),
            # except into a value object or a lone node reference.
            revert = True
            if len(element) <= 2 and "@context" not in element:
                for key in element:
                    expanded = self.vocab_iri(ctx, key)
                    if expanded == "@value":
                        raise _Bail
                    revert = not (expanded == "@id" and len(element) == 1)
            if revert:
                active = ctx.previous
        if prop is not None:
            td = ctx.terms.get(prop)
            if td is not None and td.has_context:
                active = self.process(active, td.context, td.context_key, override_protected=True)
        if "@context" in element:
            local = element["@context"]
            if isinstance(local, dict) and len(local) == 1 and "@context" in local:
                raise _Bail
            active = self.process(active, local, None, depth=depth)
        type_scoped = active
        type_key: str | None = None
        memo = type_scoped.vocab_memo
        for key in element:
            expanded = memo.get(key, _MISSING)
            if expanded is _MISSING:
                expanded = self.vocab_iri(type_scoped, key)
            if expanded == "@type":
                if type_key is not None:
                    raise _Bail
                type_key = key
        type_terms: tuple[tuple[str, Any], ...] = ()
        if type_key is not None:
            active, type_terms = self.types(type_scoped, element[type_key])
        subject: str | None = None
        props: list[tuple[_KeyInfo, Any]] = []
        infos = active.key_info
        for key, value in element.items():
            info = infos.get(key)
            if info is None:
                info = self.key_info(active, key)
            kind = info.kind
            if kind == _K_PROP:
                if value is not None:
                    props.append((info, value))
            elif kind == _K_ID:
                if subject is not None or not isinstance(value, str):
                    raise _Bail
                subject = self.iri_term(self.id_iri(active, value))
            elif kind == _K_TYPE:
                if key != type_key:
                    raise _Bail
            elif kind != _K_CONTEXT:
                raise _Bail
        if subject is None:
            subject = self.bnode()
        seen = self.seen
        quads = self.quads
        graph = self.graph
        for term, key in type_terms:
            slot = (graph, subject, RDF_TYPE, key)
            if slot not in seen:
                seen.add(slot)
                quads.append((subject, RDF_TYPE, term, graph))
        for info, value in props:
            if info.is_list:
                self.list_value(subject, info, value, depth + 1)
            elif info.is_graph:
                self.graph_value(subject, info, value, depth + 1)
            elif isinstance(value, list):
                self.values(subject, info, value, depth + 1)
            else:
                term, key = self.value(info, value, depth + 1)
                slot = (graph, subject, info.pred, key)
                if slot not in seen:
                    seen.add(slot)
                    quads.append((subject, info.pred, term, graph))
        return subject

    def types(self, type_scoped: Context, raw: Any) -> tuple[Context, tuple[tuple[str, Any], ...]]:
        """The context after the type-scoped contexts of ``raw``, and the type terms."""
        if isinstance(raw, str):
            raw = [raw]
        elif not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
            raise _Bail
        memo_key = tuple(raw)
        found = type_scoped.type_memo.get(memo_key)
        if found is not None:
            return found
        active = type_scoped
        for t in sorted(raw):
            ttd = type_scoped.terms.get(t)
            if ttd is not None and ttd.has_context and ttd.context is not None:
                active = self.process(active, ttd.context, ttd.context_key, propagate=False)
        terms = []
        for t in raw:
            iri = self.vocab_iri(type_scoped, t)
            if not isinstance(iri, str) or iri[:2] == "_:" or not _strict_absolute(iri):
                raise _Bail
            # The node map keeps @type apart from a property that happens to be
            # rdf:type, so the type's identity is tagged.
            terms.append(("<" + iri + ">", ("t", iri)))
        result = (active, tuple(terms))
        if len(type_scoped.type_memo) < _KEY_INFO_LIMIT:
            type_scoped.type_memo[memo_key] = result
        return result

    def values(self, subject: str, info: _KeyInfo, value: list[Any], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise _Bail
        # Nested arrays flatten (§5.1.2 step 5.2.3), and null items vanish.
        for item in value:
            if item is None:
                continue
            if isinstance(item, list):
                self.values(subject, info, item, depth + 1)
            else:
                term, key = self.value(info, item, depth + 1)
                self.emit(subject, info.pred, term, key)

    def graph_value(self, subject: str, info: _KeyInfo, value: Any, depth: int) -> None:
        # An @graph container (§5.1.2 step 13.8.4): each node object becomes a blank
        # node named graph holding that node, and the property points at the graph.
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if not isinstance(item, dict):
                raise _Bail
            name = self.bnode()
            self.emit(subject, info.pred, name, name)
            assert info.term_ctx is not None
            outer = self.graph
            self.graph = name
            try:
                self.node(item, info.term_ctx, info.prop, depth + 1)
            finally:
                self.graph = outer

    def list_value(self, subject: str, info: _KeyInfo, value: Any, depth: int) -> None:
        # An @list container: an RDF collection (§8.1.3 "List Conversion"). pyld does
        # not deduplicate lists, so neither the head nor the items go through emit().
        terms = []
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, list):
                raise _Bail
            terms.append(self.value(info, item, depth + 1)[0])
        graph = self.graph
        if not terms:
            self.quads.append((subject, info.pred, RDF_NIL, graph))
            return
        node = head = self.bnode()
        last = len(terms) - 1
        for i, term in enumerate(terms):
            self.quads.append((node, RDF_FIRST, term, graph))
            nxt = RDF_NIL if i == last else self.bnode()
            self.quads.append((node, RDF_REST, nxt, graph))
            node = nxt
        self.quads.append((subject, info.pred, head, graph))

    def value(self, info: _KeyInfo, value: Any, depth: int) -> tuple[str, Any]:
        """The object term of one value and its node-map identity."""
        if isinstance(value, dict):
            assert info.term_ctx is not None
            term = self.node(value, info.term_ctx, info.prop, depth + 1)
            return term, term
        if isinstance(value, str):
            if info.coerce:
                assert info.term_ctx is not None
                if info.coerce == 1:
                    iri = self.id_iri(info.term_ctx, value)
                else:
                    iri = self.vocab_iri(info.term_ctx, value)
                term = self.iri_term(iri)
                return term, term
            if info.datatype is None:
                language = info.language
                if language is None:
                    term = '"' + rdfc.escape_literal(value) + '"'
                else:
                    term = '"' + rdfc.escape_literal(value) + '"@' + language
                return term, ("v", False, value, None, language, None, None)
            return _literal(value, info.datatype, None)
        if isinstance(value, float) and not math.isfinite(value):
            raise _Bail
        if not isinstance(value, bool | int | float):
            raise _Bail
        return _literal(value, info.datatype, None)


def to_quads(document: Any, loader: DocumentLoader) -> list[rdfc.Quad]:
    """Strictly expand ``document`` and return its RDF quads (blank nodes ``_:bN``).

    Raises ``JsonLdError`` (codes in the module docstring), ``ContextError`` from the
    loader, or :class:`Unsupported` for features this path does not implement.
    """
    try:
        return _Direct(loader).run(document)
    except (_Bail, JsonLdError, ContextError, Unsupported, RecursionError):
        # The general path decides: it raises the precise error or handles the feature.
        pass
    return to_quads_general(document, loader)


def to_quads_general(document: Any, loader: DocumentLoader) -> list[rdfc.Quad]:
    """``to_quads`` through the expanded form (the path for every JSON-LD feature)."""
    try:
        expanded = _Expander(loader).expand_document(document)
        writer = _RdfWriter()
        for item in expanded:
            if isinstance(item, dict) and "@value" not in item and "@list" not in item:
                writer.node(item, "", 1)
    except RecursionError:
        raise _too_deep() from None
    return writer.quads
