"""``Idempotency-Key`` over HTTP: the answers a retried request gets.

The key is claimed and the first response stored by ``services.infra.idempotency``; a
route answers a retry with ``replayed`` (the first response, byte for byte) and a retry
that arrives while the first request is still running with ``still_running`` (409).
"""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response

from badgeworks.services.infra.idempotency import InProgress, Stored
from badgeworks.web.errors import error_response


def replayed(stored: Stored) -> Response:
    """The first request's stored response, marked ``Idempotent-Replayed: true``."""
    return Response(
        stored.response,
        status_code=stored.status_code,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def still_running(exc: InProgress) -> JSONResponse:
    """409 ``idempotency.in_progress``, with ``Retry-After``: the first request with the
    key has not finished yet."""
    return error_response(409, exc.code, exc.message, headers={"Retry-After": str(exc.retry_after)})
