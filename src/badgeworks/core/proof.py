"""Data Integrity proofs: add them (sets and chains) and verify them.

Implements VC Data Integrity 1.0 §4 ("Add Proof", "Add Proof Set/Chain", "Verify Proof",
"Verify Proof Sets and Chains") with the cryptosuites of ``cryptosuites``, plus
verification of the older ``Ed25519Signature2020`` proof type. This layer knows Data
Integrity, not Open Badges.

Issuing raises (``ProofError``, ``KeyFormatError``, ``JsonLdError``); ``verify_proofs``
never raises for a bad document or proof and reports one ``ProofResult`` per proof.

The ``@context`` rule: for ``DataIntegrityProof`` the proof configuration takes the
document's ``@context`` (vc-di-eddsa "Proof Configuration"), so that context must define
the Data Integrity terms. The VC 2.0 context does; the VC 1.1 context does not. Following
VC Data Integrity "Context Injection" (and what Digital Bazaar's implementation does),
``add_proof`` appends ``https://w3id.org/security/data-integrity/v2`` to the returned
document's ``@context`` when none of the contexts that define those terms is present.
``create_proof`` returns only the proof object, so it cannot change the document; it
raises ``proof.context_missing`` instead of signing something that would not verify.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from badgeworks.core.contexts import DATA_INTEGRITY_V2, ED25519_2020_CONTEXT

from . import multikey
from .crypto.ed25519 import Ed25519KeyPair
from .cryptosuites import (
    DEFAULT_CRYPTOSUITE,
    ED25519_SIGNATURE_2020,
    SIGNING_CRYPTOSUITES,
    Cryptosuite,
    get_cryptosuite,
)
from .errors import BadgeworksError, ContextError, DidError, KeyFormatError, ProofError
from .loader import DocumentLoader
from .multibase import decode_base58btc

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
ED25519_SIGNATURE_2020_TYPE = "Ed25519Signature2020"

#: Contexts that define DataIntegrityProof, cryptosuite, proofValue and friends.
DATA_INTEGRITY_CONTEXTS = frozenset(
    {
        "https://www.w3.org/ns/credentials/v2",
        "https://w3id.org/security/data-integrity/v2",
        "https://w3id.org/security/data-integrity/v1",
    }
)

#: Verification method types each proof type accepts. Both carry an Ed25519
#: ``publicKeyMultibase`` with the ed25519-pub multicodec header (``z6Mk…``): Multikey
#: (Controlled Identifiers, "Multikey") and Ed25519VerificationKey2020 (the Ed25519 Signature
#: 2020 suite's key type, still published in many DID documents); vc-di-eddsa's eddsa
#: cryptosuites need only the Ed25519 public key, whichever of the two carries it.
_VM_TYPES = {
    DATA_INTEGRITY_PROOF: frozenset({"Multikey", "Ed25519VerificationKey2020"}),
    ED25519_SIGNATURE_2020_TYPE: frozenset({"Ed25519VerificationKey2020", "Multikey"}),
}

# XML Schema 1.1 dateTimeStamp: a dateTime with a mandatory time zone (VC Data Integrity
# requires this form for "created" and "expires").
_DATE_TIME_STAMP = re.compile(
    r"^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


# --------------------------------------------------------------------------- helpers


def parse_date_time_stamp(value: Any) -> datetime | None:
    """The aware datetime for an XML Schema dateTimeStamp string, else ``None``."""
    if not isinstance(value, str):
        return None
    m = _DATE_TIME_STAMP.match(value)
    if m is None or len(m.group(1)) != 4:
        return None
    fraction = (m.group(7) or "")[:7]  # Python keeps microseconds: '.' + 6 digits.
    zone = "+00:00" if m.group(8) == "Z" else m.group(8)
    text = f"{m.group(1)}-{m.group(2)}-{m.group(3)}T{m.group(4)}:{m.group(5)}:{m.group(6)}"
    try:
        return datetime.fromisoformat(text + fraction + zone)
    except ValueError:
        return None


def format_date_time(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, whole seconds (as the reference implementations do)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ProofError(
            "a proof date needs a time zone; pass an aware datetime such as datetime.now(UTC)",
            code="proof.malformed",
        )
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _contexts(document: dict[str, Any]) -> list[Any]:
    ctx = document.get("@context")
    if ctx is None:
        return []
    return list(ctx) if isinstance(ctx, list) else [ctx]


def has_data_integrity_context(document: dict[str, Any]) -> bool:
    """True when the document's ``@context`` includes one that defines the proof terms."""
    return any(isinstance(c, str) and c in DATA_INTEGRITY_CONTEXTS for c in _contexts(document))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _unsecured(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "proof"}


