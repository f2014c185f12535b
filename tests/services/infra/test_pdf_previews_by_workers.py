"""An uploaded PDF deliverable queues a ``pdf.preview`` job in the upload's transaction; a
worker pictures its first page, so the preview page reads the kept picture. A PNG queues
nothing, a malformed digest fails with a code, and a digest no deliverable names is a
finished job with nothing to do. Both databases."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.db.jobs import DONE, Job
from badgeworks.services import workers
from badgeworks.services.demo import diagram, pdf_report
from badgeworks.services.infra import jobs
from tests.issuer_app import IssuerHandle, draft_project


def test_an_uploaded_pdf_is_pictured_by_a_worker(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    project = draft_project(client, acme)["project"]
    for filename, data, media in (
        ("report.pdf", pdf_report("Churn", ["Findings"]), "application/pdf"),
        ("diagram.png", diagram(), "image/png"),
    ):
        r = client.post(
            f"/api/v1/projects/{project}/deliverables",
            files={"file": (filename, data, media)},
            data={"name": filename},
            headers=acme.auth,
        )
        assert r.status_code == 201, r.text
        if media == "application/pdf":
            sha256 = r.json()["sha256"]
    factory = app.state.session_factory
    ctx = app.state.ctx
    with factory() as session:
        queued = list(session.exec(select(Job)))
        assert [(j.kind, j.issuer_id) for j in queued] == [("pdf.preview", acme_id(app))]
        for payload in ({"sha256": "../../etc/passwd"}, {"sha256": 7}, {"sha256": "f" * 64}):
            jobs.enqueue(session, "pdf.preview", payload, now=ctx.clock())
        session.commit()
    worker = workers.worker(factory, ctx)
    while worker.run_once():
        pass
    preview = ctx.settings.data_dir / "previews" / f"{sha256}.png"
    assert preview.read_bytes().startswith(b"\x89PNG")
    with factory() as session:
        rows = {j.id: j for j in session.exec(select(Job))}
    states = [(rows[i].state, rows[i].last_error or "") for i in sorted(rows)]
    assert states[0] == (DONE, "")
    assert all("JobPayloadError" in error for _state, error in states[1:3])
    assert states[3] == (DONE, "")  # no deliverable has that digest: nothing to picture


def acme_id(app: FastAPI) -> int | None:
    from badgeworks.services.programs import issuers

    with app.state.session_factory() as session:
        return issuers.get_issuer(session, "acme").id
