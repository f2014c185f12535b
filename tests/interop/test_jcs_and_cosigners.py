"""Interop with Digital Bazaar for eddsa-jcs-2022, Ed25519VerificationKey2020 keys and proof
sets with a co-signer (see docs/interop.md and docs/conformance.md, "Data Integrity").

- vc-di-eddsa §3.3 ``eddsa-jcs-2022``: what we sign verifies with
  ``@digitalbazaar/eddsa-jcs-2022-cryptosuite`` and the reverse; with the same key and
  ``created`` both produce the identical signed document; tampering fails on both sides.
- An ``Ed25519VerificationKey2020`` key in a did:web document: a proof Digital Bazaar makes
  with ``@digitalbazaar/ed25519-verification-key-2020`` verifies with ours (both suites),
  and ours with theirs.
- VC Data Integrity "Add Proof Set/Chain": we sign as the issuer and Digital Bazaar adds a
  co-signer's proof, and the reverse; both sides verify each proof, and a broken
  co-signature or a set without the issuer's proof fails ours.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from badgeworks.core.contexts import ED25519_2020_CONTEXT
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.multikey import decode_secret_key
from badgeworks.core.proof import add_proof, verify_proofs
from badgeworks.core.verification.credential import verify
from tests.conftest import EDDSA, read_json
from tests.did_key_badges import badge
from tests.interop.conftest import Harness

pytestmark = pytest.mark.interop

Json = dict[str, Any]

CREATED = "2024-05-01T12:00:00Z"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
JCS = "eddsa-jcs-2022"
RDFC = "eddsa-rdfc-2022"
SUITES = [RDFC, JCS]


def _vector_key(name: str | None = None, **ids: str) -> Ed25519KeyPair:
    data = (
        read_json(EDDSA / "keyPair.json")
        if name is None
        else read_json(EDDSA / "proof-set-chain" / "multiKeyPairs.json")[name]
    )
    return Ed25519KeyPair.from_multibase(
        data["publicKeyMultibase"], data["privateKeyMultibase"], **ids
    )


#: The W3C vc-di-eddsa keys: fixed, so every run signs the same bytes.
KEY = _vector_key()
WITNESS = _vector_key("keyPair2")
OTHER_WITNESS = _vector_key("keyPair3")

#: A did:web issuer whose DID document publishes an Ed25519VerificationKey2020 key.
WEB_DID = "did:web:credentials.northwind.example"
KEY_2020 = _vector_key("keyPair4", controller=WEB_DID, key_id=WEB_DID + "#key-2020")
DID_DOCUMENT_2020 = {
    "@context": ["https://www.w3.org/ns/did/v1", ED25519_2020_CONTEXT],
    "id": WEB_DID,
    "verificationMethod": [
        {
            "id": KEY_2020.id,
            "type": "Ed25519VerificationKey2020",
            "controller": WEB_DID,
            "publicKeyMultibase": KEY_2020.public_key_multibase,
        }
    ],
    "assertionMethod": [KEY_2020.id],
}


def db_key(key: Ed25519KeyPair, key_type: str = "Multikey") -> Json:
    """The key as the harness takes it; a 2020 key also carries its seed (see harness)."""
    found: Json = {
        "publicKeyMultibase": key.public_key_multibase,
        "secretKeyMultibase": key.secret_key_multibase,
        "id": key.id,
        "controller": key.controller,
        "type": key_type,
    }
    if key_type == "Ed25519VerificationKey2020":
        found["seedHex"] = decode_secret_key(key.secret_key_multibase).hex()
    return found


def web_loader(loader: DocumentLoader) -> DocumentLoader:
    def resolve(url: str) -> Any:
        return DID_DOCUMENT_2020 if url.split("#")[0] == WEB_DID else None

    return loader.with_resolver(resolve)


def ours_all_verified(document: Json, loader: DocumentLoader) -> tuple[bool, list[str]]:
    results = verify_proofs(document, loader, now=NOW)
    return bool(results) and all(r.verified for r in results), [
        f"{r.code}: {r.message}" for r in results if not r.verified
    ]


def db_proofs(result: Json) -> list[bool]:
    assert "error" not in result or "proofs" in result, result
    return [p["verified"] for p in result.get("proofs") or []]


def db_by_proof(result: Json, document: Json) -> list[bool]:
    """Digital Bazaar's per-proof results in the document's proof order (jsonld-signatures
    reports them grouped by suite, not in document order)."""
    verdicts = {p["proofValue"]: p["verified"] for p in result.get("proofs") or []}
    assert len(verdicts) == len(document["proof"]), result
    return [verdicts[p["proofValue"]] for p in document["proof"]]


def verify_request(document: Json, *, check_issuer: bool = True, **extra: Any) -> Json:
    return {
        "verifiableCredential": document,
        "now": NOW.isoformat(),
        "checkIssuer": check_issuer,
        **extra,
    }


# ------------------------------------------------------------------ the credentials


def _numbers_badge() -> Json:
    doc = badge(KEY)
    # RFC 8785 §3.2.2.3: integral floats, exponents and fractions as ECMAScript writes them.
    doc["credentialSubject"]["result"] = [
        {"type": ["Result"], "value": "98.5"},
    ]
    doc["awardedDate"] = "2025-05-01T09:00:00Z"
    return doc


def _text_badge() -> Json:
    doc = badge(KEY)
    doc["name"] = 'Tab\there, "quotes", back\\slash, é, 𝄞, \u2028, \u0007 and Ünïcödé'
    return doc


#: Credentials issued by KEY's did:key, so Digital Bazaar's issuer rule applies in full.
JCS_CASES: dict[str, Json] = {
    "ob3-builder": badge(KEY),
    "ob3-numbers": _numbers_badge(),
    "ob3-text": _text_badge(),
}


def _with_numbers(doc: Json) -> Json:
    doc = copy.deepcopy(doc)
    doc["credentialSubject"]["grades"] = [1.0, 2.5, 1e21, 0.000001, -0.0, 9007199254740991]
    return doc


# ------------------------------------------------------------------ eddsa-jcs-2022


def test_harness_reproduces_the_w3c_jcs_vector(harness: Harness) -> None:
    signed = harness.one(
        "sign",
        {
            "credential": read_json(EDDSA / "unsigned.json"),
            "key": db_key(KEY),
            "created": "2023-02-24T23:36:38Z",
            "cryptosuite": JCS,
        },
    )
    assert signed == read_json(EDDSA / "eddsa-jcs-2022" / "signedJCS.json")


@pytest.fixture(scope="module")
def jcs_signed(harness: Harness, loader: DocumentLoader) -> dict[str, tuple[Json, Json]]:
    """Each case signed with eddsa-jcs-2022 by us and by Digital Bazaar: (ours, theirs)."""
    names = list(JCS_CASES)
    theirs = harness.run(
        "sign",
        [
            {"credential": JCS_CASES[n], "key": db_key(KEY), "created": CREATED, "cryptosuite": JCS}
            for n in names
        ],
    )
    return {
        n: (add_proof(JCS_CASES[n], KEY, loader, created=CREATED, cryptosuite=JCS), t)
        for n, t in zip(names, theirs, strict=True)
    }


@pytest.mark.parametrize("name", list(JCS_CASES))
def test_jcs_both_ways_and_identical(
    harness: Harness, loader: DocumentLoader, jcs_signed: dict[str, tuple[Json, Json]], name: str
) -> None:
    ours, theirs = jcs_signed[name]
    assert "error" not in theirs, theirs
    assert theirs["proof"]["cryptosuite"] == JCS
    # Ed25519 is deterministic: equal documents mean both hashed the same JCS bytes.
    assert ours == theirs
    db_result = harness.one("verify", verify_request(ours))
    assert db_result["verified"] and db_proofs(db_result) == [True], db_result
    report = verify(theirs, loader=loader, now=NOW)
    assert report.verified, report.as_dict()


def test_jcs_numbers_agree(harness: Harness, loader: DocumentLoader) -> None:
    """RFC 8785 §3.2.2.3 number serialization, where JCS implementations most often differ.
    Checked on the proof layer: the numbers are not OB 3.0 properties."""
    doc = _with_numbers(read_json(EDDSA / "unsigned.json"))
    ours = add_proof(doc, KEY, loader, created=CREATED, cryptosuite=JCS)
    theirs = harness.one(
        "sign", {"credential": doc, "key": db_key(KEY), "created": CREATED, "cryptosuite": JCS}
    )
    assert ours["proof"] == theirs["proof"]
    assert ours_all_verified(theirs, loader)[0]
    result = harness.one("verify", verify_request(ours, check_issuer=False))
    assert db_proofs(result) == [True], result


def _tampered(document: Json) -> dict[str, Json]:
    subject = copy.deepcopy(document)
    subject["credentialSubject"]["achievement"]["name"] = "Forged Achievement"
    created = copy.deepcopy(document)
    created["proof"]["created"] = "2024-05-01T12:00:01Z"
    context = copy.deepcopy(document)
    context["@context"] = list(reversed(context["@context"]))
    no_context = copy.deepcopy(document)
    del no_context["proof"]["@context"]
    return {"subject": subject, "created": created, "context": context, "no-context": no_context}


def test_tampered_jcs_fails_on_both_sides(
    harness: Harness, loader: DocumentLoader, jcs_signed: dict[str, tuple[Json, Json]]
) -> None:
    ours, theirs = jcs_signed["ob3-builder"]
    cases = {f"ours-{k}": v for k, v in _tampered(ours).items()}
    cases |= {f"theirs-{k}": v for k, v in _tampered(theirs).items()}
    results = harness.run("verify", [verify_request(d) for d in cases.values()])
    for (name, document), db_result in zip(cases.items(), results, strict=True):
        assert not db_result["verified"], (name, db_result)
        assert not ours_all_verified(document, loader)[0], name


# ------------------------------------------------------------------ Ed25519VerificationKey2020


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_ed25519_2020_key_both_ways(
    harness: Harness, loader: DocumentLoader, cryptosuite: str
) -> None:
    credential = badge(KEY_2020)
    theirs = harness.one(
        "sign",
        {
            "credential": credential,
            "key": db_key(KEY_2020, "Ed25519VerificationKey2020"),
            "created": CREATED,
            "cryptosuite": cryptosuite,
            "didDocuments": [DID_DOCUMENT_2020],
        },
    )
    assert "error" not in theirs, theirs
    web = web_loader(loader)
    report = verify(theirs, loader=web, now=NOW)
    assert report.verified, report.as_dict()
    assert "issuer.key_match" in [c.code for c in report.checks]

    ours = add_proof(credential, KEY_2020, web, created=CREATED, cryptosuite=cryptosuite)
    assert ours == theirs
    result = harness.one("verify", verify_request(ours, didDocuments=[DID_DOCUMENT_2020]))
    assert result["verified"] and db_proofs(result) == [True], result


# ------------------------------------------------------------------ co-signed proof sets


def _cosigned_ours_then_theirs(
    harness: Harness, loader: DocumentLoader, issuer_suite: str, witness_suite: str
) -> Json:
    issued = add_proof(badge(KEY), KEY, loader, created=CREATED, cryptosuite=issuer_suite)
    cosigned = harness.one(
        "add-proof",
        {
            "document": issued,
            "key": db_key(WITNESS),
            "created": CREATED,
            "cryptosuite": witness_suite,
        },
    )
    assert "error" not in cosigned, cosigned
    return cosigned


def _cosigned_theirs_then_ours(
    harness: Harness, loader: DocumentLoader, issuer_suite: str, witness_suite: str
) -> Json:
    issued = harness.one(
        "sign",
        {
            "credential": badge(KEY),
            "key": db_key(KEY),
            "created": CREATED,
            "cryptosuite": issuer_suite,
        },
    )
    assert "error" not in issued, issued
    return add_proof(issued, WITNESS, loader, created=CREATED, cryptosuite=witness_suite)


BUILDERS = {"ours-then-db": _cosigned_ours_then_theirs, "db-then-ours": _cosigned_theirs_then_ours}


@pytest.mark.parametrize("witness_suite", SUITES)
@pytest.mark.parametrize("issuer_suite", SUITES)
@pytest.mark.parametrize("order", list(BUILDERS))
def test_a_cosigned_set_verifies_in_both(
    harness: Harness, loader: DocumentLoader, order: str, issuer_suite: str, witness_suite: str
) -> None:
    document = BUILDERS[order](harness, loader, issuer_suite, witness_suite)
    assert [p["cryptosuite"] for p in document["proof"]] == [issuer_suite, witness_suite]

    report = verify(document, loader=loader, now=NOW)
    assert report.verified, report.as_dict()
    proof_checks = [c for c in report.checks if c.check == "proof"]
    assert WITNESS.controller in proof_checks[1].message
    assert "issuer.cosigned" in [c.code for c in report.checks]

    # Digital Bazaar: each proof verifies under the assertion purpose; under its credential
    # purpose the co-signer's proof fails its issuer rule, and the set as a whole still
    # verifies because jsonld-signatures needs any one proof (docs/interop.md).
    plain, with_issuer = harness.run(
        "verify", [verify_request(document, check_issuer=False), verify_request(document)]
    )
    assert plain["verified"] and db_by_proof(plain, document) == [True, True], plain
    assert with_issuer["verified"], with_issuer
    assert db_by_proof(with_issuer, document) == [True, False], with_issuer


def test_a_broken_cosignature_fails_ours(harness: Harness, loader: DocumentLoader) -> None:
    document = _cosigned_ours_then_theirs(harness, loader, RDFC, JCS)
    document["proof"][1]["created"] = "2024-05-01T12:00:01Z"
    report = verify(document, loader=loader, now=NOW)
    assert not report.verified
    assert [c.code for c in report.checks if c.check == "proof"] == [
        "proof.verified",
        "proof.signature_invalid",
    ]
    result = harness.one("verify", verify_request(document, check_issuer=False))
    assert db_by_proof(result, document) == [True, False], result


def test_a_set_without_the_issuers_proof_fails_both(
    harness: Harness, loader: DocumentLoader
) -> None:
    witnessed = add_proof(badge(KEY), WITNESS, loader, created=CREATED, cryptosuite=JCS)
    document = harness.one(
        "add-proof",
        {"document": witnessed, "key": db_key(OTHER_WITNESS), "created": CREATED},
    )
    assert ours_all_verified(document, loader)[0]
    report = verify(document, loader=loader, now=NOW)
    assert not report.verified
    assert [c.code for c in report.checks if c.check == "issuer"][:2] == [
        "issuer.key_mismatch",
        "issuer.key_mismatch",
    ]
    result = harness.one("verify", verify_request(document))
    assert not result["verified"], result
