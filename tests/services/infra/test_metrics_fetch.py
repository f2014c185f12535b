"""Fetch latencies: every sent fetch is observed once, by outcome, never with its URL; a
cached answer is not a fetch."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from badgeworks.adapters.fetcher import Fetcher, FetchError
from badgeworks.services.infra import metrics
from tests.adapters.test_fetcher import FakeDns


def _count(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "badgeworks_fetch_duration_seconds_count", {"outcome": outcome}
    )
    return value or 0.0


def test_each_sent_fetch_is_observed_by_outcome() -> None:
    metrics.metrics()
    seen: list[tuple[str, float]] = []

    def observe(outcome: str, seconds: float) -> None:
        seen.append((outcome, seconds))
        metrics.observe_fetch(outcome, seconds)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/big":
            return httpx.Response(200, json={"x": "y" * 5000})
        return httpx.Response(200, json={"ok": True})

    dns = FakeDns({"private.example": ["10.0.0.7"]})
    fetcher = Fetcher(
        transport=httpx.MockTransport(handler), getaddrinfo=dns, max_bytes=1000, observe=observe
    )
    before = {o: _count(o) for o in ("ok", "refused", "too_large")}
    fetcher.fetch("https://issuer.example/key")
    fetcher.fetch("https://issuer.example/key")  # cached: not sent, not observed
    with pytest.raises(FetchError):
        fetcher.fetch("https://private.example/key")
    with pytest.raises(FetchError):
        fetcher.fetch("https://issuer.example/big")
    assert [outcome for outcome, _ in seen] == ["ok", "refused", "too_large"]
    assert all(seconds >= 0 for _, seconds in seen)
    assert _count("ok") - before["ok"] == 1
    assert _count("refused") - before["refused"] == 1
    assert _count("too_large") - before["too_large"] == 1
    # An unknown outcome is filed under "error", so the label set stays fixed.
    metrics.observe_fetch("https://issuer.example/secret-path", 0.1)
    labels = {
        sample.labels.get("outcome")
        for family in REGISTRY.collect()
        if family.name == "badgeworks_fetch_duration_seconds"
        for sample in family.samples
    }
    assert labels <= set(metrics.FETCH_OUTCOMES)
