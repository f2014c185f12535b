"""A submitted document verified again is answered from its kept report only while a fresh
verification would say the same, byte for byte (services/verification/submitted.py).

Two apps on one database stand for two server processes: each keeps its own reports, and
a revocation, suspension, key rotation or rename made through the other must show in the
very next answer. Both databases.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.core import credential as ob
from badgeworks.core.loader import DocumentLoader
from badgeworks.core.verification.report import Check, Report
from badgeworks.services.verification import submitted
from badgeworks.services.verification.submitted import KEPT, Kept, KeptVerifications, reads_of
from badgeworks.web.app import create_app
from tests.did_key_badges import signed
from tests.issuer_app import NOW
from tests.plain_credentials import issue_plain, row_id
from tests.verifier_app import Instance, codes, issue_through_api, verifier_settings


@pytest.fixture(autouse=True)
def _empty() -> Iterator[None]:
    KEPT.clear()
    yield
    KEPT.clear()


class Clock:
    """A clock a test can move."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def apps(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[tuple[FastAPI, FastAPI]]:
    """Two apps (two engines: two processes) on one database, sharing a movable clock."""
    first = create_app(verifier_settings(tmp_path, database_url), clock=clock)
    second = create_app(verifier_settings(tmp_path, database_url), clock=clock)
    yield first, second
    first.state.engine.dispose()
    second.state.engine.dispose()


@pytest.fixture
def issued(apps: tuple[FastAPI, FastAPI]) -> Instance:
    first, _ = apps
    return issue_through_api(first, TestClient(first, raise_server_exceptions=False))


def post(app: FastAPI, document: Any, path: str = "/api/v1/verify") -> bytes:
    """The raw answer to verifying ``document`` (the bytes a client receives)."""
    body = (
        {"credential": document} if path == "/api/v1/verify" else {"verifiableCredential": document}
    )
    r = TestClient(app, raise_server_exceptions=False).post(path, json=body)
    assert r.status_code in (200, 422), r.text
    return r.content


def verdict(answer: bytes) -> str:
    value: str = json.loads(answer)["verdict"]
    return value


def test_the_same_credential_again_is_answered_from_memory(
    apps: tuple[FastAPI, FastAPI], issued: Instance
) -> None:
    first, _ = apps
    fresh = post(first, issued.credential)
    assert verdict(fresh) == "verified"
    assert KEPT.kept == 1
    again = post(first, issued.credential)
    assert KEPT.reused == 1
    assert again == fresh
    # The VC-API runs the same pipeline with the same options: the same report.
    vc = post(first, issued.credential, "/credentials/verify")
    assert post(first, issued.credential, "/credentials/verify") == vc
    assert (KEPT.kept, KEPT.reused) == (1, 3)


@pytest.mark.parametrize("change", ["revoke", "suspend"])
def test_a_status_change_made_in_another_process_shows_in_the_next_answer(
    apps: tuple[FastAPI, FastAPI], issued: Instance, change: str
) -> None:
    first, second = apps
    document = issue_plain(issued.client, issued.issuer)  # revocation and suspension entries
    for app in apps * 2:  # twice each: the second answer comes from memory
        assert verdict(post(app, document)) == "verified"
    assert KEPT.reused >= 2
    path = f"/api/v1/credentials/{row_id(document)}/{change}"
    r = TestClient(second).post(path, json={"reason": "checking"}, headers=issued.issuer.auth)
    assert r.status_code == 200, r.text
    expected = {"revoke": "status.revoked", "suspend": "status.suspended"}[change]
    for app in (first, second, first):
        body = json.loads(post(app, document))
        assert body["verdict"] == "not_verified"
        assert expected in codes(body, "status")
    if change == "suspend":
        r = TestClient(first).post(
            f"/api/v1/credentials/{row_id(document)}/unsuspend",
            json={"reason": "cleared"},
            headers=issued.issuer.auth,
        )
        assert r.status_code == 200, r.text
        for app in (second, first):
            assert verdict(post(app, document)) == "verified"


def test_a_key_rotation_or_rename_in_another_process_is_a_fresh_report(
    apps: tuple[FastAPI, FastAPI], issued: Instance
) -> None:
    first, second = apps
    before = post(first, issued.credential)
    assert post(first, issued.credential) == before
    kept = KEPT.kept
    r = TestClient(second).post(
        f"/api/v1/issuers/{issued.issuer.slug}/keys", headers=issued.issuer.auth
    )
    assert r.status_code == 201, r.text
    assert verdict(post(first, issued.credential)) == "verified"
    assert KEPT.kept == kept + 1  # verified again, not re-used
    r = TestClient(second).patch(
        f"/api/v1/issuers/{issued.issuer.slug}",
        json={"name": "Acme Institute"},
        headers=issued.issuer.auth,
    )
    assert r.status_code == 200, r.text
    known = next(
        c
        for c in json.loads(post(first, issued.credential))["checks"]
        if c["code"] == "issuer.known"
    )
    assert "Acme Institute" in known["message"]


def test_a_crossed_date_is_a_fresh_report(
    apps: tuple[FastAPI, FastAPI], clock: Clock, loader: DocumentLoader
) -> None:
    first, _ = apps
    until = NOW + timedelta(hours=1)
    credential = signed(loader, valid_until=ob.xsd_datetime(until))
    first_answer = post(first, credential)
    assert verdict(first_answer) == "verified_with_warnings"  # a did:key nobody lists
    assert post(first, credential) == first_answer
    assert KEPT.reused == 1
    clock.now = until + timedelta(seconds=1)
    body = json.loads(post(first, credential))
    assert body["verdict"] == "not_verified"
    assert codes(body, "validity").get("validity.expired") == "fail"
    clock.now = NOW  # back on the first side: the same as the first answer again
    assert post(first, credential) == first_answer


