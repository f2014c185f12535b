"""A change to a draft project holds the project until it commits.

Each change (an edit, a link, an uploaded file, a removed deliverable) is stopped just
before its commit, and the project is marked completed right there from another
connection, as a completion's compare-and-set would. Either that write waits for the
change (which then commits on a draft), or it came first and the change is refused with
409 ``project.completed``, leaving the project as it was: never a change committed on a
completed project. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from badgeworks.services.infra import audit
from tests.issuer_app import IssuerHandle, draft_project


def _complete_behind(app: FastAPI, project: int) -> bool:
    """Mark ``project`` completed from a connection of its own, waiting at most 300 ms for
    a lock; whether it could."""
    engine = app.state.engine
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        try:
            with conn.begin():
                if sqlite:
                    conn.exec_driver_sql("PRAGMA busy_timeout=300")
                else:
                    conn.execute(text("SET LOCAL lock_timeout = '300ms'"))
                done = conn.execute(
                    text(
                        "UPDATE project SET status = 'completed' "
                        "WHERE id = :id AND status = 'draft'"
                    ),
                    {"id": project},
                )
                return bool(done.rowcount)
        except OperationalError:
            return False
        finally:
            if sqlite:  # the connection goes back to the pool as it came
                conn.exec_driver_sql("PRAGMA busy_timeout=30000")


CHANGES_OF_A_DRAFT: dict[str, Callable[[TestClient, IssuerHandle, int, int], httpx.Response]] = {
    "edit": lambda c, who, p, _d: c.patch(
        f"/api/v1/projects/{p}", json={"title": "Edited late"}, headers=who.auth
    ),
    "link": lambda c, who, p, _d: c.post(
        f"/api/v1/projects/{p}/links",
        json={"name": "Late link", "url": "https://example.org/late"},
        headers=who.auth,
    ),
    "file": lambda c, who, p, _d: c.post(
        f"/api/v1/projects/{p}/deliverables",
        files={"file": ("late.txt", b"late\n", "text/plain")},
        data={"name": "Late file"},
        headers=who.auth,
    ),
    "remove": lambda c, who, p, d: c.delete(
        f"/api/v1/projects/{p}/deliverables/{d}", headers=who.auth
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES_OF_A_DRAFT))
def test_a_project_completed_during_a_change_refuses_or_waits_for_it(
    app: FastAPI,
    client: TestClient,
    acme: IssuerHandle,
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    project = draft_project(client, acme)["project"]
    r = client.post(
        f"/api/v1/projects/{project}/links",
        json={"name": "Kept", "url": "https://example.org/kept"},
        headers=acme.auth,
    )
    assert r.status_code == 201, r.text
    deliverable = r.json()["id"]
    before = client.get(f"/api/v1/projects/{project}", headers=acme.auth).json()
    original = audit.commit
    completed: list[bool] = []

    def complete_first(session: Any, **kw: Any) -> None:
        # The change has checked the project and is about to commit: complete it now.
        if kw.get("target") == f"project:{project}" and not completed:
            completed.append(_complete_behind(app, project))
        original(session, **kw)

    monkeypatch.setattr(audit, "commit", complete_first)
    r = CHANGES_OF_A_DRAFT[change](client, acme, project, deliverable)
    monkeypatch.undo()
    after = client.get(f"/api/v1/projects/{project}", headers=acme.auth).json()
    assert completed, "the change never reached its commit"
    if completed[0]:
        # Completed first: the change must be refused, and the project left as it was.
        assert r.status_code == 409 and r.json()["code"] == "project.completed", r.text
        assert after["status"] == "completed"
        assert {k: v for k, v in after.items() if k not in ("status", "completed_at")} == {
            k: v for k, v in before.items() if k not in ("status", "completed_at")
        }
    else:
        # The change holds the project: the completion had to wait, the change went in.
        assert r.status_code in (200, 201, 204), r.text
        assert after["status"] == "draft"
