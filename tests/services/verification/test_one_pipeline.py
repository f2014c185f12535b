"""One pipeline, three surfaces: ``badgeworks verify --json``, ``POST /api/v1/verify`` and
the VC-API's ``POST /credentials/verify`` give identical ``checks`` for the same input and
the same capabilities (docs/verification.md, "One pipeline").

The capabilities are made equal: a verifier app that hosts no issuer and reads the same
trust registry file the CLI gets with ``--trust``, and that may fetch from 127.0.0.1 as
the CLI may with ``BADGEWORKS_FETCH_ALLOW_PRIVATE=1`` (tests only). The credentials:

- ours: issued through the API by a second badgeworks instance served on a loopback port
  (did:web key, status list, and a deliverable in its blob store, all fetched);
- a did:key credential whose deliverables a loopback server serves, one of them changed
  since it was fingerprinted (``deliverable.mismatch``), as JSON and as a VC-JWT.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.cli import badgeworks
from badgeworks.core import credential as ob
from badgeworks.web.app import create_app
from tests.did_key_badges import KEY, signed
from tests.issuer_app import NOW
from tests.servers import Loopback, Route
from tests.signers import sign_vc_jwt
from tests.verifier_app import REPORT_PDF, Instance, codes, served_instance, verifier_settings

NOW_ISO = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
#: Lets the CLI's fetcher reach 127.0.0.1: for tests only, like the app's setting.
PRIVATE_ENV = {"BADGEWORKS_FETCH_ALLOW_PRIVATE": "1", "BADGEWORKS_FETCH_TIMEOUT": "3"}


@pytest.fixture(scope="module")
def gamma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    """Another badgeworks instance, served on a loopback port, with one issued credential."""
    with served_instance(tmp_path_factory.mktemp("gamma"), "gamma") as (instance, _):
        yield instance


@pytest.fixture(scope="module")
def trust_file(tmp_path_factory: pytest.TempPathFactory, gamma: Instance) -> Path:
    path = tmp_path_factory.mktemp("trust") / "trust.json"
    issuers = [
        {"id": gamma.credential["issuer"]["id"], "name": "Gamma Academy"},
        {"id": KEY.controller, "name": "Northwind Institute (registry)"},
    ]
    path.write_text(json.dumps({"issuers": issuers}))
    return path


@pytest.fixture(scope="module")
def papp(tmp_path_factory: pytest.TempPathFactory, trust_file: Path) -> Iterator[FastAPI]:
    """A verifier that hosts no issuer, knows the trust file's, and may fetch 127.0.0.1."""
    application = create_app(
        verifier_settings(
            tmp_path_factory.mktemp("papp1"),
            fetch_allow_private=True,
            verify_trust_registry=trust_file,
        ),
        clock=lambda: NOW,
    )
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def pclient(papp: FastAPI) -> TestClient:
    return TestClient(papp, raise_server_exceptions=False)


def three_ways(
    http: TestClient,
    document: dict[str, Any] | str,
    tmp_path: Path,
    trust: Path,
    *,
    email: str | None = None,
) -> tuple[tuple[int, list[Any]], tuple[int, list[Any]], tuple[int, list[Any]]]:
    """(status, checks) from the API, the VC-API and the CLI (exit code, checks)."""
    key = "jws" if isinstance(document, str) else "credential"
    body: dict[str, Any] = {key: document}
    if email is not None:
        body["email"] = email
    api = http.post("/api/v1/verify", json=body)
    vcapi = http.post("/credentials/verify", json={"verifiableCredential": document})
    path = tmp_path / "credential.txt"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    args = ["verify", str(path), "--json", "--online", "--now", NOW_ISO, "--trust", str(trust)]
    if email is not None:
        args += ["--email", email]
    cli = CliRunner().invoke(badgeworks, args, env=PRIVATE_ENV, catch_exceptions=False)
    assert cli.exit_code in (0, 1), cli.output
    return (
        (api.status_code, api.json()["checks"]),
        (vcapi.status_code, vcapi.json()["checks"]),
        (cli.exit_code, json.loads(cli.stdout)["checks"]),
    )


def test_our_credential_gives_the_same_checks_everywhere(
    pclient: TestClient, gamma: Instance, trust_file: Path, tmp_path: Path
) -> None:
    credential = gamma.credential
    assert credential["relatedResource"], "ours carries deliverable digests"
    api, vcapi, cli = three_ways(pclient, credential, tmp_path, trust_file)
    assert api[1] == vcapi[1] == cli[1]
    assert (api[0], vcapi[0], cli[0]) == (200, 200, 0)
    found = codes({"checks": api[1]})
    assert found["proof.verified"] == "pass"
    assert found["issuer.known"] == "pass"
    assert found["deliverable.match"] == "pass"
    if "credentialStatus" in credential:
        assert found["status.ok"] == "pass"
    known = next(c for c in api[1] if c["code"] == "issuer.known")
    assert "Gamma Academy" in known["message"]

    # The recipient check (the API and the CLI take an email; the VC-API has no such option).
    api, _, cli = three_ways(pclient, credential, tmp_path, trust_file, email="ada@example.org")
    assert api[1] == cli[1]
    assert codes({"checks": api[1]}, "recipient") == {"recipient.match": "pass"}
    api, _, cli = three_ways(pclient, credential, tmp_path, trust_file, email="eve@example.org")
    assert api[1] == cli[1]
    assert (api[0], cli[0]) == (422, 1)


