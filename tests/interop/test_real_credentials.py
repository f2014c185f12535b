"""Agreement on real credentials: the ones the Digital Credentials Consortium's verifier and
1EdTech's validator test themselves with (tests/vectors/real/PROVENANCE.md), run through
our verifier and through Digital Bazaar's (interop/agreement.mjs), offline.

Both must say the same thing: verified or not verified. ("Verified with warnings" is
verified: it is authentic and valid, only not fully conformant.) Where a verifier answers
otherwise (Digital Bazaar's, run here, or 1EdTech's validator, whose own tests say), the
divergence is written down in ``Vector.divergence`` and in docs/conformance.md,
"Divergences from other verifiers"; the test fails if any verdict changes, the
divergences' included.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from badgeworks.adapters.resources import default_loader, schema_documents
from badgeworks.core.verification.credential import verify
from badgeworks.core.verification.report import Verdict
from tests.interop.conftest import HARNESS_TIMEOUT_S, INTEROP, REPO, Harness

REAL = REPO / "tests" / "vectors" / "real"
ED25519_2020 = "https://w3id.org/security/suites/ed25519-2020/v1"
AGREEMENT = INTEROP / "agreement.mjs"
#: A fixed "now" after every credential's validFrom and before nothing else matters.
NOW = datetime(2026, 1, 1, tzinfo=UTC)
DCC_LIST_URL = (
    "https://raw.githubusercontent.com/digitalcredentials/verifier-core/refs/heads/main/"
    "src/test-fixtures/status/e5WK8CbZ1GjycuPombrj"
)
DCC_LISTS = {DCC_LIST_URL: "dcc-verifier-core/status-e5WK8CbZ1GjycuPombrj.json"}
#: DID documents a did:web resolver would fetch, served offline from the fixtures.
DID_DOCUMENTS = ("dcc-did-web/did.json",)


@dataclass(frozen=True)
class Vector:
    path: str
    #: Our verdict, exactly.
    ours: Verdict
    #: Digital Bazaar's: verified (its libraries' verdict and no status bit set).
    digitalbazaar: bool
    #: What the upstream project's own tests expect, where they say (None: they do not).
    upstream: bool | None = None
    #: The codes our report must hold (what the verdict rests on).
    codes: tuple[str, ...] = ()
    #: Why another verifier answers otherwise, when one does (docs/conformance.md).
    divergence: str | None = None
    #: Whether that verifier is Digital Bazaar's (run here), not only the upstream one.
    digitalbazaar_diverges: bool = False


VECTORS = (
    Vector(
        "dcc-verifier-core/v2WithValidStatus.json",
        "verified_with_warnings",
        True,
        upstream=True,
        codes=("credential.subject_unidentified", "status.list_too_short", "status.ok"),
    ),
    Vector(
        "dcc-verifier-core/v2EddsaWithValidStatus.json",
        "verified_with_warnings",
        True,
        upstream=True,
        codes=("credential.subject_unidentified", "status.list_too_short", "status.ok"),
    ),
    Vector(
        "dcc-verifier-core/v2DoubleSigWithValidStatus.json",
        "verified_with_warnings",
        True,
        codes=("issuer.key_match", "status.ok"),
    ),
    Vector(
        "dcc-verifier-core/v1WithValidStatus.json",
        "verified_with_warnings",
        True,
        codes=("credential.subject_unidentified", "status.ok"),
    ),
    Vector(
        "dcc-verifier-core/v2OBv3SpecExample.json",
        "verified_with_warnings",
        True,
        codes=("issuer.unknown",),
    ),
    Vector(
        "dcc-verifier-core/v2Revoked.json",
        "not_verified",
        False,
        upstream=False,
        codes=("status.revoked",),
    ),
    Vector("dcc-verifier-core/v1Revoked.json", "not_verified", False, codes=("status.revoked",)),
    Vector(
        "dcc-verifier-core/v2Expired.json",
        "not_verified",
        False,
        upstream=False,
        codes=("validity.expired",),
    ),
    Vector(
        "dcc-verifier-core/v2didWebWithValidStatus.json",
        "verified_with_warnings",
        False,
        upstream=True,
        codes=("issuer.key_match", "status.issuer_mismatch", "status.ok"),
        divergence=(
            "The credential (did:web issuer) names a status list signed by the DCC's "
            "did:key. Digital Bazaar's checkStatus refuses a list from another issuer "
            "(verifyMatchingIssuers); Bitstring Status List §2.2 allows it, the DCC's tests "
            "expect it to verify, and we read it with a warning (docs/conformance.md)."
        ),
        digitalbazaar_diverges=True,
    ),
    Vector(
        "1edtech-validator/simple-did-key-method.json",
        "not_verified",
        False,
        upstream=True,
        codes=("proof.key_not_found",),
        divergence=(
            "1EdTech's validator accepts a bare did:key as the verificationMethod and a "
            "urn:uuid issuer that is not the key's controller; we and Digital Bazaar "
            "refuse both (docs/conformance.md)."
        ),
    ),
)


def _read(path: str) -> Any:
    return json.loads((REAL / path).read_text("utf-8"))


def _lists() -> dict[str, Any]:
    return {url: _read(path) for url, path in DCC_LISTS.items()}


def _dids() -> dict[str, Any]:
    """Each DID document at its id, and each of its keys at its own id (with the context
    of its type), as a did:web resolver would serve them."""
    served: dict[str, Any] = {}
    for path in DID_DOCUMENTS:
        did = _read(path)
        served[did["id"]] = did
        for method in did.get("assertionMethod", []):
            if isinstance(method, dict):
                served[method["id"]] = {"@context": ED25519_2020, **method}
    return served


def test_every_vector_is_as_provenance_records() -> None:
    """Each file's sha256 is the one PROVENANCE.md gives ("sha256 (here)"), and every file
    in the folder is listed."""
    table = (REAL / "PROVENANCE.md").read_text("utf-8")
    recorded = {
        name: digest
        for name, digest in re.findall(
            r"^\| `([^`]+)` \| `[^`]+` \| `[0-9a-f]{40}` \| `[0-9a-f]{64}` \| `([0-9a-f]{64})` \|$",
            table,
            re.MULTILINE,
        )
    }
    files = sorted(p for p in REAL.rglob("*.json"))
    assert {p.name for p in files} == set(recorded)
    for path in files:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == recorded[path.name], path
    used = {Path(v.path).name for v in VECTORS}
    used |= {Path(p).name for p in (*DCC_LISTS.values(), *DID_DOCUMENTS)}
    assert used == {p.name for p in files}


@pytest.mark.parametrize("vector", VECTORS, ids=[Path(v.path).stem for v in VECTORS])
def test_our_verdict(vector: Vector) -> None:
    lists = _lists()
    report = verify(
        _read(vector.path),
        loader=default_loader().with_resolver(_dids().get),
        now=NOW,
        status_resolver=lists.__getitem__,
        schemas=schema_documents(),
    )
    assert report.verdict == vector.ours, report.as_dict()
    found = {c.code for c in report.checks}
    assert set(vector.codes) <= found, sorted(found)
    if vector.upstream is not None and vector.digitalbazaar_diverges == (
        vector.divergence is not None
    ):
        # Where the upstream project's tests say, we say the same, unless the upstream
        # project is the one we diverge from.
        assert report.verified is vector.upstream


def _digitalbazaar(harness: Harness, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [harness.node, str(AGREEMENT)],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=HARNESS_TIMEOUT_S,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert isinstance(results, list) and len(results) == len(items)
    return results


def test_digitalbazaar_agrees(harness: Harness) -> None:
    documents = {**_lists(), **_dids()}
    items = [
        {"credential": _read(v.path), "now": NOW.isoformat(), "documents": documents}
        for v in VECTORS
    ]
    results = _digitalbazaar(harness, items)
    theirs = {v.path: r for v, r in zip(VECTORS, results, strict=True)}
    for vector in VECTORS:
        result = theirs[vector.path]
        assert result["verified"] is vector.digitalbazaar, (vector.path, result)
        ours_verified = vector.ours in ("verified", "verified_with_warnings")
        # Agreement, except where a divergence is written down: then the opposite.
        assert (ours_verified is vector.digitalbazaar) is not vector.digitalbazaar_diverges
    mismatch = theirs["dcc-verifier-core/v2didWebWithValidStatus.json"]
    assert (
        "Issuers of the status list credential and verifiable credential do not match"
        in (mismatch["error"])
    )
    # Revoked means the same to both: the libraries verify the list, and its bit is set.
    revoked = theirs["dcc-verifier-core/v2Revoked.json"]
    assert revoked["librariesVerified"] is True and revoked["statuses"] == [True]


def test_the_harness_refuses_to_fetch(harness: Harness) -> None:
    """Without the list served to it, the status check cannot run: nothing is fetched."""
    (result,) = _digitalbazaar(
        harness, [{"credential": _read("dcc-verifier-core/v2WithValidStatus.json")}]
    )
    assert result["verified"] is False
    assert "offline loader" in result["error"]
