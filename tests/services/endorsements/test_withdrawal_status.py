"""A withdrawn endorsement is visible to outside verifiers, on SQLite and PostgreSQL.

An endorsement the service signs with a mentor's key carries a Bitstring Status List
entry (purpose ``revocation``) in a list issued and signed by the mentor's own did:web,
served at ``/mentors/<id>/status/revocation/<n>``. Withdrawing it sets the bit and
re-signs the list in one transaction; the standalone endorsement then verifies as
revoked, and a badge that embeds it reports the endorsement withdrawn (a warning: the
badge itself stands). Endorsements without an entry (signed before this existed) still
verify.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.adapters.resources import schema_documents
from badgeworks.core.errors import StatusError
from badgeworks.core.multibase import encode_base64url
from badgeworks.core.schema import schema_problems
from badgeworks.core.status import decode_list, get_status
from badgeworks.core.verification.credential import verify
from badgeworks.core.verification.document import Capabilities
from badgeworks.core.verification.document import verify_document as pipeline
from badgeworks.core.verification.report import Report
from badgeworks.db.endorsements import Endorser, ReviewInvite
from badgeworks.services.endorsements import workflow as endorsements
from badgeworks.services.errors import NotFoundError
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.verification import pipeline as verification
from tests.interop.conftest import Harness, harness  # noqa: F401  (the fixture)
from tests.issuer_app import NOW, IssuerHandle, draft_project
from tests.mentor_reviews import invite, open_form, review_path

BASE = "http://127.0.0.1:8000"
VC = {"Accept": "application/vc+ld+json"}
Json = dict[str, Any]


def _sign(client: TestClient, who: IssuerHandle, project: int, **fields: Any) -> Json:
    """Invite a reviewer and sign their review through the link; the hosted endorsement."""
    data = invite(client, who, project, **fields)
    path = review_path(data)
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "Excellent."})
    assert r.status_code == 201, r.text
    endorsement: Json = client.get(r.json()["url"].removeprefix(BASE), headers=VC).json()
    return endorsement


def _served_list(client: TestClient, url: str) -> Json:
    assert url.startswith(BASE + "/mentors/") or url.startswith(BASE + "/hosts/"), url
    r = client.get(url.removeprefix(BASE))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vc+ld+json"
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["etag"]
    document: Json = r.json()
    return document


def _bit(listed: Json, entry: Json) -> int:
    bits = decode_list(listed["credentialSubject"]["encodedList"])
    return get_status(bits, int(entry["statusListIndex"]))


def _offline(app: FastAPI, lists: dict[str, Json]) -> Capabilities:
    """What ``badgeworks verify --status-list`` uses: the given lists, nothing fetched.

    The loader is the service's, which resolves the mentors' did:web from the database
    (offline: a did:web of ours needs no network to verify).
    """

    def resolver(url: str) -> Json:
        if url not in lists:
            raise StatusError(f"no list {url}", code="status.not_checked")
        return lists[url]

    return Capabilities(
        loader=app.state.ctx.loader, status_resolver=resolver, schemas=schema_documents()
    )


def _codes(report: Report, check: str) -> dict[str, str]:
    return {c.code: c.outcome for c in report.checks if c.check == check}


def test_signed_endorsement_carries_a_status_entry_of_the_mentor(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    endorsement = _sign(client, acme, ids["project"])
    mentor = endorsement["issuer"]["id"]
    endorser_id = mentor.rsplit(":", 1)[1]
    entry = endorsement["credentialStatus"]
    assert entry["type"] == "BitstringStatusListEntry"
    assert entry["statusPurpose"] == "revocation"
    assert entry["statusListCredential"] == f"{BASE}/mentors/{endorser_id}/status/revocation/1"
    assert entry["id"] == f"{entry['statusListCredential']}#{entry['statusListIndex']}"
    # Valid against the OB 3.0 EndorsementCredential schema it names.
    assert schema_problems(endorsement, schema_documents()) == []

    # The list is the mentor's: issued by their DID, signed with their key, verifying.
    listed = _served_list(client, entry["statusListCredential"])
    assert listed["issuer"] == mentor
    assert listed["credentialSubject"]["statusPurpose"] == "revocation"
    assert listed["proof"]["verificationMethod"].startswith(mentor + "#")
    assert verify(listed, loader=app.state.ctx.loader, now=NOW).verified
    assert _bit(listed, entry) == 0

    # The service's verifier (API, VC-API, /verify) and the offline pipeline (the CLI's).
    report = verification.verify(app.state.ctx, endorsement).report
    assert report.verified, report.as_dict()
    assert _codes(report, "status") == {"status.ok": "pass"}
    offline = pipeline(
        endorsement, _offline(app, {entry["statusListCredential"]: listed}), now=NOW
    ).report
    assert offline.verified, offline.as_dict()
    assert _codes(offline, "status") == {"status.ok": "pass"}
    assert _codes(offline, "schema") == {"schema.ok": "pass"}

    # A host organisation's endorsement gets a list under /hosts/.
    host = _sign(
        client, acme, ids["project"], kind="host", name="Northwind", email="hr@northwind.example"
    )
    host_url = host["credentialStatus"]["statusListCredential"]
    assert host_url.startswith(f"{BASE}/hosts/")
    assert _served_list(client, host_url)["issuer"] == host["issuer"]["id"]

    # A second endorsement by the same mentor shares their list, at another index.
    again = _sign(client, acme, ids["project"], subject="achievement")
    assert again["issuer"]["id"] == mentor
    assert again["credentialStatus"]["statusListCredential"] == entry["statusListCredential"]
    assert again["credentialStatus"]["statusListIndex"] != entry["statusListIndex"]

    assert client.get(f"/mentors/{endorser_id}/status/revocation/2").status_code == 404
    assert client.get(f"/hosts/{endorser_id}/status/revocation/1").status_code == 404
    missing = client.get("/mentors/not-a-uuid/status/revocation/1")
    assert missing.status_code == 404 and missing.json()["code"] == "status.list_not_found"


def test_withdrawal_sets_the_bit_and_verifiers_see_it(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    data = invite(client, acme, ids["project"], organization="Northwind Traders")
    path = review_path(data)
    r = client.post(path, data={"nonce": open_form(client, path), "comment": "Excellent."})
    assert r.status_code == 201, r.text
    endorsement_id = r.json()["id"]
    endorsement = client.get(r.json()["url"].removeprefix(BASE), headers=VC).json()
    entry = endorsement["credentialStatus"]
    list_url = entry["statusListCredential"]
    list_path = list_url.removeprefix(BASE)
    etag = client.get(list_path).headers["etag"]
    assert client.get(list_path, headers={"If-None-Match": etag}).status_code == 304

    # The badge embeds the endorsement, status entry and all, and verifies.
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    badge = r.json()["credential"]
    assert badge["endorsement"] == [endorsement]
    report = verification.verify(app.state.ctx, badge).report
    assert report.verified, report.as_dict()
    assert _codes(report, "endorsement") == {"endorsement.ok": "pass"}

    # The mentor withdraws through a withdrawal link.
    r = client.post(f"/api/v1/endorsements/{endorsement_id}/withdrawal-links", headers=acme.auth)
    assert r.status_code == 201, r.text
    wpath = review_path(r.json())
    form = {"nonce": open_form(client, wpath), "reason": "I reviewed the wrong project."}
    r = client.post(wpath + "/withdraw", data=form)
    assert r.status_code == 200, r.text
    assert r.json()["withdrawn_at"] is not None

    # The list served over HTTP has the bit set, is still the mentor's, and verifies.
    after = client.get(list_path)
    assert after.status_code == 200 and after.headers["etag"] != etag
    listed = after.json()
    assert listed["issuer"] == endorsement["issuer"]["id"]
    assert listed["proof"]["verificationMethod"].startswith(listed["issuer"] + "#")
    assert verify(listed, loader=app.state.ctx.loader, now=NOW).verified
    assert _bit(listed, entry) == 1
    assert client.get(list_path, headers={"If-None-Match": etag}).status_code == 200

    # The endorsement, checked against that list (offline) or by the service: revoked.
    caps = _offline(app, {list_url: listed})
    for checked in (
        pipeline(endorsement, caps, now=NOW).report,
        verification.verify(app.state.ctx, endorsement).report,
    ):
        assert not checked.verified
        assert _codes(checked, "status") == {"status.revoked": "fail"}
        (failure,) = checked.failures()
        assert failure.message.startswith("This endorsement was withdrawn by its endorser")

    # The badge that embeds it reports the endorsement withdrawn, in plain words, and
    # still verifies: the mentor withdrew their word, the program did not revoke the badge.
    for checked in (
        pipeline(badge, caps, now=NOW).report,
        verification.verify(app.state.ctx, badge).report,
    ):
        assert checked.verified, checked.as_dict()
        (check,) = (c for c in checked.checks if c.check == "endorsement")
        assert (check.outcome, check.code) == ("warning", "endorsement.withdrawn")
        assert "Grace Hopper" in check.message and "withdrawn" in check.message
        assert check.detail["report"]["verified"] is False
    r = client.post("/api/v1/verify", json={"credential": badge})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "verified_with_warnings"
    (shown,) = body["credential"]["endorsements"]
    assert shown["outcome"] == "warning" and "withdrawn" in shown["message"]
    page = client.post("/verify", files={"credential": (None, json.dumps(badge))})
    assert 'data-code="endorsement.withdrawn"' in page.text

    # A tampered list (the bit cleared again) is rejected: its signature no longer holds.
    forged = copy.deepcopy(listed)
    bits = bytearray(decode_list(forged["credentialSubject"]["encodedList"]))
    bits[:] = bytes(len(bits))
    forged["credentialSubject"]["encodedList"] = encode_base64url(gzip.compress(bytes(bits)))
    checked = pipeline(endorsement, _offline(app, {list_url: forged}), now=NOW).report
    assert not checked.verified
    assert _codes(checked, "status") == {"status.list_unverified": "fail"}
    checked = pipeline(badge, _offline(app, {list_url: forged}), now=NOW).report
    # The endorsement fails on its own; the badge's verdict is not failed by it.
    assert checked.verified and checked.verdict == "verified_with_warnings"
    (check,) = (c for c in checked.checks if c.check == "endorsement")
    assert (check.outcome, check.code) == ("warning", "endorsement.failed")

    # A list signed by someone else (the program) for the mentor's endorsement is read,
    # and the report names who signed it (docs/verification.md, "What fails and what
    # warns"); the endorsement's own URL is what names the list.
    with app.state.session_factory() as session:
        own = status_lists.get_list(session, acme.slug, "revocation", 1)
        program_list = own.document
    foreign = json.loads(program_list)
    checked = pipeline(endorsement, _offline(app, {list_url: foreign}), now=NOW).report
    assert _codes(checked, "status")["status.issuer_mismatch"] == "warning"


def test_withdrawing_twice_is_idempotent_and_only_the_owner_can(
    app: FastAPI, client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    first = _sign(client, acme, ids["project"])
    other = _sign(client, acme, ids["project"], name="Alan Turing", email="alan@example.org")
    assert first["issuer"]["id"] != other["issuer"]["id"]
    first_id = first["id"].rsplit("/", 1)[1]
    other_id = other["id"].rsplit("/", 1)[1]
    list_path = first["credentialStatus"]["statusListCredential"].removeprefix(BASE)

    # Another program cannot withdraw it: it is not theirs (404, nothing changes).
    r = client.post(
        f"/api/v1/endorsements/{first_id}/withdraw", json={"reason": "x"}, headers=globex.auth
    )
    assert r.status_code == 404 and r.json()["code"] == "endorsement.not_found"
    assert _bit(client.get(list_path).json(), first["credentialStatus"]) == 0

    # One mentor cannot flip the bit of another mentor's endorsement: their lists differ.
    ctx = app.state.ctx
    with app.state.session_factory() as session:
        alan = session.get(Endorser, other["issuer"]["id"].rsplit(":", 1)[1])
        assert alan is not None
        with pytest.raises(NotFoundError) as caught:
            status_lists.set_bit(session, ctx, alan, first_id, "revocation", 1)
        assert caught.value.code == "status.no_entry"
        # A withdrawal link for Alan that names Grace's endorsement is refused.
        r = client.post(f"/api/v1/endorsements/{other_id}/withdrawal-links", headers=acme.auth)
        assert r.status_code == 201, r.text
        link = r.json()
        row = session.get(ReviewInvite, link["id"])
        assert row is not None and row.endorser_id == alan.id
        row.withdraws = first_id
        session.add(row)
        session.commit()
    wpath = review_path(link)
    r = client.post(wpath + "/withdraw", data={"nonce": open_form(client, wpath)})
    assert r.status_code == 403 and r.json()["code"] == "endorsement.not_yours"
    assert _bit(client.get(list_path).json(), first["credentialStatus"]) == 0
    with app.state.session_factory() as session:
        assert endorsements.get_endorsement(session, first_id).withdrawn_at is None

    # The program withdraws it; a second withdrawal changes nothing, list included.
    r = client.post(
        f"/api/v1/endorsements/{first_id}/withdraw", json={"reason": "asked"}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    withdrawn_at = r.json()["withdrawn_at"]
    listed = client.get(list_path)
    assert _bit(listed.json(), first["credentialStatus"]) == 1
    r = client.post(
        f"/api/v1/endorsements/{first_id}/withdraw", json={"reason": "again"}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["withdrawn_at"] == withdrawn_at
    again = client.get(list_path)
    assert again.content == listed.content and again.headers["etag"] == listed.headers["etag"]
    with app.state.session_factory() as session:
        assert endorsements.get_endorsement(session, first_id).withdrawn_reason == "asked"
        row = status_lists.get_endorser_list(
            session, "mentor", first["issuer"]["id"].rsplit(":", 1)[1], "revocation", 1
        )
        assert row.version == 2  # created, then one change
    # Alan's endorsement, in Alan's list, is untouched.
    alan_list = client.get(other["credentialStatus"]["statusListCredential"].removeprefix(BASE))
    assert _bit(alan_list.json(), other["credentialStatus"]) == 0


def test_endorsements_without_a_status_entry_still_verify(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Endorsements signed before endorsements had status lists carry no entry."""
    ids = draft_project(client, acme)
    no_entry: Callable[..., list[None]] = lambda *args, **kwargs: [None]  # noqa: E731
    with monkeypatch.context() as patch:
        patch.setattr(status_lists, "allocate_entries", no_entry)
        old = _sign(client, acme, ids["project"])
    assert "credentialStatus" not in old
    report = verification.verify(app.state.ctx, old).report
    assert report.verified, report.as_dict()
    assert _codes(report, "status") == {"status.none": "pass"}

    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    badge = r.json()["credential"]
    assert badge["endorsement"] == [old]
    report = verification.verify(app.state.ctx, badge).report
    assert report.verified, report.as_dict()
    assert _codes(report, "endorsement") == {"endorsement.ok": "pass"}

    # Withdrawing it is recorded (our pages respect it) though verifiers cannot see it.
    old_id = old["id"].rsplit("/", 1)[1]
    r = client.post(f"/api/v1/endorsements/{old_id}/withdraw", json={}, headers=acme.auth)
    assert r.status_code == 200, r.text
    assert r.json()["withdrawn_at"] is not None
    assert verification.verify(app.state.ctx, old).report.verified


