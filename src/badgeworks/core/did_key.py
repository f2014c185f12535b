"""``did:key`` resolution for Ed25519, done in pure code (W3C CCG did:key v0.7).

No network: the DID itself carries the public key. We build the DID document with
Multikey verification methods, or the ``Ed25519VerificationKey2020`` form that
credentials signed with the Ed25519Signature2020 suite refer to.
"""

from __future__ import annotations

from typing import Any, Literal

from badgeworks.core.contexts import ED25519_2020_CONTEXT, MULTIKEY_CONTEXT

from .errors import DidError, KeyFormatError
from .multikey import decode_public_key

DID_CONTEXT = "https://www.w3.org/ns/did/v1"

KeyForm = Literal["Multikey", "Ed25519VerificationKey2020"]


def did_key_from_public_multibase(public_key_multibase: str) -> str:
    """Return ``did:key:<publicKeyMultibase>``."""
    return f"did:key:{public_key_multibase}"


def verification_method_id(did: str) -> str:
    """The single verification method of an Ed25519 did:key: ``did:key:z…#z…``."""
    return f"{did}#{did.removeprefix('did:key:')}"


def _parse(did_url: str) -> tuple[str, str, str | None]:
    if not isinstance(did_url, str) or not did_url.startswith("did:key:"):
        raise DidError(f"{did_url!r:.100} is not a did:key", code="did.invalid")
    did, _, fragment = did_url.partition("#")
    multibase = did.removeprefix("did:key:")
    try:
        decode_public_key(multibase)
    except KeyFormatError as exc:
        raise DidError(
            f"{did!r:.100} does not hold an Ed25519 public key: {exc}", code="did.invalid"
        ) from None
    if fragment and fragment != multibase:
        raise DidError(
            f"{did_url!r:.200} names a verification method this did:key does not have",
            code="did.not_found",
        )
    return did, multibase, fragment or None


def verification_method(did_url: str, form: KeyForm = "Multikey") -> dict[str, Any]:
    """The verification method object for a did:key (with or without ``#fragment``)."""
    did, multibase, _ = _parse(did_url)
    return {
        "@context": MULTIKEY_CONTEXT if form == "Multikey" else ED25519_2020_CONTEXT,
        "id": verification_method_id(did),
        "type": form,
        "controller": did,
        "publicKeyMultibase": multibase,
    }


def resolve(did_url: str, form: KeyForm = "Multikey") -> dict[str, Any]:
    """Resolve a did:key DID (the document) or DID URL with fragment (the method)."""
    did, _, fragment = _parse(did_url)
    vm = verification_method(did, form)
    if fragment:
        return vm
    vm_ref = vm["id"]
    method = {k: v for k, v in vm.items() if k != "@context"}
    return {
        "@context": [DID_CONTEXT, vm["@context"]],
        "id": did,
        "verificationMethod": [method],
        "authentication": [vm_ref],
        "assertionMethod": [vm_ref],
        "capabilityDelegation": [vm_ref],
        "capabilityInvocation": [vm_ref],
    }
