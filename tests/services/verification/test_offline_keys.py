"""Offline verification of a credential whose key lives elsewhere.

VC Data Integrity 1.0, "Retrieve Verification Method": when the verification
method cannot be retrieved, verification fails with an error saying so. Offline, a
``did:web`` or HTTPS key is not fetched, so the report says the key was not found
(``proof.key_not_found``), never that a JSON-LD context was refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from badgeworks.adapters.resources import default_loader
from badgeworks.cli import badgeworks
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.issue import issue
from tests.did_key_badges import ISSUED, badge
from tests.issuer_app import NOW
from tests.signers import sign_vc_jwt

NOW_ISO = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed_by(controller: str) -> dict[str, Any]:
    key = Ed25519KeyPair.generate(controller=controller)
    credential = badge(key)
    # badge() names the key's controller as issuer; signing needs a loader for contexts only.
    return issue(credential, key, default_loader(), now=ISSUED)


def _verify_offline(tmp_path: Path, credential: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "credential.json"
    path.write_text(json.dumps(credential))
    result = CliRunner().invoke(
        badgeworks, ["verify", str(path), "--json", "--now", NOW_ISO], catch_exceptions=False
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return result.exit_code, report


@pytest.mark.parametrize(
    "controller", ["did:web:issuer.example", "did:web:issuer.example:orgs:acme"]
)
def test_offline_a_did_web_key_is_reported_as_not_found(tmp_path: Path, controller: str) -> None:
    exit_code, report = _verify_offline(tmp_path, _signed_by(controller))
    assert exit_code == 1
    proof = [c for c in report["checks"] if c["check"] == "proof"]
    assert [c["code"] for c in proof] == ["proof.key_not_found"], proof
    assert proof[0]["outcome"] in ("fail", "indeterminate")
    assert controller in proof[0]["message"]
    assert "context" not in proof[0]["message"].lower()
    assert all(c["code"] != "context.not_allowed" for c in report["checks"])


def test_offline_an_https_key_is_reported_as_not_found(tmp_path: Path) -> None:
    exit_code, report = _verify_offline(tmp_path, _signed_by("https://issuer.example/keys"))
    assert exit_code == 1
    codes = [c["code"] for c in report["checks"] if c["check"] == "proof"]
    assert codes == ["proof.key_not_found"]


def test_offline_a_vc_jwt_with_a_did_web_kid_is_reported_as_key_not_found(tmp_path: Path) -> None:
    """OB 3.0 §8.2 (Verify a Credential): the ``kid`` is dereferenced; offline it cannot be,
    and the report says so in the VC-JWT's own code, without blaming a context."""
    key = Ed25519KeyPair.generate(controller="did:web:issuer.example")
    token = sign_vc_jwt(badge(key), key)
    path = tmp_path / "credential.jwt"
    path.write_text(token)
    result = CliRunner().invoke(
        badgeworks, ["verify", str(path), "--json", "--now", NOW_ISO], catch_exceptions=False
    )
    report = json.loads(result.stdout)
    proof = [c for c in report["checks"] if c["check"] == "proof"]
    assert [c["code"] for c in proof] == ["jwt.key_not_found"], proof
    assert "did:web:issuer.example" in proof[0]["message"]
    assert "context" not in proof[0]["message"].lower()
