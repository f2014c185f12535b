"""RDFC-1.0 over quads: escaping, the N-degree algorithm and the poison-graph limit."""

from __future__ import annotations

import hashlib

import pytest

from badgeworks.core import rdfc
from badgeworks.core.errors import JsonLdError

P = "<http://example.org/p>"
Q = "<http://example.org/q>"


def test_escaping_follows_canonical_n_quads() -> None:
    # RDF 1.2 N-Triples canonical form, which RDFC-1.0 uses: ECHAR for \b \t \n \f \r " \,
    # \uXXXX (upper-case hex) for the other C0 controls and DEL, everything else raw.
    text = 'a\b\t\n\f\r"\\\x00\x01\x0b\x1f\x7fé😀'
    assert rdfc.escape_literal(text) == (
        'a\\b\\t\\n\\f\\r\\"\\\\\\u0000\\u0001\\u000B\\u001F\\u007Fé😀'
    )
    assert rdfc.escape_literal("plain") == "plain"


def test_literal_forms() -> None:
    assert rdfc.literal("x", rdfc.XSD_STRING) == '"x"'
    assert rdfc.literal("x", rdfc.RDF_LANGSTRING, "en") == '"x"@en'
    assert rdfc.literal("1", "http://www.w3.org/2001/XMLSchema#integer") == (
        '"1"^^<http://www.w3.org/2001/XMLSchema#integer>'
    )


def test_unique_first_degree_hashes() -> None:
    quads = [("_:x", P, '"1"', ""), ("_:y", P, '"2"', ""), ("_:x", Q, "_:y", "")]
    out = rdfc.canonicalize(quads)
    assert out.count("_:c14n") == 4
    # Relabelling the input does not change the output.
    renamed = [tuple(t.replace("_:x", "_:k").replace("_:y", "_:j") for t in q) for q in quads]
    assert rdfc.canonicalize(renamed) == out  # type: ignore[arg-type]


def _cycle(n: int, prefix: str) -> list[rdfc.Quad]:
    return [(f"{prefix}{i}", P, f"{prefix}{(i + 1) % n}", "") for i in range(n)]


def test_isomorphic_cycles_need_n_degree_and_are_label_independent() -> None:
    # Two disjoint 3-cycles: every blank node has the same first-degree hash.
    a = _cycle(3, "_:a") + _cycle(3, "_:b")
    b = list(reversed(_cycle(3, "_:z") + _cycle(3, "_:q")))
    out = rdfc.canonicalize(a)
    assert out == rdfc.canonicalize(b)
    assert sorted(out.splitlines()) == out.splitlines()
    assert len(out.splitlines()) == 6


def test_n_degree_matches_pyld_urdna2015() -> None:
    from pyld import jsonld

    quads = [*_cycle(4, "_:a"), ("_:a0", Q, '"x"', ""), ("_:a2", Q, '"x"', "")]
    nquads = "".join(f"{s} {p} {o} .\n" for s, p, o, _ in quads)
    expected = jsonld.normalize(
        nquads,
        {
            "algorithm": "URDNA2015",
            "inputFormat": "application/n-quads",
            "format": "application/n-quads",
        },
    )
    assert rdfc.canonicalize(quads) == expected


def test_named_graph_blank_nodes() -> None:
    quads = [("<http://ex/s>", P, "_:g", ""), ("_:n", Q, '"v"', "_:g")]
    out = rdfc.canonicalize(quads)
    assert "_:c14n0" in out and "_:c14n1" in out
    assert out.endswith(" .\n")


def test_poison_graph_hits_the_work_limit() -> None:
    # A large clique of indistinguishable blank nodes explodes the permutations.
    n = 9
    quads = [(f"_:n{i}", P, f"_:n{j}", "") for i in range(n) for j in range(n) if i != j]
    with pytest.raises(JsonLdError) as info:
        rdfc.canonicalize(quads, max_work=2_000)
    assert info.value.code == "rdfc.too_complex"


def test_empty_dataset() -> None:
    assert rdfc.canonicalize([]) == ""


def test_hash_is_sha256_of_sorted_lines() -> None:
    out = rdfc.canonicalize([("_:x", P, '"1"', "")])
    assert out == '_:c14n0 <http://example.org/p> "1" .\n'
    assert len(hashlib.sha256(out.encode()).hexdigest()) == 64
