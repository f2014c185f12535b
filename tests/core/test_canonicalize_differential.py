"""The fast path is byte-identical to pyld, and as strict, on vectors and generated documents."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from badgeworks.core import jsonld, rdfc
from badgeworks.core.canonicalize import canonicalize, canonicalize_fallback, canonicalize_plain
from badgeworks.core.errors import BadgeworksError
from badgeworks.core.jsonld import direct
from badgeworks.core.loader import DocumentLoader

VECTORS = Path(__file__).parent.parent / "vectors"
EDDSA = VECTORS / "vc-di-eddsa"
VC2 = "https://www.w3.org/ns/credentials/v2"
VC1 = "https://www.w3.org/2018/credentials/v1"
OB303 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB302 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"
DI2 = "https://w3id.org/security/data-integrity/v2"
STATUS = "https://www.w3.org/ns/credentials/status/v1"


def _read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


# Strictness codes must agree exactly; for malformed JSON-LD pyld reports the generic
# ``jsonld.invalid`` where the fast path names the problem, so only "it failed" must agree.
_STRICT_CODES = {"jsonld.dropped_term", "jsonld.relative_iri", "context.not_allowed"}


def _outcome(fn: Any, doc: Any, loader: DocumentLoader) -> tuple[str, str]:
    try:
        return ("ok", fn(doc, loader))
    except BadgeworksError as exc:
        return ("error", exc.code if exc.code in _STRICT_CODES else "malformed")


def _fast_only(doc: Any, loader: DocumentLoader) -> str:
    # Fails the test if the fast path would fall back, so coverage is measured honestly.
    return rdfc.canonicalize(jsonld.to_quads(doc, loader))


def _general_only(doc: Any, loader: DocumentLoader) -> str:
    # The fast path without its direct walk (jsonld.direct), through the expanded form.
    return rdfc.canonicalize(jsonld.to_quads_general(doc, loader))


def _takes_direct_walk(doc: Any, loader: DocumentLoader) -> bool:
    try:
        direct.Direct(loader).run(doc)
    except Exception:
        return False
    return True


# -- W3C vc-di-eddsa vectors ------------------------------------------------------------


def test_w3c_document_vector(loader: DocumentLoader) -> None:
    doc = _read(EDDSA / "unsigned.json")
    expected = (EDDSA / "eddsa-rdfc-2022" / "canonDocDataInt.txt").read_text("utf-8")
    assert _fast_only(doc, loader) == expected
    assert canonicalize(doc, loader) == expected


@pytest.mark.parametrize(
    ("config", "canon"),
    [
        ("eddsa-rdfc-2022/proofConfigDataInt.json", "eddsa-rdfc-2022/proofCanonDataInt.txt"),
        ("Ed25519Signature2020/proofConfigEdSig.json", "Ed25519Signature2020/proofCanonEdSig.txt"),
    ],
)
def test_w3c_proof_config_vectors(loader: DocumentLoader, config: str, canon: str) -> None:
    expected = (EDDSA / canon).read_text("utf-8")
    assert _fast_only(_read(EDDSA / config), loader) == expected


@pytest.mark.parametrize(
    "name",
    [
        "proofChainConfig1.json",
        "proofChainConfig2.json",
        "proofSetConfig1.json",
        "proofSetConfig2.json",
        "proofChainTempDoc1.json",
        "proofChainTempDoc2.json",
        "signedProofChain2.json",
        "signedProofSet2.json",
        "unsigned.json",
    ],
)
def test_proof_set_chain_documents_match_pyld(loader: DocumentLoader, name: str) -> None:
    doc = _read(EDDSA / "proof-set-chain" / name)
    if "@context" not in doc:
        # A proof configuration takes the secured document's @context (vc-di-eddsa §3.3.5).
        doc = {**doc, "@context": _read(EDDSA / "proof-set-chain" / "unsigned.json")["@context"]}
    assert _fast_only(doc, loader) == canonicalize_plain(doc, loader)


@pytest.mark.parametrize(
    "path", sorted((VECTORS / "ob3-spec").glob("*.json")), ids=lambda p: p.name
)
def test_ob3_spec_examples_match_pyld(loader: DocumentLoader, path: Path) -> None:
    doc = _read(path)
    assert _fast_only(doc, loader) == canonicalize_plain(doc, loader)


# -- generated credentials ---------------------------------------------------------------

_TEXT = [
    "Data Pipeline",
    "Ünïcödé ✓ naïve café",
    "emoji 🎓🚀",
    'quotes "double" and \\backslash\\',
    "line one\nline two\r\nline\tthree",
    "日本語のテキスト",
    "",
    " leading and trailing ",
]


def _text(r: random.Random) -> str:
    return r.choice(_TEXT) + (f" #{r.randint(0, 999)}" if r.random() < 0.5 else "")


def _iri(r: random.Random) -> str:
    return r.choice(
        [
            f"https://example.org/{r.randint(0, 50)}",
            f"urn:uuid:{r.getrandbits(128):032x}",
            f"did:example:{r.randint(0, 9)}",
        ]
    )


def _image(r: random.Random) -> Any:
    if r.random() < 0.5:
        return _iri(r)
    img: dict[str, Any] = {"id": _iri(r), "type": "Image"}
    if r.random() < 0.5:
        img["caption"] = _text(r)
    return img


def _profile(r: random.Random, depth: int = 0) -> Any:
    if r.random() < 0.2:
        return _iri(r)
    p: dict[str, Any] = {"id": _iri(r), "type": ["Profile"], "name": _text(r)}
    if r.random() < 0.5:
        p["image"] = _image(r)
    if r.random() < 0.4:
        p["address"] = {
            "type": ["Address"],
            "addressCountry": _text(r),
            "postalCode": str(r.randint(1000, 99999)),
            **(
                {
                    "geo": {
                        "type": "GeoCoordinates",
                        "latitude": r.uniform(-90, 90),
                        "longitude": r.uniform(-180, 180),
                    }
                }
                if r.random() < 0.5
                else {}
            ),
        }
    if r.random() < 0.3 and depth < 2:
        p["parentOrg"] = _profile(r, depth + 1)
    if r.random() < 0.3:
        p["email"] = "someone@example.org"
    if r.random() < 0.3:
        p["otherIdentifier"] = [
            {"type": "IdentifierEntry", "identifier": _text(r), "identifierType": "sourcedId"}
        ]
    if r.random() < 0.2:
        p["official"] = r.choice([True, False])
    return p


def _proof(r: random.Random) -> dict[str, Any]:
    proof: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2024-01-01T00:00:00Z",
        "verificationMethod": "did:key:z6Mk1#z6Mk1",
        "proofPurpose": r.choice(["assertionMethod", "authentication"]),
        "proofValue": "z" + "".join(r.choice("abcdefgh123") for _ in range(40)),
    }
    if r.random() < 0.3:
        proof["id"] = _iri(r)
    if r.random() < 0.2:
        proof["challenge"] = _text(r)
    return proof


def _achievement(r: random.Random, contexts: list[Any]) -> dict[str, Any]:
    a: dict[str, Any] = {
        "id": _iri(r),
        "type": ["Achievement"],
        "name": _text(r),
        "description": _text(r),
        "criteria": {"narrative": _text(r)} if r.random() < 0.7 else {"id": _iri(r)},
    }
    if r.random() < 0.5:
        a["image"] = _image(r)
    if r.random() < 0.6:
        a["alignment"] = [
            {
                "type": ["Alignment"],
                "targetName": _text(r),
                "targetUrl": _iri(r),
                **({"targetCode": "X-1"} if r.random() < 0.5 else {}),
            }
            for _ in range(r.randint(1, 3))
        ]
    if r.random() < 0.5:
        a["resultDescription"] = [
            {
                "id": _iri(r),
                "type": ["ResultDescription"],
                "name": _text(r),
                "resultType": "RubricCriterionLevel",
                "allowedValue": [_text(r) for _ in range(r.randint(0, 3))],
                "rubricCriterionLevel": [
                    {
                        "id": _iri(r),
                        "type": ["RubricCriterionLevel"],
                        "name": _text(r),
                        "level": str(i),
                        "points": str(i * 2),
                    }
                    for i in range(r.randint(1, 3))
                ],
            }
        ]
    if r.random() < 0.4:
        a["creditsAvailable"] = r.choice([1, 2.5, 3.0, 10**22, 0.1])
    if r.random() < 0.4:
        a["tag"] = [_text(r) for _ in range(r.randint(1, 3))]
    if r.random() < 0.3:
        a["creator"] = _profile(r)
    if r.random() < 0.2:
        a["endorsement"] = [_endorsement(r, contexts)]
    return a


def _subject(r: random.Random, contexts: list[Any]) -> dict[str, Any]:
    s: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "achievement": _achievement(r, contexts),
    }
    if r.random() < 0.6:
        s["identifier"] = [
            {
                "type": "IdentityObject",
                "identityHash": "sha256$" + f"{r.getrandbits(256):064x}",
                "identityType": "emailAddress",
                "hashed": True,
                "salt": _text(r),
            }
        ]
    else:
        s["id"] = _iri(r)
    if r.random() < 0.4:
        s["result"] = [
            {
                "type": ["Result"],
                "resultDescription": _iri(r),
                "status": "Completed",
                **({"value": _text(r)} if r.random() < 0.5 else {}),
            }
        ]
    if r.random() < 0.3:
        s["creditsEarned"] = r.choice([1, 2.5, 1e-7, 123456789012345678901234])
    if r.random() < 0.3:
        s["activityStartDate"] = "2024-01-01"
    return s


def _status(r: random.Random) -> dict[str, Any]:
    return {
        "id": _iri(r),
        "type": "BitstringStatusListEntry",
        "statusPurpose": r.choice(["revocation", "suspension"]),
        "statusListIndex": str(r.randint(0, 131071)),
        "statusListCredential": _iri(r),
    }


def _evidence(r: random.Random) -> dict[str, Any]:
    e: dict[str, Any] = {"type": ["Evidence"], "name": _text(r)}
    if r.random() < 0.6:
        e["id"] = _iri(r)
    for key in ("description", "narrative", "genre", "audience"):
        if r.random() < 0.4:
            e[key] = _text(r)
    return e


def _endorsement(r: random.Random, contexts: list[Any] | None = None) -> dict[str, Any]:
    # An embedded endorsement repeats the @context of the credential around it: another
    # OB or VC context version would redefine protected terms (and pyld rejects that).
    doc: dict[str, Any] = {
        "@context": list(contexts) if contexts else [VC2, r.choice([OB303, OB302])],
        "id": _iri(r),
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": _text(r),
        "issuer": _profile(r),
        "validFrom": "2024-02-02T00:00:00Z",
        "credentialSubject": {
            "id": _iri(r),
            "type": ["EndorsementSubject"],
            "endorsementComment": _text(r),
        },
    }
    if r.random() < 0.6:
        if doc["@context"][0] == VC1:
            # The VC 1.1 context does not define DataIntegrityProof (Context Injection).
            doc["@context"] = [*doc["@context"], DI2]
        doc["proof"] = [_proof(r) for _ in range(r.randint(1, 2))]
    return doc


def _achievement_credential(r: random.Random, contexts: list[Any] | None = None) -> dict[str, Any]:
    contexts = contexts or [VC2, r.choice([OB303, OB302])]
    if r.random() < 0.2:
        contexts = [
            *contexts,
            {"customNote": "https://example.org/vocab#note", "ex": "https://example.org/vocab#"},
        ]
    if r.random() < 0.1:
        contexts = [*contexts, {"@vocab": "https://example.org/any#"}]
    doc: dict[str, Any] = {
        "@context": contexts,
        "id": _iri(r),
        "type": [
            "VerifiableCredential",
            r.choice(["OpenBadgeCredential", "AchievementCredential"]),
        ],
        "name": _text(r),
        "issuer": _profile(r),
        "validFrom": "2024-05-01T12:00:00Z",
        "credentialSubject": _subject(r, contexts),
    }
    if r.random() < 0.5:
        doc["evidence"] = [_evidence(r) for _ in range(r.randint(1, 3))]
    if r.random() < 0.5:
        doc["credentialStatus"] = _status(r)
    if r.random() < 0.3:
        doc["validUntil"] = "2030-01-01T00:00:00Z"
    if r.random() < 0.3:
        doc["endorsement"] = [_endorsement(r, contexts) for _ in range(r.randint(1, 2))]
    if r.random() < 0.3:
        doc["proof"] = _proof(r)
    if any(isinstance(c, dict) and "customNote" in c for c in contexts):
        doc["customNote"] = _text(r)
        doc["ex:extra"] = {"@value": _text(r), "@language": r.choice(["en", "FR", "de-CH"])}
        if r.random() < 0.5:
            # VC 2.0 "Language and Base Direction" value objects (rdfDirection
            # "i18n-datatype" on every path).
            doc["ex:directed"] = {
                "@value": _text(r),
                "@language": r.choice(["ar", "HE", "en-US"]),
                "@direction": r.choice(["rtl", "ltr"]),
            }
    if any(isinstance(c, dict) and "@vocab" in c for c in contexts):
        doc["anything"] = {"nested": [1, True, "x", {"deeper": 2.5}]}
    return doc


def _vc11_credential(r: random.Random) -> dict[str, Any]:
    # The same shape under the VC 1.1 context (nested endorsements included, since they
    # repeat the outer @context).
    doc = _achievement_credential(r, [VC1, r.choice([OB303, OB302])])
    doc["issuanceDate"] = doc.pop("validFrom")
    doc.pop("credentialStatus", None)
    doc.pop("proof", None)
    doc.pop("validUntil", None)
    return doc


def _status_list_credential(r: random.Random) -> dict[str, Any]:
    return {
        "@context": [VC2],
        "id": _iri(r),
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": _iri(r),
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {
            "id": _iri(r) + "#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
            **({"ttl": r.randint(1, 10**6)} if r.random() < 0.5 else {}),
        },
    }


def _presentation(r: random.Random) -> dict[str, Any]:
    vp: dict[str, Any] = {
        "@context": [VC2, OB303],
        "type": ["VerifiablePresentation"],
        "holder": _iri(r),
        "verifiableCredential": [],
    }
    for _ in range(r.randint(1, 2)):
        vp["verifiableCredential"].append(_achievement_credential(r, [VC2, OB303]))
    if r.random() < 0.5:
        vp["proof"] = {**_proof(r), "proofPurpose": "authentication", "challenge": "abc"}
    return vp


def _proof_config(r: random.Random) -> dict[str, Any]:
    return {**_proof(r), "@context": [VC2, r.choice([OB303, OB302])]}


_KINDS = [
    _achievement_credential,
    _endorsement,
    _vc11_credential,
    _status_list_credential,
    _presentation,
    _proof_config,
]


def _documents(seed: int, count: int) -> list[dict[str, Any]]:
    r = random.Random(seed)
    return [r.choice(_KINDS)(r) for _ in range(count)]


#: How many generated documents the differential test compares (about 10 s in all).
GENERATED = 500


def test_generator_makes_valid_documents(loader: DocumentLoader) -> None:
    # A differential test over documents both paths reject proves little, so the
    # generator must produce documents that canonicalize.
    documents = _documents(20240501, GENERATED)
    ok = sum(_outcome(canonicalize, doc, loader)[0] == "ok" for doc in documents)
    assert ok == len(documents)


def test_generated_documents_match_pyld(loader: DocumentLoader) -> None:
    walked = 0
    documents = _documents(20240501, GENERATED)
    for i, doc in enumerate(documents):
        expected = _outcome(canonicalize_plain, doc, loader)
        # jsonld.Unsupported escaping here fails the test: no generated document may
        # need the pyld fallback.
        actual = _outcome(_fast_only, doc, loader)
        assert actual == expected, f"document {i} differs: {json.dumps(doc)[:400]}"
        general = _outcome(_general_only, doc, loader)
        assert general == expected, f"document {i} (general path) differs"
        walked += _takes_direct_walk(doc, loader)
    # Most documents take the direct walk; the others (value objects) the general path.
    assert walked >= 0.7 * len(documents)


def test_fallback_matches_pyld(loader: DocumentLoader) -> None:
    # The fallback (pyld's dataset, canonicalized by rdfc) equals pyld end to end.
    for i, doc in enumerate(_documents(31337, 60)):
        expected = _outcome(canonicalize_plain, doc, loader)
        assert _outcome(canonicalize_fallback, doc, loader) == expected, f"document {i}"


_CONTROLS = "\x00\x07\b\t\n\x0b\f\r\x1b\x1f\x7f"


def _with_controls(value: Any, r: random.Random) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                v + r.choice(_CONTROLS) + _CONTROLS
                if k in ("name", "description", "narrative") and isinstance(v, str)
                else _with_controls(v, r)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_with_controls(v, r) for v in value]
    return value


def test_generated_control_characters_agree_across_paths(loader: DocumentLoader) -> None:
    # pyld's serializer writes control characters raw, so here the fast path is checked
    # against the fallback, which escapes as RDFC-1.0 (and Digital Bazaar) do.
    r = random.Random(5)
    for i, doc in enumerate(_documents(4242, 40)):
        doc = _with_controls(doc, r)
        fast = _outcome(_fast_only, doc, loader)
        assert fast[0] == "ok"
        assert fast == _outcome(canonicalize_fallback, doc, loader), f"document {i}"
        assert fast == _outcome(_general_only, doc, loader), f"document {i}"


def _mutations(r: random.Random, doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    undefined = copy.deepcopy(doc)
    undefined["undefinedTerm"] = "x"
    out.append(undefined)
    nested = copy.deepcopy(doc)
    target = nested.get("credentialSubject") or nested
    if isinstance(target, dict):
        target["achievment"] = {"name": "typo"}
    out.append(nested)
    relative = copy.deepcopy(doc)
    relative["id"] = r.choice(["relative/id", "#frag", "", "has space:x y"])
    out.append(relative)
    bad_type = copy.deepcopy(doc)
    bad_type["type"] = [*doc.get("type", []), "UndefinedType"]
    out.append(bad_type)
    null_term = copy.deepcopy(doc)
    null_term["@context"] = [*_arrayify(doc["@context"]), {"nulled": None}]
    null_term["nulled"] = 1
    out.append(null_term)
    blank_prop = copy.deepcopy(doc)
    blank_prop["@context"] = [*_arrayify(doc["@context"]), {"weird": "1nvalid:x"}]
    blank_prop["weird"] = 1
    out.append(blank_prop)
    both = copy.deepcopy(relative)
    both["zzzUndefined"] = 1
    out.append(both)
    return out


def _arrayify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_generated_mutations_are_equally_strict(loader: DocumentLoader) -> None:
    r = random.Random(7)
    checked = 0
    for doc in _documents(99, 60):
        for mutated in _mutations(r, doc):
            plain = _outcome(canonicalize_plain, mutated, loader)
            fast = _outcome(canonicalize, mutated, loader)
            assert fast == plain, json.dumps(mutated)[:400]
            checked += 1
    assert checked == 60 * 7
