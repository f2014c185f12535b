"""``badgeworks sign --envelope`` and ``badgeworks verify`` with VC-JOSE-COSE envelopes."""

from __future__ import annotations

import json
from pathlib import Path

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.keys import key_pair_to_json
from tests.test_cli import NOW, run, unsigned_badge


def test_sign_envelope_then_verify_every_form(tmp_path: Path) -> None:
    """VC 2.0 §4.13 / VC-JOSE-COSE §3.1.1: the enveloped credential (JSON), its data: URL
    and the bare JWS as plain text all verify, reported as the JOSE securing mechanism."""
    key = Ed25519KeyPair.generate()
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(key_pair_to_json(key)))
    src = tmp_path / "badge.json"
    src.write_text(json.dumps(unsigned_badge(key)))
    result = run("sign", str(src), "--key", str(key_file), "--created", NOW, "--envelope")
    assert result.exit_code == 0, result.output
    enveloped = json.loads(result.stdout)
    assert enveloped["type"] == "EnvelopedVerifiableCredential"
    assert enveloped["id"].startswith("data:application/vc+jwt,")
    forms = {
        "badge.json": json.dumps(enveloped),
        "badge.url": enveloped["id"] + "\n",
        "badge.jwt": enveloped["id"].split(",", 1)[1] + "\n",
    }
    for name, text in forms.items():
        path = tmp_path / name
        path.write_text(text)
        result = run("verify", str(path), "--json", "--now", NOW)
        assert result.exit_code == 0, (name, result.output)
        first = json.loads(result.stdout)["checks"][0]
        assert first["code"] == "jose.verified"
        assert first["detail"]["securingMechanism"] == "VC-JOSE-COSE"


def test_tampered_envelope_is_not_verified_and_other_media_types_are_unreadable(
    tmp_path: Path,
) -> None:
    """VC-JOSE-COSE §3.1.1 (RFC 7515 signature) and VC 2.0 §4.13 (the media type)."""
    key = Ed25519KeyPair.generate()
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(key_pair_to_json(key)))
    src = tmp_path / "badge.json"
    src.write_text(json.dumps(unsigned_badge(key)))
    url = json.loads(run("sign", str(src), "--key", str(key_file), "--envelope").stdout)["id"]
    head, body, sig = url.split(",", 1)[1].split(".")
    tampered = tmp_path / "tampered.url"
    tampered.write_text(f"data:application/vc+jwt,{head}.{body}.{sig[:-4]}AAAA")
    result = run("verify", str(tampered), "--json", "--now", NOW)
    assert result.exit_code == 1
    assert "jose.signature_invalid" in {c["code"] for c in json.loads(result.stdout)["checks"]}
    other = tmp_path / "other.url"
    other.write_text(f"data:application/vc+sd-jwt,{head}.{body}.{sig}")
    assert run("verify", str(other), "--now", NOW).exit_code == 2
