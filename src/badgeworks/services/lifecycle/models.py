"""Request and response models of the lifecycle routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from badgeworks.services.models import Strict

#: A reason code as the API takes it: 0 means "not revoked", so codes start at 1 (a plain
#: revocation); the credential's own entry says which higher codes it has.
ReasonCode = Annotated[int, Field(ge=1, le=65535)]


class RevokeRequest(Strict):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
    #: One of the issuer's revocation reason codes the credential's entry lists; its
    #: message becomes the public reason (docs/lifecycle.md, "Revocation reasons").
    reason_code: ReasonCode | None = None


class RevocationReasonIn(Strict):
    """One reason code (2 to 15) and its short public message."""

    code: int
    message: Annotated[str, StringConstraints(max_length=500)]


class RevocationReasonsUpdate(Strict):
    """An issuer's revocation reasons (an empty list removes them) and the optional
    ``https://`` page explaining them, written into new credentials as ``statusReference``."""

    reasons: Annotated[list[RevocationReasonIn], Field(max_length=50, default_factory=list)]
    reference: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RevocationReasonPublic(BaseModel):
    code: int
    message: str


class StatusMessagePublic(BaseModel):
    status: str
    message: str


class RevocationReasonsPublic(BaseModel):
    """The issuer's revocation reasons, and the entry new credentials get from them."""

    reasons: list[RevocationReasonPublic]
    reference: str | None
    #: ``statusSize`` of the revocation entries of credentials issued from now on.
    status_size: int
    #: Their ``statusMessage``, value 0 up (None: 1-bit entries without messages).
    status_message: list[StatusMessagePublic] | None
