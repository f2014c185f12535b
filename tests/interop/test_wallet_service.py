"""Independent wallets against the service: issue into them, and answer an employer from them.

The service runs under uvicorn on a loopback port (its public URL that address), on SQLite
and PostgreSQL. The candidate signs in at ``/me`` and makes an offer there; the test
wallet (``interop/wallet.mjs``: the OpenWallet Foundation's ``@openid4vc/openid4vci`` and
``@openid4vc/openid4vp``, and Sphereon's ``@sphereon/oid4vci-client`` for a second
client) follows the offer link, and Digital Bazaar's ``verifyCredential`` verifies the
``ldp_vc`` it holds (panva's ``jose`` the ``jwt_vc_json``). An employer then starts a
request at ``/verify``; the wallet answers it in each format, and the request's page says
"Verified" with the candidate's name and the achievement. Refusals a wallet meets are
checked with the same wallet: a used offer, a replayed proof, an answer replayed into
another request.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import col, select

from badgeworks.core.crypto.jose import ed25519_public_jwk
from badgeworks.core.multikey import decode_public_key
from badgeworks.db.outbox import OutboxMessage
from tests.browser_support import served_app
from tests.html_page import Page, csrf_of
from tests.interop.conftest import INTEROP, Harness
from tests.interop.wallet_support import Wallet, jwt_parts, wallet
from tests.issuer_app import Issued, issue_with_deliverables, make_issuer

pytestmark = pytest.mark.interop

__all__ = ["wallet"]  # the fixture, used by name

Json = dict[str, Any]
CANDIDATE = "Ada Lovelace"
PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
#: One test here makes more wallet and verifier calls from 127.0.0.1 than a person would in
#: a minute; the rate limits are tested elsewhere (tests/services/exchange/).
NO_RATE_LIMITS: dict[str, Any] = {
    "wallet_rate_per_minute": 0,
    "wallet_rate_burst": 0,
    "verify_rate_per_minute": 0,
    "verify_rate_burst": 0,
}
EMAIL = "ada@example.org"
ACHIEVEMENT = "Data Analysis Micro-internship"  # tests/issuer_app.py ACHIEVEMENT


class Site:
    """The served app, a browser-like HTTP client on it, and the issued credential."""

    def __init__(self, base: str, app: FastAPI) -> None:
        self.base = base
        self.app = app
        self.http = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
        self.api = TestClient(app, raise_server_exceptions=False)
        self.issuer = make_issuer(app, "acme")
        self.issued: Issued = issue_with_deliverables(self.api, self.issuer, with_image=False)

    # --- the candidate at /me ---------------------------------------------------------

    def sign_in(self) -> None:
        page = self.http.get("/me/sign-in")
        r = self.http.post("/me/sign-in", data={"email": EMAIL, "csrf_token": csrf_of(page.text)})
        assert r.status_code == 200, r.text
        with self.app.state.session_factory() as session:
            row = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id).desc())).first()
            assert row is not None
            match = re.search(re.escape(self.base) + r"(/me/link/[A-Za-z0-9_-]+)", row.body_text)
            assert match, row.body_text
        link = match.group(1)
        page = self.http.get(link)
        r = self.http.post(link, data={"nonce": csrf_of(page.text, "nonce")})
        assert r.status_code == 200 and str(r.url).endswith("/me"), (r.status_code, r.url)

    def offer_from_me(self) -> str:
        """Follows /me's "Add to your wallet" for the credential; returns the offer link."""
        me = Page(self.http.get("/me").text)
        wallet_path = f"/me/wallet/{self.issued.id}"
        assert wallet_path in me.hrefs(), f"/me does not link {wallet_path}"
        confirm = self.http.get(wallet_path)
        assert confirm.status_code == 200, confirm.text
        made = self.http.post(wallet_path, data={"csrf_token": csrf_of(confirm.text)})
        assert made.status_code == 200, made.text
        (link,) = [a["href"] for a in Page(made.text).all("a", class_="wallet-link")]
        assert link.startswith("openid-credential-offer://?credential_offer_uri="), link
        return link

    def last_pin(self) -> str:
        """The PIN in the newest PIN email (sent apart from the offer)."""
        with self.app.state.session_factory() as session:
            row = session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.reference).startswith("wallet_pin:"))
                .order_by(col(OutboxMessage.id).desc())
            ).first()
            assert row is not None, "no PIN email"
            match = re.search(r"^(\d+)$", row.body_text, re.MULTILINE)  # on a line of its own
            assert match, row.body_text
            return match.group(1)

    # --- the employer at /verify ------------------------------------------------------

    def employer_request(self, **narrow: str) -> tuple[str, str]:
        """Starts "Ask the candidate's wallet" at /verify; returns (page path, link)."""
        start = self.http.get("/verify")
        assert start.status_code == 200
        assert any(f.get("action") == "/verify/wallet" for f in Page(start.text).all("form")), (
            "no wallet form on /verify"
        )
        r = self.http.post("/verify/wallet", data=narrow)
        assert r.status_code == 200 and "/verify/wallet/" in str(r.url), (r.status_code, r.text)
        links = [h for h in Page(r.text).hrefs() if h.startswith("openid4vp://")]
        assert links, "no openid4vp:// link on the request page"
        return urlparse(str(r.url)).path, links[0]

    def page_text(self, path: str) -> str:
        r = self.http.get(path)
        assert r.status_code == 200, r.text
        return Page(r.text).text

    # --- what the credential's issuer publishes ---------------------------------------

    def issuer_did_document(self) -> Json:
        did = self.issued.credential["issuer"]["id"]  # type: ignore[index]
        assert did.startswith("did:web:"), did
        path = "/" + "/".join(did.removeprefix("did:web:").split(":")[1:]) + "/did.json"
        document: Json = self.http.get(path).json()
        return document

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    with served_app(tmp_path, database_url=database_url, **NO_RATE_LIMITS) as (base, application):
        served = Site(base, application)
        try:
            yield served
        finally:
            served.close()