@pytest.mark.interop
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_digital_bazaar_reads_the_mentor_list(
    client: TestClient,
    acme: IssuerHandle,
    harness: Harness,  # noqa: F811 - the fixture
) -> None:
    ids = draft_project(client, acme)
    endorsement = _sign(client, acme, ids["project"])
    endorsement_id = endorsement["id"].rsplit("/", 1)[1]
    r = client.post(
        f"/api/v1/endorsements/{endorsement_id}/withdraw", json={"reason": "x"}, headers=acme.auth
    )
    assert r.status_code == 200, r.text
    entry = endorsement["credentialStatus"]
    listed = _served_list(client, entry["statusListCredential"])
    did_path = "/" + "/".join(endorsement["issuer"]["id"].split(":")[3:]) + "/did.json"
    did_document = client.get(did_path).json()
    now = NOW.isoformat()
    verified, bit = harness.run(
        "verify",
        [{"verifiableCredential": endorsement, "now": now, "didDocuments": [did_document]}],
    ) + harness.run(
        "status-bit",
        [
            {
                "statusListCredential": listed,
                "index": int(entry["statusListIndex"]),
                "now": now,
                "didDocuments": [did_document],
            }
        ],
    )
    # Digital Bazaar verifies the endorsement with its credentialStatus, and reads the
    # mentor-signed list: its signature holds and the bit is set.
    assert verified["verified"], verified
    assert bit["verified"] and bit["bit"] == 1, bit
