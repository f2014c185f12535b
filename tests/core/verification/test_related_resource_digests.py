"""Related-resource digests: ``digestMultibase`` and ``digestSRI``.

VC Data Model 2.0 §5.3 (Integrity of Related Resources): each ``relatedResource`` object
"MUST contain at least a digestSRI or a digestMultibase value"; ``digestSRI`` is "as
defined by the hash-expression ABNF grammar defined in the Subresource Integrity
specification, Section 3.5", and ``digestMultibase`` as Data Integrity defines it (a
multibase-encoded multihash).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from badgeworks.core import credential as ob
from badgeworks.core.credential import (
    check_digest_sri,
    decode_digest_multibase,
    decode_digest_sri,
)
from badgeworks.core.errors import CredentialError, InputError
from badgeworks.core.structure import credential_problems
from badgeworks.core.verification.checks import deliverable_checks, fingerprinted
from tests.core.conftest import build_ob3_credential

FILE = b"the report the candidate handed in\n"
OTHER = b"a different file\n"
URL = "https://files.example/report.pdf"


def sri(data: bytes, alg: str = "sha384") -> str:
    return f"{alg}-" + base64.b64encode(hashlib.new(alg, data).digest()).decode()


def fetch_from(files: dict[str, bytes]) -> Any:
    def fetch(url: str, max_bytes: int) -> bytes:
        if url not in files:
            raise InputError("not found", code="fetch.http_error")
        return files[url]

    return fetch


def checks_for(resource: dict[str, Any], served: bytes = FILE) -> list[tuple[str, str, str]]:
    credential = {"relatedResource": [{"id": URL, **resource}]}
    found = deliverable_checks(credential, fetch_from({URL: served}), max_bytes=1 << 20)
    return [(c.outcome, c.code, c.message) for c in found]


# ------------------------------------------------------------------- digestMultibase


BARE_HEX = hashlib.sha256(FILE).hexdigest()
BARE_BASE64URL = "u" + base64.urlsafe_b64encode(hashlib.sha256(FILE).digest()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (BARE_HEX, "bare hexadecimal SHA-256 digest"),
        (BARE_BASE64URL, "32 bytes with no multihash header: a bare SHA-256 digest"),
        ("m" + base64.b64encode(b"\x12\x20" + hashlib.sha256(FILE).digest()).decode(), "'m'"),
        ("uEi" + "A" * 10, "header says 32 digest bytes"),
    ],
)
def test_a_digest_multibase_that_is_not_a_multihash_is_refused_precisely(
    value: str, found: str
) -> None:
    """The refusal names what was found and the expected encoding: 'u' or 'z' multibase of a
    sha2-256 multihash, header 0x12 0x20."""
    with pytest.raises(CredentialError) as info:
        decode_digest_multibase(value)
    assert info.value.code == "credential.related_resource"
    message = info.value.message
    assert found in message
    assert "'u'" in message and "'z'" in message and "0x12 0x20" in message


def test_structure_reports_a_bare_sha256_with_the_expected_encoding() -> None:
    credential = build_ob3_credential()
    credential["relatedResource"] = [{"id": URL, "digestMultibase": BARE_HEX}]
    problems = [p for p in credential_problems(credential) if "relatedResource" in p.message]
    assert problems and problems[0].code == "credential.related_resource"
    assert "bare hexadecimal SHA-256" in problems[0].message
    assert "0x12 0x20" in problems[0].message


def test_a_bare_sha256_deliverable_is_malformed_and_says_why() -> None:
    [(outcome, code, message)] = checks_for({"digestMultibase": BARE_BASE64URL})
    assert (outcome, code) == ("fail", "deliverable.malformed")
    assert "no multihash header" in message and "0x12 0x20" in message


def test_a_multihash_digest_multibase_still_matches_and_mismatches() -> None:
    assert checks_for({"digestMultibase": ob.digest_multibase(FILE)})[0][1] == "deliverable.match"
    assert checks_for({"digestMultibase": ob.digest_multibase(FILE, base="z")})[0][1] == (
        "deliverable.match"
    )
    assert checks_for({"digestMultibase": ob.digest_multibase(OTHER)})[0][1] == (
        "deliverable.mismatch"
    )


# ------------------------------------------------------------------------- digestSRI


@pytest.mark.parametrize("alg", ["sha256", "sha384", "sha512"])
def test_digest_sri_is_checked_where_digest_multibase_is(alg: str) -> None:
    """VC 2.0 §5.3: a related resource with only a digestSRI is fetched and compared."""
    resource = {"digestSRI": sri(FILE, alg)}
    credential = {"relatedResource": [{"id": URL, **resource}]}
    assert fingerprinted(credential) == credential["relatedResource"]
    [(outcome, code, _)] = checks_for(resource)
    assert (outcome, code) == ("pass", "deliverable.match")
    [(outcome, code, _)] = checks_for(resource, served=OTHER)
    assert (outcome, code) == ("fail", "deliverable.mismatch")


def test_digest_sri_strongest_algorithm_decides() -> None:
    """SRI §3.3.5: only the strongest algorithm's digests count; any of them may match."""
    matching_weak_wrong_strong = f"{sri(FILE, 'sha256')} {sri(OTHER, 'sha512')}"
    assert not check_digest_sri(matching_weak_wrong_strong, FILE)
    two_strong_one_right = f"{sri(OTHER, 'sha512')} {sri(FILE, 'sha512')} {sri(OTHER, 'sha256')}"
    assert check_digest_sri(two_strong_one_right, FILE)
    # SRI §3.5 allows an option expression after "?"; it does not change the digest.
    assert check_digest_sri(sri(FILE, "sha384") + "?ct=application/pdf", FILE)


def test_both_digests_must_match_when_both_are_given() -> None:
    resource = {"digestMultibase": ob.digest_multibase(FILE), "digestSRI": sri(OTHER)}
    [(outcome, code, _)] = checks_for(resource)
    assert (outcome, code) == ("fail", "deliverable.mismatch")
    resource["digestSRI"] = sri(FILE)
    assert checks_for(resource)[0][1] == "deliverable.match"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("md5-" + base64.b64encode(hashlib.md5(FILE).digest()).decode(), "is not a sha256-"),
        ("sha256-" + base64.b64encode(hashlib.sha384(FILE).digest()).decode(), "48 bytes"),
        ("sha384-***", "is not a sha256-"),
        ("sha256-" + BARE_HEX, "holds 48 bytes"),
        ("", "not a non-empty string"),
    ],
)
def test_a_malformed_digest_sri_is_refused_precisely(value: str, why: str) -> None:
    with pytest.raises(CredentialError) as info:
        decode_digest_sri(value)
    assert info.value.code == "credential.related_resource"
    assert why in info.value.message
    [(outcome, code, message)] = checks_for({"digestSRI": value})
    assert (outcome, code) == ("fail", "deliverable.malformed")
    assert why in message
