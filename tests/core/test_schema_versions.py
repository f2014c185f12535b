"""Both published versions of the OB 3.0 AchievementCredential schema are bundled, each for
the URL its ``$id`` names, and verification accepts ``proof`` as an object or an array
against either (OB 3.0 "Serialization > JSON" allows the compaction)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from badgeworks.core import credential as c
from badgeworks.core.schema import schema_problems

from .conftest import build_ob3_credential
from .test_schema import schema_documents

PROOF = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2026-10-02T00:00:00Z",
    "verificationMethod": "did:key:z6Mk#z6Mk",
    "proofPurpose": "assertionMethod",
    "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a",
}
URLS = (c.OB3_SCHEMA_URL, c.OB3_JSONLD_SCHEMA_URL)


def test_each_url_is_answered_by_the_version_whose_id_it_is() -> None:
    schemas = schema_documents()
    for url in URLS:
        assert schemas[url]["$id"] == url
    assert schemas[c.OB3_SCHEMA_URL] != schemas[c.OB3_JSONLD_SCHEMA_URL]
    # The earlier version wants an array; the later one takes either.
    assert schemas[c.OB3_JSONLD_SCHEMA_URL]["properties"]["proof"]["type"] == "array"
    assert len(schemas[c.OB3_SCHEMA_URL]["properties"]["proof"]["oneOf"]) == 2


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("shape", ["object", "array", "set of two"])
def test_verification_accepts_either_proof_shape(url: str, shape: str) -> None:
    credential: dict[str, Any] = build_ob3_credential()
    credential["credentialSchema"] = [{"id": url, "type": c.JSON_SCHEMA_VALIDATOR_TYPE}]
    credential["proof"] = {
        "object": copy.deepcopy(PROOF),
        "array": [copy.deepcopy(PROOF)],
        "set of two": [copy.deepcopy(PROOF), copy.deepcopy(PROOF)],
    }[shape]
    assert schema_problems(credential, schema_documents()) == []
    assert schema_problems(credential, schema_documents(), remember=True) == []


@pytest.mark.parametrize("url", URLS)
def test_a_broken_proof_is_refused_by_either_version(url: str) -> None:
    credential: dict[str, Any] = build_ob3_credential()
    credential["credentialSchema"] = [{"id": url, "type": c.JSON_SCHEMA_VALIDATOR_TYPE}]
    credential["proof"] = [{**PROOF, "created": 20261002}]
    problems = schema_problems(credential, schema_documents())
    assert [p.code for p in problems] and {p.code for p in problems} == {"schema.invalid"}
    assert all(p.details["path"].startswith("$.proof") for p in problems)
