"""Structural MUSTs: spec examples, VC 1.1, and one minimal broken credential per code."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from badgeworks.core.contexts import VC1_CONTEXT, VC2_CONTEXT
from badgeworks.core.errors import CredentialError
from badgeworks.core.structure import check_credential, credential_problems, vc_version

from .conftest import build_ob3_credential

OB3_SPEC = Path(__file__).parent.parent / "vectors" / "ob3-spec"


def _codes(doc: Any) -> list[str]:
    return [p.code for p in credential_problems(doc)]


@pytest.mark.parametrize("path", sorted(OB3_SPEC.glob("*.json")), ids=lambda p: p.stem)
def test_ob3_spec_examples_are_well_formed(path: Path) -> None:
    # All seven OB 3.0 examples meet the structural MUSTs. (They are unsigned, and the
    # endorsements inside fullOpenBadge.json name a cryptosuite that does not exist:
    # that is the proof layer's failure, not a structural one.)
    doc = json.loads(path.read_text("utf-8"))
    assert credential_problems(doc) == []
    assert vc_version(doc) == "2.0"


def _vc11() -> dict[str, Any]:
    return {
        "@context": [VC1_CONTEXT, "https://www.w3.org/2018/credentials/examples/v1"],
        "id": "http://example.edu/credentials/1872",
        "type": ["VerifiableCredential", "AlumniCredential"],
        "issuer": "https://example.edu/issuers/565049",
        "issuanceDate": "2010-01-01T19:23:24Z",
        "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21"},
    }


def test_vc11_credentials() -> None:
    doc = _vc11()
    assert vc_version(doc) == "1.1"
    assert credential_problems(doc) == []
    # VC 1.1 combined date-times may omit the time zone.
    assert credential_problems({**doc, "issuanceDate": "2010-01-01T19:23:24"}) == []
    no_date = {k: v for k, v in doc.items() if k != "issuanceDate"}
    assert _codes(no_date) == ["credential.valid_from"]
    expired = {**doc, "expirationDate": "2009-01-01T00:00:00Z"}
    assert _codes(expired) == ["credential.validity_order"]


def test_vc11_open_badge() -> None:
    doc = build_ob3_credential()
    doc["@context"][0] = VC1_CONTEXT
    doc["issuanceDate"] = doc.pop("validFrom")
    doc["expirationDate"] = doc.pop("validUntil")
    assert vc_version(doc) == "1.1"
    assert credential_problems(doc) == []
    del doc["name"]  # AchievementCredentialv1p1 requires a name
    assert _codes(doc) == ["credential.name"]


def test_vc_version_rejects_other_contexts() -> None:
    with pytest.raises(CredentialError) as exc:
        vc_version({"@context": ["https://example.org/ctx"]})
    assert exc.value.code == "credential.context"


def test_plain_vc2_needs_little() -> None:
    doc = {
        "@context": [VC2_CONTEXT],
        "type": "VerifiableCredential",
        "issuer": "did:example:issuer",
        "credentialSubject": {"name": "x"},
    }
    assert credential_problems(doc) == []


def test_check_credential_raises_the_first_problem() -> None:
    with pytest.raises(CredentialError) as exc:
        check_credential([])
    assert exc.value.code == "credential.not_object"


Mutation = Callable[[dict[str, Any]], Any]


def _set(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is _DELETE:
            del node[int(last) if last.isdigit() else last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return mutate


_DELETE = object()
SUBJ = "credentialSubject"
ACH = "credentialSubject.achievement"
GOOD_DIGEST = "uEiDjsMRCmPwcFJr79MiZb7kkJ65B5GSbk0yklZkbeFK4VQ"

# (code, mutation, a fragment the message must quote)
BROKEN: list[tuple[str, Mutation, str]] = [
    ("credential.context", _set("@context", [VC2_CONTEXT]), "@context"),
    ("credential.context", _set("@context.0", "https://example.org/v1"), "example.org/v1"),
    ("credential.context", _set("@context", VC2_CONTEXT), "ordered array"),
    ("credential.id", _set("id", "not a url"), "'not a url'"),
    ("credential.id", _set("id", _DELETE), "$.id"),
    ("credential.type", _set("type", ["OpenBadgeCredential"]), "VerifiableCredential"),
    ("credential.issuer", _set("issuer", "issuer-without-scheme"), "issuer-without-scheme"),
    ("credential.issuer", _set("issuer.id", 42), "$.issuer.id"),
    ("credential.issuer", _set("issuer", _DELETE), "$.issuer"),
    ("credential.subject", _set(SUBJ, _DELETE), "credentialSubject"),
    ("credential.subject", _set(f"{SUBJ}.id", "no scheme"), "'no scheme'"),
    ("credential.valid_from", _set("validFrom", _DELETE), "validFrom"),
    ("credential.valid_from", _set("validFrom", "2026-10-01T09:00:00"), "time zone"),
    ("credential.valid_until", _set("validUntil", "2031-13-01T00:00:00Z"), "2031-13-01"),
    ("credential.validity_order", _set("validUntil", "2020-01-01T00:00:00Z"), "2020-01-01"),
    ("credential.invalid_datetime", _set("awardedDate", "Oct 1st"), "awardedDate"),
    ("credential.status", _set("credentialStatus.type", _DELETE), "credentialStatus.type"),
    ("credential.status", _set("credentialStatus.id", "x y"), "'x y'"),
    ("credential.status", _set("credentialStatus.statusListIndex", "-1"), "statusListIndex"),
    ("credential.schema", _set("credentialSchema.0.id", _DELETE), "credentialSchema[0].id"),
    ("credential.schema_type", _set("credentialSchema.0.type", "JsonSchema"), "1EdTechJsonSchema"),
    ("credential.refresh_service", _set("refreshService", {"id": "https://r.example"}), "type"),
    ("credential.terms_of_use", _set("termsOfUse", [{"id": "https://t.example"}]), "type"),
    ("credential.evidence", _set("evidence.0.type", _DELETE), "evidence[0].type"),
    ("credential.evidence", _set("evidence.0.type", ["Thing"]), "Evidence"),
    ("credential.related_resource", _set("relatedResource.1.id", ""), "relatedResource[1].id"),
    ("credential.related_resource", _set("relatedResource.0.digestMultibase", "zzz"), "zzz"),
    ("credential.related_resource", _set("relatedResource.0.digestMultibase", _DELETE), "digest"),
    ("credential.related_resource", _set("relatedResource.0.digestSRI", "md5-abc"), "md5-abc"),
    ("credential.related_resource", _set("relatedResource.0.mediaType", "pdf"), "'pdf'"),
    ("credential.name", _set("name", {"@value": "x", "@lang": "en"}), "@lang"),
    ("credential.description", _set("description", 7), "7"),
    ("credential.null_value", _set("description", None), "$.description"),
    ("credential.null_value", _set(f"{ACH}.tag", []), "tag"),
    ("credential.subject_unidentified", _set(f"{SUBJ}.identifier", _DELETE), "identifier"),
    ("credential.achievement_subject", _set(f"{SUBJ}.type", ["Person"]), "AchievementSubject"),
    ("credential.achievement_subject", _set(f"{SUBJ}.achievement", _DELETE), "achievement"),
    ("credential.identity_object", _set(f"{SUBJ}.identifier.0.identityHash", "sha256$zz"), "zz"),
    ("credential.identity_object", _set(f"{SUBJ}.identifier.0.hashed", "true"), "hashed"),
    ("credential.identity_object", _set(f"{SUBJ}.identifier.0.identityType", "mail"), "mail"),
    ("credential.identity_object", _set(f"{SUBJ}.identifier.0.type", "Id"), "IdentityObject"),
    ("credential.achievement", _set(f"{ACH}.criteria", _DELETE), "criteria"),
    ("credential.achievement", _set(f"{ACH}.description", _DELETE), "description"),
    ("credential.achievement", _set(f"{ACH}.name", _DELETE), "name"),
    ("credential.achievement", _set(f"{ACH}.id", "badge-1"), "'badge-1'"),
    ("credential.achievement", _set(f"{ACH}.type", ["Badge"]), "Achievement"),
    ("credential.alignment", _set(f"{ACH}.alignment.0.targetName", _DELETE), "targetName"),
    ("credential.alignment", _set(f"{ACH}.alignment.1.targetUrl", "n/a"), "'n/a'"),
    ("credential.result_description", _set(f"{ACH}.resultDescription.1.resultType", "X"), "X"),
    ("credential.result_description", _set(f"{ACH}.resultDescription.1.name", _DELETE), "name"),
    (
        "credential.rubric_criterion_level",
        _set(f"{ACH}.resultDescription.0.rubricCriterionLevel.2.name", _DELETE),
        "rubricCriterionLevel[2].name",
    ),
    ("credential.result", _set(f"{SUBJ}.result.1.status", _DELETE), "Status"),
    ("credential.result", _set(f"{SUBJ}.result.1.status", "Done"), "'Done'"),
    ("credential.result", _set(f"{SUBJ}.result.0.resultDescription", "urn:x:1"), "urn:x:1"),
    ("credential.result", _set(f"{SUBJ}.result.0.achievedLevel", "urn:x:2"), "urn:x:2"),
    ("credential.image", _set("image.type", "Picture"), "Picture"),
    ("credential.image", _set(f"{ACH}.image.id", _DELETE), "image.id"),
    ("credential.profile", _set(f"{SUBJ}.source.type", ["Organization"]), "Profile"),
    ("credential.profile", _set("issuer.type", _DELETE), "issuer.type"),
    ("credential.related", _set(f"{ACH}.related", [{"id": "https://r.example"}]), "Related"),
]


@pytest.mark.parametrize(
    ("code", "mutate", "quoted"),
    BROKEN,
    # Stable ids (a function's repr holds its address), so every run collects the same tests.
    ids=[f"{code}-{i}" for i, (code, _, _) in enumerate(BROKEN)],
)
def test_each_problem_code(code: str, mutate: Mutation, quoted: str) -> None:
    doc = build_ob3_credential()
    mutate(doc)
    problems = credential_problems(doc)
    assert [p.code for p in problems] == [code], [p.message for p in problems]
    assert quoted in problems[0].message


def test_related_resource_ids_must_be_unique() -> None:
    doc = build_ob3_credential()
    doc["relatedResource"][1]["id"] = doc["relatedResource"][0]["id"]
    problems = credential_problems(doc)
    assert [p.code for p in problems] == ["credential.related_resource"]
    assert "more than once" in problems[0].message


def test_digest_sri() -> None:
    doc = build_ob3_credential()
    doc["relatedResource"][0]["digestSRI"] = "sha384-AAAA"  # too short for SHA-384
    assert _codes(doc) == ["credential.related_resource"]
    doc["relatedResource"][0]["digestSRI"] = "sha384-" + "A" * 64 + " sha256-" + "A" * 43 + "="
    assert credential_problems(doc) == []


def test_language_value_objects() -> None:
    doc = build_ob3_credential()
    doc["name"] = [
        {"@value": "Micro-stage", "@language": "fr"},
        {"@value": "Micro-internship", "@language": "en", "@direction": "ltr"},
    ]
    assert credential_problems(doc) == []


def test_endorsement_credential_rules() -> None:
    doc = json.loads((OB3_SPEC / "endorsement.json").read_text("utf-8"))
    broken = copy.deepcopy(doc)
    del broken["name"]
    assert _codes(broken) == ["credential.endorsement"]
    broken = copy.deepcopy(doc)
    broken["credentialSubject"]["type"] = ["Thing"]
    del broken["credentialSubject"]["id"]
    assert _codes(broken) == ["credential.endorsement_subject"] * 2


def test_problems_in_embedded_endorsements_name_their_path() -> None:
    doc = json.loads((OB3_SPEC / "fullOpenBadge.json").read_text("utf-8"))
    del doc["issuer"]["endorsement"][0]["name"]
    problems = credential_problems(doc)
    assert [p.code for p in problems] == ["credential.endorsement"]
    assert problems[0].message.startswith("$.issuer.endorsement[0].name")


def test_every_problem_is_reported() -> None:
    problems = credential_problems({"@context": "x", "type": 5, "credentialSubject": None})
    codes = {p.code for p in problems}
    assert {"credential.context", "credential.type", "credential.issuer"} <= codes
    assert "credential.null_value" in codes