def _with_previous_proofs(
    document: dict[str, Any], all_proofs: list[Any], previous: list[str]
) -> dict[str, Any]:
    """The unsecured document with ``proof`` set to the proofs that ``previous`` names.

    VC Data Integrity "Add Proof Set/Chain" and "Verify Proof Sets and Chains": a chained
    proof signs the document together with the proofs it references (and only those).
    """
    by_id = {p["id"]: p for p in all_proofs if isinstance(p, dict) and isinstance(p.get("id"), str)}
    matching = []
    for ref in previous:
        if ref not in by_id:
            raise ProofError(
                f"the proof's 'previousProof' names {ref!r:.120}, but the document has no "
                "proof with that 'id'",
                code="proof.previous_missing",
                previous_proof=ref,
            )
        matching.append(by_id[ref])
    unsecured = _unsecured(document)
    unsecured["proof"] = matching
    return unsecured


def _check_string_or_strings(name: str, value: Any) -> None:
    values = _as_list(value)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ProofError(
            f"the proof's {name!r} must be a string or a list of strings",
            code="proof.malformed",
            property=name,
        )


# --------------------------------------------------------------------------- signing


def create_proof(
    document: dict[str, Any],
    key: Ed25519KeyPair,
    loader: DocumentLoader,
    *,
    created: str | datetime,
    cryptosuite: str = DEFAULT_CRYPTOSUITE,
    proof_purpose: str = "assertionMethod",
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
    challenge: str | None = None,
    domain: str | list[str] | None = None,
    expires: str | None = None,
) -> dict[str, Any]:
    """Sign ``document`` and return the proof object (VC Data Integrity "Add Proof").

    ``created`` is required (the core reads no clock). ``cryptosuite`` is one of
    ``SIGNING_CRYPTOSUITES``: ``eddsa-rdfc-2022`` (the default) or ``eddsa-jcs-2022``.
    Existing proofs in ``document`` are not signed over, except those named by
    ``previous_proof`` (a proof chain).
    Raises ``ProofError``, ``KeyFormatError`` or the canonicalizer's ``JsonLdError``.
    """
    if not isinstance(document, dict):
        raise ProofError("only a JSON object can be signed", code="proof.malformed")
    suite = get_cryptosuite(cryptosuite)
    if not suite.can_sign:
        raise ProofError(
            f"the cryptosuite {cryptosuite!r} is accepted for verification only; sign with "
            + " or ".join(repr(n) for n in SIGNING_CRYPTOSUITES),
            code="proof.unsupported_cryptosuite",
            cryptosuite=cryptosuite,
        )
    if not key.can_sign:
        raise KeyFormatError(
            f"the key {key.id!r} has no secret part, so it cannot sign", code="key.no_secret"
        )
    if not has_data_integrity_context(document):
        raise ProofError(
            "the document's '@context' does not define the Data Integrity proof terms; "
            f"add {DATA_INTEGRITY_V2!r} to it (add_proof does this for you)",
            code="proof.context_missing",
        )
    created_text = created if isinstance(created, str) else format_date_time(created)
    if parse_date_time_stamp(created_text) is None:
        raise ProofError(
            f"'created' {created_text!r:.60} is not a date-time with a time zone",
            code="proof.malformed",
            property="created",
        )
    if expires is not None and parse_date_time_stamp(expires) is None:
        raise ProofError(
            f"'expires' {expires!r:.60} is not a date-time with a time zone",
            code="proof.malformed",
            property="expires",
        )

    # The key order follows the W3C test vectors, so our output reads like theirs.
    options: dict[str, Any] = {"type": DATA_INTEGRITY_PROOF}
    if proof_id is not None:
        options["id"] = proof_id
    options["cryptosuite"] = suite.name
    options["created"] = created_text
    if expires is not None:
        options["expires"] = expires
    options["verificationMethod"] = key.id
    options["proofPurpose"] = proof_purpose
    if previous_proof is not None:
        _check_string_or_strings("previousProof", previous_proof)
        options["previousProof"] = previous_proof
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        _check_string_or_strings("domain", domain)
        options["domain"] = domain

    if previous_proof is not None:
        input_document = _with_previous_proofs(
            document, _as_list(document.get("proof")), _as_list(previous_proof)
        )
    else:
        input_document = _unsecured(document)

    proof = suite.proof_options(options, input_document)
    hash_data = _hash(suite, input_document, proof, loader)
    return {**proof, "proofValue": suite.sign(hash_data, key)}


