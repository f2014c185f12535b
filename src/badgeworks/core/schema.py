"""JSON Schema validation of credentials (OB 3.0 "Verification", step 1; VCCS-10).

Schemas come in as data, keyed by their URL: the core reads no files and fetches
nothing. A ``credentialSchema`` entry of type ``1EdTechJsonSchemaValidator2019`` whose
URL we were not given is reported as ``schema.unknown`` (the verifier shows that as a
warning, since we never fetch it); entries of other types are left to their own
specifications and ignored here.

OB 3.0 "Serialization > JSON" lets ``type``, ``proof``, ``credentialSchema`` and
``termsOfUse`` be compacted to a single value, but the published schema wants arrays
for some of them (``proof`` most visibly: Data Integrity adds a single proof object).
Before validating we therefore wrap single values in a list at the places the schema
expects an array: the credential's ``type``, ``proof``, ``credentialSchema`` and
``termsOfUse``, and ``credentialSubject.type``. The credential itself is not changed.

Two validators answer for each schema, and they must agree on validity (a differential
test checks every example credential and a few hundred mutations of them). The Rust
``jsonschema-rs`` validator says quickly whether a document is valid, the answer nearly
every time; only when it says "invalid" does the Python ``jsonschema`` validator run, so
the problems reported (messages, paths, codes) are exactly the ones it has always given.
Both treat ``format`` as an annotation only (the Python validator is built without a
format checker), and neither fetches anything: the Rust validator is built offline, and a
schema it cannot compile (a remote ``$ref``, a draft it does not know) is validated by the
Python validator alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import jsonschema_rs
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators

from .credential import (
    JSON_SCHEMA_VALIDATOR_TYPE,
    OB3_ENDORSEMENT_SCHEMA_URL,
    OB3_SCHEMA_URL,
)
from .errors import SchemaError
from .structure import credential_kind

_COMPACTABLE = ("type", "proof", "credentialSchema", "termsOfUse")

# Compiled validators, keyed by the schema's content hash: compiling the OB schema costs
# far more than validating one credential. Keyed by content (not URL) so a caller who
# passes a different document under the same URL never gets a stale validator. Each entry
# is the pair (Python validator, Rust validator or None).
_VALIDATORS: dict[str, tuple[Any, Any]] = {}
# The same validators by the identity of the schema object a caller passed (held here, so
# its id is not reused): hashing the OB schema's text costs more than validating a
# credential, and callers pass the same parsed schema every time. A schema passed as
# data is never changed in place.
_BY_OBJECT: dict[int, tuple[Any, tuple[Any, Any]]] = {}
_BY_OBJECT_MAX = 64
# What validating a document found, by the validators used and the SHA-256 of the
# document's sorted JSON text: the same text always gives the same problems, and the
# same credential is verified again and again (a hosted badge, a page's cards), while
# validating it costs about five times hashing it. Bounded: emptied when full.
_FOUND: dict[tuple[tuple[int | None, ...], str], tuple[SchemaError, ...]] = {}
_FOUND_MAX = 4096


def _validator(schema: Any) -> tuple[Any, Any]:
    """The compiled (Python validator, Rust validator or None) pair for ``schema``."""
    held = _BY_OBJECT.get(id(schema))
    if held is not None and held[0] is schema:
        return held[1]
    key = hashlib.sha256(json.dumps(schema, sort_keys=True).encode("utf-8")).hexdigest()
    found = _VALIDATORS.get(key)
    if found is None:
        cls = validators.validator_for(schema)
        try:
            cls.check_schema(schema)
        except jsonschema_exceptions.SchemaError as exc:
            raise SchemaError(
                f"the JSON Schema itself is invalid: {exc.message}", code="schema.bad_schema"
            ) from None
        found = (cls(schema), _fast_validator(schema))
        _VALIDATORS[key] = found
    if len(_BY_OBJECT) >= _BY_OBJECT_MAX:
        _BY_OBJECT.clear()
    _BY_OBJECT[id(schema)] = (schema, found)
    return found


def _fast_validator(schema: Any) -> Any:
    """The Rust validator for ``schema``, or None where it cannot stand in for Python's.

    ``validate_formats=False`` matches the Python validator, which has no format checker;
    ``offline=True`` keeps the core from fetching a ``$ref``.
    """
    try:
        return jsonschema_rs.validator_for(schema, validate_formats=False, offline=True)
    except Exception:  # any schema it refuses is left to the Python validator
        return None


_JSON_LEAVES = frozenset({str, int, bool, type(None)})


def _plain_json(value: Any) -> bool:
    """Whether ``value`` is made only of what JSON text parses into.

    The Rust validator reads a tuple as an array and would call it valid where the Python
    validator (for which only a ``list`` is an array) does not; anything else is left to
    the Python validator too, so the two never disagree on a document that is not JSON.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for k, v in item.items():
                if type(k) is not str:
                    return False
                if type(v) not in _JSON_LEAVES:
                    stack.append(v)
        elif kind is list:
            stack.extend(v for v in item if type(v) not in _JSON_LEAVES)
        elif kind is float:
            if item != item or item in (float("inf"), float("-inf")):
                return False
        elif kind not in _JSON_LEAVES:
            return False
    return True


