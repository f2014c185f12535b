"""The direct path: expansion straight to quads for the common shape of a credential.

Credentials are nested node objects whose keys are plain terms, ``id``/``type`` and
``@context``, with string, number and boolean values. ``Direct`` turns exactly that
shape into quads in one walk, with no expanded form in between, using what each key
means in each processed context (``KeyInfo``, memoized on the context). It takes the
same decisions as ``Expander`` + ``RdfWriter`` (JSON-LD 1.1 §5.1 and §8.1 as pyld
3.3.0 runs them) and gives up (``Bail``) on anything else: value objects, lists,
containers other than ``@set``, ``@json``, language maps, any keyword but ``@id``,
``@type`` and ``@context``, and anything strict mode would reject. ``to_quads`` then
runs the general path, which raises the right error or handles the feature, so the
direct path never decides an error.

Blank node labels and quad order differ from the general path's; RDFC-1.0 output does
not depend on either, and the same values are deduplicated (pyld's node map), so the
canonical N-Quads are the same. tests/core/test_canonicalize_differential.py checks it.
"""

from __future__ import annotations

import math
from typing import Any

from .. import rdfc
from ..loader import DocumentLoader
from .context import Context, Processor
from .rdf import literal_term
from .syntax import KEYWORDS, MAX_DEPTH, RDF_FIRST, RDF_NIL, RDF_REST, RDF_TYPE, strict_absolute

_MISSING: Any = object()
_K_PROP, _K_ID, _K_TYPE, _K_CONTEXT, _K_BAIL = range(5)
_KEY_INFO_LIMIT = 4096
_NO_CONTAINER: frozenset[str] = frozenset()
_SET_ONLY = frozenset({"@set"})
_LIST_ONLY = frozenset({"@list"})
_GRAPH_CONTAINERS = (frozenset({"@graph"}), frozenset({"@graph", "@set"}))
_DIRECT_CONTAINERS = (_NO_CONTAINER, _SET_ONLY, _LIST_ONLY, *_GRAPH_CONTAINERS)


class Bail(Exception):
    """The direct path met something it leaves to the general path."""


class KeyInfo:
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


class Direct(Processor):
    def __init__(self, loader: DocumentLoader) -> None:
        super().__init__(loader)
        self.quads: list[rdfc.Quad] = []
        self.seen: set[tuple[str, str, str, Any]] = set()
        # Blank nodes are labelled _:b0, _:b1… in order; one label names one node.
        self.bnode = rdfc.IdentifierIssuer("_:b").issue
        # The graph being written: "" (default) or the blank node of an @graph container.
        self.graph = ""

    def run(self, document: Any) -> list[rdfc.Quad]:
        if not isinstance(document, dict):
            raise Bail
        self.node(document, self.root, None, 0)
        return self.quads

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
        """The N-Quads term for a node identifier, or ``Bail``."""
        if not isinstance(iri, str):
            raise Bail
        if iri[:2] == "_:":
            return self.bnode(iri)
        if not strict_absolute(iri):
            raise Bail
        return "<" + iri + ">"

    def key_info(self, active: Context, key: str) -> KeyInfo:
        info = active.key_info.get(key)
        if info is None:
            info = self._key_info(active, key)
            if len(active.key_info) < _KEY_INFO_LIMIT:
                active.key_info[key] = info
        return info

    def _key_info(self, active: Context, key: str) -> KeyInfo:
        if key == "@context":
            return KeyInfo(_K_CONTEXT)
        td = active.terms.get(key)
        expanded = td.iri if td is not None else self.expand_iri(active, key, vocab=True)
        if expanded == "@id":
            return KeyInfo(_K_ID)
        if expanded == "@type":
            return KeyInfo(_K_TYPE)
        if (
            not isinstance(expanded, str)
            or expanded in KEYWORDS
            or expanded[:2] == "_:"
            or not strict_absolute(expanded)
        ):
            return KeyInfo(_K_BAIL)
        container = td.container if td is not None else _NO_CONTAINER
        if container not in _DIRECT_CONTAINERS or (td is not None and td.type == "@json"):
            return KeyInfo(_K_BAIL)
        term_ctx = active
        if td is not None and td.has_context:
            # As in expand_object: values are expanded in the property-scoped context.
            term_ctx = self.process(active, td.context, td.context_key, override_protected=True)
        vtd = term_ctx.terms.get(key)
        if term_ctx is not active and self.expand_iri(term_ctx, key, vocab=True) != expanded:
            return KeyInfo(_K_BAIL)
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
            return KeyInfo(_K_BAIL)
        info = KeyInfo(_K_PROP)
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
            if vtype == "@none" or not strict_absolute(vtype):
                return KeyInfo(_K_BAIL)
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
            raise Bail
        active = ctx
        if ctx.previous is not None:
            # A type-scoped context does not propagate into node objects (§4.1.2 step 4),
            # except into a value object or a lone node reference.
            revert = True
            if len(element) <= 2 and "@context" not in element:
                for key in element:
                    expanded = self.vocab_iri(ctx, key)
                    if expanded == "@value":
                        raise Bail
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
                raise Bail
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
                    raise Bail
                type_key = key
        type_terms: tuple[tuple[str, Any], ...] = ()
        if type_key is not None:
            active, type_terms = self.types(type_scoped, element[type_key])
        subject: str | None = None
        props: list[tuple[KeyInfo, Any]] = []
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
                    raise Bail
                subject = self.iri_term(self.id_iri(active, value))
            elif kind == _K_TYPE:
                if key != type_key:
                    raise Bail
            elif kind != _K_CONTEXT:
                raise Bail
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
            raise Bail
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
            if not isinstance(iri, str) or iri[:2] == "_:" or not strict_absolute(iri):
                raise Bail
            # The node map keeps @type apart from a property that happens to be
            # rdf:type, so the type's identity is tagged.
            terms.append(("<" + iri + ">", ("t", iri)))
        result = (active, tuple(terms))
        if len(type_scoped.type_memo) < _KEY_INFO_LIMIT:
            type_scoped.type_memo[memo_key] = result
        return result

    def values(self, subject: str, info: KeyInfo, value: list[Any], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise Bail
        # Nested arrays flatten (§5.1.2 step 5.2.3), and null items vanish.
        for item in value:
            if item is None:
                continue
            if isinstance(item, list):
                self.values(subject, info, item, depth + 1)
            else:
                term, key = self.value(info, item, depth + 1)
                self.emit(subject, info.pred, term, key)

    def graph_value(self, subject: str, info: KeyInfo, value: Any, depth: int) -> None:
        # An @graph container (§5.1.2 step 13.8.4): each node object becomes a blank
        # node named graph holding that node, and the property points at the graph.
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if not isinstance(item, dict):
                raise Bail
            name = self.bnode()
            self.emit(subject, info.pred, name, name)
            assert info.term_ctx is not None
            outer = self.graph
            self.graph = name
            try:
                self.node(item, info.term_ctx, info.prop, depth + 1)
            finally:
                self.graph = outer

    def list_value(self, subject: str, info: KeyInfo, value: Any, depth: int) -> None:
        # An @list container: an RDF collection (§8.1.3 "List Conversion"). pyld does
        # not deduplicate lists, so neither the head nor the items go through emit().
        terms = []
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            if isinstance(item, list):
                raise Bail
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

    def value(self, info: KeyInfo, value: Any, depth: int) -> tuple[str, Any]:
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
            return literal_term(value, info.datatype, None)
        if isinstance(value, float) and not math.isfinite(value):
            raise Bail
        if not isinstance(value, bool | int | float):
            raise Bail
        return literal_term(value, info.datatype, None)
