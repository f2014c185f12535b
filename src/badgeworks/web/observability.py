"""Request ids, access logs and request metrics: one middleware around every request.

Every HTTP request gets a request id: the ``X-Request-ID`` its reverse proxy sent, when
proxies are trusted (``BADGEWORKS_FORWARDED_ALLOW_IPS``, web/proxies.py) and the value is
a short token of letters, digits and ``._:-``; otherwise a new random one. The id is
returned in the ``X-Request-ID`` response header, put in every JSON error body
(``request_id``) and on every error page ("Reference: …"), and carried by every log line
written while the request runs, so a person quoting it leads an operator to the lines.

When the request is done the middleware writes one access line (logger
``badgeworks.access``: method, route template, status, duration) and observes the
request in ``badgeworks_http_request_duration_seconds`` under its route *template*
(``/credentials/{credential_id}``), never the raw path, so the label set stays bounded.

``configure_logging`` sets up the process's logging: plain text lines, or with
``BADGEWORKS_LOG_FORMAT=json`` one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from badgeworks.services.infra import metrics
from badgeworks.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode("latin-1")
#: What a request id from a proxy may look like: short, and nothing a log line or a page
#: could be confused by (no spaces, quotes, angle brackets or control characters).
_VALID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
#: The route label of a request no route matched (404s of any path are one series).
UNMATCHED = "<unmatched>"

_REQUEST_ID: ContextVar[str | None] = ContextVar("badgeworks_request_id", default=None)

access_log = logging.getLogger("badgeworks.access")


def current_request_id() -> str | None:
    """The id of the request being served in this context, if any."""
    return _REQUEST_ID.get()


def new_request_id() -> str:
    """A fresh request id: 16 hexadecimal digits (64 random bits)."""
    return secrets.token_hex(8)


def request_id_of(scope: Scope) -> str | None:
    """The request id the middleware gave ``scope``'s request (error handlers read it)."""
    state = scope.get("state")
    value = state.get("request_id") if isinstance(state, dict) else None
    return value if isinstance(value, str) else None


def incoming_request_id(headers: list[tuple[bytes, bytes]], trust_proxy: bool) -> str:
    """The proxy's request id when proxies are trusted and it is well formed, else a new one."""
    if trust_proxy:
        for name, value in headers:
            if name == _HEADER_KEY:
                text = value.decode("latin-1").strip()
                if _VALID.fullmatch(text):
                    return text
                break
    return new_request_id()


def route_label(scope: Scope) -> str:
    """The matched route's template (``/credentials/{credential_id}``), or ``<unmatched>``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path[:200]
    return UNMATCHED


class RequestObservability:
    """The outermost middleware: request id, access line and request metrics."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.trust_proxy = bool(settings.forwarded_allow_ips.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(list(scope.get("headers") or []), self.trust_proxy)
        # Starlette's ``request.state`` is this dict: the error handlers read the id from it
        # (a 500 is answered from outside every middleware, after this context is gone).
        scope.setdefault("state", {})["request_id"] = request_id
        token = _REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 500
        header = (_HEADER_KEY, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                raw = [(k, v) for k, v in message.get("headers", []) if k.lower() != _HEADER_KEY]
                raw.append(header)
                message["headers"] = raw
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            status, failed = 500, True
            raise
        finally:
            elapsed = time.perf_counter() - started
            route = route_label(scope)
            method = str(scope.get("method", "GET"))
            metrics.observe_request(method, route, status, elapsed)
            access_log.info(
                "%s %s %d %.1fms",
                method,
                route,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            if not failed:
                _REQUEST_ID.reset(token)
            # Else the id stays set: the 500 is logged and answered from outside every
            # middleware, in this request's own task, and must carry it too.


# --- logging ------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (``None`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


#: Fields a record may carry (``extra=``) that a JSON line includes.
_REQUEST_FIELDS = ("method", "route", "status", "duration_ms")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, and the
    request fields (method, route, status, duration_ms) when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in _REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return f"{text} [request {request_id}]" if request_id else text


#: Marks the handler ``configure_logging`` installed, so a second call replaces it.
_HANDLER_NAME = "badgeworks"


def configure_logging(log_format: str, *, stream: Any = None, level: int = logging.INFO) -> None:
    """Send every log record (ours, uvicorn's) to one handler on standard error, formatted
    as JSON lines or text. Calling it again replaces the handler (tests, several apps)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers write through the root handler; its own access line would repeat
    # ours (badgeworks.access carries the route template and the request id).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
