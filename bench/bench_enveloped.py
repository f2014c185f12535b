"""VC-JOSE-COSE envelopes against Data Integrity: signing and verifying one credential.

Run: ``.venv/bin/python bench/bench_enveloped.py [--rounds N]``. See docs/vc-jose-cose.md.

The credential is ``bench/ob3_credential.json`` issued by a did:key. "envelope" signs it
with ``envelope_credential`` (EdDSA JWS, ``application/vc+jwt``), "add_proof" with an
``eddsa-rdfc-2022`` Data Integrity proof. "verify_envelope" is the JOSE layer alone;
"verify_document" is the whole offline verification (envelope or proof, then structure,
issuer and validity; no schemas, status or deliverables) of each. The figures are the
median of five runs of ``--rounds`` calls, in microseconds of CPU per call
(``time.process_time``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from badgeworks.adapters.resources import default_loader
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.enveloped import envelope_credential, verify_envelope
from badgeworks.core.proof import add_proof
from badgeworks.core.verification.document import Capabilities, verify_document

CREDENTIAL = Path(__file__).with_name("ob3_credential.json")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _per_call(fn: Callable[[], Any], rounds: int) -> float:
    runs = []
    for _ in range(5):
        start = time.process_time()
        for _ in range(rounds):
            fn()
        runs.append((time.process_time() - start) / rounds * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    key = Ed25519KeyPair.generate()
    loader = default_loader()
    credential = json.loads(CREDENTIAL.read_text("utf-8"))
    credential.pop("proof", None)
    issuer = credential["issuer"]
    credential["issuer"] = (
        {**issuer, "id": key.controller} if isinstance(issuer, dict) else key.controller
    )
    enveloped = envelope_credential(credential, key, iat=NOW)
    signed = add_proof(credential, key, loader, created=NOW)
    caps = Capabilities(loader=loader, deliverables=False)
    assert verify_document(enveloped, caps, now=NOW).report.verified
    assert verify_document(signed, caps, now=NOW).report.verified
    rows = {
        "envelope (sign)": lambda: envelope_credential(credential, key, iat=NOW),
        "add_proof eddsa-rdfc-2022 (sign)": lambda: add_proof(credential, key, loader, created=NOW),
        "verify_envelope (JOSE only)": lambda: verify_envelope(
            enveloped, key_resolver=loader.load, now=NOW
        ),
        "verify_document, enveloped": lambda: verify_document(enveloped, caps, now=NOW),
        "verify_document, eddsa-rdfc-2022": lambda: verify_document(signed, caps, now=NOW),
    }
    print(f"{'operation':36} {'µs/call':>9} {'calls/s':>9}")
    for name, fn in rows.items():
        micros = _per_call(fn, args.rounds)
        print(f"{name:36} {micros:9.0f} {1e6 / micros:9.0f}")


if __name__ == "__main__":
    main()
