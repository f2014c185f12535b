"""OB 3.0 ``IdentityObject``: a recipient identifier, hashed with a salt.

"Data Models > IdentityObject" and "IdentityHash": the hash is ``<alg>$<hex>`` where
``alg`` is ``sha256`` or ``md5`` and ``hex`` is the digest of the UTF-8 bytes of the
identifier followed by the salt. Hex may be upper or lower case. We always issue
``sha256`` and accept ``md5`` only when verifying credentials from others.

Identifiers are hashed exactly as given: normalizing (for example lower-casing an email
address) is the caller's decision and must be the same when issuing and verifying.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any, Literal

from .errors import CredentialError

#: IdentifierTypeEnum ("Data Models > Enumerations"); extensions use the ``ext:`` prefix.
IDENTIFIER_TYPES = frozenset(
    {
        "name",
        "sourcedId",
        "systemId",
        "productId",
        "userName",
        "accountId",
        "emailAddress",
        "nationalIdentityNumber",
        "isbn",
        "issn",
        "lisSourcedId",
        "oneRosterSourcedId",
        "sisSourcedId",
        "ltiContextId",
        "ltiDeploymentId",
        "ltiToolId",
        "ltiPlatformId",
        "ltiUserId",
        "identifier",
    }
)
_EXT_TYPE = re.compile(r"^ext:[A-Za-z0-9._|-]+$")
IDENTITY_HASH = re.compile(r"^(?P<alg>sha256|md5)\$(?P<hex>[0-9a-fA-F]+)$")
_HEX_LENGTH = {"sha256": 64, "md5": 32}


def is_identifier_type(value: Any) -> bool:
    """True for an IdentifierTypeEnum value or an ``ext:`` extension."""
    return isinstance(value, str) and (value in IDENTIFIER_TYPES or bool(_EXT_TYPE.match(value)))


def is_identity_hash(value: Any) -> bool:
    """True for a well-formed ``sha256$<64 hex>`` or ``md5$<32 hex>`` IdentityHash."""
    if not isinstance(value, str):
        return False
    m = IDENTITY_HASH.match(value)
    return m is not None and len(m["hex"]) == _HEX_LENGTH[m["alg"]]


def identity_hash(
    identifier: str, salt: str | None, alg: Literal["sha256", "md5"] = "sha256"
) -> str:
    """``<alg>$<lower-case hex>`` of UTF-8(identifier + salt) (OB 3.0 "IdentityHash")."""
    if alg not in _HEX_LENGTH:
        raise CredentialError(
            f"identity hash algorithm must be 'sha256' or 'md5', got {alg!r}",
            code="credential.identity_object",
        )
    data = (identifier + (salt or "")).encode("utf-8")
    digest = hashlib.sha256(data) if alg == "sha256" else hashlib.md5(data, usedforsecurity=False)
    return f"{alg}${digest.hexdigest()}"


def identity_object(
    identifier: str, *, salt: str, identity_type: str = "emailAddress"
) -> dict[str, Any]:
    """A hashed ``IdentityObject`` for ``identifier``: never carries the plain value."""
    if not is_identifier_type(identity_type):
        raise CredentialError(
            f"identityType {identity_type!r:.80} is not an IdentifierTypeEnum value "
            "or an 'ext:' extension",
            code="credential.identity_object",
        )
    if not salt:
        raise CredentialError(
            "a salt is required: an unsalted hash of an email address is easy to reverse",
            code="credential.identity_object",
        )
    return {
        "type": "IdentityObject",
        "hashed": True,
        "identityHash": identity_hash(identifier, salt),
        "identityType": identity_type,
        "salt": salt,
    }


#: The longest plain identifier (a name) put in a credential: the candidate's name column's
#: length, and what the readers of a credential cut names to.
PLAIN_IDENTIFIER_MAX = 200


def plain_identity_object(value: str, *, identity_type: str = "name") -> dict[str, Any]:
    """A plain (``hashed: false``) ``IdentityObject``: ``identityHash`` holds ``value`` itself.

    OB 3.0 "IdentityObject": ``identityHash`` is "either the IdentityHash of the identity or
    the plaintext value", and the spec recommends hashing whatever would leak personal
    information; a name is shown on purpose (its holder is meant to be named to whoever
    sees the credential), so it is the one identifier we put in plain.
    """
    if not is_identifier_type(identity_type):
        raise CredentialError(
            f"identityType {identity_type!r:.80} is not an IdentifierTypeEnum value "
            "or an 'ext:' extension",
            code="credential.identity_object",
        )
    shown = value.strip() if isinstance(value, str) else ""
    if not shown or len(shown) > PLAIN_IDENTIFIER_MAX:
        raise CredentialError(
            f"a plain identifier must be 1 to {PLAIN_IDENTIFIER_MAX} characters, got {len(shown)}",
            code="credential.identity_object",
        )
    return {
        "type": "IdentityObject",
        "hashed": False,
        "identityHash": shown,
        "identityType": identity_type,
    }


def plain_name(identifiers: Any) -> str | None:
    """The first plain ``name`` identifier of a subject's ``identifier`` list, if any."""
    for entry in identifiers if isinstance(identifiers, list) else [identifiers]:
        if (
            isinstance(entry, Mapping)
            and entry.get("identityType") == "name"
            and entry.get("hashed") is False
            and isinstance(entry.get("identityHash"), str)
            and entry["identityHash"].strip()
        ):
            return str(entry["identityHash"]).strip()
    return None


def matches_identity(
    identity_object: Mapping[str, Any], identifier: str, identity_type: str
) -> bool:
    """OB 3.0 "Verify the Recipient Using an Identifier" for one IdentityObject.

    False when the ``identityType`` differs (the spec says to skip such entries), when
    the object is malformed, or when the (hashed or plain) value does not match.
    """
    if not isinstance(identity_object, Mapping):
        return False
    if identity_object.get("identityType") != identity_type:
        return False
    stored = identity_object.get("identityHash")
    if not isinstance(stored, str):
        return False
    hashed = identity_object.get("hashed")
    if hashed is False:
        return hmac.compare_digest(stored.encode("utf-8"), identifier.encode("utf-8"))
    if hashed is not True or not is_identity_hash(stored):
        return False
    alg, _, hex_value = stored.partition("$")
    salt = identity_object.get("salt")
    expected = identity_hash(
        identifier, salt if isinstance(salt, str) else None, "sha256" if alg == "sha256" else "md5"
    )
    return hmac.compare_digest(expected.partition("$")[2], hex_value.lower())
