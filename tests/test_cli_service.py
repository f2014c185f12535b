"""The lifecycle CLI, HTTPS from ``badgeworks serve``, and the interop harness's view."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.cli_service import service_commands
from badgeworks.settings import Settings
from tests.interop.conftest import Harness, harness  # noqa: F401  (fixture)
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, make_issuer
from tests.plain_credentials import issue_plain, path_of, row_id


def _env(settings: Settings) -> dict[str, str]:
    return {
        "BADGEWORKS_DATA_DIR": str(settings.data_dir),
        "BADGEWORKS_DATABASE_URL": settings.resolved_database_url,
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        "BADGEWORKS_PUBLIC_BASE_URL": settings.public_base_url,
    }


def test_cli_lifecycle_commands(
    client: TestClient, acme: IssuerHandle, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the CLI calls the same services; once is enough")
    runner = CliRunner()
    env = _env(settings)
    vc = issue_plain(client, acme)
    cid = row_id(vc)

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(service_commands, list(args), env=env)
        return result.exit_code, result.output

    assert (
        run("suspend", cid, "--issuer", "acme", "--reason", "check")[1]
        .strip()
        .endswith("suspended")
    )
    code, out = run("suspend", cid, "--issuer", "acme")
    assert code == 1 and "status.already_suspended" in out
    assert run("unsuspend", cid, "--issuer", "acme")[1].strip().endswith("active")
    code, out = run("reissue", cid, "--issuer", "acme", "--reason", "typo")
    assert code == 0 and out.strip().startswith("http://127.0.0.1:8000/credentials/")
    new_id = out.strip().rsplit("/", 1)[-1]
    code, out = run("expire", new_id, "--issuer", "acme", "--at", "2026-01-01")
    assert code == 0, out
    newest = out.strip().rsplit("/", 1)[-1]
    assert client.get(f"/credentials/{newest}.json").json()["validUntil"] == "2026-01-01T00:00:00Z"
    assert run("revoke", newest, "--issuer", "acme", "--reason", "done")[0] == 0
    code, out = run("revoke", newest, "--issuer", "acme")
    assert code == 1 and "status.already_revoked" in out
    code, out = run("revoke", "00000000-0000-4000-8000-000000000000", "--issuer", "acme")
    assert code == 1 and "credential.not_found" in out


def test_interop_harness_decodes_the_same_bit(
    app: FastAPI,
    client: TestClient,
    harness: Harness,  # noqa: F811
    database_url: str,
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("one database is enough for the Node.js check")
    # did:key, so the harness's offline loader can resolve the list's signing key.
    keyed = make_issuer(app, "keyed", did_method="key")
    vc = issue_plain(client, keyed)
    revocation, suspension = vc["credentialStatus"]
    assert (
        client.post(
            f"/api/v1/credentials/{row_id(vc)}/revoke", json={}, headers=keyed.auth
        ).status_code
        == 200
    )
    items = []
    for entry in (revocation, suspension):
        listed = client.get(path_of(entry["statusListCredential"])).json()
        items.append(
            {
                "statusListCredential": listed,
                "index": int(entry["statusListIndex"]),
                "now": NOW.isoformat(),
            }
        )
    first, second = harness.run("status-bit", items)
    assert first.get("error") is None and first["verified"] is True, first
    assert (first["bit"], second["bit"]) == (1, 0)
    assert first["entries"] >= 131_072


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate and key for 127.0.0.1, valid for a day, written under ``tmp``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_serve_answers_https_with_given_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = _free_port()
    env = {
        **os.environ,
        "BADGEWORKS_DATA_DIR": str(tmp_path / "data"),
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
    }
    env.pop("BADGEWORKS_PUBLIC_BASE_URL", None)
    env.pop("BADGEWORKS_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "badgeworks",
            "serve",
            "--port",
            str(port),
            "--ssl-certfile",
            str(cert),
            "--ssl-keyfile",
            str(key),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=str(cert))
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read() if proc.stdout else ""
                    pytest.fail(f"serve did not answer HTTPS: {out[-2000:]}")
                time.sleep(0.3)
        assert r.status_code == 200 and r.json() == {"ok": True}
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    assert f"https://127.0.0.1:{port}" in out
