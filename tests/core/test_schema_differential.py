"""The fast JSON Schema check (jsonschema-rs) and the Python validator agree on validity.

``schema_problems`` trusts the Rust validator's "valid" and asks the Python validator for
the problems otherwise, so a document the Rust validator wrongly calls valid would lose its
problems. Every example credential we hold, and a few hundred seeded mutations of them
(removed required properties, wrong types, bad enums, broken patterns, extra properties,
nested achievement, result and alignment changes), must get the same verdict from both,
against every bundled schema, with and without the wrapping of compacted values; and
``schema_problems`` must report exactly what the Python validator alone reports.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from jsonschema import validators

from badgeworks.core import credential as c
from badgeworks.core import schema as schema_module
from badgeworks.core.schema import schema_problems

from .conftest import build_ob3_credential
from .test_schema import schema_documents

OB3_SPEC = Path(__file__).parent.parent / "vectors" / "ob3-spec"
SEED = 20261204
MUTANTS = 400

Path_ = tuple[str | int, ...]


def _endorsement() -> dict[str, Any]:
    return c.endorsement_credential(
        id="urn:uuid:1b0a2d8e-9a43-4b57-8b1b-3d2f1f6f0e01",
        issuer=c.profile(id="https://acme-robotics.example.com", name="Acme Robotics"),
        valid_from="2026-10-02T00:00:00Z",
        subject_id="urn:uuid:0c9a1c1e-5d1b-4f55-8a57-3a3e1b9c2f10",
        name="Host company endorsement",
    )


def _signed(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with a Data Integrity proof, as an array (the shape we issue)."""
    return {
        **copy.deepcopy(document),
        "proof": [
            {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "created": "2026-10-02T00:00:00Z",
                "verificationMethod": c.issuer_id(document) or "did:example:issuer",
                "proofPurpose": "assertionMethod",
                "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a",
            }
        ],
    }


def _corpus() -> list[tuple[str, dict[str, Any]]]:
    examples = [(p.stem, json.loads(p.read_text("utf-8"))) for p in sorted(OB3_SPEC.glob("*.json"))]
    built = [("builder", build_ob3_credential()), ("endorsement-builder", _endorsement())]
    signed = [(f"{name}+proof", _signed(doc)) for name, doc in examples + built]
    return examples + built + signed


def _nodes(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, (*path, index))


def _parent(document: Any, path: Path_) -> Any:
    for part in path[:-1]:
        document = document[part]
    return document


NESTED = ("achievement", "result", "alignment", "resultDescription", "evidence", "issuer")
BAD_ENUMS = {
    "type": ["Bogus"],
    "achievementType": "NotAnAchievementType",
    "resultType": "NotAResultType",
    "status": "Pondering",
    "targetType": "ceasn:NotAType",
    "hashed": "yes",
    "identityType": "shoeSize",
}
BAD_PATTERNS = {
    "inLanguage": "English",
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/not-ob.json"],
    "achievementType": "ext:",
    "identityHash": 12,
}
WRONG_TYPES: list[Any] = [7, 2.5, True, None, "text", [], {}, ["a", 1], {"x": "y"}]


def _mutate(document: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, Any]]:
    """One mutation of a copy of ``document``, and what it was."""
    doc = copy.deepcopy(document)
    nodes = [(p, v) for p, v in _nodes(doc) if p]
    nested = [(p, v) for p, v in nodes if any(part in NESTED for part in p)]
    pool = nested if nested and rng.random() < 0.5 else nodes
    kind = rng.choice(["remove", "type", "enum", "pattern", "extra", "empty"])
    if kind == "enum" or kind == "pattern":
        table = BAD_ENUMS if kind == "enum" else BAD_PATTERNS
        keyed = [(p, v) for p, v in pool if p[-1] in table] or [
            (p, v) for p, v in nodes if p[-1] in table
        ]
        if keyed:
            path, _ = rng.choice(keyed)
            _parent(doc, path)[path[-1]] = copy.deepcopy(table[str(path[-1])])
            return f"{kind} {path}", doc
        kind = "type"
    if kind == "remove":
        keys = [(p, v) for p, v in pool if isinstance(p[-1], str)]
        path, _ = rng.choice(keys)
        del _parent(doc, path)[path[-1]]
        return f"remove {path}", doc
    if kind == "extra":
        objects = [(p, v) for p, v in pool if isinstance(v, dict)] or [((), doc)]
        path, obj = rng.choice(objects)
        obj["unexpectedProperty"] = rng.choice(["x", 1, {"a": 1}])
        return f"extra {path}", doc
    if kind == "empty":
        lists = [(p, v) for p, v in pool if isinstance(v, list)]
        if lists:
            path, items = rng.choice(lists)
            items.clear()
            return f"empty {path}", doc
    path, _ = rng.choice(pool)
    _parent(doc, path)[path[-1]] = copy.deepcopy(rng.choice(WRONG_TYPES))
    return f"type {path}", doc


