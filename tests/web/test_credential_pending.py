"""A credential's address that a mentor's endorsement names before the credential is
issued (its "Endorses" link) shows a page saying it will appear once issued, not a 404;
the signed JSON stays a 404 until then, and any other unknown id stays a plain 404."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.browser_support import assert_accessible, requires_chromium, served_app
from tests.issuer_app import IssuerHandle, draft_project, make_issuer
from tests.mentor_reviews import HTML, invite


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "will appear at this address once the program issues it"), ("es", "aparecerá")],
)
def test_reserved_credential_address_says_it_is_still_to_come(
    client: TestClient, acme: IssuerHandle, lang: str, words: str
) -> None:
    ids = draft_project(client, acme)
    data = invite(client, acme, ids["project"])
    path = f"/credentials/{data['credential_id']}"
    assert data["subject_id"].endswith(path)

    page = client.get(f"{path}?lang={lang}", headers=HTML)
    assert page.status_code == 200
    assert words in page.text and f'lang="{lang}"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "Ada Lovelace" not in page.text  # says nothing about whose it is
    signed = client.get(path, headers={"Accept": "application/vc+ld+json"})
    assert signed.status_code == 404

    unknown = client.get(f"/credentials/{uuid.uuid4()}", headers=HTML)
    assert unknown.status_code == 404

    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code in (200, 201), r.text
    issued = client.get(path, headers=HTML)
    assert issued.status_code == 200 and words not in issued.text
    assert client.get(path, headers={"Accept": "application/vc+ld+json"}).status_code == 200


@requires_chromium
def test_endorses_link_opens_the_still_to_come_page_in_chromium(
    tmp_path: Path, browser: Any
) -> None:
    with served_app(tmp_path) as (base, app):
        http = TestClient(app)
        acme = make_issuer(app, "acme")
        ids = draft_project(http, acme)
        data = invite(http, acme, ids["project"])
        page = browser.new_page()
        try:
            # The mentor's endorsement names the credential's address; a person opening it
            # (its "Endorses" link) reads that it is still to come, in their language.
            assert data["subject_id"].startswith(base + "/credentials/")
            response = page.goto(data["subject_id"] + "?lang=es")
            assert response is not None and response.status == 200
            assert page.locator("h1").inner_text() == "Esta credencial aún no se ha emitido"
            assert_accessible(page)
        finally:
            page.close()
