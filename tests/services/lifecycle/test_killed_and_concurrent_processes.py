"""Faults: a process killed mid-change, and several processes issuing at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.core.status import decode_list, get_status
from badgeworks.core.verification.credential import verify
from badgeworks.db.models import Credential
from badgeworks.db.status import StatusEntry, StatusList
from badgeworks.settings import Settings
from tests.issuer_app import NOW, IssuerHandle
from tests.plain_credentials import issue_plain, path_of, row_id
from tests.servers import child_settings

PRELUDE = """
import json, os, signal, sys
from datetime import UTC, datetime
from badgeworks.settings import get_settings
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.services.context import build_context
from badgeworks.services.exchange import vcapi
from badgeworks.services.lifecycle import changes as lifecycle
from badgeworks.services.lifecycle import status_lists
from badgeworks.services.programs import issuers
args = json.loads(sys.argv[1])
settings = get_settings(**args["settings"])
engine = make_engine(settings)
factory = make_session_factory(engine)
ctx = build_context(settings, factory, clock=lambda: datetime(2025, 6, 1, 12, tzinfo=UTC))
"""


def _run(script: str, args: dict[str, Any], timeout: float = 120) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(script), json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _consistent(app: FastAPI, client: TestClient, entry: dict[str, str]) -> int:
    """The served list verifies and matches the database's bits; returns the entry's bit."""
    served = client.get(path_of(entry["statusListCredential"])).json()
    assert verify(served, loader=app.state.ctx.loader, now=NOW).verified
    with app.state.session_factory() as session:
        row = session.exec(
            select(StatusList).where(StatusList.document.contains(entry["statusListCredential"]))  # type: ignore[attr-defined]
        ).first()
        assert row is not None
        assert decode_list(served["credentialSubject"]["encodedList"]) == row.bits
    return get_status(row.bits, int(entry["statusListIndex"]))


def test_killed_mid_change_leaves_a_list_that_verifies_and_matches_its_bits(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings
) -> None:
    vc = issue_plain(client, acme)
    entry = vc["credentialStatus"][0]
    proc = _run(
        """
        status_lists.before_commit = lambda: os.kill(os.getpid(), signal.SIGKILL)
        with factory() as session:
            issuer = issuers.get_issuer(session, "acme")
            lifecycle.revoke(session, ctx, issuer, args["cid"], reason="x", actor="test")
        print("not killed")
        """,
        {"settings": child_settings(settings), "cid": row_id(vc)},
    )
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, (out, err)
    assert _consistent(app, client, entry) == 0
    # The interrupted change left nothing behind: revoking now works, once.
    r = client.post(f"/api/v1/credentials/{row_id(vc)}/revoke", json={}, headers=acme.auth)
    assert r.status_code == 200, r.text
    assert _consistent(app, client, entry) == 1


def test_a_full_list_starts_a_new_one(
    app: FastAPI, client: TestClient, acme: IssuerHandle, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("filling 131,072 entries once is enough (SQLite is faster at it)")
    first = issue_plain(client, acme)
    with app.state.session_factory() as session:
        listed = session.exec(select(StatusList).where(StatusList.purpose == "revocation")).one()
        taken = set(
            session.exec(select(StatusEntry.index).where(StatusEntry.list_id == listed.id)).all()
        )
        rows = [
            {"list_id": listed.id, "index": i, "purpose": "revocation", "credential_id": f"f{i}"}
            for i in range(listed.entries)
            if i not in taken
        ]
        session.execute(StatusEntry.__table__.insert(), rows[:-1])  # type: ignore[attr-defined]
        session.commit()
        last_free = rows[-1]["index"]
    second = issue_plain(client, acme)
    assert second["credentialStatus"][0]["statusListIndex"] == str(last_free)
    third = issue_plain(client, acme)
    assert third["credentialStatus"][0]["statusListCredential"].endswith("/revocation/2")
    assert first["credentialStatus"][0]["statusListCredential"].endswith("/revocation/1")


PROCESSES = 4
PER_PROCESS = 200


def test_concurrent_issuance_on_postgresql_never_loses_or_duplicates(
    app: FastAPI, client: TestClient, acme: IssuerHandle, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the multi-process test needs PostgreSQL")
    # Sign once first, so every process finds the lists (and races only for indexes).
    issue_plain(client, acme)
    script = """
        ids = []
        with factory() as session:
            issuer = issuers.get_issuer(session, "acme")
            for n in range(args["count"]):
                credential = {
                    "@context": ["https://www.w3.org/ns/credentials/v2"],
                    "type": ["VerifiableCredential"],
                    "issuer": issuer.did,
                    "credentialSubject": {"id": f"did:example:{args['worker']}-{n}"},
                }
                row, _ = vcapi.issue_credential(
                    session, ctx, issuer, credential, None, actor=f"worker{args['worker']}"
                )
                ids.append(row.id)
        print(json.dumps(ids))
        """
    procs = [
        _run(script, {"settings": child_settings(settings), "worker": w, "count": PER_PROCESS})
        for w in range(PROCESSES)
    ]
    issued: list[str] = []
    err_texts = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        err_texts.append(err[-500:])
        assert proc.returncode == 0, err[-2000:]
        issued.extend(json.loads(out.strip().splitlines()[-1]))
    assert len(issued) == len(set(issued)) == PROCESSES * PER_PROCESS
    with app.state.session_factory() as session:
        rows = session.exec(select(Credential).where(Credential.issuer_id.is_not(None))).all()  # type: ignore[attr-defined]
        stored = {r.id: json.loads(r.document) for r in rows}
        assert set(issued) <= set(stored)
        entries = session.exec(select(StatusEntry)).all()
    claimed = Counter((e.list_id, e.index) for e in entries)
    assert max(claimed.values()) == 1
    by_credential = {(e.credential_id, e.purpose): e.index for e in entries}
    missing = [c for c in issued if (c, "revocation") not in by_credential]
    assert not missing, (len(missing), err_texts)
    for cid in issued:
        for status in stored[cid]["credentialStatus"]:
            assert by_credential[(cid, status["statusPurpose"])] == int(status["statusListIndex"])
