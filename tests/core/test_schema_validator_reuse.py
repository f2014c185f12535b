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
