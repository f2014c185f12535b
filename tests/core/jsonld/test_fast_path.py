"""The fast JSON-LD path: strictness, malformed input, depth, caching and escaping."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from badgeworks.core import jsonld, rdfc
from badgeworks.core.canonicalize import canonicalize, canonicalize_fallback, canonicalize_plain
from badgeworks.core.errors import ContextError, JsonLdError
from badgeworks.core.jsonld import context, direct
from badgeworks.core.loader import DocumentLoader

VC2 = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
BENCH = Path(__file__).parents[3] / "bench" / "ob3_credential.json"


def _credential(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": [VC2, OB],
        "id": "urn:uuid:1",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": "did:example:issuer", "type": "Profile", "name": "Issuer"},
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {
            "type": "AchievementSubject",
            "achievement": {"id": "urn:uuid:2", "type": "Achievement", "name": "A"},
        },
    }
    doc.update(extra)
    return doc


def _code(doc: Any, loader: DocumentLoader) -> str:
    with pytest.raises((JsonLdError, ContextError)) as info:
        jsonld.to_quads(doc, loader)
    return info.value.code


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"undefined": 1}, "jsonld.dropped_term"),
        ({"@unknownKeyword": 1}, "jsonld.dropped_term"),
        ({"id": "relative/path"}, "jsonld.relative_iri"),
        ({"id": "https://example.org/has space"}, "jsonld.relative_iri"),
        ({"type": ["VerifiableCredential", "Undefined"]}, "jsonld.relative_iri"),
        ({"issuer": "not-an-iri"}, "jsonld.relative_iri"),
    ],
)
def test_strictness_matches_the_plain_path(
    loader: DocumentLoader, extra: dict[str, Any], code: str
) -> None:
    doc = _credential(**extra)
    assert _code(doc, loader) == code
    with pytest.raises(JsonLdError) as info:
        canonicalize_plain(doc, loader)
    assert info.value.code == code


def test_term_defined_as_null_is_a_dropped_term(loader: DocumentLoader) -> None:
    doc = _credential(gone="x")
    doc["@context"] = [VC2, OB, {"gone": None}]
    assert _code(doc, loader) == "jsonld.dropped_term"


def test_nested_undefined_term_is_rejected(loader: DocumentLoader) -> None:
    doc = _credential()
    doc["credentialSubject"]["achievement"]["achievment"] = "typo"
    assert _code(doc, loader) == "jsonld.dropped_term"


def test_unknown_context_url_is_context_not_allowed(loader: DocumentLoader) -> None:
    doc = _credential()
    doc["@context"] = [VC2, "https://evil.example/context.json"]
    with pytest.raises(ContextError) as info:
        canonicalize(doc, loader)
    assert info.value.code == "context.not_allowed"


@pytest.mark.parametrize(
    ("context", "code"),
    [
        ([VC2, 5], "jsonld.invalid_context"),
        ([VC2, {"id": "https://example.org/id"}], "jsonld.protected_redefinition"),
        ([VC2, {"x": {"@id": 5}}], "jsonld.invalid_context"),
        ([VC2, {"x": {"@container": "@bogus", "@id": "https://e/x"}}], "jsonld.invalid_context"),
        ([VC2, {"@version": 2}], "jsonld.invalid_context"),
        ([VC2, {"@vocab": 5}], "jsonld.invalid_context"),
        ([VC2, {"a": "b:x", "b": "a:y"}], "jsonld.invalid_context"),
    ],
)
def test_malformed_contexts_raise_typed_errors(
    loader: DocumentLoader, context: list[Any], code: str
) -> None:
    doc = _credential()
    doc["@context"] = context
    assert _code(doc, loader) == code


@pytest.mark.parametrize(
    "extra",
    [
        {"id": 5},
        {"type": ["VerifiableCredential", 1]},
        {"name": {"@value": "x", "@type": "https://e/t", "@language": "en"}},
        {"name": {"@value": {"a": 1}}},
        {"name": {"@value": 5, "@language": "en"}},
    ],
)
def test_invalid_keyword_values_raise_jsonld_errors(
    loader: DocumentLoader, extra: dict[str, Any]
) -> None:
    assert _code(_credential(**extra), loader) == "jsonld.invalid_value"


def test_deep_nesting_is_refused_without_a_recursion_crash(loader: DocumentLoader) -> None:
    doc = _credential()
    doc["@context"] = [VC2, OB, {"@vocab": "https://example.org/v#"}]
    node: dict[str, Any] = doc
    for _ in range(5000):
        child: dict[str, Any] = {}
        node["child"] = child
        node = child
    assert _code(doc, loader) == "jsonld.too_deep"


def test_unsupported_features_fall_back_to_pyld(loader: DocumentLoader) -> None:
    doc = _credential()
    doc["@context"] = [VC2, OB, {"rev": {"@reverse": "https://example.org/rel"}}]
    doc["rev"] = {"id": "https://example.org/other"}
    with pytest.raises(jsonld.Unsupported):
        jsonld.to_quads(doc, loader)
    assert canonicalize(doc, loader) == canonicalize_plain(doc, loader)


def test_contexts_are_processed_once(loader: DocumentLoader) -> None:
    doc = json.loads(BENCH.read_text("utf-8"))
    jsonld.to_quads(doc, loader)
    root = context.root_for(loader)
    before = root.children.copy()
    top = next(iter(before.values()))
    children = dict(top.children)
    jsonld.to_quads(copy.deepcopy(doc), loader)
    assert root.children == before
    assert all(top.children[k] is v for k, v in children.items())


def test_the_loader_documents_are_not_mutated(loader: DocumentLoader) -> None:
    snapshot = json.dumps(loader.load(VC2), sort_keys=True)
    jsonld.to_quads(_credential(), loader)
    assert json.dumps(loader.load(VC2), sort_keys=True) == snapshot


def test_control_characters_use_rdfc_escaping(loader: DocumentLoader) -> None:
    # RDFC-1.0 canonical N-Quads: \b and \f as ECHAR, other controls as \uXXXX.
    # pyld writes these raw, so this is the one place the paths differ.
    doc = _credential(name="bell\x07 back\b form\f del\x7f tab\t")
    out = canonicalize(doc, loader)
    assert '"bell\\u0007 back\\b form\\f del\\u007F tab\\t"' in out
    assert out != canonicalize_plain(doc, loader)


def test_json_literals_match_pyld(loader: DocumentLoader) -> None:
    doc = {
        "@context": [VC2],
        "id": "https://example.org/schema-credential",
        "type": ["VerifiableCredential", "JsonSchemaCredential"],
        "issuer": "did:example:1",
        "credentialSubject": {
            "id": "https://example.org/schema",
            "type": "JsonSchema",
            "jsonSchema": {"z": [1, True, None], "a": 'é\n"', "é": {}, "b": -3},
        },
    }
    assert canonicalize(doc, loader) == canonicalize_plain(doc, loader)
    assert "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON" in canonicalize(doc, loader)


def test_numbers_booleans_and_languages_match_pyld(loader: DocumentLoader) -> None:
    doc = _credential()
    doc["@context"] = [VC2, OB, {"ex": "https://example.org/v#"}]
    doc["ex:n"] = [1, 1.0, 2.5, 1e21, 10**22, -0.000001, True, False, 0]
    doc["ex:s"] = [{"@value": "hi", "@language": "EN-gb"}, {"@value": "1", "@type": "ex:t"}]
    doc["ex:l"] = {"@list": [1, {"@list": []}, "x"]}
    assert canonicalize(doc, loader) == canonicalize_plain(doc, loader)


# -- the direct walk, the fallback and @direction ----------------------------------------


def test_the_bench_credential_takes_the_direct_walk(loader: DocumentLoader) -> None:
    # The speed target rests on the direct walk; a change that makes the benchmark
    # credential fall through to the general path should fail here, not only in a bench.
    doc = json.loads(BENCH.read_text("utf-8"))
    quads = direct.Direct(loader).run(doc)
    expected = rdfc.canonicalize(jsonld.to_quads_general(doc, loader))
    assert rdfc.canonicalize(quads) == expected == canonicalize_plain(doc, loader)


def test_fallback_escapes_control_characters_like_the_fast_path(
    loader: DocumentLoader,
) -> None:
    # An @index container sends the document to the pyld fallback; the literal must
    # still be written in canonical N-Quads form (RDFC-1.0), as Digital Bazaar does.
    text = "bell\x07 back\b form\f del\x7f tab\t nul\x00"
    doc = _credential(name=text)
    doc["@context"] = [
        VC2,
        OB,
        {"notes": {"@id": "https://example.org/v#notes", "@container": "@index"}},
    ]
    doc["notes"] = {"first": text}
    with pytest.raises(jsonld.Unsupported):
        jsonld.to_quads(doc, loader)
    out = canonicalize(doc, loader)
    escaped = '"bell\\u0007 back\\b form\\f del\\u007F tab\\t nul\\u0000"'
    assert out.count(escaped) == 2
    assert out == canonicalize_fallback(doc, loader)
    # Without the @index term the fast path handles it, with the same literal.
    assert escaped in canonicalize(_credential(name=text), loader)


def test_fallback_matches_pyld_without_control_characters(loader: DocumentLoader) -> None:
    doc = _credential()
    doc["@context"] = [
        VC2,
        OB,
        {"notes": {"@id": "https://example.org/v#notes", "@container": "@index"}},
    ]
    doc["notes"] = {"a": "x", "b": ["y", "z"]}
    assert canonicalize(doc, loader) == canonicalize_plain(doc, loader)


I18N_AR_RTL = "^^<https://www.w3.org/ns/i18n#ar_rtl>"


def test_direction_becomes_an_i18n_datatype(loader: DocumentLoader) -> None:
    # The value object of VC 2.0 "Language and Base Direction"; Digital Bazaar's
    # eddsa-rdfc-2022 sets rdfDirection "i18n-datatype": language (lower-cased by
    # expansion) + "_" + direction.
    doc = _credential()
    doc["@context"] = [VC2, OB, {"ex": "https://example.org/v#"}]
    doc["ex:title"] = [
        {"@value": "مرحبا", "@language": "AR", "@direction": "rtl"},
        {"@value": "hello", "@direction": "ltr"},
        {"@value": "hello", "@language": "en"},
    ]
    quads = jsonld.to_quads(doc, loader)  # the fast path, no fallback
    out = rdfc.canonicalize(quads)
    assert '"مرحبا"' + I18N_AR_RTL in out
    assert '"hello"^^<https://www.w3.org/ns/i18n#_ltr>' in out
    assert '"hello"@en' in out
    assert out == canonicalize_plain(doc, loader) == canonicalize_fallback(doc, loader)


def test_direction_in_a_term_definition_falls_back_with_the_same_datatype(
    loader: DocumentLoader,
) -> None:
    # A term-level @direction is left to pyld, which gives what Digital Bazaar gives
    # (checked against its harness; see docs/performance.md for a context-wide default
    # @direction, where pyld and jsonld.js disagree with each other).
    doc = _credential()
    doc["@context"] = [
        VC2,
        OB,
        {"title": {"@id": "https://example.org/v#title", "@language": "ar", "@direction": "rtl"}},
    ]
    doc["title"] = "مرحبا"
    with pytest.raises(jsonld.Unsupported):
        jsonld.to_quads(doc, loader)
    out = canonicalize(doc, loader)
    assert '"مرحبا"' + I18N_AR_RTL in out
    assert out == canonicalize_plain(doc, loader)


@pytest.mark.parametrize("direction", ["up", "", 1, None])
def test_invalid_direction_is_rejected(loader: DocumentLoader, direction: Any) -> None:
    doc = _credential()
    doc["@context"] = [VC2, OB, {"ex": "https://example.org/v#"}]
    doc["ex:title"] = {"@value": "x", "@direction": direction}
    with pytest.raises(JsonLdError):
        canonicalize(doc, loader)
    with pytest.raises(JsonLdError):
        canonicalize_plain(doc, loader)


def test_contexts_never_reach_resolvers(loader: DocumentLoader) -> None:
    # Contexts come only from the bundle (DocumentLoader.load_context), on the fast path
    # as on pyld's: a resolver (did:web, HTTPS keys) is for verification methods only.
    asked: list[str] = []

    def resolver(url: str) -> dict[str, Any]:
        asked.append(url)
        return {"@context": {"x": "https://example.org/x"}}

    doc = _credential()
    doc["@context"] = [VC2, OB, "https://unlisted.example/context.jsonld"]
    with pytest.raises(ContextError) as info:
        jsonld.to_quads(doc, loader.with_resolver(resolver))
    assert info.value.code == "context.not_allowed"
    assert asked == []
