"""JSON Schema validation against the bundled OB 3.0 schemas (passed in as data)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from badgeworks.adapters.resources import resource_dir
from badgeworks.core import credential as c
from badgeworks.core.schema import schema_problems

SCHEMAS = resource_dir("schemas")
OB3_SPEC = Path(__file__).parent.parent / "vectors" / "ob3-spec"


def schema_documents() -> dict[str, Any]:
    """What the adapter will provide: schema URL -> parsed schema, from index.json."""
    index = json.loads((SCHEMAS / "index.json").read_text("utf-8"))
    return {url: json.loads((SCHEMAS / f).read_text("utf-8")) for url, f in index.items()}


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return schema_documents()


def test_index_and_provenance_agree() -> None:
    index = json.loads((SCHEMAS / "index.json").read_text("utf-8"))
    provenance = (SCHEMAS / "PROVENANCE.md").read_text("utf-8")
    rows = dict(re.findall(r"^\| (\S+\.json) \| .* \| ([0-9a-f]{64}) \|$", provenance, re.M))
    assert set(index.values()) == set(rows)
    for file, digest in rows.items():
        assert hashlib.sha256((SCHEMAS / file).read_bytes()).hexdigest() == digest, file
    for url in (c.OB3_SCHEMA_URL, c.OB3_JSONLD_SCHEMA_URL, c.OB3_ENDORSEMENT_SCHEMA_URL):
        assert url in index


def test_endorsement_schema_says_who_wrote_it(schemas: dict[str, Any]) -> None:
    assert "written by badgeworks" in schemas[c.OB3_ENDORSEMENT_SCHEMA_URL]["title"]


@pytest.mark.parametrize("path", sorted(OB3_SPEC.glob("*.json")), ids=lambda p: p.stem)
def test_ob3_spec_examples(path: Path, schemas: dict[str, Any]) -> None:
    doc = json.loads(path.read_text("utf-8"))
    problems = schema_problems(doc, schemas)
    if path.stem == "endorsement":
        # It also names the state's own schema, which we do not hold: a warning.
        assert [(p.code, p.details["url"]) for p in problems] == [
            ("schema.unknown", "https://state.gov/schema/endorsementcredential.json")
        ]
    else:
        assert problems == []


def test_builder_output_validates(ob3_credential: dict[str, Any], schemas: dict[str, Any]) -> None:
    assert schema_problems(ob3_credential, schemas) == []
    bare = {k: v for k, v in ob3_credential.items() if k != "credentialSchema"}
    assert schema_problems(bare, schemas) == []  # validated against the OB schema anyway


def test_invalid_credential_reports_path(
    ob3_credential: dict[str, Any], schemas: dict[str, Any]
) -> None:
    ob3_credential["credentialSubject"]["achievement"]["image"]["alt"] = "extra"
    ob3_credential["credentialSubject"]["creditsEarned"] = "three"
    problems = schema_problems(ob3_credential, schemas)
    assert [p.code for p in problems] == ["schema.invalid", "schema.invalid"]
    paths = [p.details["path"] for p in problems]
    assert paths == [
        "$.credentialSubject.achievement.image",
        "$.credentialSubject.creditsEarned",
    ]
    assert "'alt'" in problems[0].message


def test_default_schema_applies_without_credential_schema(
    ob3_credential: dict[str, Any], schemas: dict[str, Any]
) -> None:
    del ob3_credential["credentialSchema"]
    del ob3_credential["credentialSubject"]["achievement"]["type"]
    assert [p.code for p in schema_problems(ob3_credential, schemas)] == ["schema.invalid"]


def test_unknown_schema_url(ob3_credential: dict[str, Any], schemas: dict[str, Any]) -> None:
    ob3_credential["credentialSchema"].append(
        {"id": "https://schemas.example/x.json", "type": c.JSON_SCHEMA_VALIDATOR_TYPE}
    )
    assert [p.code for p in schema_problems(ob3_credential, schemas)] == ["schema.unknown"]
    assert [p.code for p in schema_problems(ob3_credential, {})] == ["schema.unknown"] * 2


def test_compacted_single_values_are_accepted(
    ob3_credential: dict[str, Any], schemas: dict[str, Any]
) -> None:
    # A Data Integrity proof is added as a single object; OB 3.0 "Serialization > JSON"
    # allows compacting proof, credentialSchema, termsOfUse and type.
    ob3_credential["proof"] = {"type": "DataIntegrityProof", "proofValue": "z1"}
    ob3_credential["credentialSchema"] = ob3_credential["credentialSchema"][0]
    ob3_credential["credentialSubject"]["type"] = "AchievementSubject"
    assert schema_problems(ob3_credential, schemas) == []


def test_endorsement_builder_validates(schemas: dict[str, Any]) -> None:
    e = c.endorsement_credential(
        id="urn:uuid:1b0a2d8e-9a43-4b57-8b1b-3d2f1f6f0e01",
        issuer=c.profile(id="https://acme-robotics.example.com", name="Acme Robotics"),
        valid_from="2026-10-02T00:00:00Z",
        subject_id="urn:uuid:0c9a1c1e-5d1b-4f55-8a57-3a3e1b9c2f10",
        name="Host company endorsement",
    )
    assert schema_problems(e, schemas) == []
    del e["name"]
    assert [p.code for p in schema_problems(e, schemas)] == ["schema.invalid"]


def test_not_an_object(schemas: dict[str, Any]) -> None:
    assert [p.code for p in schema_problems([], schemas)] == ["schema.invalid"]
