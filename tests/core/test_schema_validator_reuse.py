"""The JSON Schema check is cheap when repeated (the compiled validator is found by the
schema object, without hashing its text again) and still refuses an invalid credential."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from badgeworks.core import schema as schema_module
from badgeworks.core.credential import OB3_SCHEMA_URL
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.errors import SchemaError
from badgeworks.core.issue import issue
from badgeworks.core.loader import DocumentLoader

from .conftest import build_ob3_credential
from .test_issue import NOW
from .test_schema import schema_documents


class _CountingJson:
    """``json`` as the schema module uses it, counting ``dumps`` (the text it hashes)."""

    def __init__(self) -> None:
        self.dumps_calls = 0

    def dumps(self, *args: Any, **kwargs: Any) -> str:
        self.dumps_calls += 1
        return json.dumps(*args, **kwargs)


def test_the_same_schema_object_is_not_hashed_again_and_still_refuses(
    strict_loader: DocumentLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = Ed25519KeyPair.generate()
    schemas = schema_documents()
    counting = _CountingJson()
    monkeypatch.setattr(schema_module, "json", counting)
    good = build_ob3_credential(issuer_id=key.controller)
    for _ in range(5):
        issue(copy.deepcopy(good), key, strict_loader, now=NOW, schemas=schemas)
    assert counting.dumps_calls <= 1
    bad = copy.deepcopy(good)
    bad["credentialSubject"]["creditsEarned"] = "three"
    with pytest.raises(SchemaError) as exc:
        issue(bad, key, strict_loader, now=NOW, schemas=schemas)
    assert exc.value.code == "schema.invalid"
    assert counting.dumps_calls <= 1


def test_a_changed_schema_under_the_same_url_gets_its_own_validator() -> None:
    schemas = schema_documents()
    credential = build_ob3_credential()
    assert schema_module.schema_problems(credential, schemas) == []
    stricter = copy.deepcopy(schemas[OB3_SCHEMA_URL])
    stricter.setdefault("required", []).append("nickname")
    problems = schema_module.schema_problems(credential, {OB3_SCHEMA_URL: stricter})
    assert [p.code for p in problems] == ["schema.invalid"]
    assert "nickname" in problems[0].message


class _CountingValidators:
    """Counts the validations ``schema_problems`` runs (calls of ``_problems``)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.real(*args, **kwargs)


def test_verification_remembers_the_answer_for_the_same_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schemas = schema_documents()
    counting = _CountingValidators(schema_module._problems)
    monkeypatch.setattr(schema_module, "_problems", counting)
    monkeypatch.setattr(schema_module, "_FOUND", {})
    good = build_ob3_credential()
    for _ in range(3):
        assert schema_module.schema_problems(copy.deepcopy(good), schemas, remember=True) == []
    assert counting.calls == 1
    # A different text is validated on its own and its problems are reported every time.
    bad = copy.deepcopy(good)
    bad["credentialSubject"]["creditsEarned"] = "three"
    for _ in range(2):
        problems = schema_module.schema_problems(copy.deepcopy(bad), schemas, remember=True)
        assert [p.code for p in problems] == ["schema.invalid"]
        assert "creditsEarned" in problems[0].message
    assert counting.calls == 2
    # The same text against another schema under the same URL is validated again.
    stricter = copy.deepcopy(schemas[OB3_SCHEMA_URL])
    stricter.setdefault("required", []).append("nickname")
    problems = schema_module.schema_problems(good, {OB3_SCHEMA_URL: stricter}, remember=True)
    assert [p.code for p in problems] == ["schema.invalid"]
    assert counting.calls == 3


def test_issuing_does_not_fill_the_memory_and_the_memory_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schemas = schema_documents()
    monkeypatch.setattr(schema_module, "_FOUND", {})
    monkeypatch.setattr(schema_module, "_FOUND_MAX", 3)
    good = build_ob3_credential()
    schema_module.schema_problems(good, schemas)
    assert schema_module._FOUND == {}
    for n in range(10):
        doc = copy.deepcopy(good)
        doc["name"] = f"Badge {n}"
        schema_module.schema_problems(doc, schemas, remember=True)
        assert len(schema_module._FOUND) <= 3
    # Not plain JSON (a value json cannot write): validated, never remembered.
    odd = copy.deepcopy(good)
    odd["credentialSubject"]["score"] = float("nan")
    schema_module._FOUND.clear()
    schema_module.schema_problems(odd, schemas, remember=True)
    assert schema_module._FOUND == {}
