"""A request body read whole before any route sees it, never past a cap.

The body limits (``web/limits.py``) and the verifier's own limits read a body through
``read_capped``, so a body without ``Content-Length`` (or longer than it said) is cut off
at the cap the same way everywhere, and the route then reads it again from ``replay``.
Routes read an uploaded file with ``read_upload`` (whole, one byte past its limit) or
``upload_chunks`` (streamed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import UploadFile

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


@dataclass(frozen=True)
class CappedBody:
    """What arrived: the whole ``body``, or ``over`` the cap (reading stopped there, and
    ``more`` says whether the client was still sending)."""

    body: bytes
    over: bool = False
    more: bool = False


def more_body(message: Message) -> bool:
    """True if the client has more of the body to send after ``message``."""
    return bool(message.get("more_body", False))


async def read_capped(receive: Receive, limit: int) -> CappedBody | None:
    """The body, read until it ends or passes ``limit`` bytes; None if the client left."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return CappedBody(b"".join(chunks), over=True, more=more_body(message))
        chunks.append(chunk)
        more = more_body(message)
    return CappedBody(b"".join(chunks))


async def discard_rest(receive: Receive, cap: int) -> bool:
    """Read and throw away the rest of a refused body, up to ``cap`` bytes (a browser still
    sending when the connection closes shows "connection reset", not the answer); False if
    the client went away, so there is no one to answer."""
    discarded = 0
    while discarded <= cap:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        discarded += len(message.get("body", b""))
        if not more_body(message):
            return True
    return True


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` whole once, then whatever the client sends next
    (its disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def read_upload(upload: UploadFile, limit: int) -> bytes:
    """An uploaded file's bytes, read to at most one byte past ``limit``: enough for the
    service to refuse a file that is too large without reading the rest."""
    return upload.file.read(limit + 1)


def upload_chunks(upload: UploadFile, size: int = 1024 * 1024) -> Iterator[bytes]:
    """An uploaded file's bytes in chunks of ``size``, for a service that streams them."""
    while chunk := upload.file.read(size):
        yield chunk
