"""A small, strict ``Accept`` header negotiator (RFC 9110 §12.5.1), and the one rule for
a hosted signed document's answer: its exact bytes as JSON, or a page (``Hosted``)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response

JSON_TYPES = ("application/vc+ld+json", "application/ld+json", "application/json")


def _parse(accept: str) -> list[tuple[str, float, int]]:
    out: list[tuple[str, float, int]] = []
    for index, part in enumerate(accept.split(",")[:50]):
        media, *params = (p.strip() for p in part.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        out.append((media.lower(), q, index))
    return out


def _quality(offer: str, ranges: list[tuple[str, float, int]]) -> tuple[float, int, int]:
    """(q, specificity, -position) of the most specific range matching ``offer``."""
    best = (0.0, -1, 0)
    kind = offer.split("/")[0]
    for media, q, index in ranges:
        if media == offer:
            spec = 2
        elif media == f"{kind}/*":
            spec = 1
        elif media == "*/*":
            spec = 0
        else:
            continue
        if spec > best[1]:
            best = (q, spec, -index)
    return best


def choose(accept: str | None, offers: tuple[str, ...]) -> str:
    """The best of ``offers`` for ``accept``; the first offer when nothing is said."""
    if not accept:
        return offers[0]
    ranges = _parse(accept)
    scored = []
    for position, offer in enumerate(offers):
        q, spec, _ = _quality(offer, ranges)
        if q > 0:
            # Higher q wins; then an explicit mention over a wildcard; then our order.
            scored.append((q, spec, -position, offer))
    if not scored:
        return offers[0]
    return max(scored)[3]


@dataclass(frozen=True)
class Hosted:
    """How to answer for a signed document (a credential, an endorsement) at its id URL."""

    #: The document's id: the path's, without a ``.json`` suffix.
    id: str
    #: ``text/html`` for a page, else the JSON type its signed bytes are sent as.
    media_type: str
    #: Both answers vary by ``Accept``; the signed bytes never change.
    headers: dict[str, str]

    @property
    def is_page(self) -> bool:
        """Whether the answer is a readable page rather than the signed bytes."""
        return self.media_type == "text/html"

    def signed(self, document: str) -> Response:
        """The stored signed ``document``, byte for byte."""
        return Response(document.encode("utf-8"), media_type=self.media_type, headers=self.headers)


def hosted(request: Request, path_id: str) -> Hosted:
    """The answer for ``path_id``: ``{id}.json`` is the signed bytes
    (``application/vc+ld+json``); otherwise ``Accept`` chooses JSON or the page."""
    media_type = (
        "application/vc+ld+json"
        if path_id.endswith(".json")
        else choose(request.headers.get("accept"), (*JSON_TYPES, "text/html"))
    )
    return Hosted(
        id=path_id.removesuffix(".json"),
        media_type=media_type,
        headers={"Vary": "Accept", "Cache-Control": "public, max-age=300"},
    )
