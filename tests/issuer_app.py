"""An app per test on each database, its issuers and tokens, and credentials issued through it.

The root conftest registers this module's fixtures for every test (``pytest_plugins``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.services.accounts import tokens
from badgeworks.services.demo import badge_image, diagram, pdf_report
from badgeworks.services.programs import issuers
from badgeworks.services.programs.models import IssuerCreate
from badgeworks.settings import Settings, get_settings
from badgeworks.web.app import create_app

TEST_SECRET = "test-only-key-secret-0123456789"
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return get_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        key_secret=TEST_SECRET,
        public_base_url="http://127.0.0.1:8000",
        max_upload_bytes=64 * 1024,
        max_json_bytes=16 * 1024,
        admin_token="admin-test-token-0123456789-abcdefghij",
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings, clock=lambda: NOW)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@dataclass
class IssuerHandle:
    slug: str
    token: str
    #: The issuer's DID: what a credential sent to ``POST /credentials/issue`` names as
    #: its ``issuer`` (VC Data Model 2.0 §4.7; the VC-API does not fill it in).
    did: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_issuer(app: FastAPI, slug: str, did_method: str = "web") -> IssuerHandle:
    """Create an issuer and a token the way the CLI does."""
    ctx = app.state.ctx
    with app.state.session_factory() as session:
        issuer = issuers.create_issuer(
            session,
            ctx,
            IssuerCreate(slug=slug, name=f"{slug.title()} Academy", did_method=did_method),  # type: ignore[arg-type]
            actor="test",
        )
        _, token = tokens.create_token(session, issuer, label="test", actor="test", now=ctx.clock())
        return IssuerHandle(slug=slug, token=token, did=issuer.did)


@pytest.fixture
def acme(app: FastAPI) -> IssuerHandle:
    return make_issuer(app, "acme")


@pytest.fixture
def globex(app: FastAPI) -> IssuerHandle:
    return make_issuer(app, "globex")


ACHIEVEMENT = {
    "name": "Data Analysis Micro-internship",
    "description": "Completed a mentored data analysis project.",
    "criteria_narrative": "Delivered a cleaned dataset and a written report.",
    "alignments": [
        {
            "target_name": "Data analysis",
            "target_url": "https://esco.example/skill/data-analysis",
            "target_framework": "ESCO",
            "target_code": "S1.2",
        }
    ],
    "result_descriptions": [
        {
            "key": "quality",
            "name": "Quality of work",
            "levels": [
                {"key": "meets", "name": "Meets expectations"},
                {"key": "exceeds", "name": "Exceeds expectations"},
            ],
        }
    ],
    "tags": ["data"],
    "in_language": "en",
}


def draft_project(client: TestClient, who: IssuerHandle) -> dict[str, int]:
    """Achievement + candidate + project through the API; returns their ids."""
    r = client.post(f"/api/v1/issuers/{who.slug}/achievements", json=ACHIEVEMENT, headers=who.auth)
    assert r.status_code == 201, r.text
    achievement_id = r.json()["id"]
    r = client.post(
        f"/api/v1/issuers/{who.slug}/candidates",
        json={"name": "Ada Lovelace", "emails": ["ada@example.org"]},
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    candidate_id = r.json()["id"]
    r = client.post(
        f"/api/v1/issuers/{who.slug}/projects",
        json={
            "achievement_id": achievement_id,
            "candidate_id": candidate_id,
            "title": "Churn analysis",
            "summary": "Cleaned two years of sales data.",
            "host": {"name": "Northwind Traders", "url": "https://northwind.example"},
            "start_date": "2025-03-03",
            "end_date": "2025-03-28",
            "mentors": [{"name": "Grace Hopper", "title": "Lead analyst"}],
            "results": [{"result_description": "quality", "achieved_level": "exceeds"}],
        },
        headers=who.auth,
    )
    assert r.status_code == 201, r.text
    return {"achievement": achievement_id, "candidate": candidate_id, "project": r.json()["id"]}


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
    client: TestClient,
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
def issued(app: FastAPI, client: TestClient, acme: IssuerHandle) -> Issued:
    return issue_with_deliverables(client, acme)
