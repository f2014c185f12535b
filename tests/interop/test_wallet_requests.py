"""The independent test wallet speaks OpenID4VCI 1.0 and OpenID4VP 1.0 as the specs say.

Before the wallet is pointed at the service (``test_wallet_service.py``), it runs here
against a small issuer and verifier written from the specifications alone (standard
library HTTP server, no badgeworks code on the protocol path), which record and check
every request the libraries build: the token request (OpenID4VCI 1.0 §6.1), the nonce
request (§7), the credential request with a ``jwt`` proof (§8.2, Appendix F.1), the
presentation answer (OpenID4VP 1.0 §8.2 ``direct_post``) with its ``ldp_vp`` (challenge =
nonce, domain = client_id) or ``jwt_vp_json`` (nonce, aud = client_id). So when a
service test fails, the wallet is known to follow the specs, and the fault is on our side.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import pytest

from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from tests.interop.conftest import Harness
from tests.interop.wallet_support import Wallet, jwt_parts, verify_wallet_jwt, wallet
from tests.signers import sign_vc_jwt

pytestmark = pytest.mark.interop

__all__ = ["wallet"]  # the fixture, used by name

Json = dict[str, Any]
PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
VC2 = "https://www.w3.org/ns/credentials/v2"
OB3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
TYPES = ["VerifiableCredential", "OpenBadgeCredential"]
EXPANDED = [
    "https://www.w3.org/2018/credentials#VerifiableCredential",
    "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential",
]
ISSUER_KEY = Ed25519KeyPair.generate()


def badge(subject: str, issuer: str = ISSUER_KEY.controller) -> Json:
    return {
        "@context": [VC2, OB3],
        "id": f"urn:uuid:{secrets.token_hex(8)}",
        "type": TYPES,
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Spec Academy"},
        "validFrom": "2025-01-01T00:00:00Z",
        "name": "Data analysis",
        "credentialSubject": {
            "id": subject,
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "https://spec.example/achievements/1",
                "type": ["Achievement"],
                "name": "Data analysis",
                "description": "Analysed a data set.",
                "criteria": {"narrative": "Deliver the analysis."},
            },
        },
    }


class SpecPeer:
    """An OpenID4VCI issuer and OpenID4VP verifier from the specs, on 127.0.0.1."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.requests: list[Json] = []
        self.offers: dict[str, Json] = {}
        self.codes: dict[str, str | None] = {}  # pre-authorized code -> tx_code
        self.tokens: set[str] = set()
        self.nonces: set[str] = set()
        self.answers: list[Json] = []
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                peer.handle(self, "GET", b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                peer.handle(self, "POST", self.rfile.read(length))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.block_on_close = False
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # --- what the tests set up --------------------------------------------------------

    def offer(self, *, tx_code: str | None = None) -> str:
        offer_id, code = secrets.token_urlsafe(8), secrets.token_urlsafe(16)
        grant: Json = {"pre-authorized_code": code}
        if tx_code is not None:
            grant["tx_code"] = {"input_mode": "numeric", "length": len(tx_code)}
        self.offers[offer_id] = {
            "credential_issuer": self.base,
            "credential_configuration_ids": [
                "OpenBadgeCredential_ldp_vc",
                "OpenBadgeCredential_jwt_vc_json",
            ],
            "grants": {PRE_AUTH: grant},
        }
        self.codes[code] = tx_code
        uri = f"{self.base}/oid4vci/offers/{offer_id}"
        return "openid-credential-offer://?credential_offer_uri=" + quote(uri, safe="")

    def presentation_request(self, dcql: Json) -> Json:
        response_uri = f"{self.base}/oid4vp/responses/r1"
        params = {
            "response_type": "vp_token",
            "client_id": f"redirect_uri:{response_uri}",
            "response_mode": "direct_post",
            "response_uri": response_uri,
            "nonce": secrets.token_urlsafe(32),
            "state": secrets.token_urlsafe(16),
            "dcql_query": json.dumps(dcql),
            "client_metadata": json.dumps(
                {
                    "vp_formats_supported": {
                        "ldp_vc": {},
                        "jwt_vc_json": {"alg_values": ["EdDSA", "ES256"]},
                    }
                }
            ),
        }
        return {**params, "link": "openid4vp://?" + urlencode(params)}

    # --- the endpoints ----------------------------------------------------------------

    def metadata(self) -> Json:
        common = {
            "cryptographic_binding_methods_supported": ["did:key", "did:jwk", "jwk"],
            "proof_types_supported": {
                "jwt": {"proof_signing_alg_values_supported": ["EdDSA", "ES256"]}
            },
            "credential_metadata": {"display": [{"name": "Open Badge", "locale": "en"}]},
        }
        return {
            "credential_issuer": self.base,
            "credential_endpoint": f"{self.base}/oid4vci/credential",
            "nonce_endpoint": f"{self.base}/oid4vci/nonce",
            "display": [{"name": "Spec Academy", "locale": "en"}],
            "credential_configurations_supported": {
                "OpenBadgeCredential_ldp_vc": {
                    "format": "ldp_vc",
                    "credential_definition": {"@context": [VC2, OB3], "type": TYPES},
                    "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
                    **common,
                },
                "OpenBadgeCredential_jwt_vc_json": {
                    "format": "jwt_vc_json",
                    "credential_definition": {"type": TYPES},
                    "credential_signing_alg_values_supported": ["EdDSA"],
                    **common,
                },
            },
        }

    def handle(self, h: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        path = h.path
        record: Json = {"method": method, "path": path, "headers": dict(h.headers), "body": body}
        self.requests.append(record)
        status, answer, headers = self.route(method, path, dict(h.headers), body)
        data = json.dumps(answer).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Json, dict[str, str]]:
        if method == "GET" and path == "/.well-known/openid-credential-issuer":
            return 200, self.metadata(), {}
        if method == "GET" and path == "/.well-known/oauth-authorization-server":
            return (
                200,
                {
                    "issuer": self.base,
                    "token_endpoint": f"{self.base}/oid4vci/token",
                    "pre-authorized_grant_anonymous_access_supported": True,
                    "grant_types_supported": [PRE_AUTH],
                },
                {},
            )
        if method == "GET" and path.startswith("/oid4vci/offers/"):
            offer = self.offers.get(path.rsplit("/", 1)[1])
            return (200, offer, {}) if offer else (404, {"error": "not_found"}, {})
        if method == "POST" and path == "/oid4vci/token":
            return self.token(headers, body)
        if method == "POST" and path == "/oid4vci/nonce":
            nonce = secrets.token_urlsafe(24)
            self.nonces.add(nonce)
            return 200, {"c_nonce": nonce}, {"Cache-Control": "no-store"}
        if method == "POST" and path == "/oid4vci/credential":
            return self.credential(headers, body)
        if method == "POST" and path.startswith("/oid4vp/responses/"):
            assert headers["Content-Type"].startswith("application/x-www-form-urlencoded")
            self.answers.append({k: v[0] for k, v in parse_qs(body.decode()).items()})
            return 200, {}, {}
        return 404, {"error": "not_found"}, {}

    def token(self, headers: dict[str, str], body: bytes) -> tuple[int, Json, dict[str, str]]:
        assert headers["Content-Type"].startswith("application/x-www-form-urlencoded")
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != PRE_AUTH:
            return 400, {"error": "unsupported_grant_type"}, {}
        code = form.get("pre-authorized_code", "")
        if code not in self.codes:
            return 400, {"error": "invalid_grant"}, {}
        if self.codes[code] is not None and form.get("tx_code") != self.codes[code]:
            return 400, {"error": "invalid_grant", "error_description": "tx_code"}, {}
        del self.codes[code]  # single use
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 300}, {}

    def credential(self, headers: dict[str, str], body: bytes) -> tuple[int, Json, dict[str, str]]:
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.tokens:
            return (
                401,
                {"error": "invalid_token"},
                {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        request = json.loads(body)
        configuration = self.metadata()["credential_configurations_supported"].get(
            request.get("credential_configuration_id")
        )
        if configuration is None:
            return 400, {"error": "unknown_credential_configuration"}, {}
        # OpenID4VCI 1.0 §8.2 `proofs`; earlier drafts' single `proof` object, which
        # Sphereon's draft-15 client sends, is read the same way.
        if "proofs" in request:
            (proof,) = request["proofs"]["jwt"]
        else:
            assert request["proof"]["proof_type"] == "jwt", request
            proof = request["proof"]["jwt"]
        header, payload = verify_wallet_jwt(proof)
        if header["typ"] != "openid4vci-proof+jwt" or header["alg"] not in ("EdDSA", "ES256"):
            return 400, {"error": "invalid_proof"}, {}
        if ("kid" in header) == ("jwk" in header) or payload.get("aud") != self.base:
            return 400, {"error": "invalid_proof"}, {}
        if abs(payload["iat"] - time.time()) > 300:
            return 400, {"error": "invalid_proof"}, {}
        if payload.get("nonce") not in self.nonces:
            return 400, {"error": "invalid_nonce"}, {}
        self.nonces.discard(payload["nonce"])
        holder = header["kid"].split("#")[0] if "kid" in header else "urn:holder:jwk"
        credential = badge(holder)
        if configuration["format"] == "ldp_vc":
            signed: Any = self.harness.one(
                "sign",
                {
                    "credential": credential,
                    "key": {
                        "publicKeyMultibase": ISSUER_KEY.public_key_multibase,
                        "secretKeyMultibase": ISSUER_KEY.secret_key_multibase,
                        "id": ISSUER_KEY.id,
                        "controller": ISSUER_KEY.controller,
                    },
                },
            )
        else:
            signed = sign_vc_jwt(credential, ISSUER_KEY)
        return 200, {"credentials": [{"credential": signed}]}, {}

    def sent(self, path: str) -> list[Json]:
        return [r for r in self.requests if r["path"] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def peer(harness: Harness) -> Iterator[SpecPeer]:
    server = SpecPeer(harness)
    yield server
    server.close()


def dcql(*, issuer: str | None = None) -> Json:
    claims: list[Json] = (
        [{"id": "issuer", "path": ["issuer", "id"], "values": [issuer]}] if issuer else []
    )
    meta: Json = {"type_values": [EXPANDED]}
    queries: list[Json] = [
        {"id": "open_badge", "format": "ldp_vc", "meta": meta},
        {"id": "open_badge_jwt", "format": "jwt_vc_json", "meta": meta},
    ]
    for query in queries:
        if claims:
            query["claims"] = claims
    return {
        "credentials": queries,
        "credential_sets": [{"options": [["open_badge"], ["open_badge_jwt"]]}],
    }


def test_owf_wallet_redeems_offers_with_the_requests_the_spec_describes(
    peer: SpecPeer, wallet: Wallet
) -> None:
    ldp = wallet.receive(peer.offer(), "--format", "ldp_vc")
    assert ldp.ok, ldp.out
    assert ldp.out["format"] == "ldp_vc" and ldp.out["via"] == "@openid4vc/openid4vci"
    assert ldp.out["credential"]["credentialSubject"]["id"] == ldp.out["holder"]["did"]
    assert ldp.out["credential"]["proof"]["type"] == "DataIntegrityProof"

    (token,) = peer.sent("/oid4vci/token")
    form = {k: v[0] for k, v in parse_qs(token["body"].decode()).items()}
    assert form["grant_type"] == PRE_AUTH and "tx_code" not in form and "client_id" not in form
    (credential_request,) = peer.sent("/oid4vci/credential")
    body = json.loads(credential_request["body"])
    # OpenID4VCI 1.0 §8.2: the configuration id (not draft 14's format), proofs.jwt.
    assert set(body) == {"credential_configuration_id", "proofs"}, body
    assert body["credential_configuration_id"] == "OpenBadgeCredential_ldp_vc"
    header, payload, _, _ = jwt_parts(body["proofs"]["jwt"][0])
    assert header == {
        "typ": "openid4vci-proof+jwt",
        "alg": "EdDSA",
        "kid": ldp.out["holder"]["kid"],
    }
    assert header["kid"].startswith("did:key:z6Mk")
    assert payload["aud"] == peer.base and "iss" not in payload
    assert peer.requests[0]["path"].startswith("/oid4vci/offers/")
    assert peer.requests[1]["path"] == "/.well-known/openid-credential-issuer"

    # P-256, did:jwk, the VC-JWT configuration, and an offer with a transaction code.
    jwt = wallet.receive(
        peer.offer(tx_code="493817"),
        "--format", "jwt_vc_json", "--key-type", "p256", "--binding", "did:jwk", "--pin", "493817",
    )  # fmt: skip
    assert jwt.ok, jwt.out
    body = json.loads(peer.sent("/oid4vci/credential")[-1]["body"])
    header, payload = verify_wallet_jwt(body["proofs"]["jwt"][0])
    assert header["alg"] == "ES256" and header["kid"] == jwt.out["holder"]["kid"]
    assert header["kid"].startswith("did:jwk:") and header["kid"].endswith("#0")
    form = {k: v[0] for k, v in parse_qs(peer.sent("/oid4vci/token")[-1]["body"].decode()).items()}
    assert form["tx_code"] == "493817"

    # Binding by a bare JWK: the proof carries `jwk` and no `kid`.
    bare = wallet.receive(peer.offer(), "--format", "ldp_vc", "--binding", "jwk")
    assert bare.ok, bare.out
    assert bare.out["proof"]["header"]["jwk"] == bare.out["holder"]["publicJwk"]
    assert (
        "kid" not in bare.out["proof"]["header"] and "d" not in bare.out["proof"]["header"]["jwk"]
    )

    listed = wallet.run("list")
    assert [c["format"] for c in listed.out["credentials"]] == ["ldp_vc", "jwt_vc_json", "ldp_vc"]


def test_owf_wallet_reports_what_an_issuer_refused(peer: SpecPeer, wallet: Wallet) -> None:
    offer = peer.offer(tx_code="1234")
    missing = wallet.receive(offer)
    assert missing.returncode == 1 and "--pin" in missing.out["error"]
    wrong = wallet.receive(offer, "--pin", "9999")
    assert wrong.returncode == 1, wrong.out
    assert (wrong.out["step"], wrong.out["code"]) == ("token", "invalid_grant")
    good = wallet.receive(offer, "--pin", "1234", "--replay-proof")
    assert good.ok, good.out
    # The same proof again: its nonce is spent.
    assert good.out["replay"]["refused"] and good.out["replay"]["code"] == "invalid_nonce"
    again = wallet.receive(offer, "--pin", "1234")  # the code was used
    assert (again.out["step"], again.out["code"]) == ("token", "invalid_grant")
    usage = wallet.run("receive", offer, "--format", "mso_mdoc")
    assert usage.returncode == 2 and "--format" in usage.stderr


def test_sphereon_client_redeems_an_offer(peer: SpecPeer, wallet: Wallet) -> None:
    got = wallet.sphereon_receive(peer.offer(), "--format", "ldp_vc")
    assert got.ok, got.out
    assert got.out["via"] == "@sphereon/oid4vci-client"
    assert got.out["credential"]["credentialSubject"]["id"] == got.out["holder"]["did"]
    body = json.loads(peer.sent("/oid4vci/credential")[-1]["body"])
    # Draft 15's request: the configuration id, and one `proof` object (not `proofs`).
    assert set(body) == {"credential_configuration_id", "proof"}, body
    assert body["credential_configuration_id"] == "OpenBadgeCredential_ldp_vc"
    assert body["proof"]["proof_type"] == "jwt"
    header, payload = verify_wallet_jwt(body["proof"]["jwt"])
    assert header["typ"] == "openid4vci-proof+jwt" and payload["aud"] == peer.base


def test_owf_wallet_answers_a_dcql_request_in_both_formats(
    peer: SpecPeer, wallet: Wallet, harness: Harness
) -> None:
    assert wallet.receive(peer.offer(), "--format", "ldp_vc").ok
    assert wallet.receive(peer.offer(), "--format", "jwt_vc_json").ok

    request = peer.presentation_request(dcql())
    ldp = wallet.present(request["link"], "--format", "ldp_vc")
    assert ldp.ok, ldp.out
    answer = peer.answers[-1]
    assert answer["state"] == request["state"]
    token = json.loads(answer["vp_token"])
    (presentation,) = token["open_badge"]
    assert set(token) == {"open_badge"}
    assert presentation["proof"]["challenge"] == request["nonce"]
    assert presentation["proof"]["domain"] == request["client_id"]
    checked = harness.one(
        "verify-presentation",
        {
            "verifiablePresentation": presentation,
            "challenge": request["nonce"],
            "domain": request["client_id"],
        },
    )
    assert checked["verified"], checked

    request = peer.presentation_request(dcql())
    jwt = wallet.present(request["link"], "--format", "jwt_vc_json")
    assert jwt.ok, jwt.out
    token = json.loads(peer.answers[-1]["vp_token"])
    (vp_jwt,) = token["open_badge_jwt"]
    header, payload = verify_wallet_jwt(vp_jwt)
    assert payload["nonce"] == request["nonce"] and payload["aud"] == request["client_id"]
    assert header["kid"].split("#")[0] == payload["iss"] == payload["vp"]["holder"]
    (inner,) = payload["vp"]["verifiableCredential"]
    assert jwt_parts(inner)[1]["credentialSubject"]["id"] == payload["iss"]

    # Narrowed to another issuer: nothing matches, and nothing is posted.
    answers = len(peer.answers)
    other = wallet.present(peer.presentation_request(dcql(issuer="did:example:other"))["link"])
    assert other.returncode == 1 and other.out["step"] == "dcql", other.out
    assert len(peer.answers) == answers


def test_owf_wallet_sends_nothing_to_a_request_that_misnames_its_verifier(
    peer: SpecPeer, wallet: Wallet
) -> None:
    assert wallet.receive(peer.offer(), "--format", "ldp_vc").ok
    request = peer.presentation_request(dcql())
    # client_id names another response URI than the one the answer would go to
    # (OpenID4VP 1.0 §5.9.3): the library refuses before anything is signed or sent.
    params = {k: v for k, v in request.items() if k != "link"}
    params["client_id"] = "redirect_uri:https://verifier.example/oid4vp/responses/r1"
    misnamed = wallet.present("openid4vp://?" + urlencode(params))
    assert misnamed.returncode == 1 and misnamed.out["step"] == "resolve", misnamed.out
    # A plain-http response URI off this machine: refused before any request (https
    # only; the library itself does not check a response_uri's scheme).
    params = {k: v for k, v in request.items() if k != "link"}
    params["response_uri"] = "http://verifier.example/oid4vp/responses/r1"
    params["client_id"] = "redirect_uri:" + params["response_uri"]
    insecure = wallet.present("openid4vp://?" + urlencode(params))
    assert insecure.returncode == 1 and insecure.out["step"] == "link", insecure.out
    assert "https" in insecure.out["error"]
    assert peer.answers == []
