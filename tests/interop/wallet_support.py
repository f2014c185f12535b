"""Run the independent test wallet (``interop/wallet.mjs``) from pytest, and read what it signs.

The wallet is built from the OpenWallet Foundation's ``@openid4vc/*`` clients, Sphereon's
``@sphereon/oid4vci-client``, the ``dcql`` library, Digital Bazaar's Data Integrity stack
and panva's ``jose`` (docs/interop.md, "Independent wallets"). Like the Digital Bazaar
harness, Node.js missing is a loud skip and Node.js present without the locked modules is
a failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from badgeworks.core.crypto.jose import jws_verify
from badgeworks.core.encoding import b64url_decode, b64url_encode
from badgeworks.core.multibase import decode_base58btc
from tests.interop.conftest import INTEROP, NODE_MODULES, REPO

WALLET = INTEROP / "wallet.mjs"
#: One wallet command: a few HTTP round trips and one Node start (about a second).
WALLET_TIMEOUT_S = 90

Json = dict[str, Any]


@dataclass
class WalletRun:
    """What one wallet command printed, and its exit code (0 ok, 1 refused, 2 usage)."""

    returncode: int
    out: Json
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.out.get("ok") is True


class Wallet:
    """``node interop/wallet.mjs <command> … --wallet DIR``; one directory per wallet."""

    def __init__(self, node: str, directory: Path) -> None:
        self.node = node
        self.directory = directory

    def run(self, *args: str) -> WalletRun:
        try:
            proc = subprocess.run(
                [self.node, str(WALLET), *args, "--wallet", str(self.directory)],
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=WALLET_TIMEOUT_S,
                cwd=REPO,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"wallet {args[:1]} timed out after {WALLET_TIMEOUT_S} s")
        try:
            out = json.loads(proc.stdout) if proc.stdout.strip() else {}
        except json.JSONDecodeError:
            pytest.fail(
                f"wallet printed no JSON (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return WalletRun(proc.returncode, out, proc.stderr)

    def receive(self, offer: str, *options: str) -> WalletRun:
        return self.run("receive", offer, *options)

    def sphereon_receive(self, offer: str, *options: str) -> WalletRun:
        return self.run("sphereon-receive", offer, *options)

    def present(self, link: str, *options: str) -> WalletRun:
        return self.run("present", link, *options)


def node_for_wallet() -> str:
    """Node.js, with the wallet's locked modules installed (else skip loudly, or fail)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip(
            "!!! Node.js not found: the independent wallet (OpenWallet Foundation, Sphereon) "
            "NOT tested (install Node.js 20+ and run `make test`)"
        )
    for package in ("@openid4vc/openid4vci", "@openid4vc/openid4vp", "@sphereon/oid4vci-client"):
        if not (NODE_MODULES / package).is_dir():
            pytest.fail(
                f"Node.js is installed but {NODE_MODULES / package} is missing: run `make test` "
                "(it runs `npm ci` in interop/ from the lock file), or `make interop-deps`"
            )
    return node


@pytest.fixture
def wallet(tmp_path: Path) -> Wallet:
    """A fresh, empty test wallet."""
    return Wallet(node_for_wallet(), tmp_path / "wallet")


# --- Reading what the wallet signed (the tests' own checks, not the service's) ---------


def jwt_parts(token: str) -> tuple[Json, Json, bytes, bytes]:
    """(header, payload, signing input, signature) of a compact JWS."""
    head, body, sig = token.split(".")
    header: Json = json.loads(b64url_decode(head))
    payload: Json = json.loads(b64url_decode(body))
    return header, payload, f"{head}.{body}".encode(), b64url_decode(sig)


def did_key_jwk(did: str) -> Json:
    """The public JWK of an Ed25519 or P-256 did:key (did:key v0.7 §3.1)."""
    raw = decode_base58btc(did.removeprefix("did:key:").split("#")[0])
    if raw[:2] == b"\xed\x01":
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw[2:])}
    if raw[:2] == b"\x80\x24":
        point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])
        numbers = point.public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(numbers.x.to_bytes(32, "big")),
            "y": b64url_encode(numbers.y.to_bytes(32, "big")),
        }
    raise ValueError(f"not an Ed25519 or P-256 did:key: {did}")


def holder_jwk(header: Json) -> Json:
    """The key a wallet JWT names: did:key / did:jwk ``kid``, or the header's ``jwk``."""
    kid = header.get("kid")
    if isinstance(kid, str) and kid.startswith("did:key:"):
        return did_key_jwk(kid)
    if isinstance(kid, str) and kid.startswith("did:jwk:"):
        jwk: Json = json.loads(b64url_decode(kid.removeprefix("did:jwk:").split("#")[0]))
        return jwk
    jwk = header["jwk"]
    return jwk


def verify_wallet_jwt(token: str) -> tuple[Json, Json]:
    """Checks the signature of a JWT the wallet signed; returns (header, payload)."""
    header, payload, signing_input, signature = jwt_parts(token)
    assert jws_verify(header["alg"], holder_jwk(header), signing_input, signature), header
    return header, payload
