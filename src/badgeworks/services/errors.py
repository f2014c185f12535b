"""Errors the services raise; the web layer maps each class to one HTTP status."""

from __future__ import annotations

from badgeworks.core.errors import BadgeworksError


class NotFoundError(BadgeworksError):
    """The thing does not exist, or belongs to another issuer (we do not say which)."""

    code = "not_found"


class AuthError(BadgeworksError):
    """No token, or a token that is unknown or revoked."""

    code = "auth.invalid_token"


class ForbiddenError(BadgeworksError):
    """The token is valid but not for this issuer, or the action is not allowed."""

    code = "auth.forbidden"


class ConflictError(BadgeworksError):
    """The request clashes with the current state (already completed, slug taken…)."""

    code = "conflict"


class ValidationFailed(BadgeworksError):
    """The request is well-formed but its values do not make sense together."""

    code = "validation.failed"


class UnsupportedMediaError(BadgeworksError):
    """The body's media type is not one this endpoint accepts."""

    code = "input.unsupported_media_type"
