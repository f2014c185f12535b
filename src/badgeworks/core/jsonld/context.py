"""Context Processing (JSON-LD 1.1 §4.1), Create Term Definition (§4.2) and IRI Expansion (§5.2).

Processed contexts are cached on the parent context object, keyed by the context URL or
value, so the bundled contexts are processed once per loader and process.
"""

from __future__ import annotations

import json
import re
import weakref
from typing import TYPE_CHECKING, Any

from ..errors import JsonLdError
from ..loader import DocumentLoader
from .syntax import (
    KEYWORDS,
    MAX_DEPTH,
    Unsupported,
    arrayify,
    pyld_absolute,
    strict_absolute,
    too_deep,
)

if TYPE_CHECKING:
    from .direct import KeyInfo

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
_PREFIX_END = re.compile(r".*[:/\?#\[\]@]$")
_TERM_NEEDS_CHECK = re.compile(r".*((:[^:])|/)")

_CACHE_LIMIT = 512


def invalid(message: str, code: str = "jsonld.invalid_context") -> JsonLdError:
    return JsonLdError(message, code=code)


def _string_or_null(ctx: dict[str, Any], keyword: str) -> str | None:
    """The value of a context keyword that must be a string or null."""
    value = ctx[keyword]
    if value is not None and not isinstance(value, str):
        raise invalid(f"{keyword} must be a string or null")
    return value


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
        # Memos for the direct path (``Direct``), filled only once the context is
        # complete: what each key means here, and how strings expand as IRIs.
        self.key_info: dict[str, KeyInfo] = {}
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


def root_for(loader: DocumentLoader) -> Context:
    root = _ROOTS.get(loader)
    if root is None:
        root = Context()
        _ROOTS[loader] = root
    return root