def _tampered_deliverables(loopback: Loopback, loader: Any) -> dict[str, Any]:
    loopback.routes["/files/report.pdf"] = Route(REPORT_PDF, "application/pdf")
    loopback.routes["/files/slides.pdf"] = Route(b"a different file", "application/pdf")
    resources = [
        ob.related_resource(
            id=f"{loopback.base}/files/report.pdf",
            name="Final report",
            digest_multibase=ob.digest_multibase(REPORT_PDF),
        ),
        ob.related_resource(
            id=f"{loopback.base}/files/slides.pdf",
            name="Slides",
            digest_multibase=ob.digest_multibase(b"the slides as assessed"),
        ),
        ob.related_resource(
            id=f"{loopback.base}/files/gone.pdf",
            name="Gone",
            digest_multibase=ob.digest_multibase(b"x"),
        ),
    ]
    return signed(loader, related_resource=resources)


def test_a_changed_deliverable_fails_the_same_way_everywhere(
    papp: FastAPI, pclient: TestClient, loopback: Loopback, trust_file: Path, tmp_path: Path
) -> None:
    credential = _tampered_deliverables(loopback, papp.state.ctx.loader)
    api, vcapi, cli = three_ways(pclient, credential, tmp_path, trust_file)
    assert api[1] == vcapi[1] == cli[1]
    assert (api[0], vcapi[0], cli[0]) == (422, 422, 1)
    outcomes = [(c["code"], c["outcome"]) for c in api[1] if c["check"] == "deliverable"]
    assert outcomes == [
        ("deliverable.match", "pass"),
        ("deliverable.mismatch", "fail"),
        ("deliverable.unavailable", "warning"),
    ]
    assert codes({"checks": api[1]})["issuer.known"] == "pass"

    # The same credential as a VC-JWT.
    unsigned = dict(credential)
    del unsigned["proof"]
    token = sign_vc_jwt(unsigned, KEY)
    api, vcapi, cli = three_ways(pclient, token, tmp_path, trust_file)
    assert api[1] == vcapi[1] == cli[1]
    assert (api[0], vcapi[0], cli[0]) == (422, 422, 1)
    assert codes({"checks": api[1]})["jwt.verified"] == "pass"
    assert codes({"checks": api[1]})["deliverable.mismatch"] == "fail"


def test_offline_cli_says_deliverables_were_not_checked(
    papp: FastAPI, loopback: Loopback, tmp_path: Path
) -> None:
    credential = _tampered_deliverables(loopback, papp.state.ctx.loader)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(credential))
    before = len(loopback.requests)
    result = CliRunner().invoke(
        badgeworks, ["verify", str(path), "--json", "--now", NOW_ISO], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert codes(report, "deliverable") == {"deliverable.not_checked": "warning"}
    assert len(loopback.requests) == before  # offline: nothing was fetched


def test_vc_api_reads_our_blobs_locally_and_reports_a_mismatch(
    vapp: FastAPI, vclient: TestClient, ours: Instance
) -> None:
    # vapp's fetcher refuses 127.0.0.1: the blobs are read from its own blob store.
    base = "http://127.0.0.1:8000/blobs/"
    replaced = base + vapp.state.ctx.blobs.put(b"a different file")
    resources = [
        ob.related_resource(
            id=replaced, name="Report, changed", digest_multibase=ob.digest_multibase(REPORT_PDF)
        ),
        ob.related_resource(
            id=ours.credential["relatedResource"][0]["id"],
            name="Report",
            digest_multibase=ob.digest_multibase(REPORT_PDF),
        ),
    ]
    credential = signed(vapp.state.ctx.loader, related_resource=resources)
    r = vclient.post("/credentials/verify", json={"verifiableCredential": credential})
    assert r.status_code == 422
    body = r.json()
    assert "deliverable.mismatch" in [e["code"] for e in body["errors"]]
    assert codes(body, "deliverable") == {
        "deliverable.mismatch": "fail",
        "deliverable.match": "pass",
    }
    api = vclient.post("/api/v1/verify", json=credential)
    assert api.json()["checks"] == body["checks"]
    # Our own credential: the VC-API and the API agree (hosted issuer, local blobs).
    r = vclient.post("/credentials/verify", json={"verifiableCredential": ours.credential})
    api = vclient.post("/api/v1/verify", json=ours.credential)
    assert r.status_code == api.status_code == 200
    assert r.json()["checks"] == api.json()["checks"]
    assert codes(r.json())["deliverable.match"] == "pass"
