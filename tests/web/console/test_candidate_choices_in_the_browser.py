"""The console's choices about the candidate in a real browser (Debian's Chromium through
Playwright): an owner unticks "Put the candidate's name in credentials" in Settings, then
issues a project with "Email … their credential" unticked; the credential carries only the
hashed email and nothing waits in the outbox. Both pages pass axe, in English and Spanish.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from badgeworks.services.accounts import staff
from badgeworks.services.infra import outbox
from tests.browser_support import assert_accessible, requires_chromium, served_app
from tests.console_staff import PASSWORD, add_staff
from tests.issuer_app import IssuerHandle, draft_project, make_issuer

pytestmark = requires_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, IssuerHandle]]:
    original = staff._SCRYPT_N
    staff._SCRYPT_N = 2**10  # cheap hashes; the format and the checks are the real ones
    try:
        with served_app(tmp_path_factory.mktemp("candidate-choices")) as (base, app):
            who = make_issuer(app, "acme")
            add_staff(app, "acme", "owner@acme.example", "owner")
            yield base, app, who
    finally:
        staff._SCRYPT_N = original


def test_an_owner_issues_hashed_only_without_emailing(
    browser: Any, server: tuple[str, Any, IssuerHandle]
) -> None:
    base, app, who = server
    project = draft_project(TestClient(app), who)["project"]
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    try:
        page.goto(f"{base}/console/login")
        page.get_by_label("Email address").fill("owner@acme.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/console/acme/$"))

        page.goto(f"{base}/console/acme/settings")
        box = page.get_by_label("Put the candidate's name in credentials")
        assert box.is_checked()
        assert_accessible(page)
        box.uncheck()
        page.get_by_role("button", name="Save the choice").click()
        assert "keep what they say" in page.content()
        assert not page.get_by_label("Put the candidate's name in credentials").is_checked()

        page.goto(f"{base}/console/acme/projects/{project}/issue")
        notify = page.get_by_label("Email Ada Lovelace their credential")
        assert notify.is_checked()
        assert_accessible(page)
        notify.uncheck()
        page.get_by_role("button", name="Sign and issue").click()
        page.wait_for_url(re.compile(r"/console/acme/credentials/"))
        credential_id = page.url.split("/credentials/")[1].split("?")[0]

        # The same pages in Spanish pass axe too.
        page.goto(f"{base}/console/acme/settings?lang=es")
        assert page.get_by_label("Incluir el nombre del candidato en las credenciales")
        assert_accessible(page)
    finally:
        context.close()
    document = TestClient(app).get(f"/credentials/{credential_id}.json").json()
    identifiers = document["credentialSubject"]["identifier"]
    assert [i["identityType"] for i in identifiers] == ["emailAddress"]
    assert "Ada Lovelace" not in json.dumps(document["credentialSubject"])
    with app.state.session_factory() as session:
        assert outbox.list_messages(session) == []
