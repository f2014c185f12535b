"""Two answers to one request posted at the same moment, to a served app: exactly one is
accepted, the other is refused as used (the compare-and-set on ``answered_at``), on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx

from tests.servers import serve
from tests.services.exchange.oid4vp_app import WalletWorld, world  # noqa: F401
from tests.wallet_holders import start


def _race(base: str, path: str, form: dict[str, str]) -> list[tuple[int, Any]]:
    """Post ``form`` to ``path`` from two threads released together."""
    barrier = threading.Barrier(2)
    answers: list[tuple[int, Any]] = []

    def post() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            barrier.wait()
            r = http.post(path, data=form)
            answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_answers_at_once_one_is_accepted(world: WalletWorld) -> None:  # noqa: F811
    with serve(world.app) as base:
        for _ in range(3):
            request = start(world.client)
            form = {
                "vp_token": json.dumps({"open_badge": [world.vp(request)]}),
                "state": request["state"],
            }
            path = request["response_uri"].removeprefix("http://127.0.0.1:8000")
            answers = _race(base, path, form)
            assert sorted(status for status, _ in answers) == [200, 400], answers
            refused = next(body for status, body in answers if status == 400)
            assert refused["code"] == "oid4vp.used"
            assert refused["error"] == "invalid_request"
            assert world.status(request)["state"] == "answered"
