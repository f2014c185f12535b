"""Liveness (``/healthz``), readiness (``/readyz``) and Prometheus metrics (``/metrics``).

- ``/healthz`` answers 200 while the process serves requests; it reads nothing.
- ``/readyz`` answers 200 when the database is reachable, at the migration head and the
  key secret fits the stored keys (``services/infra/health.py``), else 503 with the
  first failing check's code and reason in the one error shape, plus every check.
- ``/metrics`` is the Prometheus text format (``services/infra/metrics.py``). It answers
  loopback clients that did not come through a proxy, and anyone presenting
  ``Authorization: Bearer <BADGEWORKS_METRICS_TOKEN>``; others get 403 ``metrics.forbidden``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from badgeworks.services.infra import metrics
from badgeworks.services.infra.health import Readiness, readiness
from badgeworks.web.errors import error_body

router = APIRouter(tags=["health"], include_in_schema=False)

#: Seconds ``/readyz`` waits for its checks; a database that does not answer by then is
#: reported unreachable (the probe itself must not hang).
READY_TIMEOUT = 5.0
_NO_STORE = {"Cache-Control": "no-store"}


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """Liveness: the process is up and serving."""
    return JSONResponse({"ok": True}, headers=_NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Readiness: database reachable, migrations at head, key secret fits."""
    state = request.app.state
    try:
        result = await asyncio.wait_for(
            run_in_threadpool(readiness, state.engine, state.settings), READY_TIMEOUT
        )
    except TimeoutError:
        result = Readiness()
        result.fail(
            "database",
            "ready.database",
            f"the database did not answer within {READY_TIMEOUT:g} seconds",
        )
    if result.ready:
        return JSONResponse({"ok": True, "checks": result.checks}, headers=_NO_STORE)
    body = error_body(503, result.code or "ready.unknown", result.reason or "not ready")
    body["checks"] = result.checks
    return JSONResponse(body, status_code=503, headers=_NO_STORE)


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_allowed(request: Request) -> bool:
    """Loopback without proxy headers, or the metrics bearer token (constant-time)."""
    token = request.app.state.settings.metrics_token
    given = request.headers.get("authorization", "")
    if token is not None and given[:7].lower() == "bearer ":
        expected = token.get_secret_value().encode("utf-8")
        if expected and hmac.compare_digest(given[7:].strip().encode("utf-8"), expected):
            return True
    # A reverse proxy on this host makes every client look like loopback; a request it
    # forwarded names its client, so it needs the token.
    proxied = any(name in request.headers for name in ("x-forwarded-for", "forwarded"))
    return not proxied and _loopback(request.client.host if request.client else None)


@router.get("/metrics")
async def metrics_text(request: Request) -> Response:
    """Prometheus text exposition of this process (every worker's, merged)."""
    if not metrics_allowed(request):
        return JSONResponse(
            error_body(
                403,
                "metrics.forbidden",
                "metrics are served to loopback clients, or with the bearer token set in "
                "BADGEWORKS_METRICS_TOKEN",
            ),
            status_code=403,
            headers=_NO_STORE,
        )
    state = request.app.state
    body = await run_in_threadpool(metrics.exposition, state.session_factory, state.ctx.clock())
    return Response(body, media_type=metrics.CONTENT_TYPE, headers=_NO_STORE)
