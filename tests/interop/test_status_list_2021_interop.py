"""Status List 2021 (W3C CCG): our reading of a StatusList2021Entry agrees with Digital
Bazaar's @digitalbazaar/vc-status-list on the same credentials and list, both ways of the
bit, offline (interop/agreement.mjs)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from badgeworks.adapters.resources import default_loader
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.verification.credential import verify
from tests.did_key_badges import vector_key
from tests.interop.conftest import HARNESS_TIMEOUT_S, INTEROP, REPO, Harness
from tests.interop.test_real_credentials import NOW
from tests.status_lists_2021 import LIST_URL_2021, credential_2021, list_2021


@pytest.fixture(scope="module")
def key() -> Ed25519KeyPair:
    return vector_key()


def _theirs(harness: Harness, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [harness.node, str(INTEROP / "agreement.mjs")],
        input=json.dumps(items),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=HARNESS_TIMEOUT_S,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert isinstance(results, list) and len(results) == len(items)
    return results


@pytest.mark.parametrize("purpose", ["revocation", "suspension"])
def test_both_read_the_same_bit(harness: Harness, key: Ed25519KeyPair, purpose: str) -> None:
    loader = default_loader()
    listed = list_2021(key, loader, set_bits=(5,), purpose=purpose)
    credentials = {index: credential_2021(key, loader, index, purpose) for index in (4, 5)}
    theirs = _theirs(
        harness,
        [
            {"credential": c, "now": NOW.isoformat(), "documents": {LIST_URL_2021: listed}}
            for c in credentials.values()
        ],
    )
    for (index, credential), result in zip(credentials.items(), theirs, strict=True):
        ours = verify(
            credential,
            loader=loader,
            now=NOW,
            status_resolver={LIST_URL_2021: listed}.get,
            known_issuers={key.controller},
        )
        assert result["statuses"] == [index == 5], result
        assert result["verified"] is (index == 4), result
        assert ours.verified is result["verified"], ours.as_dict()
