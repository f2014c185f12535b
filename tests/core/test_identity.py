"""OB 3.0 IdentityObject hashing and "Verify the Recipient Using an Identifier"."""

from __future__ import annotations

import hashlib

import pytest

from badgeworks.core.errors import CredentialError
from badgeworks.core.identity import (
    PLAIN_IDENTIFIER_MAX,
    identity_hash,
    identity_object,
    matches_identity,
    plain_identity_object,
    plain_name,
)

# OB3_CHECKLIST.md §2: "sha256$b5809d8a…" = SHA-256("a@example.com" + "Kosher").
KOSHER = "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"


def test_spec_identity_hash_vector() -> None:
    assert identity_hash("a@example.com", "Kosher") == KOSHER
    assert KOSHER.startswith("sha256$b5809d8a")


def test_md5_and_unsalted() -> None:
    assert identity_hash("a@example.com", None, "md5") == (
        "md5$" + hashlib.md5(b"a@example.com", usedforsecurity=False).hexdigest()
    )
    assert identity_hash("x", None) == "sha256$" + hashlib.sha256(b"x").hexdigest()


def test_identity_object_never_holds_the_identifier() -> None:
    obj = identity_object("a@example.com", salt="Kosher")
    assert obj == {
        "type": "IdentityObject",
        "hashed": True,
        "identityHash": KOSHER,
        "identityType": "emailAddress",
        "salt": "Kosher",
    }
    assert "a@example.com" not in repr(obj)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"salt": ""}, "salt"), ({"salt": "s", "identity_type": "email"}, "identityType")],
)
def test_identity_object_rejects(kwargs: dict[str, str], match: str) -> None:
    with pytest.raises(CredentialError, match=match) as exc:
        identity_object("a@example.com", **kwargs)
    assert exc.value.code == "credential.identity_object"


def test_matches_identity() -> None:
    obj = identity_object("a@example.com", salt="Kosher")
    assert matches_identity(obj, "a@example.com", "emailAddress")
    assert not matches_identity(obj, "b@example.com", "emailAddress")
    # Entries of another identityType are skipped, per the spec.
    assert not matches_identity(obj, "a@example.com", "name")
    upper = {**obj, "identityHash": "sha256$" + KOSHER.split("$")[1].upper()}
    assert matches_identity(upper, "a@example.com", "emailAddress")
    md5 = {**obj, "identityHash": identity_hash("a@example.com", "Kosher", "md5")}
    assert matches_identity(md5, "a@example.com", "emailAddress")


def test_matches_unhashed_and_malformed() -> None:
    plain = {
        "type": "IdentityObject",
        "hashed": False,
        "identityHash": "student@1edtech.edu",
        "identityType": "emailAddress",
    }
    assert matches_identity(plain, "student@1edtech.edu", "emailAddress")
    assert not matches_identity(plain, "other@1edtech.edu", "emailAddress")
    bad = {**plain, "hashed": True, "identityHash": "sha1$abcd"}
    assert not matches_identity(bad, "student@1edtech.edu", "emailAddress")
    assert not matches_identity({**plain, "hashed": "yes"}, "student@1edtech.edu", "emailAddress")


def test_a_plain_name_is_an_unhashed_identity_object() -> None:
    obj = plain_identity_object("  Ada Lovelace ")
    assert obj == {
        "type": "IdentityObject",
        "hashed": False,
        "identityHash": "Ada Lovelace",
        "identityType": "name",
    }
    assert matches_identity(obj, "Ada Lovelace", "name")
    assert plain_name([identity_object("a@example.com", salt="Kosher"), obj]) == "Ada Lovelace"
    # A hashed name, or a plain identifier of another type, is not a name to show.
    assert plain_name([{**obj, "hashed": True}, {**obj, "identityType": "emailAddress"}]) is None
    assert plain_name("not a list") is None


def test_a_plain_identifier_is_refused_empty_overlong_or_of_an_unknown_type() -> None:
    for bad in ("", "   ", "x" * (PLAIN_IDENTIFIER_MAX + 1)):
        with pytest.raises(CredentialError) as caught:
            plain_identity_object(bad)
        assert caught.value.code == "credential.identity_object"
    with pytest.raises(CredentialError):
        plain_identity_object("Ada", identity_type="nickname")