def _mutants() -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(SEED)
    corpus = _corpus()
    out = []
    for index in range(MUTANTS):
        name, document = corpus[index % len(corpus)]
        what, mutant = _mutate(document, rng)
        out.append((f"{name}: {what}", mutant))
    return out


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return schema_documents()


@pytest.fixture(scope="module")
def pairs(schemas: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(url, Python validator, Rust validator) for every bundled schema, built independently."""
    out = []
    for url, schema in sorted(schemas.items()):
        python = validators.validator_for(schema)(schema)
        rust = jsonschema_rs.validator_for(schema, validate_formats=False, offline=True)
        out.append((url, python, rust))
    return out


def _verdicts(document: Any, pairs: list[tuple[str, Any, Any]]) -> Iterator[tuple[str, bool, bool]]:
    for wrap in (False, True):
        doc = schema_module._normalized(document) if wrap else document
        for url, python, rust in pairs:
            yield f"{url} wrapped={wrap}", python.is_valid(doc), rust.is_valid(doc)


def test_the_corpus_is_valid_and_both_validators_agree(pairs: list[tuple[str, Any, Any]]) -> None:
    corpus = _corpus()
    assert len(corpus) >= 18
    valid_somewhere = 0
    for name, document in corpus:
        for where, python, rust in _verdicts(document, pairs):
            assert python == rust, (name, where)
            valid_somewhere += python
    assert valid_somewhere > 0  # the corpus is not all invalid: both sides were exercised


def test_seeded_mutations_get_the_same_verdict(pairs: list[tuple[str, Any, Any]]) -> None:
    mutants = _mutants()
    assert len(mutants) == MUTANTS
    invalid = 0
    for name, document in mutants:
        for where, python, rust in _verdicts(document, pairs):
            assert python == rust, (name, where)
            invalid += not python
    # Most mutations break the schema; a suite of no-op mutations would prove nothing.
    assert invalid > MUTANTS


def test_problems_are_exactly_the_python_validators(
    schemas: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = [doc for _, doc in _corpus()] + [doc for _, doc in _mutants()[:150]]

    def reported() -> list[list[tuple[str, str, dict[str, Any]]]]:
        return [
            [(p.code, p.message, p.details) for p in schema_problems(d, schemas)] for d in documents
        ]

    fast = reported()
    monkeypatch.setattr(schema_module, "_fast_valid", lambda fast, document: False)
    slow = reported()
    assert fast == slow
    assert any(fast) and not all(fast)


def test_the_fast_check_skips_the_python_validator_for_a_valid_credential(
    schemas: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = _signed(build_ob3_credential())
    assert schema_problems(credential, schemas) == []
    calls = []
    python, _ = schema_module._validator(schemas[c.OB3_SCHEMA_URL])
    real = type(python).iter_errors

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(type(python), "iter_errors", counting)
    assert schema_problems(credential, schemas) == []
    assert calls == []
    credential["credentialSubject"]["creditsEarned"] = "three"
    assert [p.code for p in schema_problems(credential, schemas)] == ["schema.invalid"]
    assert calls


def test_formats_are_annotations_for_both(schemas: dict[str, Any]) -> None:
    credential = build_ob3_credential()
    credential["validFrom"] = "not a date"
    credential["issuer"]["email"] = "not an email"
    python = [(p.code, p.message) for p in schema_problems(credential, schemas)]
    assert python == []


def test_what_is_not_json_is_left_to_the_python_validator(schemas: dict[str, Any]) -> None:
    # The Rust validator reads a tuple as an array; for the Python validator it is not one.
    credential = build_ob3_credential()
    credential["credentialSubject"]["achievement"]["type"] = ("Achievement",)
    problems = schema_problems(credential, schemas)
    assert [p.details["path"] for p in problems] == ["$.credentialSubject.achievement.type"]
    # NaN is a float, so a number for the Python validator; the Rust one cannot read it.
    credential = build_ob3_credential()
    credential["credentialSubject"]["creditsEarned"] = float("nan")
    assert schema_problems(credential, schemas) == []


def test_a_schema_the_rust_validator_cannot_compile_is_checked_by_python() -> None:
    url = "https://example.org/remote-ref.json"
    schema = {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "type": "object",
        "required": ["name"],
        "properties": {"extra": {"$ref": "https://example.org/elsewhere.json"}},
    }
    _, fast = schema_module._validator(schema)
    assert fast is None  # offline: the remote $ref is not fetched
    credential = {"credentialSchema": [{"id": url, "type": c.JSON_SCHEMA_VALIDATOR_TYPE}]}
    problems = schema_problems(credential, {url: schema})
    assert [p.code for p in problems] == ["schema.invalid"]
    assert "'name' is a required property" in problems[0].message