def offer_params(link: str) -> str:
    return parse_qs(urlparse(link).query)["credential_offer_uri"][0]


def db_verify(harness: Harness, site: Site, credentials: list[Json]) -> list[Json]:
    """Digital Bazaar's verifyCredential, with the issuer's DID document from its did:web."""
    did_document = site.issuer_did_document()
    now = datetime.now(UTC).isoformat()
    return harness.run(
        "verify",
        [
            {"verifiableCredential": c, "didDocuments": [did_document], "now": now}
            for c in credentials
        ],
    )


def jose_verify(site: Site, token: str) -> list[Json]:
    """panva's jose verifies the VC-JWT with the issuer key its ``kid`` names."""
    header, _, _, _ = jwt_parts(token)
    (method,) = [
        m for m in site.issuer_did_document()["verificationMethod"] if m["id"] == header["kid"]
    ]
    jwk = ed25519_public_jwk(decode_public_key(method["publicKeyMultibase"]))
    node = shutil.which("node")
    assert node is not None
    proc = subprocess.run(
        [node, str(INTEROP / "jose.mjs"), "verify"],
        input=json.dumps(
            [{"token": token, "publicJwk": jwk, "typ": "JWT", "algorithms": ["EdDSA"]}]
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results: list[Json] = json.loads(proc.stdout)
    return results


def test_candidate_adds_the_badge_to_independent_wallets_and_answers_an_employer(
    site: Site, wallet: Wallet, harness: Harness
) -> None:
    site.sign_in()

    # The OpenWallet Foundation client redeems an offer from /me, once per format.
    ldp = wallet.receive(site.offer_from_me(), "--format", "ldp_vc")
    assert ldp.ok, ldp.out
    jwt = wallet.receive(site.offer_from_me(), "--format", "jwt_vc_json")
    assert jwt.ok, jwt.out
    # Sphereon's client redeems one too, into a wallet of its own.
    sphereon = Wallet(wallet.node, wallet.directory.parent / "sphereon")
    other = sphereon.sphereon_receive(site.offer_from_me(), "--format", "ldp_vc")
    assert other.ok, other.out

    for got in (ldp, other):
        credential = got.out["credential"]
        assert credential["credentialSubject"]["id"] == got.out["holder"]["did"]
        assert credential["credentialSubject"]["achievement"]["name"] == ACHIEVEMENT
    _, payload, _, _ = jwt_parts(jwt.out["credential"])
    assert payload["sub"] == jwt.out["holder"]["did"]

    # Digital Bazaar verifies what the wallets hold; jose verifies the VC-JWT.
    checked = db_verify(harness, site, [ldp.out["credential"], other.out["credential"]])
    for result in checked:
        assert result["verified"], result
    (jose_result,) = jose_verify(site, jwt.out["credential"])
    assert "error" not in jose_result, jose_result
    assert jose_result["payload"]["sub"] == jwt.out["holder"]["did"]

    # The employer asks at /verify; the wallet answers in each format.
    for fmt, query_id in (("ldp_vc", "open_badge"), ("jwt_vc_json", "open_badge_jwt")):
        path, link = site.employer_request()
        before = site.page_text(path)
        assert "Verified" not in before
        answered = wallet.present(link, "--format", fmt)
        assert answered.ok, answered.out
        assert list(answered.out["vp_token"]) == [query_id]
        assert answered.out["response"]["status"] == 200
        text = site.page_text(path)
        assert "Verified" in text and "Not verified" not in text, text[:2000]
        assert CANDIDATE in text and ACHIEVEMENT in text, text[:2000]

        # The same answer replayed into another request carries the wrong nonce.
        _, second = site.employer_request()
        response_uri = parse_qs(urlparse(second).query)["response_uri"][0]
        state = parse_qs(urlparse(second).query)["state"][0]
        replay = httpx.post(
            response_uri,
            data={"vp_token": json.dumps(answered.out["vp_token"]), "state": state},
        )
        assert replay.status_code == 400, replay.text
        assert replay.json()["code"] == "oid4vp.nonce_mismatch", replay.json()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_wallet_keys_pins_and_refusals(site: Site, wallet: Wallet) -> None:
    site.sign_in()

    # P-256 keys named by did:jwk, and a bare JWK: both bound into the credential.
    p256 = wallet.receive(
        site.offer_from_me(),
        "--format",
        "jwt_vc_json",
        "--key-type",
        "p256",
        "--binding",
        "did:jwk",
    )
    assert p256.ok, p256.out
    assert p256.out["proof"]["header"]["alg"] == "ES256"
    assert jwt_parts(p256.out["credential"])[1]["sub"] == p256.out["holder"]["did"]
    bare = wallet.receive(site.offer_from_me(), "--format", "ldp_vc", "--binding", "jwk")
    assert bare.ok, bare.out
    assert bare.out["credential"]["credentialSubject"]["id"].startswith("did:jwk:")

    # The program asks for a PIN: it is emailed apart from the offer, the offer carries a
    # tx_code, and the wallet's token request needs it (a wrong one: invalid_grant).
    r = site.api.put(
        f"/api/v1/issuers/{site.issuer.slug}/wallet",
        json={"pin_required": True},
        headers=site.issuer.auth,
    )
    assert r.status_code == 200, r.text
    link = site.offer_from_me()
    tx_code = site.http.get(offer_params(link)).json()["grants"][PRE_AUTH]["tx_code"]
    assert tx_code["input_mode"] == "numeric"
    pin = site.last_pin()
    assert len(pin) == tx_code["length"]
    wrong_pin = str((int(pin) + 1) % 10 ** len(pin)).zfill(len(pin))
    wrong = wallet.receive(link, "--pin", wrong_pin)
    assert (wrong.out["step"], wrong.out.get("code")) == ("token", "invalid_grant"), wrong.out
    right = wallet.receive(link, "--pin", pin, "--format", "jwt_vc_json")
    assert right.ok, right.out
    r = site.api.put(
        f"/api/v1/issuers/{site.issuer.slug}/wallet",
        json={"pin_required": False},
        headers=site.issuer.auth,
    )
    assert r.status_code == 200, r.text

    # A used code: the offer as the wallet first read it (by value, so the service's
    # "used offer" 404 does not stop the wallet first) is refused at the token endpoint.
    link = site.offer_from_me()
    offer = site.http.get(offer_params(link)).json()
    first = wallet.receive(link, "--format", "ldp_vc", "--replay-proof")
    assert first.ok, first.out
    # The same proof again, its nonce spent: refused, and no second credential.
    replay = first.out["replay"]
    assert (replay["refused"], replay["status"], replay["code"]) == (True, 400, "invalid_nonce")
    by_value = "openid-credential-offer://?" + urlencode({"credential_offer": json.dumps(offer)})
    again = wallet.receive(by_value, "--format", "jwt_vc_json")
    assert (again.returncode, again.out["step"], again.out.get("code")) == (
        1,
        "token",
        "invalid_grant",
    ), again.out
    used = wallet.receive(link, "--format", "jwt_vc_json")
    assert (used.out["step"], used.out.get("status")) == ("offer", 404), used.out

    # The employer's request narrowed to another issuer matches none of the wallet's
    # credentials: the wallet posts nothing and the request keeps waiting.
    path, narrowed = site.employer_request(issuer="did:web:example.org")
    refused = wallet.present(narrowed)
    assert refused.returncode == 1 and refused.out["step"] == "dcql", refused.out
    assert site.http.get(path + "/status").json()["state"] == "waiting"

    # Someone else's wallet holding a copy of the candidate's credential: its own key
    # signs the presentation, so the service refuses it as not the holder's.
    thief = Wallet(wallet.node, wallet.directory.parent / "thief")
    assert thief.receive(site.offer_from_me(), "--format", "ldp_vc").ok
    (stolen,) = sorted((thief.directory / "credentials").iterdir())
    record = json.loads(stolen.read_text())
    record["credential"] = first.out["credential"]
    stolen.write_text(json.dumps(record))
    path, link = site.employer_request()
    answer = thief.present(link, "--format", "ldp_vc")
    assert (answer.returncode, answer.out["step"], answer.out["status"]) == (1, "submit", 400)
    assert answer.out["detail"]["code"] == "oid4vp.holder_mismatch", answer.out
    assert "Verified" not in site.page_text(path)

    # A copy of the candidate's own wallet whose credential was edited after signing: the
    # wallet's presentation signature is good, the issuer's is not, and the page says so.
    tampered = Wallet(wallet.node, wallet.directory.parent / "tampered")
    (tampered.directory / "keys").mkdir(parents=True)
    (tampered.directory / "credentials").mkdir()
    key_file = f"{first.out['keyId']}.json"
    (tampered.directory / "keys" / key_file).write_text(
        (wallet.directory / "keys" / key_file).read_text()
    )
    edited = json.loads(Path(first.out["stored"]).read_text())
    edited["credential"]["credentialSubject"]["achievement"]["name"] = "Chief Data Officer"
    (tampered.directory / "credentials" / "001-ldp_vc.json").write_text(json.dumps(edited))
    path, link = site.employer_request()
    sent = tampered.present(link, "--format", "ldp_vc")
    assert sent.out["response"]["status"] == 200, sent.out
    text = site.page_text(path)
    assert "Not verified" in text and "✓ Verified" not in text, text[:2000]

    # The P-256 did:jwk copy answers as a jwt_vp_json signed with ES256.
    path, link = site.employer_request()
    es256 = wallet.present(link, "--format", "jwt_vc_json")
    assert es256.ok, es256.out
    assert es256.out["presented"][0]["header"]["alg"] == "ES256"
    assert es256.out["presented"][0]["header"]["kid"] == p256.out["holder"]["kid"]
    text = site.page_text(path)
    assert "✓ Verified" in text and "Not verified" not in text, text[:2000]

    # Requests narrowed to this issuer, then to this achievement (DCQL claims with
    # values): the wallet's DCQL match finds the badge by the credential's own claims.
    badge = first.out["credential"]
    for field, path_of_claim, value in (
        ("issuer", ("issuer", "id"), badge["issuer"]["id"]),
        (
            "achievement",
            ("credentialSubject", "achievement", "id"),
            badge["credentialSubject"]["achievement"]["id"],
        ),
    ):
        path, link = site.employer_request(**{field: value})
        narrowed_answer = wallet.present(link, "--format", "ldp_vc")
        assert narrowed_answer.ok, narrowed_answer.out
        (claim,) = narrowed_answer.out["request"]["dcql_query"]["credentials"][0]["claims"]
        assert (tuple(claim["path"]), claim["values"]) == (path_of_claim, [value]), claim
        assert "✓ Verified" in site.page_text(path)

    # The issuer revokes the credential: the wallet copy shares its status entry, so the
    # employer's next request sees it revoked.
    r = site.api.post(
        f"/api/v1/credentials/{site.issued.id}/revoke", json={}, headers=site.issuer.auth
    )
    assert r.status_code == 200, r.text
    path, link = site.employer_request()
    assert wallet.present(link, "--format", "ldp_vc").out["response"]["status"] == 200
    text = site.page_text(path)
    assert "Not verified" in text and "revoked" in text.lower(), text[:2000]
