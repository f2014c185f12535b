"""RDFC-1.0 (W3C RDF Dataset Canonicalization) over pre-serialized quads.

A quad is a tuple ``(subject, predicate, object, graph)`` of N-Quads terms that are
already in canonical form: ``<iri>``, ``_:label`` or a literal built by
:func:`literal`; ``graph`` is ``""`` for the default graph. Blank nodes are the terms
that start with ``_:``.

Escaping follows the canonical N-Quads form RDFC-1.0 §4 refers to (RDF 1.2 N-Triples
"canonical form"): ``\\b \\t \\n \\f \\r \\" \\\\`` use ECHAR, other characters in
U+0000–U+001F and U+007F use ``\\uXXXX`` with upper-case hex, everything else is
written as is. pyld's URDNA2015 serializer escapes only ``\\t \\n \\r \\" \\\\``, so the
two differ (only) for literals holding the other control characters.

Like pyld, the input is treated as a list: a quad that occurs twice is kept twice, and
a blank node that occurs twice in one quad references that quad twice (this keeps the
output byte-identical to the pyld baseline for every input it can produce).
"""

from __future__ import annotations

import hashlib
from itertools import permutations

from .errors import JsonLdError

Quad = tuple[str, str, str, str]

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

#: Default cap on Hash N-Degree Quads calls plus permutations tried (poison graphs).
DEFAULT_MAX_WORK = 20_000


def _escape_table() -> dict[int, str]:
    table = {c: f"\\u{c:04X}" for c in range(0x20)}
    table[0x7F] = "\\u007F"
    table.update(
        {
            0x08: "\\b",
            0x09: "\\t",
            0x0A: "\\n",
            0x0C: "\\f",
            0x0D: "\\r",
            0x22: '\\"',
            0x5C: "\\\\",
        }
    )
    return table


_ESCAPES = _escape_table()
_NEEDS_ESCAPE = frozenset(chr(c) for c in _ESCAPES)


def escape_literal(value: str) -> str:
    """The canonical N-Quads escaping of a literal's lexical form (RDFC-1.0)."""
    if _NEEDS_ESCAPE.isdisjoint(value):
        return value
    return value.translate(_ESCAPES)


def literal(lexical: str, datatype: str, language: str | None = None) -> str:
    """A literal term in canonical N-Quads form."""
    text = '"' + escape_literal(lexical) + '"'
    if datatype == RDF_LANGSTRING:
        return text + "@" + language if language else text
    if datatype == XSD_STRING:
        return text
    return text + "^^<" + datatype + ">"


