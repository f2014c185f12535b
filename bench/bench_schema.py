"""JSON Schema validation of one credential: the fast check against the Python validator.

Run: ``.venv/bin/python bench/bench_schema.py [--rounds N]``. See docs/performance.md,
"Issuance".

The credential is ``bench/ob3_credential.json`` with a Data Integrity proof (an array, as
we issue it), validated with ``schema_problems`` against the bundled schemas, as issuing
does (``remember=False``). "python" is the same call with the Rust check turned off, so
every document goes through the Python ``jsonschema`` validator as it did before. "invalid"
is the credential with one wrong value, where both run (the Rust check, then the Python
validator for the problems). The figures are the median of five runs of ``--rounds``
calls, in microseconds of CPU per call (``time.process_time``).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from badgeworks.adapters.resources import schema_documents
from badgeworks.core import schema as schema_module

CREDENTIAL = Path(__file__).with_name("ob3_credential.json")


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
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    schemas = schema_documents()
    valid = json.loads(CREDENTIAL.read_text("utf-8"))
    # Its second alignment's "ceterms:Skill" is not in the schema's enumeration.
    valid["credentialSubject"]["achievement"]["alignment"][1]["targetType"] = "ceasn:Competency"
    valid["proof"] = [
        {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-10-02T00:00:00Z",
            "verificationMethod": "did:key:z6Mk#z6Mk",
            "proofPurpose": "assertionMethod",
            "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a",
        }
    ]
    invalid = copy.deepcopy(valid)
    invalid["credentialSubject"]["achievement"]["name"] = 7
    assert schema_module.schema_problems(valid, schemas) == []
    assert schema_module.schema_problems(invalid, schemas) != []

    fast_valid = schema_module._fast_valid
    rows = []
    for name, document in (("valid", valid), ("invalid", invalid)):
        fast = _per_call(lambda d=document: schema_module.schema_problems(d, schemas), args.rounds)
        schema_module._fast_valid = lambda fast, document: False  # type: ignore[assignment]
        try:
            python = _per_call(
                lambda d=document: schema_module.schema_problems(d, schemas), args.rounds
            )
        finally:
            schema_module._fast_valid = fast_valid  # type: ignore[assignment]
        rows.append((name, python, fast))
    print("| credential | Python validator only | fast check first |")
    print("|---|---:|---:|")
    for name, python, fast in rows:
        print(f"| {name} | {python:,.0f} µs | {fast:,.0f} µs |")


if __name__ == "__main__":
    main()
