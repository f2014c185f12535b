"""The JSON key-file format (documented in ``docs/keys.md``): dict in, dict out.

A key file is a Multikey verification method plus, for a signing key, its secret::

    {"type": "Multikey", "id": "did:key:z6Mk…#z6Mk…", "controller": "did:key:z6Mk…",
     "publicKeyMultibase": "z6Mk…", "secretKeyMultibase": "z3u2…", "created": "2025-…Z"}

This module is pure: the CLI and the keystore adapter read and write the files.
Unknown fields are refused, so that a misspelt ``secretKeyMultibase`` cannot silently
turn a signing key into a verify-only one.
"""

from __future__ import annotations

from typing import Any

from . import did_key, multikey
from .crypto.ed25519 import Ed25519KeyPair
from .errors import KeyFormatError

KEY_TYPE = "Multikey"
_REQUIRED = ("type", "id", "controller", "publicKeyMultibase")
_OPTIONAL = ("secretKeyMultibase", "created", "comment", "@context")


def _invalid(message: str, field: str | None = None) -> KeyFormatError:
    return KeyFormatError(message, code="key.invalid", field=field)


def key_pair_from_json(data: Any) -> Ed25519KeyPair:
    """The key pair in a key file's parsed JSON.

    Raises ``KeyFormatError`` (code ``key.invalid``) whose message names the field at fault.
    """
    if not isinstance(data, dict):
        raise _invalid(f"a key file must be a JSON object, not {type(data).__name__}", field=None)
    for name in _REQUIRED:
        if name not in data:
            raise _invalid(f"the key file has no {name!r} field", field=name)
        if not isinstance(data[name], str) or not data[name]:
            raise _invalid(f"the key file's {name!r} must be a non-empty string", field=name)
    for name in data:
        if name not in _REQUIRED and name not in _OPTIONAL:
            hint = (
                " (did you mean 'secretKeyMultibase'?)"
                if "ecret" in name or "rivate" in name
                else ""
            )
            raise _invalid(f"the key file has an unknown field {name!r}{hint}", field=name)
    if data["type"] != KEY_TYPE:
        raise _invalid(
            f"the key file's 'type' is {data['type']!r:.60}; only 'Multikey' is supported",
            field="type",
        )
    secret = data.get("secretKeyMultibase")
    if secret is not None and (not isinstance(secret, str) or not secret):
        raise _invalid(
            "the key file's 'secretKeyMultibase' must be a non-empty string",
            field="secretKeyMultibase",
        )
    created = data.get("created")
    if created is not None and not isinstance(created, str):
        raise _invalid("the key file's 'created' must be a date string", field="created")
    comment = data.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise _invalid("the key file's 'comment' must be a string", field="comment")

    controller: str = data["controller"]
    key_id: str = data["id"]
    public: str = data["publicKeyMultibase"]
    if controller.startswith("did:key:"):
        # A did:key controller is the public key itself; a file where they disagree would
        # sign credentials that no verifier can check.
        expected_did = did_key.did_key_from_public_multibase(public)
        if controller != expected_did:
            raise _invalid(
                f"the key file's 'controller' {controller!r:.120} is not the did:key of its "
                f"'publicKeyMultibase' ({expected_did!r:.120})",
                field="controller",
            )
        if key_id != did_key.verification_method_id(expected_did):
            raise _invalid(
                f"the key file's 'id' {key_id!r:.120} is not the verification method id of "
                f"its did:key ({did_key.verification_method_id(expected_did)!r:.160})",
                field="id",
            )

    try:
        multikey.decode_public_key(public)
    except KeyFormatError as exc:
        raise _invalid(
            f"the key file's 'publicKeyMultibase' is not an Ed25519 Multikey (z6Mk…): {exc}",
            field="publicKeyMultibase",
        ) from None
    if secret is not None:
        try:
            multikey.decode_secret_key(secret)
        except KeyFormatError:
            raise _invalid(
                "the key file's 'secretKeyMultibase' is not an Ed25519 Multikey secret (z3u2…)",
                field="secretKeyMultibase",
            ) from None
    try:
        return Ed25519KeyPair.from_multibase(public, secret, controller=controller, key_id=key_id)
    except KeyFormatError as exc:
        if exc.code != "key.mismatch":
            raise
        # The key-file reader reports every fault as key.invalid, naming the field.
        raise _invalid(
            "the key file's 'secretKeyMultibase' does not belong to its 'publicKeyMultibase'",
            field="secretKeyMultibase",
        ) from None


def key_pair_to_json(
    key: Ed25519KeyPair, *, include_secret: bool = True, created: str | None = None
) -> dict[str, Any]:
    """The key-file JSON for ``key``; ``include_secret=False`` gives the public half only."""
    data: dict[str, Any] = {
        "type": KEY_TYPE,
        "id": key.id,
        "controller": key.controller,
        "publicKeyMultibase": key.public_key_multibase,
    }
    if include_secret and key.secret_seed is not None:
        data["secretKeyMultibase"] = key.secret_key_multibase
    if created is not None:
        data["created"] = created
    return data