class IdentifierIssuer:
    """RDFC-1.0 §4.3 identifier issuer; ``issued`` keeps issue order.

    JSON-LD's blank node identifier generator is the same thing: ``issue()`` without an
    existing identifier gives a fresh one that nothing maps to.
    """

    __slots__ = ("counter", "issued", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.counter = 0
        self.issued: dict[str, str] = {}

    def issue(self, existing: str | None = None) -> str:
        if existing is not None:
            found = self.issued.get(existing)
            if found is not None:
                return found
        new = self.prefix + str(self.counter)
        self.counter += 1
        if existing is not None:
            self.issued[existing] = new
        return new

    def copy(self) -> IdentifierIssuer:
        other = IdentifierIssuer(self.prefix)
        other.counter = self.counter
        other.issued = dict(self.issued)
        return other


class _Canonicalizer:
    def __init__(self, quads: list[Quad], max_work: int) -> None:
        self.quads = quads
        self.max_work = max_work
        self.work = 0
        self.bnode_quads: dict[str, list[Quad]] = {}
        self.first_hash: dict[str, str] = {}
        self.canonical = IdentifierIssuer("_:c14n")
        # One pass: quads without blank nodes are serialized now, once (their lines do
        # not depend on the labels); the others wait for the canonical labels.
        self.fixed_lines: list[str] = []
        self.blank_quads: list[Quad] = []
        by_node = self.bnode_quads
        fixed = self.fixed_lines
        blank_quads = self.blank_quads
        # Terms are N-Quads terms, so a blank node is the only one starting with "_".
        # pyld appends the quad once per blank node occurrence (see module doc).
        for quad in quads:
            s, p, o, g = quad
            blank = False
            # Written out per position, not looped over: this runs for every quad of
            # every document signed or verified (docs/performance.md).
            if s[0] == "_":
                blank = True
                by_node.setdefault(s, []).append(quad)
            if o[0] == "_":
                blank = True
                by_node.setdefault(o, []).append(quad)
            if g and g[0] == "_":
                blank = True
                by_node.setdefault(g, []).append(quad)
            if blank:
                blank_quads.append(quad)
            elif g:
                fixed.append(f"{s} {p} {o} {g} .\n")
            else:
                fixed.append(f"{s} {p} {o} .\n")

    def _spend(self) -> None:
        self.work += 1
        if self.work > self.max_work:
            raise JsonLdError(
                "the credential's blank node structure is too complex to canonicalize "
                f"(more than {self.max_work} steps of the RDFC-1.0 N-degree algorithm)",
                code="rdfc.too_complex",
            )

    # RDFC-1.0 §4.6 Hash First Degree Quads.
    def hash_first_degree(self, ref: str) -> str:
        found = self.first_hash.get(ref)
        if found is not None:
            return found
        lines = []
        for s, p, o, g in self.bnode_quads[ref]:
            if s[:2] == "_:":
                s = "_:a" if s == ref else "_:z"
            if o[:2] == "_:":
                o = "_:a" if o == ref else "_:z"
            if g:
                if g[:2] == "_:":
                    g = "_:a" if g == ref else "_:z"
                lines.append(f"{s} {p} {o} {g} .\n")
            else:
                lines.append(f"{s} {p} {o} .\n")
        lines.sort()
        digest = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
        self.first_hash[ref] = digest
        return digest

    # RDFC-1.0 §4.7 Hash Related Blank Node.
    def hash_related(
        self, related: str, quad: Quad, issuer: IdentifierIssuer, position: str
    ) -> str:
        ident = self.canonical.issued.get(related) or issuer.issued.get(related)
        if ident is None:
            ident = self.hash_first_degree(related)
        text = position + ("" if position == "g" else quad[1]) + ident
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    # RDFC-1.0 §4.8 Hash N-Degree Quads.
    def hash_n_degree(self, ref: str, issuer: IdentifierIssuer) -> tuple[str, IdentifierIssuer]:
        self._spend()
        related_map: dict[str, list[str]] = {}
        for quad in self.bnode_quads[ref]:
            s, _, o, g = quad
            for term, position in ((s, "s"), (o, "o"), (g, "g")):
                if term[:2] == "_:" and term != ref:
                    h = self.hash_related(term, quad, issuer, position)
                    related_map.setdefault(h, []).append(term)
        data = hashlib.sha256()
        for related_hash in sorted(related_map):
            data.update(related_hash.encode("utf-8"))
            chosen_path = ""
            chosen_issuer: IdentifierIssuer | None = None
            for perm in permutations(related_map[related_hash]):
                self._spend()
                issuer_copy = issuer.copy()
                path = ""
                recursion: list[str] = []
                skip = False
                for related in perm:
                    canon = self.canonical.issued.get(related)
                    if canon is not None:
                        path += canon
                    else:
                        if related not in issuer_copy.issued:
                            recursion.append(related)
                        path += issuer_copy.issue(related)
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                for related in recursion:
                    result_hash, result_issuer = self.hash_n_degree(related, issuer_copy)
                    path += issuer_copy.issue(related) + "<" + result_hash + ">"
                    issuer_copy = result_issuer
                    if chosen_path and len(path) >= len(chosen_path) and path > chosen_path:
                        skip = True
                        break
                if skip:
                    continue
                if not chosen_path or path < chosen_path:
                    chosen_path = path
                    chosen_issuer = issuer_copy
            data.update(chosen_path.encode("utf-8"))
            assert chosen_issuer is not None
            issuer = chosen_issuer
        return data.hexdigest(), issuer

    # RDFC-1.0 §4.4 Canonicalization Algorithm.
    def run(self) -> str:
        if not self.bnode_quads:
            return self._serialize()
        # The common case for credentials: every blank node has its own first-degree
        # hash, so §4.4 step 5 issues them all in hash order in its first round.
        first = {self.hash_first_degree(ref): ref for ref in self.bnode_quads}
        if len(first) == len(self.bnode_quads):
            for digest in sorted(first):
                self.canonical.issue(first[digest])
            return self._serialize()
        pending = set(self.bnode_quads)
        by_hash: dict[str, list[str]] = {}
        simple = True
        while simple:
            simple = False
            by_hash = {}
            for ref in pending:
                by_hash.setdefault(self.hash_first_degree(ref), []).append(ref)
            for digest in sorted(by_hash):
                refs = by_hash[digest]
                if len(refs) > 1:
                    continue
                self.canonical.issue(refs[0])
                pending.discard(refs[0])
                del by_hash[digest]
                simple = True
        for digest in sorted(by_hash):
            results = []
            for ref in by_hash[digest]:
                if ref in self.canonical.issued:
                    continue
                temp = IdentifierIssuer("_:b")
                temp.issue(ref)
                results.append(self.hash_n_degree(ref, temp))
            results.sort(key=lambda r: r[0])
            for _, issuer in results:
                for existing in issuer.issued:
                    self.canonical.issue(existing)
        return self._serialize()

    def _serialize(self) -> str:
        """RDFC-1.0 §4.4 step 7: relabel, serialize each quad, sort in code point order."""
        return _serialize(self.blank_quads, self.canonical.issued, self.fixed_lines)


def _serialize(quads: list[Quad], labels: dict[str, str], fixed: list[str]) -> str:
    out = list(fixed)
    for s, p, o, g in quads:
        if s[:2] == "_:":
            s = labels[s]
        if o[:2] == "_:":
            o = labels[o]
        if g:
            if g[:2] == "_:":
                g = labels[g]
            out.append(f"{s} {p} {o} {g} .\n")
        else:
            out.append(f"{s} {p} {o} .\n")
    out.sort()
    return "".join(out)


def canonicalize(quads: list[Quad], *, max_work: int = DEFAULT_MAX_WORK) -> str:
    """Canonical N-Quads (RDFC-1.0, SHA-256) of ``quads``.

    ``max_work`` bounds the N-degree algorithm (calls plus permutations); beyond it
    ``JsonLdError(code="rdfc.too_complex")`` is raised instead of running for hours.
    """
    if not quads:
        return ""
    return _Canonicalizer(quads, max_work).run()
