"""The dashboard and a credential's trail read as sentences with names ("Grace Hopper
endorsed Ada Lovelace's project “Churn analysis”"), never codes such as
``staff.grant candidate:1``, in English and Spanish."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.services.console import activity
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import IssuerHandle, draft_project
from tests.mentor_reviews import HTML, invite, open_form, review_path

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]


def _table_text(html: str) -> str:
    start = html.index("<tbody>")
    return Page(html[start : html.index("</tbody>", start)]).text


def _endorse(client: TestClient, acme: IssuerHandle, project_id: int) -> None:
    """Grace Hopper reviews the project through her link and endorses it."""
    data = invite(client, acme, project_id)
    path = review_path(data)
    r = client.post(
        path,
        data={"nonce": open_form(client, path), "rating.quality": "exceeds", "comment": "Great."},
        headers=HTML,
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_dashboard_and_trail_read_as_sentences_with_names(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    _endorse(client, acme, ids["project"])
    done = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert done.status_code == 201, done.text
    credential = done.json()["id"]
    r = client.post(
        f"/api/v1/credentials/{credential}/revoke",
        json={"reason": "Issued to the wrong cohort"},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    add_staff(app, "acme", "owner@acme.example", "owner")
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    sign_in(client, "owner@acme.example")

    dashboard = _table_text(client.get("/console/acme/").text)
    for sentence in (
        "Grace Hopper endorsed Ada Lovelace's project “Churn analysis”.",
        "invited Grace Hopper to review Ada Lovelace's project “Churn analysis”.",
        "started Ada Lovelace's project “Churn analysis”.",
        "added the candidate Ada Lovelace.",
        "issued Ada Lovelace's credential “Data Analysis Micro-internship”.",
        "revoked Ada Lovelace's credential “Data Analysis Micro-internship”.",
        "gave viewer@acme.example the Viewer role.",
        "Reason: Issued to the wrong cohort",
    ):
        assert sentence in dashboard, (sentence, dashboard)
    assert "The API token “" in dashboard  # the API calls were made with a token
    _no_codes(dashboard)

    trail = _table_text(client.get(f"/console/acme/credentials/{credential}").text)
    assert "revoked Ada Lovelace's credential" in trail
    assert "invited Grace Hopper to review Ada Lovelace's project" in trail
    _no_codes(trail)

    spanish = _table_text(client.get("/console/acme/?lang=es").text)
    assert "Grace Hopper respaldó el proyecto «Churn analysis» de Ada Lovelace." in spanish
    assert "revocó la credencial «Data Analysis Micro-internship» de Ada Lovelace." in spanish
    assert "Motivo: Issued to the wrong cohort" in spanish
    _no_codes(spanish)


def _no_codes(text: str) -> None:
    for code in activity.SENTENCES:
        assert code not in text, (code, text)
    assert not re.search(r"\b(?:candidate|project|credential|staff|endorser|token):", text), text


def test_every_action_has_a_sentence_in_both_languages() -> None:
    from badgeworks.web.i18n import catalog

    for lang in ("en", "es"):
        strings = catalog(lang)
        for action in activity.SENTENCES:
            assert f"activity.{action}" in strings, (lang, action)