def add_proof(
    document: dict[str, Any], key: Ed25519KeyPair, loader: DocumentLoader, **kwargs: Any
) -> dict[str, Any]:
    """A new document with a new proof added; the input is never mutated.

    A document that already has a proof gets a proof set (a list). If the document's
    ``@context`` lacks the Data Integrity terms, the data-integrity/v2 context is
    appended to it first (see the module docstring). Takes the keywords of ``create_proof``.
    """
    if not isinstance(document, dict):
        raise ProofError("only a JSON object can be signed", code="proof.malformed")
    signed = _copy_json(document)
    if "@context" not in signed:
        raise ProofError(
            "the document has no '@context', so its properties cannot be signed",
            code="proof.context_missing",
        )
    if not has_data_integrity_context(signed):
        signed["@context"] = [*_contexts(signed), DATA_INTEGRITY_V2]
    proof = create_proof(signed, key, loader, **kwargs)
    existing = signed.pop("proof", None)
    if existing is None:
        signed["proof"] = proof
    else:
        signed["proof"] = [*_as_list(existing), proof]
    return signed


_IMMUTABLE_JSON = frozenset({str, int, float, bool, type(None)})


def _copy_json(document: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON document, several times faster than ``copy.deepcopy``.

    Anything that is not plain JSON (a dict or list subclass, another object) and any
    structure too deep or cyclic for the recursion goes through ``copy.deepcopy``.
    """
    try:
        return _copy_value(document)  # type: ignore[no-any-return]
    except RecursionError:
        return copy.deepcopy(document)


def _copy_value(value: Any) -> Any:
    # Leaves (strings, numbers) are shared, not visited: most values are leaves.
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _IMMUTABLE_JSON else _copy_value(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _IMMUTABLE_JSON else _copy_value(v) for v in value]
    if kind in _IMMUTABLE_JSON:
        return value
    return copy.deepcopy(value)


def _hash(
    suite: Cryptosuite,
    input_document: dict[str, Any],
    proof: dict[str, Any],
    loader: DocumentLoader,
    canonical_document: str | None = None,
) -> bytes:
    # vc-di-eddsa "Proof Configuration": what the suite pairs the proof options with (the
    # rdfc suites give them the document's @context; eddsa-jcs-2022 keeps the proof's).
    proof_config, document = suite.proof_configuration(proof, input_document)
    canonical_config = suite.canonicalize_proof_config(proof_config, loader)
    if canonical_document is None:
        canonical_document = suite.canonicalize_document(document, loader)
    return suite.hash_data(canonical_config, canonical_document)


# --------------------------------------------------------------------------- verifying


@dataclass
class ProofResult:
    """The outcome of verifying one proof."""

    proof: Any
    verified: bool
    code: str
    message: str
    verification_method: dict[str, Any] | None = None
    controller: str | None = None


class _Failure(Exception):
    """A failed check inside ``_verify_one``, carrying what is known so far."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def verify_proofs(
    document: Any,
    loader: DocumentLoader,
    *,
    proof_purpose: str = "assertionMethod",
    challenge: str | None = None,
    domain: str | None = None,
    now: datetime | None = None,
) -> list[ProofResult]:
    """Verify every proof on ``document``; one ``ProofResult`` each, never raises.

    A document without proofs yields one failed result (``proof.missing``). Each proof
    of a set must verify on its own; a chained proof is checked together with the proofs
    its ``previousProof`` names. ``expires`` is only checked when ``now`` is given (the
    core reads no clock; ``verify()`` always passes it).
    """
    if not isinstance(document, dict):
        return [ProofResult(None, False, "proof.malformed", "The document is not a JSON object.")]
    raw = document.get("proof")
    if raw is None or raw == []:
        return [
            ProofResult(
                None, False, "proof.missing", "The document has no 'proof': it is not signed."
            )
        ]
    if not isinstance(raw, dict | list):
        return [
            ProofResult(
                raw, False, "proof.malformed", "The document's 'proof' is not an object or a list."
            )
        ]
    all_proofs = _as_list(raw)
    # Proofs that are not chained all sign the same unsecured document; canonicalize it
    # once per cryptosuite (the key: the suite's name, then the previousProof ids).
    canonical_cache: dict[tuple[str, ...], str] = {}
    results = []
    for proof in all_proofs:
        context = _Context(
            document, all_proofs, loader, proof_purpose, challenge, domain, now, canonical_cache
        )
        results.append(context.run(proof))
    return results