def context_key(value: Any) -> str:
    if isinstance(value, str):
        return "u" + value
    try:
        return "j" + json.dumps(value, sort_keys=True, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise invalid(f"the @context value is not JSON: {exc}") from None


class Processor:
    """One expansion: the loader, its context cache root and the strictness state."""

    def __init__(self, loader: DocumentLoader) -> None:
        self.loader = loader
        self.root = root_for(loader)

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
            key = context_key(local)
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
            raise invalid("context references nest too deeply (a cycle?)", "jsonld.too_deep")
        for item in arrayify(local):
            if isinstance(item, str):
                doc = self.loader.load_context(item)
                if not isinstance(doc, dict) or "@context" not in doc:
                    raise invalid(f"the document {item!r:.120} is not a JSON-LD context")
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
                raise invalid(f"invalid @context entry {item!r:.80}")

    def _process(
        self, active: Context, local: Any, override_protected: bool, propagate: bool, depth: int
    ) -> Context:
        if depth > MAX_DEPTH:
            raise too_deep()
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
                    raise invalid(
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
            raise invalid(f"unsupported @version {ctx['@version']!r:.40}")
        if "@import" in ctx:
            raise Unsupported("@import")
        if "@base" in ctx and ctx["@base"] is not None:
            raise Unsupported("@base")
        if "@direction" in ctx:
            raise Unsupported("@direction")
        if "@vocab" in ctx:
            vocab = _string_or_null(ctx, "@vocab")
            if vocab is not None:
                vocab = self.expand_iri(result, vocab, vocab=True)
                if not isinstance(vocab, str) or not strict_absolute(vocab):
                    raise Unsupported("a relative or blank-node @vocab")
            result.vocab = vocab
        if "@language" in ctx:
            language = _string_or_null(ctx, "@language")
            result.language = language.lower() if language is not None else None
        if "@propagate" in ctx and not isinstance(ctx["@propagate"], bool):
            raise invalid("@propagate must be true or false")
        protected = ctx.get("@protected", False)
        if "@protected" in ctx and protected is not True:
            # pyld rejects an explicit false (as a cyclic definition); so do we.
            raise invalid("@protected must be true")
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
                    raise invalid(f"invalid scoped context for {term!r:.80}: {exc}") from None
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
            raise invalid(f"cyclic IRI mapping for term {term!r:.80}")
        defined[term] = False
        value = local.get(term)
        if term == "@type":
            raise Unsupported("a @type term definition")
        if term in KEYWORDS:
            raise invalid(f"keywords cannot be redefined: {term!r:.80}")
        if _KEYWORD_FORM.match(term):
            defined[term] = True
            return
        if term == "":
            raise invalid("the empty string is not a valid term")
        previous = active.terms.pop(term, None)
        simple = False
        if value is None or isinstance(value, str):
            simple = True
            value = {"@id": value}
        if not isinstance(value, dict):
            raise invalid(f"term definition for {term!r:.80} must be a string or object")
        for kw in value:
            if kw not in _TERM_KEYS:
                raise invalid(f"invalid key {kw!r:.40} in term definition {term!r:.80}")
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
                raise invalid(f"invalid IRI mapping for {term!r:.80}")
            if iri is None:
                has_iri = True
            elif iri not in KEYWORDS and _KEYWORD_FORM.match(iri):
                raise Unsupported("a term mapped to a reserved @-form")
            elif iri != term:
                expanded = self.expand_iri(active, iri, vocab=True, local=local, defined=defined)
                if not isinstance(expanded, str) or (
                    expanded not in KEYWORDS and not pyld_absolute(expanded)
                ):
                    raise invalid(f"the term {term!r:.80} does not map to an absolute IRI")
                if _TERM_NEEDS_CHECK.match(term):
                    check = dict(defined)
                    check[term] = True
                    if self.expand_iri(active, term, vocab=True, local=local, defined=check) != (
                        expanded
                    ):
                        raise invalid(f"the term {term!r:.80} must expand to its definition")
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
                    raise invalid(f"the term {term!r:.80} has no IRI and there is no @vocab")
                td.iri = active.vocab + term
        if value.get("@protected") or (defined["@protected"] and value.get("@protected", True)):
            td.protected = True
        if "@type" in value:
            type_ = value["@type"]
            if not isinstance(type_, str):
                raise invalid(f"invalid type mapping for {term!r:.80}")
            if type_ == "@none":
                raise Unsupported("@type: @none")
            if type_ not in ("@id", "@vocab", "@json"):
                type_ = self.expand_iri(active, type_, vocab=True, local=local, defined=defined)
                if not isinstance(type_, str) or not pyld_absolute(type_):
                    raise invalid(f"the type mapping of {term!r:.80} must be an absolute IRI")
                if type_.startswith("_:"):
                    raise invalid(f"the type mapping of {term!r:.80} is a blank node")
            td.type = type_
        if "@container" in value:
            raw = arrayify(value["@container"])
            if not all(isinstance(c, str) for c in raw):
                raise invalid(f"invalid container mapping for {term!r:.80}")
            container = frozenset(raw)
            if len(container) != len(raw) or container not in _SUPPORTED_CONTAINERS:
                if container <= {"@list", "@set", "@index", "@language", "@graph", "@id", "@type"}:
                    raise Unsupported(f"@container {sorted(container)}")
                raise invalid(f"invalid container mapping for {term!r:.80}")
            td.container = container
        if "@context" in value:
            td.has_context = True
            td.context = value["@context"]
            td.context_key = context_key(td.context)
        if "@language" in value and "@type" not in value:
            language = value["@language"]
            if language is not None and not isinstance(language, str):
                raise invalid(f"invalid language mapping for {term!r:.80}")
            td.language = language.lower() if language is not None else None
            td.has_language = True
        if "@prefix" in value:
            if ":" in term or "/" in term:
                raise invalid(f"@prefix is not allowed on {term!r:.80}")
            if td.iri in KEYWORDS:
                raise invalid(f"@prefix is not allowed on keyword alias {term!r:.80}")
            if not isinstance(value["@prefix"], bool):
                raise invalid("@prefix must be true or false")
            td.prefix = value["@prefix"]
        if td.iri in ("@context", "@preserve"):
            raise invalid(f"{td.iri} cannot be aliased")
        if previous is not None and previous.protected and not override_protected:
            td.protected = True
            if not td.same_as(previous):
                raise invalid(
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
            if pyld_absolute(value):
                return value
        if vocab and active.vocab is not None:
            return active.vocab + value
        return value
