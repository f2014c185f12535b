"""Holder binding for the presentations a wallet answers with (OpenID for Verifiable
Presentations 1.0), the way other layers reach it: the checks themselves are the core's
(``core.verification.holder``); the credential inside is verified with ``pipeline``.
"""

from __future__ import annotations

from badgeworks.core.verification.holder import (
    HolderRefusal,
    JwtPresentation,
    bound_to_subject,
    ldp_request_binding,
    verify_jwt_presentation,
)
from badgeworks.core.verification.presentation import enveloped_jwt

__all__ = [
    "HolderRefusal",
    "JwtPresentation",
    "bound_to_subject",
    "enveloped_jwt",
    "ldp_request_binding",
    "verify_jwt_presentation",
]
