"""An issuer's revocation reasons: multi-bit revocation entries issued, revoked with a code,
verified with the issuer's message, kept by check/repair, and refused when malformed; on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from badgeworks.cli_service import service_commands
from badgeworks.core.status import decode_list, get_status, set_status
from badgeworks.db.status import StatusEntry, StatusList
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs import issuers
from badgeworks.services.verification import pipeline as verification
from badgeworks.settings import Settings
from tests.issuer_app import TEST_SECRET, IssuerHandle
from tests.plain_credentials import ctx_of, issue_plain, issue_project, path_of, row_id

IN_ERROR = "revoked: issued in error"
MISCONDUCT = "revoked: misconduct"
REFERENCE = "https://acme.example/revocation-reasons"
REASONS = {
    "reasons": [{"code": 3, "message": MISCONDUCT}, {"code": 2, "message": IN_ERROR}],
    "reference": REFERENCE,
}


def _define(client: TestClient, who: IssuerHandle, body: dict[str, Any]) -> Any:
    return client.put(f"/api/v1/issuers/{who.slug}/revocation-reasons", json=body, headers=who.auth)


def _value(client: TestClient, entry: dict[str, Any]) -> int:
    listed = client.get(path_of(entry["statusListCredential"])).json()
    bits = decode_list(listed["credentialSubject"]["encodedList"])
    return get_status(bits, int(entry["statusListIndex"]), entry.get("statusSize", 1))


def _status_check(report: Any) -> Any:
    return next(c for c in report.checks if c.check == "status")


def test_reasons_are_issued_revoked_with_a_code_and_verified_with_the_message(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    before = issue_project(client, acme)
    r = _define(client, acme, REASONS)
    assert r.status_code == 200, r.text
    assert r.json()["status_size"] == 2
    assert [m["message"] for m in r.json()["status_message"]] == [
        "valid",
        "revoked",
        IN_ERROR,
        MISCONDUCT,
    ]
    assert client.get(f"/api/v1/issuers/{acme.slug}/revocation-reasons", headers=acme.auth).json()[
        "reasons"
    ] == [{"code": 2, "message": IN_ERROR}, {"code": 3, "message": MISCONDUCT}]

    issued = issue_project(client, acme)
    entry = issued["credential"]["credentialStatus"]
    assert entry["statusSize"] == 2 and entry["statusReference"] == REFERENCE
    assert entry["statusMessage"] == [
        {"status": "0x0", "message": "valid"},
        {"status": "0x1", "message": "revoked"},
        {"status": "0x2", "message": IN_ERROR},
        {"status": "0x3", "message": MISCONDUCT},
    ]
    # Entries of 2 bits go in a list of their own; the earlier credential keeps its 1-bit
    # entry in list 1.
    old_entry = before["credential"]["credentialStatus"]
    assert "statusSize" not in old_entry and "statusMessage" not in old_entry
    assert entry["statusListCredential"].endswith("/revocation/2")
    assert old_entry["statusListCredential"].endswith("/revocation/1")
    ctx = ctx_of(app)
    assert verification.verify(ctx, issued["credential"]).report.verified

    r = client.post(
        f"/api/v1/credentials/{issued['id']}/revoke",
        json={"reason_code": 2},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    assert _value(client, entry) == 2
    report = verification.verify(ctx, issued["credential"]).report
    check = _status_check(report)
    assert not report.verified and check.code == "status.revoked"
    assert check.message.count(IN_ERROR) == 1 and check.detail["status"] == 2
    assert check.detail["message"] == IN_ERROR
    http = client.post("/credentials/verify", json={"verifiableCredential": issued["credential"]})
    assert http.status_code == 422 and IN_ERROR in http.text
    # The public verifier's page says it too, and links the page explaining the reasons.
    shown = client.post(
        "/verify", files={"credential": (None, json.dumps(issued["credential"]))}
    ).text
    assert shown.count(IN_ERROR) >= 1 and REFERENCE in shown

    public = client.get(f"/credentials/{issued['id']}/status").json()
    assert (public["status"], public["revocation_reason"], public["revocation_code"]) == (
        "revoked",
        IN_ERROR,
        2,
    )
    page = client.get(f"/credentials/{issued['id']}", headers={"Accept": "text/html"})
    assert IN_ERROR in page.text and 'data-status="revoked"' in page.text

    # The credential issued before the reasons carries 1 bit: codes do not fit it.
    r = client.post(
        f"/api/v1/credentials/{before['id']}/revoke", json={"reason_code": 2}, headers=acme.auth
    )
    assert (r.status_code, r.json()["code"]) == (422, "status.unknown_reason_code")
    assert '1 ("revoked")' in r.json()["error"]
    r = client.post(
        f"/api/v1/credentials/{before['id']}/revoke", json={"reason": "x"}, headers=acme.auth
    )
    assert r.status_code == 200 and _value(client, old_entry) == 1

    # Check and repair read 2-bit values: nothing drifts; a lost code is found and put back.
    with app.state.session_factory() as session:
        assert status_lists.check(session) == []
        row = session.exec(select(StatusList).where(StatusList.number == 2)).one()
        assert row.status_size == 2
        bits = bytearray(row.bits)
        index = int(entry["statusListIndex"])
        set_status(bits, index, 3, 2)  # the wrong code, as a bad write would leave it
        row.bits = bytes(bits)
        session.add(row)
        session.commit()
        (drift,) = status_lists.check(session)
        assert "1 2-bit value(s) differ" in drift.describe()
        assert (drift.missing, drift.extra, drift.document_stale) == (1, 0, True)
        (repaired,) = status_lists.repair(session, ctx)
        assert repaired.list_id == row.id
        assert status_lists.check(session) == []
    assert _value(client, entry) == 2
    assert verification.verify(ctx, issued["credential"]).report.verified is False


def test_plain_revocations_and_reissues_write_1_and_removing_reasons_goes_back_to_1_bit(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    assert _define(client, acme, REASONS).status_code == 200
    vc = issue_plain(client, acme)
    revocation, suspension = vc["credentialStatus"]
    assert revocation["statusSize"] == 2 and "statusSize" not in suspension
    r = client.post(
        f"/api/v1/credentials/{row_id(vc)}/revoke", json={"reason": "fraud"}, headers=acme.auth
    )
    assert r.status_code == 200
    assert _value(client, revocation) == 1
    check = _status_check(verification.verify(ctx_of(app), vc).report)
    assert check.code == "status.revoked" and check.detail["message"] == "revoked"
    project = issue_project(client, acme)
    r = client.post(f"/api/v1/credentials/{project['id']}/reissue", json={}, headers=acme.auth)
    assert r.status_code == 201
    assert _value(client, project["credential"]["credentialStatus"]) == 1
    # Removing the reasons: new credentials carry 1-bit entries again, in a 1-bit list.
    r = _define(client, acme, {"reasons": []})
    assert r.status_code == 200 and r.json()["status_message"] is None
    plain = issue_project(client, acme)["credential"]["credentialStatus"]
    assert "statusSize" not in plain
    with app.state.session_factory() as session:
        assert status_lists.check(session) == []


def _refused(r: Any, code: str) -> str:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == code, body
    words: str = body["error"]
    assert "<b>" not in words and "^" not in words  # never the markup, never a pattern
    return words


def test_bad_reason_lists_and_codes_are_refused_in_words(
    client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    def reasons(*items: tuple[Any, Any], reference: Any = None) -> dict[str, Any]:
        return {"reasons": [{"code": c, "message": m} for c, m in items], "reference": reference}

    cases = [
        (reasons((0, "revoked: zero")), "revocation_reasons.code_range", "from 2 to 15"),
        (reasons((1, "revoked: one")), "revocation_reasons.code_range", "from 2 to 15"),
        (reasons((16, "revoked: wide")), "revocation_reasons.code_range", "from 2 to 15"),
        (reasons((2, "a"), (2, "b")), "revocation_reasons.code_twice", "twice"),
        (
            reasons(*[(c, f"reason {c}") for c in range(2, 17)]),
            "revocation_reasons.too_many",
            "too many",
        ),
        (reasons((2, "x" * 101)), "revocation_reasons.message_long", "100 characters"),
        (reasons((2, "<b>fraud</b>")), "revocation_reasons.message_markup", "markup"),
        (reasons((2, "fraud\u202e")), "revocation_reasons.message_markup", "markup"),
        (reasons((2, "   ")), "revocation_reasons.message_empty", "empty"),
        (reasons((2, "Revoked")), "revocation_reasons.message_reserved", "why"),
        (reasons((2, "same"), (3, "Same")), "revocation_reasons.message_twice", "same message"),
        (
            reasons((2, "fraud"), reference="http://acme.example/why"),
            "revocation_reasons.reference",
            "https://",
        ),
        (
            reasons((2, "fraud"), reference="javascript:alert(1)"),
            "revocation_reasons.reference",
            "https://",
        ),
    ]
    for body, code, said in cases:
        words = _refused(_define(client, acme, body), code)
        assert said in words, (code, words)
    # The field checks speak words too: a string code, an oversized list, an unknown field.
    r = _define(client, acme, {"reasons": [{"code": "two", "message": "x"}]})
    assert r.status_code == 422 and "Reason code" in r.text and "whole number" in r.text
    r = _define(client, acme, {"reasons": [{"code": 2, "message": "x"}] * 51})
    assert r.status_code == 422 and "at most 50" in r.text
    r = _define(client, acme, {"reasons": [], "colour": 1})
    assert r.status_code == 422
    # Nothing was stored by a refused request.
    got = client.get(f"/api/v1/issuers/{acme.slug}/revocation-reasons", headers=acme.auth)
    assert got.json()["reasons"] == [] and got.json()["status_size"] == 1

    assert _define(client, acme, REASONS).status_code == 200
    issued = issue_project(client, acme)
    base = f"/api/v1/credentials/{issued['id']}"
    r = client.post(f"{base}/revoke", json={"reason_code": 0}, headers=acme.auth)
    assert r.status_code == 422 and "Reason code" in r.text and "at least 1" in r.text
    words = _refused(
        client.post(f"{base}/revoke", json={"reason_code": 9}, headers=acme.auth),
        "status.unknown_reason_code",
    )
    assert IN_ERROR in words and MISCONDUCT in words
    _refused(
        client.post(
            f"{base}/revoke", json={"reason_code": 3, "reason": "something"}, headers=acme.auth
        ),
        "status.reason_with_code",
    )
    r = client.post(f"{base}/suspend", json={"reason_code": 3}, headers=acme.auth)
    assert r.status_code == 422
    # None of those changed anything; another issuer's token cannot touch acme's reasons.
    assert client.get(f"/credentials/{issued['id']}/status").json()["status"] == "active"
    r = client.put(
        f"/api/v1/issuers/{acme.slug}/revocation-reasons", json={"reasons": []}, headers=globex.auth
    )
    assert (r.status_code, r.json()["code"]) == (403, "auth.wrong_issuer")
    assert client.get(f"/api/v1/issuers/{acme.slug}/revocation-reasons").status_code == 401


def test_concurrent_revocations_with_different_codes_on_one_list_all_land(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    assert _define(client, acme, REASONS).status_code == 200
    issued = [issue_project(client, acme) for _ in range(6)]
    entries = [i["credential"]["credentialStatus"] for i in issued]
    assert len({e["statusListCredential"] for e in entries}) == 1
    codes = [2, 3, 1, 3, 2, 3]
    ctx = ctx_of(app)
    start = threading.Barrier(len(issued))
    failures: list[BaseException] = []

    def revoke(credential_id: str, code: int) -> None:
        try:
            with app.state.session_factory() as session:
                issuer = issuers.get_issuer(session, acme.slug)
                start.wait()
                lifecycle.revoke(
                    session, ctx, issuer, credential_id, reason="", actor="t", reason_code=code
                )
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=revoke, args=(i["id"], c))
        for i, c in zip(issued, codes, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not failures, failures[:3]
    assert [_value(client, e) for e in entries] == codes
    with app.state.session_factory() as session:
        assert status_lists.check(session) == []
        assert len(session.exec(select(StatusEntry)).all()) == 6


def _counters(session: Session) -> tuple[int, int]:
    rows = dict(
        session.execute(
            text(
                "SELECT name, value FROM service_meta "
                "WHERE name IN ('hosted_version', 'pages_version')"
            )
        ).all()
    )
    return int(rows["hosted_version"]), int(rows["pages_version"])


def test_the_new_columns_still_bump_the_hosted_and_pages_counters(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    issued = issue_project(client, acme)
    with app.state.session_factory() as session:
        hosted, pages = _counters(session)
    assert _define(client, acme, REASONS).status_code == 200
    with app.state.session_factory() as session:
        after = _counters(session)
        assert after[0] > hosted and after[1] > pages
    r = client.post(
        f"/api/v1/credentials/{issued['id']}/revoke", json={"reason": "x"}, headers=acme.auth
    )
    assert r.status_code == 200
    with app.state.session_factory() as session:
        before = _counters(session)
        session.execute(
            text("UPDATE revocation SET reason_code = 2 WHERE credential_id = :id"),
            {"id": issued["id"]},
        )
        session.commit()
        assert _counters(session)[1] > before[1]


def test_the_cli_defines_reasons_and_revokes_with_a_code(
    client: TestClient, acme: IssuerHandle, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the CLI calls the same services; once is enough")
    env = {
        "BADGEWORKS_DATA_DIR": str(settings.data_dir),
        "BADGEWORKS_DATABASE_URL": settings.resolved_database_url,
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
        "BADGEWORKS_PUBLIC_BASE_URL": settings.public_base_url,
    }

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(service_commands, list(args), env=env)
        return result.exit_code, result.output

    code, out = run("issuers", "revocation-reasons", "acme")
    assert code == 0 and "no revocation reasons" in out
    code, out = run("issuers", "revocation-reasons", "acme", "--reason", "2=<script>")
    assert code == 2 and "revocation_reasons.message_markup" in out
    code, out = run("issuers", "revocation-reasons", "acme", "--reason", "two")
    assert code == 2 and "CODE=MESSAGE" in out
    code, out = run(
        "issuers",
        "revocation-reasons",
        "acme",
        "--reason",
        f"2={IN_ERROR}",
        "--reason",
        f"3={MISCONDUCT}",
        "--reference",
        REFERENCE,
    )
    assert code == 0, out
    assert out.splitlines() == [
        "acme: statusSize 2",
        "0\tvalid",
        "1\trevoked",
        f"2\t{IN_ERROR}",
        f"3\t{MISCONDUCT}",
        f"statusReference\t{REFERENCE}",
    ]
    issued = issue_project(client, acme)
    code, out = run("revoke", issued["id"], "--issuer", "acme", "--reason-code", "7")
    assert code == 1 and "status.unknown_reason_code" in out
    code, out = run("suspend", issued["id"], "--issuer", "acme", "--reason-code", "3")
    assert code == 2 and "revoke only" in out
    code, out = run("revoke", issued["id"], "--issuer", "acme", "--reason-code", "3")
    assert code == 0 and out.strip().endswith("revoked"), out
    public = client.get(f"/credentials/{issued['id']}/status").json()
    assert (public["revocation_reason"], public["revocation_code"]) == (MISCONDUCT, 3)
    assert _value(client, issued["credential"]["credentialStatus"]) == 3
    code, out = run("issuers", "revocation-reasons", "acme", "--clear")
    assert code == 0 and "no revocation reasons" in out


def test_a_full_list_of_2_bit_entries_moves_on_under_the_next_number(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    assert _define(client, acme, REASONS).status_code == 200
    first = issue_project(client, acme)["credential"]["credentialStatus"]
    assert first["statusListCredential"].endswith("/revocation/1")
    with app.state.session_factory() as session:
        row = session.exec(select(StatusList).where(StatusList.number == 1)).one()
        assert row.status_size == 2
        row.entries = 2  # indexes 0 and 1: two more credentials fit
        session.add(row)
        session.commit()
    second, third, fourth = (
        issue_project(client, acme)["credential"]["credentialStatus"] for _ in range(3)
    )
    assert [e["statusListCredential"][-1] for e in (second, third, fourth)] == ["1", "1", "2"]
    assert fourth["statusSize"] == 2
    # A credential issued without reasons goes to a 1-bit list of its own, numbered next.
    assert _define(client, acme, {"reasons": []}).status_code == 200
    plain = issue_project(client, acme)["credential"]["credentialStatus"]
    assert plain["statusListCredential"].endswith("/revocation/3") and "statusSize" not in plain
    with app.state.session_factory() as session:
        sizes = {
            r.number: r.status_size
            for r in session.exec(select(StatusList).where(StatusList.purpose == "revocation"))
        }
    assert sizes == {1: 2, 2: 2, 3: 1}
