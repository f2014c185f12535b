"""The command line, through click's CliRunner and as a real subprocess."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from badgeworks.adapters.resources import default_loader
from badgeworks.cli import badgeworks
from badgeworks.core import credential as ob
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.identity import identity_object
from badgeworks.core.keys import key_pair_to_json
from badgeworks.core.proof import add_proof
from badgeworks.core.status import encode_list, new_bitstring, set_status, status_list_credential

ISSUED = datetime(2025, 5, 1, tzinfo=UTC)
NOW = "2025-06-01T00:00:00Z"
LIST_URL = "https://northwind.example/status/1"


def run(*args: str, input: bytes | str | None = None) -> Any:
    return CliRunner().invoke(badgeworks, list(args), input=input, catch_exceptions=False)


def one_error_line(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    return str(lines[0])


@pytest.fixture(scope="module")
def key() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


@pytest.fixture
def key_file(tmp_path: Path, key: Ed25519KeyPair) -> Path:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_pair_to_json(key)))
    return path


def unsigned_badge(key: Ed25519KeyPair, status: Any = None) -> dict[str, Any]:
    achievement = ob.achievement(
        id="https://northwind.example/achievements/a",
        name="Micro-internship",
        description="Four weeks of work.",
        criteria_narrative="Deliver.",
    )
    subject = ob.achievement_subject(
        achievement=achievement, identifier=[identity_object("a@example.com", salt="s")]
    )
    return ob.achievement_credential(
        id="urn:uuid:11111111-2222-4333-8444-555555555555",
        issuer=ob.profile(id=key.controller, name="Northwind"),
        valid_from=ob.xsd_datetime(ISSUED),
        subject=subject,
        name="Micro-internship",
        credential_status=status,
    )


@pytest.fixture
def signed_file(tmp_path: Path, key: Ed25519KeyPair, key_file: Path) -> Path:
    src = tmp_path / "badge.json"
    src.write_text(json.dumps(unsigned_badge(key)))
    out = tmp_path / "signed.json"
    result = run("sign", str(src), "--key", str(key_file), "--created", NOW, "--output", str(out))
    assert result.exit_code == 0, result.output
    return out


# --- keys ----------------------------------------------------------------------------------


def test_keys_generate_stdout_and_file(tmp_path: Path) -> None:
    result = run("keys", "generate")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["publicKeyMultibase"].startswith("z6Mk")
    assert data["secretKeyMultibase"].startswith("z3u2")

    out = tmp_path / "k.json"
    result = run("keys", "generate", "--out", str(out), "--controller", "did:web:example.org")
    assert result.exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["controller"] == "did:web:example.org"
    before = out.read_text()
    result = run("keys", "generate", "--out", str(out))
    assert result.exit_code == 2
    assert "refusing to overwrite" in one_error_line(result)
    assert out.read_text() == before


# --- sign and verify -----------------------------------------------------------------------


def test_sign_then_verify(signed_file: Path) -> None:
    doc = json.loads(signed_file.read_text())
    assert doc["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert doc["proof"]["created"] == NOW
    result = run("verify", str(signed_file), "--now", NOW)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Verified")
    assert any(line.startswith("  ✓ proof:") for line in lines)
    assert any(line.startswith("  ! issuer:") for line in lines)  # not in a registry


def test_verify_json_is_the_report(signed_file: Path) -> None:
    result = run("verify", str(signed_file), "--json", "--now", NOW)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["verified"] is True
    assert {c["check"] for c in report["checks"]} >= {"structure", "proof", "issuer", "status"}
    assert set(report["checks"][0]) <= {"check", "outcome", "code", "message", "detail"}


def test_verify_stdin(signed_file: Path) -> None:
    result = run("verify", "-", "--now", NOW, input=signed_file.read_bytes())
    assert result.exit_code == 0


def test_tampered_is_exit_1(signed_file: Path, tmp_path: Path) -> None:
    doc = json.loads(signed_file.read_text())
    doc["name"] = "Something else"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = run("verify", str(bad), "--now", NOW)
    assert result.exit_code == 1
    assert result.stdout.startswith("Not verified")
    assert "  ✗ proof:" in result.stdout
    result = run("verify", str(bad), "--json", "--now", NOW)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["verified"] is False


def test_expired_by_now_is_exit_1(signed_file: Path) -> None:
    result = run("verify", str(signed_file), "--now", "2020-01-01T00:00:00Z")
    assert result.exit_code == 1
    assert "validity.not_yet_valid" in result.stdout


def test_non_credential_json_is_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2, 3]")
    result = run("verify", str(path))
    assert result.exit_code == 1
    assert "structure.not_object" in result.stdout
    path.write_text('{"hello": "world"}')
    assert run("verify", str(path)).exit_code == 1


def test_status_list_option(key: Ed25519KeyPair, key_file: Path, tmp_path: Path) -> None:
    loader = default_loader()
    entry = ob.bitstring_status_list_entry(list_url=LIST_URL, index=5)
    signed = add_proof(unsigned_badge(key, entry), key, loader, created=ISSUED)
    badge = tmp_path / "badge.json"
    badge.write_text(json.dumps(signed))
    bits = new_bitstring()
    set_status(bits, 5, 1)
    lst = status_list_credential(
        id=LIST_URL,
        issuer=key.controller,
        purpose="revocation",
        encoded_list=encode_list(bits),
        valid_from=ISSUED,
    )
    list_file = tmp_path / "list.json"
    list_file.write_text(json.dumps(add_proof(lst, key, loader, created=ISSUED)))

    result = run("verify", str(badge), "--now", NOW)
    assert result.exit_code == 0
    assert "status.not_checked" in result.stdout
    result = run("verify", str(badge), "--now", NOW, "--status-list", str(list_file))
    assert result.exit_code == 1
    assert "  ✗ status: This credential was revoked by its issuer." in result.stdout
    # A list for some other URL: the needed one was not supplied, so it is a warning.
    other = json.loads(list_file.read_text())
    other["id"] = "https://elsewhere.example/list"
    other_file = tmp_path / "other.json"
    other_file.write_text(json.dumps(other))
    result = run("verify", str(badge), "--now", NOW, "--status-list", str(other_file))
    assert result.exit_code == 0
    assert "status.not_checked" in result.stdout


def test_trust_email_and_vc_jwt(key: Ed25519KeyPair, signed_file: Path, tmp_path: Path) -> None:
    from tests.signers import sign_vc_jwt

    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps({"issuers": [{"id": key.controller, "name": "Northwind (ours)"}]}))
    result = run("verify", str(signed_file), "--json", "--now", NOW, "--trust", str(trust))
    assert result.exit_code == 0, result.output
    known = [c for c in json.loads(result.stdout)["checks"] if c["code"] == "issuer.known"]
    assert len(known) == 1 and "Northwind (ours)" in known[0]["message"]
    assert known[0]["detail"]["registry"] == "registry"

    result = run("verify", str(signed_file), "--json", "--now", NOW, "--email", "A@example.com")
    assert result.exit_code == 0
    recipient = [c for c in json.loads(result.stdout)["checks"] if c["check"] == "recipient"]
    assert [(c["code"], c["outcome"]) for c in recipient] == [("recipient.match", "pass")]
    assert "example.com" not in result.stdout
    result = run("verify", str(signed_file), "--now", NOW, "--email", "eve@example.com")
    assert result.exit_code == 1
    assert "recipient.no_match" in result.stdout and "eve@" not in result.stdout

    # A VC-JWT given as plain text goes through the same pipeline.
    token = tmp_path / "badge.jwt"
    token.write_text(sign_vc_jwt(unsigned_badge(key), key) + "\n")
    result = run("verify", str(token), "--json", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert "jwt.verified" in {c["code"] for c in json.loads(result.stdout)["checks"]}


def test_verify_option_errors_are_exit_2(signed_file: Path, tmp_path: Path) -> None:
    bad = tmp_path / "trust.json"
    bad.write_text('{"issuers": [{"name": "no id"}]}')
    result = run("verify", str(signed_file), "--trust", str(bad))
    assert result.exit_code == 2
    assert "--trust" in one_error_line(result)
    result = run("verify", str(signed_file), "--trust", str(tmp_path / "missing.json"))
    assert result.exit_code == 2
    assert "--trust" in one_error_line(result)
    result = run("verify", str(signed_file), "--email", "not-an-email")
    assert result.exit_code == 2
    assert "not-an-email" not in one_error_line(result)


# --- bad input: exit 2 and one line --------------------------------------------------------


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    files = {
        "not_json": b"this is not json",
        "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "deep": b"[" * 10_000 + b"]" * 10_000,
        "not_utf8": b'{"a": "\xff"}',
        "empty": b"",
        "duplicate": b'{"a": 1, "a": 2}',
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_bytes(data)
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.write(b'{"pad": "')
        f.write(b"x" * (50 * 1024 * 1024))
        f.write(b'"}')
    paths["big"] = big
    paths["directory"] = tmp_path
    paths["missing"] = tmp_path / "missing.json"
    return paths


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("not_json", "not JSON"),
        ("binary", "PNG"),
        ("deep", "levels deep"),
        ("not_utf8", "UTF-8"),
        ("empty", "empty"),
        ("duplicate", "appears twice"),
        ("big", "limit"),
        ("directory", "directory"),
        ("missing", "no such file"),
    ],
)
def test_bad_input_is_exit_2(name: str, expected: str, tmp_path: Path, key_file: Path) -> None:
    path = _bad_inputs(tmp_path)[name]
    for args in (["verify", str(path)], ["sign", str(path), "--key", str(key_file)]):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in one_error_line(result)
        assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "{f}", "--now", "yesterday"],
        ["verify", "{f}", "--now", "2025-01-01T00:00:00"],  # no time zone
        ["verify", "{f}", "--status-list", "{missing}"],
        ["verify", "{f}", "--status-list", "{list}"],  # a list without an id
        ["verify"],
        ["verify", "{f}", "--bogus"],
        ["nonsense"],
        ["sign", "{f}"],  # --key missing
        ["sign", "{f}", "--key", "{missing}"],
        ["sign", "{f}", "--key", "{f}"],  # not a key file
        ["sign", "{f}", "--key", "{public}"],  # no secret part
        ["sign", "{f}", "--key", "{key}", "--created", "soon"],
        ["sign", "{list}", "--key", "{key}"],  # not an object
        ["sign", "{f}", "--key", "{key}", "--output", "{f}"],  # would overwrite
    ],
)
def test_usage_errors_are_exit_2_and_one_line(
    args: list[str], tmp_path: Path, key: Ed25519KeyPair, key_file: Path
) -> None:
    f = tmp_path / "doc.json"
    f.write_text(json.dumps(unsigned_badge(key)))
    public = tmp_path / "public.json"
    public.write_text(json.dumps(key_pair_to_json(key, include_secret=False)))
    lst = tmp_path / "list.json"
    lst.write_text("[1]")
    names = {
        "f": f,
        "missing": tmp_path / "nope.json",
        "public": public,
        "key": key_file,
        "list": lst,
    }
    result = run(*(a.format(**names) for a in args))
    assert result.exit_code == 2, result.output
    one_error_line(result)


def test_sign_refuses_undefined_terms(tmp_path: Path, key: Ed25519KeyPair, key_file: Path) -> None:
    doc = unsigned_badge(key)
    doc["favouriteColour"] = "blue"  # not defined by any context: signing would drop it
    f = tmp_path / "doc.json"
    f.write_text(json.dumps(doc))
    result = run("sign", str(f), "--key", str(key_file))
    assert result.exit_code == 2
    assert "favouriteColour" in one_error_line(result)


def test_demo_runs() -> None:
    result = run("demo")
    assert result.exit_code == 0, result.output
    assert "Verified" in result.stdout
    assert "Not verified" in result.stdout
    assert "revoked" in result.stdout


# --- as a real process ---------------------------------------------------------------------


def _proc(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "badgeworks", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )


def test_subprocess_exit_codes(signed_file: Path, tmp_path: Path) -> None:
    ok = _proc("verify", str(signed_file), "--now", NOW)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.decode().startswith("Verified")

    doc = json.loads(signed_file.read_text())
    doc["validFrom"] = "2024-01-01T00:00:00Z"
    tampered = _proc("verify", "-", "--json", "--now", NOW, stdin=json.dumps(doc).encode())
    assert tampered.returncode == 1
    assert json.loads(tampered.stdout)["verified"] is False

    paths = _bad_inputs(tmp_path)
    for name in ("deep", "big", "binary", "directory", "missing", "not_json"):
        result = _proc("verify", str(paths[name]))
        assert result.returncode == 2, (name, result.stderr)
        err = result.stderr.decode().strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), (name, err)
    usage = _proc("verify")
    assert usage.returncode == 2
    assert usage.stderr.decode().strip().splitlines() == ["error: Missing argument 'FILE'."]


def test_subprocess_demo() -> None:
    result = _proc("demo")
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
