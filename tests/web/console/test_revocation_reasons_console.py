"""The console's revocation reasons: an owner defines them on Settings (refusals in words,
English and Spanish), a revocation chooses a code on its confirmation page, and the
credential's public state and page show the code's message. Both databases."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import IssuerHandle
from tests.plain_credentials import issue_project

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]

IN_ERROR = "revoked: issued in error"
MISCONDUCT = "revoked: misconduct"


def _textarea(html: str) -> str:
    found = re.search(r'<textarea id="r-reasons"[^>]*>(.*?)</textarea>', html, re.DOTALL)
    assert found is not None
    return found.group(1)


def _save(client: TestClient, csrf: str, text: str, reference: str = "", lang: str = "en") -> str:
    r = client.post(
        f"/console/acme/settings/revocation-reasons?lang={lang}",
        data={"csrf_token": csrf, "reasons_text": text, "reference": reference},
        follow_redirects=True,
    )
    assert r.status_code in (200, 422), r.text
    return r.text


def test_an_owner_defines_reasons_and_staff_revoke_with_a_code(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    page = client.get("/console/acme/settings").text
    assert "No revocation reasons yet" in page

    # Refusals say what is wrong, link the field, and keep what was typed.
    text = _save(client, csrf, "2: revoked: fine\nnot a line")
    assert "Line 2 is not a reason code" in text and 'href="#r-reasons"' in text
    assert "not a line" in _textarea(text)
    text = _save(client, csrf, "2: <b>fraud</b>")
    assert "markup" in text and "<b>fraud</b>" not in text
    # Spanish pages say it in Spanish (the words for a bad reference).
    text = _save(client, csrf, "2: fraud", reference="http://acme.example", lang="es")
    assert "debe ser una dirección web https://" in text
    text = _save(client, csrf, "1: revoked: plain")
    assert "from 2 to 15" in text
    with_many = "\n".join(f"{c}: reason {c}" for c in range(2, 17))
    assert "too many" in _save(client, csrf, with_many)

    text = _save(
        client,
        csrf,
        f"2: {IN_ERROR}\n\n3: {MISCONDUCT}\n",
        reference="https://acme.example/reasons",
    )
    assert "Revocation reasons saved" in text
    table = text.split('id="revocation-reasons-table"', 1)[1].split("</table>", 1)[0]
    assert IN_ERROR in table and MISCONDUCT in table
    api = client.get("/api/v1/issuers/acme/revocation-reasons", headers=acme.auth).json()
    assert api["reference"] == "https://acme.example/reasons" and api["status_size"] == 2

    issued = issue_project(client, acme)
    path = f"/console/acme/credentials/{issued['id']}/revoke"
    options = re.findall(r"<option value=\"[^\"]*\">([^<]*)</option>", client.get(path).text)
    assert options == ["No code: write the reason below", f"2 — {IN_ERROR}", f"3 — {MISCONDUCT}"]
    # A code with a reason beside it is refused in words; nothing changes.
    r = client.post(path, data={"csrf_token": csrf, "reason_code": "3", "reason": "and more"})
    assert r.status_code == 422 and "not both" in r.text
    r = client.post(path, data={"csrf_token": csrf, "reason_code": "9"})
    assert r.status_code == 422 and "Reason code 9" in r.text
    assert client.get(f"/credentials/{issued['id']}/status").json()["status"] == "active"
    r = client.post(path, data={"csrf_token": csrf, "reason_code": "3"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    public = client.get(f"/credentials/{issued['id']}/status").json()
    assert (public["revocation_reason"], public["revocation_code"]) == (MISCONDUCT, 3)

    # An empty box removes the reasons: the next credential carries a 1-bit entry again,
    # and its revocation page offers no codes.
    assert "No revocation reasons yet" in _save(client, csrf, "")
    plain = issue_project(client, acme)
    assert "statusSize" not in plain["credential"]["credentialStatus"]
    page = client.get(f"/console/acme/credentials/{plain['id']}/revoke").text
    assert 'id="reason_code"' not in page and "required" in Page(page).all("textarea")[0]


def test_only_owners_change_reasons(app: FastAPI, client: TestClient, acme: IssuerHandle) -> None:
    add_staff(app, "acme", "issuer@acme.example", "issuer")
    csrf = sign_in(client, "issuer@acme.example")
    page = client.get("/console/acme/settings").text
    assert "Revocation reasons" in page and 'id="r-reasons"' not in page
    r = client.post(
        "/console/acme/settings/revocation-reasons",
        data={"csrf_token": csrf, "reasons_text": "2: revoked: fraud"},
    )
    assert r.status_code == 403
    api = client.get("/api/v1/issuers/acme/revocation-reasons", headers=acme.auth).json()
    assert api["reasons"] == []


def test_the_change_reads_as_a_sentence_in_the_activity(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    _save(client, csrf, f"2: {IN_ERROR}")
    page = client.get("/console/acme/").text
    assert "changed the program's revocation reasons" in page.replace("&#39;", "'")
    page = client.get("/console/acme/?lang=es").text
    assert "cambió los motivos de revocación del programa" in page