def test_a_copy_with_one_byte_changed_fails(
    apps: tuple[FastAPI, FastAPI], issued: Instance
) -> None:
    first, _ = apps
    assert verdict(post(first, issued.credential)) == "verified"
    assert verdict(post(first, issued.credential)) == "verified"
    text = issued.text
    at = text.index('"name": "') + len('"name": "')
    tampered = json.loads(text[:at] + chr(ord(text[at]) ^ 1) + text[at + 1 :])
    body = json.loads(post(first, tampered))
    assert body["verdict"] == "not_verified"
    assert "fail" in codes(body, "proof").values()
    # Kept in its own right, and still failing when asked again.
    assert json.loads(post(first, tampered)) == body


def _documents(issued: Instance, loader: DocumentLoader) -> list[dict[str, Any]]:
    """Verified, failing and odd documents: ours, did:key ones, altered, expired."""
    ours = issued.credential
    altered = copy.deepcopy(ours)
    altered["name"] = "Something else"
    no_proof = {k: v for k, v in ours.items() if k != "proof"}
    reordered = dict(reversed(list(ours.items())))
    future = NOW + timedelta(days=30)
    return [
        ours,
        altered,
        no_proof,
        reordered,
        signed(loader),
        signed(loader, valid_until=ob.xsd_datetime(NOW - timedelta(days=1))),
        signed(loader, valid_from=ob.xsd_datetime(future)),
        {**signed(loader), "name": "Tampered"},
        {**signed(loader), "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"},
        {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]},
    ]


def test_kept_answers_are_byte_for_byte_the_fresh_ones(
    apps: tuple[FastAPI, FastAPI], issued: Instance, loader: DocumentLoader
) -> None:
    first, second = apps
    documents = _documents(issued, loader)
    for change in ("suspend", "revoke"):
        document = issue_plain(issued.client, issued.issuer)
        r = TestClient(second).post(
            f"/api/v1/credentials/{row_id(document)}/{change}",
            json={"reason": "checking"},
            headers=issued.issuer.auth,
        )
        assert r.status_code == 200, r.text
        documents.append(document)
    for path in ("/api/v1/verify", "/credentials/verify"):
        answers = [post(first, d, path) for d in documents]
        again = [post(first, d, path) for d in documents]
        assert KEPT.reused > 0
        KEPT.clear()
        fresh = [post(first, d, path) for d in documents]
        assert KEPT.reused == 0
        assert answers == again == fresh
    verdicts = {verdict(a) for a in answers}
    assert {"verified", "verified_with_warnings", "not_verified"} <= verdicts
    suspended, revoked = (json.loads(a) for a in answers[-2:])
    assert "status.suspended" in codes(suspended) and "status.revoked" in codes(revoked)


def test_nothing_is_kept_that_reached_out_or_could_not_be_checked(
    apps: tuple[FastAPI, FastAPI], loader: DocumentLoader
) -> None:
    first, _ = apps
    evidence = [
        ob.evidence(
            id="http://10.0.0.1/report.pdf",
            name="Report",
            digestMultibase="uEiDfZ5mMvP3wkPkM1v0rJkb9KqYl6hJ5YAt3wHqVn-iD3w",
        )
    ]
    foreign = signed(loader, evidence=evidence)
    status = signed(
        loader,
        credential_status=ob.bitstring_status_list_entry(
            list_url="https://lists.example/1", index=5
        ),
    )
    for document in (foreign, status):
        post(first, document)
        post(first, document)
    assert KEPT.kept == 0 and KEPT.reused == 0
    # A recipient check is answered fresh every time: no address is kept.
    r = TestClient(first).post(
        "/api/v1/verify", json={"credential": signed(loader), "email": "ada@example.com"}
    )
    assert r.status_code == 200, r.text
    assert KEPT.kept == 0


def test_what_a_document_names_is_found_in_one_walk(loader: DocumentLoader) -> None:
    document = signed(loader, valid_until=ob.xsd_datetime(NOW))
    document["credentialStatus"] = {"statusListCredential": "https://x.example/l"}
    document["evidence"] = [{"id": "https://x.example/blobs/a", "digestMultibase": "u"}]
    reads = reads_of(document)
    assert reads.dids == {document["issuer"]["id"]}
    assert reads.lists == {"https://x.example/l"}
    assert reads.digested == ("https://x.example/blobs/a",)
    assert len(reads.dates) == 3  # validFrom, validUntil, the proof's created


def test_the_memory_is_bounded() -> None:
    memory = KeptVerifications(limit=3)
    report = Report([Check("proof", "pass", "proof.valid", "ok")])
    for n in range(10):
        entry = Kept(lambda: None, None, 1, (), (), (), report)  # type: ignore[arg-type]
        memory.put(("k", n), entry)
        assert len(memory) <= 3
    assert memory.find(("k", 0)) is None
    assert memory.find(("k", 9)) is not None
    assert submitted.MAX_KEPT <= 8192


def test_many_documents_stay_within_the_bound(
    apps: tuple[FastAPI, FastAPI], loader: DocumentLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = apps
    small = KeptVerifications(limit=4)
    monkeypatch.setattr(submitted, "KEPT", small)
    base = signed(loader)
    for n in range(12):
        post(first, {**base, "name": f"Copy {n}"})
        assert len(small) <= 4
    assert small.kept == 12
