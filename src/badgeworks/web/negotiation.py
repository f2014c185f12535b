"""A small, strict ``Accept`` header negotiator (RFC 9110 §12.5.1)."""

from __future__ import annotations

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
