"""Body size and media type limits, applied before a request reaches any route.

The body is read (up to the limit) before the app sees it, so an oversized upload is a
413 in the one error shape whether or not the client sent ``Content-Length``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from badgeworks.web.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Media types a write endpoint under /api/ accepts at all (each route narrows further).
ACCEPTED = ("application/json", "multipart/form-data", "text/csv")
_MULTIPART_SLACK = 64 * 1024


class BodyLimitMiddleware:
    """Refuse bodies over the configured limits (413) and unknown media types (415)."""

    def __init__(self, app: ASGIApp, *, max_json_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_json = max_json_bytes
        self.max_upload = max_upload_bytes + _MULTIPART_SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        limit = self.max_json if media_type in ("", "application/json") else self.max_upload
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _reject(send, 413, "input.too_large", _too_large(limit))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reject(send, 413, "input.too_large", _too_large(limit))
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and scope["path"].startswith("/api/") and media_type not in ACCEPTED:
            await _reject(
                send,
                415,
                "input.unsupported_media_type",
                (
                    f"the body's media type {media_type!r} is not accepted here"
                    if media_type
                    else "the request has a body but no Content-Type"
                )
                + "; send application/json, multipart/form-data or text/csv (see /docs)",
            )
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> str:
    return f"the request body is larger than the limit of {limit} bytes"


async def _reject(send: Send, status: int, code: str, message: str) -> None:
    payload = json.dumps(error_body(status, code, message)).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode("ascii")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
