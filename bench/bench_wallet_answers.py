"""Wallet answers: what one OpenID for Verifiable Presentations round costs the service.

    .venv/bin/python bench/bench_wallet_answers.py --rounds 30
    .venv/bin/python bench/bench_wallet_answers.py --database-url postgresql+psycopg://…/db

Makes a fresh database (SQLite in a temporary folder unless ``--database-url`` names an
empty one), an issuer and a credential about a did:key holder (through the VC-API, with
the FastAPI ``TestClient``). Then ``--rounds`` times, for each presentation format: starts
a request, builds the wallet's answer (not timed), posts it to the response endpoint, and
renders the answered request page. Prints the median and mean wall time and process CPU
time (client and app together) of starting, answering and rendering.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.did_key_badges import KEY  # noqa: E402
from tests.issuer_app import TEST_SECRET, make_issuer  # noqa: E402
from tests.signers import sign_vc_jwt  # noqa: E402
from tests.wallet_holders import (  # noqa: E402
    badge_for,
    did_jwk_holder,
    did_key_holder,
    issue_to,
    jwt_vp,
    ldp_vp,
    start,
)

from badgeworks.core.loader import DocumentLoader  # noqa: E402
from badgeworks.settings import get_settings  # noqa: E402
from badgeworks.web.app import create_app  # noqa: E402


def _timed(fn: Callable[[], Any], into: dict[str, list[tuple[float, float]]], name: str) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    into.setdefault(name, []).append((time.perf_counter() - wall, time.process_time() - cpu))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-wallet-"))
    settings = get_settings(
        data_dir=tmp / "data",
        database_url=args.database_url or f"sqlite:///{tmp / 'bench.db'}",
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
        verify_rate_burst=0,
        verify_rate_per_minute=0,
    )
    app = create_app(settings)
    http = TestClient(app)
    loader: DocumentLoader = app.state.ctx.loader
    issuer = make_issuer(app, "acme")
    key_holder = did_key_holder()
    credential = issue_to(http, issuer, key_holder.did)
    jwk_holder = did_jwk_holder()
    vc_jwt = sign_vc_jwt(badge_for(jwk_holder.did, KEY.controller), KEY)

    def answer_for(fmt: str, request: dict[str, Any]) -> tuple[str, Any]:
        if fmt == "ldp_vp":
            vp = ldp_vp(
                key_holder,
                credential,
                loader,
                nonce=request["nonce"],
                audience=request["client_id"],
                now=datetime.now(UTC),
            )
            return "open_badge", vp
        token = jwt_vp(
            jwk_holder,
            vc_jwt,
            nonce=request["nonce"],
            audience=request["client_id"],
            iat=int(time.time()),
        )
        return "open_badge_jwt", token

    for fmt in ("ldp_vp", "jwt_vp_json"):
        times: dict[str, list[tuple[float, float]]] = {}
        for round_ in range(args.rounds + 1):
            request = _timed(lambda: start(http), times, "start")
            query, presentation = answer_for(fmt, request)
            path = request["response_uri"].removeprefix("http://127.0.0.1:8000")
            form = {"vp_token": json.dumps({query: [presentation]}), "state": request["state"]}
            r = _timed(lambda p=path, f=form: http.post(p, data=f), times, "answer")
            assert r.status_code == 200, r.text
            page_path = f"/verify/wallet/{request['request_id']}"
            page = _timed(lambda p=page_path: http.get(p), times, "page")
            assert 'data-verdict="verified' in page.text
            if round_ == 0:  # a warm-up round
                times.clear()
        print(f"{fmt} ({args.rounds} rounds, {settings.resolved_database_url.split(':')[0]}):")
        for name, samples in times.items():
            walls = [w * 1000 for w, _ in samples]
            cpus = [c * 1000 for _, c in samples]
            print(
                f"  {name:7s} wall median {statistics.median(walls):6.1f} ms, "
                f"mean {statistics.fmean(walls):6.1f} ms; CPU median "
                f"{statistics.median(cpus):6.1f} ms"
            )
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