def _fast_valid(fast: Any, document: Any) -> bool:
    """True only when the Rust validator says ``document`` is valid; False sends it on."""
    if fast is None or not _plain_json(document):
        return False
    try:
        return bool(fast.is_valid(document))
    except Exception:  # whatever it cannot read, the Python validator reads
        return False


def _normalized(credential: Mapping[str, Any]) -> dict[str, Any]:
    """A shallow copy with single values wrapped where the OB schema wants arrays."""
    doc = dict(credential)
    for key in _COMPACTABLE:
        if key in doc and not isinstance(doc[key], list):
            doc[key] = [doc[key]]
    subject = doc.get("credentialSubject")
    if isinstance(subject, Mapping) and isinstance(subject.get("type"), str):
        doc["credentialSubject"] = {**subject, "type": [subject["type"]]}
    return doc


def _json_path(path: Any) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _schema_urls(credential: Mapping[str, Any]) -> list[str] | None:
    """The URLs of the 1EdTech JSON Schema entries, or None if there is no credentialSchema."""
    if "credentialSchema" not in credential:
        return None
    entries = credential["credentialSchema"]
    entries = entries if isinstance(entries, list) else [entries]
    return [
        e["id"]
        for e in entries
        if isinstance(e, Mapping)
        and e.get("type") == JSON_SCHEMA_VALIDATOR_TYPE
        and isinstance(e.get("id"), str)
    ]


def schema_problems(
    credential: Any, schemas: Mapping[str, Any], *, remember: bool = False
) -> list[SchemaError]:
    """Validate ``credential`` against the JSON Schemas it names (or, for an OB credential
    that names none, the OB schema for its class); return every problem found.

    Codes: ``schema.invalid`` (with the JSON path and the validator's message),
    ``schema.unknown`` (a named schema URL not in ``schemas``). ``remember`` keeps the
    answer for this exact text (verification, where the same credential comes back);
    issuing, where every document is new, does not fill the memory.
    """
    if not remember or not isinstance(credential, Mapping):
        return _problems(credential, schemas)
    try:
        text = json.dumps(credential, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):  # not plain JSON: validate without remembering
        return _problems(credential, schemas)
    urls = _urls_for(credential)
    validators_used = tuple(
        None if schemas.get(url) is None else id(_validator(schemas[url])) for url in urls
    )
    key = (validators_used, hashlib.sha256(text.encode("ascii")).hexdigest())
    found = _FOUND.get(key)
    if found is None:
        found = tuple(_problems(credential, schemas))
        if len(_FOUND) >= _FOUND_MAX:
            _FOUND.clear()
        _FOUND[key] = found
    return list(found)


def _urls_for(credential: Mapping[str, Any]) -> list[str]:
    """The schema URLs a credential is checked against: those it names, or its class's."""
    urls = _schema_urls(credential)
    if urls is None:
        default = {
            "achievement": OB3_SCHEMA_URL,
            "endorsement": OB3_ENDORSEMENT_SCHEMA_URL,
        }.get(credential_kind(credential))
        urls = [default] if default else []
    return urls


def _problems(credential: Any, schemas: Mapping[str, Any]) -> list[SchemaError]:
    if not isinstance(credential, Mapping):
        return [SchemaError("a credential must be a JSON object", code="schema.invalid")]
    urls = _urls_for(credential)
    problems: list[SchemaError] = []
    document = _normalized(credential)
    for url in urls:
        schema = schemas.get(url)
        if schema is None:
            problems.append(
                SchemaError(
                    f"the JSON Schema {url!r:.200} is not one we hold, so the credential was "
                    "not checked against it",
                    code="schema.unknown",
                    url=url,
                )
            )
            continue
        validator, fast = _validator(schema)
        if _fast_valid(fast, document):
            continue
        errors = sorted(validator.iter_errors(document), key=lambda e: _json_path(e.absolute_path))
        for error in errors:
            where = _json_path(error.absolute_path)
            problems.append(
                SchemaError(
                    f"{where}: {error.message:.300} (schema {url})",
                    code="schema.invalid",
                    path=where,
                    url=url,
                )
            )
    return problems
