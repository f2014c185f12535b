"""Typed errors with stable, machine-readable codes.

Issuing raises these; ``verify()`` turns them into report checks. Codes are part of
the public contract (docs/verification.md lists them), so never rename one.
"""

from __future__ import annotations

from typing import Any


class BadgeworksError(Exception):
    """Base class: every error carries a stable ``code`` and a plain-English message."""

    code: str = "badgeworks.error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class InputError(BadgeworksError):
    """The input is not something we can read (not JSON, too large, too deep, binary)."""

    code = "input.invalid"


class ContextError(BadgeworksError):
    """A JSON-LD context (or other document) that the offline loader does not serve."""

    code = "context.not_allowed"


class JsonLdError(BadgeworksError):
    """JSON-LD processing failed or would lose data (strict mode)."""

    code = "jsonld.invalid"


class KeyFormatError(BadgeworksError):
    """A key, key file or multibase/multikey value is malformed."""

    code = "key.invalid"


class DidError(BadgeworksError):
    """A DID or DID URL cannot be resolved or is malformed."""

    code = "did.invalid"


class ProofError(BadgeworksError):
    """A proof is missing, malformed, unsupported or does not verify."""

    code = "proof.invalid"


class CredentialError(BadgeworksError):
    """A credential breaks a MUST of the VC Data Model or Open Badges 3.0."""

    code = "credential.invalid"


class SchemaError(BadgeworksError):
    """A credential does not validate against its JSON Schema."""

    code = "schema.invalid"


class StatusError(BadgeworksError):
    """A status entry or status list is malformed, or the status cannot be checked."""

    code = "status.invalid"


class ConfigError(BadgeworksError):
    """The service's configuration is missing or unsafe (for example the key secret)."""

    code = "config.invalid"