@dataclass
class _Context:
    document: dict[str, Any]
    all_proofs: list[Any]
    loader: DocumentLoader
    proof_purpose: str
    challenge: str | None
    domain: str | None
    now: datetime | None
    canonical_cache: dict[tuple[str, ...], str]
    vm: dict[str, Any] | None = None
    controller: str | None = None

    def run(self, proof: Any) -> ProofResult:
        try:
            self._verify(proof)
        except _Failure as failure:
            return self._result(proof, False, failure.code, failure.message)
        except BadgeworksError as exc:
            # Canonicalization errors (jsonld.*, context.*) keep their own code.
            return self._result(proof, False, exc.code, _sentence(str(exc)))
        except Exception as exc:
            # Verification reports; it never raises, whatever the input.
            return self._result(
                proof,
                False,
                "proof.verification_error",
                "The proof could not be checked because of an unexpected error "
                f"({type(exc).__name__}).",
            )
        return self._result(proof, True, "proof.verified", "The signature is valid.")

    def _result(self, proof: Any, ok: bool, code: str, message: str) -> ProofResult:
        return ProofResult(proof, ok, code, message, self.vm, self.controller)

    # The checks, in the order of VC Data Integrity "Verify Proof".
    def _verify(self, proof: Any) -> None:
        if not isinstance(proof, dict):
            raise _Failure("proof.malformed", "A 'proof' entry is not a JSON object.")
        suite, proof_type = self._suite(proof)
        for name in ("verificationMethod", "proofPurpose", "proofValue"):
            if not isinstance(proof.get(name), str) or not proof[name]:
                raise _Failure(
                    "proof.malformed", f"The proof has no '{name}', or it is not a string."
                )
        self._check_proof_value(proof["proofValue"])
        self._check_dates(proof)
        if proof["proofPurpose"] != self.proof_purpose:
            raise _Failure(
                "proof.purpose_mismatch",
                f"The proof's 'proofPurpose' is {proof['proofPurpose']!r:.60}, but "
                f"{self.proof_purpose!r} was expected.",
            )
        self._check_challenge_and_domain(proof)
        input_document, cache_key = self._input_document(proof)
        if proof_type == ED25519_SIGNATURE_2020_TYPE and ED25519_2020_CONTEXT not in _contexts(
            self.document
        ):
            raise _Failure(
                "proof.malformed",
                f"An 'Ed25519Signature2020' proof needs the context {ED25519_2020_CONTEXT!r} "
                "in the document's '@context'.",
            )
        public_key = self._resolve_key(proof, proof_type)

        try:
            proof_config, signed_document = suite.proof_configuration(proof, input_document)
        except ProofError as exc:
            raise _Failure(exc.code, _sentence(str(exc))) from None
        # The document as canonicalized is the same for every proof of one suite and one
        # previousProof list, unless the suite read it with the proof's own @context.
        cache_key = (suite.name, *cache_key)
        cacheable = signed_document is input_document
        canonical_document = self.canonical_cache.get(cache_key) if cacheable else None
        if canonical_document is None:
            canonical_document = suite.canonicalize_document(signed_document, self.loader)
            if cacheable:
                self.canonical_cache[cache_key] = canonical_document
        hash_data = suite.hash_data(
            suite.canonicalize_proof_config(proof_config, self.loader), canonical_document
        )
        if not suite.verify(hash_data, proof["proofValue"], public_key):
            raise _Failure(
                "proof.signature_invalid",
                "The signature does not match: the document was changed after it was "
                "signed, or it was signed with a different key.",
            )

    def _suite(self, proof: dict[str, Any]) -> tuple[Cryptosuite, str]:
        proof_type = proof.get("type")
        if proof_type == DATA_INTEGRITY_PROOF:
            name = proof.get("cryptosuite")
            if not isinstance(name, str) or not name:
                raise _Failure(
                    "proof.malformed", "The proof has no 'cryptosuite', or it is not a string."
                )
            try:
                return get_cryptosuite(name), DATA_INTEGRITY_PROOF
            except ProofError as exc:
                raise _Failure(exc.code, _sentence(str(exc))) from None
        if proof_type == ED25519_SIGNATURE_2020_TYPE:
            return ED25519_SIGNATURE_2020, ED25519_SIGNATURE_2020_TYPE
        if proof_type is None:
            raise _Failure("proof.malformed", "The proof has no 'type'.")
        raise _Failure(
            "proof.unsupported_type",
            f"The proof 'type' {proof_type!r:.80} is not supported (supported: "
            f"'{DATA_INTEGRITY_PROOF}', '{ED25519_SIGNATURE_2020_TYPE}').",
        )

    @staticmethod
    def _check_proof_value(value: str) -> None:
        try:
            signature = decode_base58btc(value)
        except KeyFormatError:
            raise _Failure(
                "proof.malformed",
                f"The proof's 'proofValue' {value!r:.40} is not a base58btc value starting "
                "with 'z'.",
            ) from None
        if len(signature) != 64:
            raise _Failure(
                "proof.malformed",
                f"The proof's 'proofValue' holds {len(signature)} bytes; an Ed25519 "
                "signature is 64 bytes.",
            )

    def _check_dates(self, proof: dict[str, Any]) -> None:
        for name in ("created", "expires"):
            if name in proof and parse_date_time_stamp(proof[name]) is None:
                raise _Failure(
                    "proof.malformed",
                    f"The proof's '{name}' {proof[name]!r:.60} is not a date-time with a "
                    "time zone (for example 2025-01-31T12:00:00Z).",
                )
        if "expires" in proof and self.now is not None:
            expires = parse_date_time_stamp(proof["expires"])
            now = self.now if self.now.tzinfo is not None else self.now.replace(tzinfo=UTC)
            if expires is not None and expires < now:
                raise _Failure(
                    "proof.expired",
                    f"The proof expired at {proof['expires']} ('expires').",
                )

    def _check_challenge_and_domain(self, proof: dict[str, Any]) -> None:
        if self.challenge is not None and proof.get("challenge") != self.challenge:
            raise _Failure(
                "proof.challenge_mismatch",
                f"The proof's 'challenge' is {proof.get('challenge')!r:.60}, but "
                f"{self.challenge!r:.60} was expected.",
            )
        if self.domain is not None and self.domain not in _as_list(proof.get("domain")):
            raise _Failure(
                "proof.domain_mismatch",
                f"The proof's 'domain' is {proof.get('domain')!r:.80}, but "
                f"{self.domain!r:.60} was expected.",
            )

    def _input_document(self, proof: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        if "previousProof" not in proof:
            return _unsecured(self.document), ()
        previous = proof["previousProof"]
        try:
            _check_string_or_strings("previousProof", previous)
            refs = _as_list(previous)
            return _with_previous_proofs(self.document, self.all_proofs, refs), tuple(refs)
        except ProofError as exc:
            raise _Failure(exc.code, _sentence(str(exc))) from None

    # Verification method resolution and authorization (VC Data Integrity "Retrieve
    # Verification Method" and Controlled Identifiers "Verification Relationships").
    def _resolve_key(self, proof: dict[str, Any], proof_type: str) -> bytes:
        vm_url: str = proof["verificationMethod"]
        loaded = self._load(vm_url, "the key")
        vm, holder = _find_method(loaded, vm_url)
        if vm is None:
            raise _Failure(
                "proof.key_not_found",
                f"The key {vm_url!r:.160} named in the proof's 'verificationMethod' was not "
                "found in the document its address leads to.",
            )
        # A copy: the method may come from the shared did:key memo below.
        self.vm = dict(vm)
        controller = vm.get("controller")
        if not isinstance(controller, str) or not controller:
            raise _Failure(
                "proof.key_not_found",
                f"The key {vm_url!r:.160} does not say who controls it ('controller').",
            )
        self.controller = controller
        vm_type = vm.get("type")
        if vm_type not in _VM_TYPES[proof_type]:
            accepted = " or ".join(repr(t) for t in sorted(_VM_TYPES[proof_type]))
            raise _Failure(
                "proof.key_unsupported",
                f"The key {vm_url!r:.160} has 'type' {vm_type!r:.60}; this proof needs {accepted}.",
            )
        try:
            public_key = _decode_public_key(vm.get("publicKeyMultibase"))
        except KeyFormatError:
            raise _Failure(
                "proof.key_unsupported",
                f"The key {vm_url!r:.160} has no Ed25519 'publicKeyMultibase' (z6Mk…).",
            ) from None

        controller_doc = holder if holder is not None and holder.get("id") == controller else None
        if controller_doc is None:
            loaded_controller = self._load(controller, "the key's controller")
            if not isinstance(loaded_controller, dict) or loaded_controller.get("id") != controller:
                raise _Failure(
                    "proof.key_unauthorized",
                    f"The controller {controller!r:.160} of the key could not be confirmed.",
                )
            controller_doc = loaded_controller
        if not _lists_method(controller_doc, self.proof_purpose, vm_url):
            raise _Failure(
                "proof.key_unauthorized",
                f"The controller {controller!r:.160} does not list the key {vm_url!r:.160} "
                f"under {self.proof_purpose!r}, so the key may not make this kind of proof.",
            )
        return public_key

    def _load(self, url: str, what: str) -> Any:
        # did:key documents are computed from the DID itself (did_key.resolve, no I/O),
        # so for the standard loader a did:key URL always yields the same document:
        # memoize it. Documents from other resolvers are never cached.
        memoize = (
            url.startswith("did:key:")
            and type(self.loader) is DocumentLoader
            and url not in self.loader.urls
        )
        if memoize:
            found = _DID_KEY_DOCUMENTS.get(url)
            if found is not None:
                return found
        try:
            loaded = self.loader.load(url)
        except (ContextError, DidError) as exc:
            raise _Failure(
                exc.code,
                f"{what.capitalize()} {url!r:.160} could not be looked up: {exc}",
            ) from None
        if memoize:
            if len(_DID_KEY_DOCUMENTS) >= _DID_KEY_LIMIT:
                _DID_KEY_DOCUMENTS.clear()
            _DID_KEY_DOCUMENTS[url] = loaded
        return loaded


#: did:key URL -> its document (read-only; shared by every verification).
_DID_KEY_DOCUMENTS: dict[str, Any] = {}
_DID_KEY_LIMIT = 1024


@lru_cache(maxsize=256)
def _decode_multikey(value: str) -> bytes:
    return multikey.decode_public_key(value)


def _decode_public_key(value: Any) -> bytes:
    """The raw Ed25519 key of a ``publicKeyMultibase``; the same few keys recur."""
    if not isinstance(value, str):
        raise KeyFormatError("publicKeyMultibase is not a string", code="key.unsupported")
    return _decode_multikey(value)


def _absolute(ref: Any, base: Any) -> Any:
    # A controller document may name its methods relative to itself ("#key-1").
    if isinstance(ref, str) and ref.startswith("#") and isinstance(base, str):
        return base.split("#", 1)[0] + ref
    return ref


def _iter_methods(doc: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for name in (
        "verificationMethod",
        "assertionMethod",
        "authentication",
        "capabilityInvocation",
        "capabilityDelegation",
        "keyAgreement",
    ):
        for item in _as_list(doc.get(name)):
            if isinstance(item, dict):
                yield item


def _find_method(loaded: Any, vm_url: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The verification method named ``vm_url`` and the controller document holding it.

    A loader may hand back the method itself, or a controller (DID) document containing it.
    """
    if not isinstance(loaded, dict):
        return None, None
    if loaded.get("id") == vm_url and "publicKeyMultibase" in loaded:
        return loaded, None
    for item in _iter_methods(loaded):
        if _absolute(item.get("id"), loaded.get("id")) == vm_url:
            return item, loaded
    return None, None


def _lists_method(controller_doc: dict[str, Any], relationship: str, vm_url: str) -> bool:
    base = controller_doc.get("id")
    for item in _as_list(controller_doc.get(relationship)):
        ref = item.get("id") if isinstance(item, dict) else item
        if _absolute(ref, base) == vm_url:
            return True
    return False


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
