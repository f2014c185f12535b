"""Fixtures for portfolio tests: an issued credential with an image, a PDF and a link."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.services.demo import badge_image, diagram, pdf_report
from tests.web.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    IssuerHandle,
    acme,
    app,
    client,
    draft_project,
    globex,
    settings,
)

BASE = "http://127.0.0.1:8000"


@dataclass
class Issued:
    """An issued credential and the ids around it."""

    id: str
    url: str
    path: str
    candidate: int
    project: int
    deliverables: dict[str, int]
    credential: dict[str, object]


def issue_with_deliverables(
    client: TestClient,  # noqa: F811
    who: IssuerHandle,
    *,
    with_image: bool = True,
) -> Issued:
    """Draft a project with three deliverables (PNG, PDF, link) and complete it."""
    ids = draft_project(client, who)
    if with_image:
        r = client.put(
            f"/api/v1/achievements/{ids['achievement']}/image",
            files={"file": ("badge.png", badge_image(), "image/png")},
            data={"caption": "A teal disc: the data analysis badge"},
            headers=who.auth,
        )
        assert r.status_code in (200, 201), r.text
    delivs: dict[str, int] = {}
    for name, filename, data, media in (
        ("Pipeline diagram", "diagram.png", diagram(), "image/png"),
        ("Final report", "report.pdf", pdf_report("Churn", ["Findings"]), "application/pdf"),
    ):
        r = client.post(
            f"/api/v1/projects/{ids['project']}/deliverables",
            files={"file": (filename, data, media)},
            data={"name": name, "description": f"{name} of the churn analysis"},
            headers=who.auth,
        )
        assert r.status_code == 201, r.text
        delivs[name] = r.json()["id"]
    r = client.post(
        f"/api/v1/projects/{ids['project']}/links",
        json={"name": "Notebook", "url": "https://notebooks.example/churn", "genre": "code"},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    delivs["Notebook"] = r.json()["id"]
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=who.auth)
    assert r.status_code == 201, r.text
    body = r.json()
    return Issued(
        id=body["id"],
        url=body["url"],
        path=body["url"].removeprefix(BASE),
        candidate=ids["candidate"],
        project=ids["project"],
        deliverables=delivs,
        credential=body["credential"],
    )


@pytest.fixture
def issued(app: FastAPI, client: TestClient, acme: IssuerHandle) -> Issued:  # noqa: F811
    return issue_with_deliverables(client, acme)
