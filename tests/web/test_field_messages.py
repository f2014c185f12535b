"""The API says what is wrong with a request's fields in words, keeping its stable code:
the human name, the JSON property and how to fix it, in English or (asked for) Spanish."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.issuer_app import IssuerHandle


def test_api_refusal_names_the_field_and_the_fix(client: TestClient, acme: IssuerHandle) -> None:
    body = {"name": " ", "emails": ["ada@example.org", "not an address"], "surprise": 1}
    r = client.post(f"/api/v1/issuers/{acme.slug}/candidates", json=body, headers=acme.auth)
    assert r.status_code == 422
    answer = r.json()
    assert answer["code"] == "request.invalid"
    assert answer["error"] == (
        "Name (name): this cannot be empty; fill it in. "
        "Email address (emails, item 2): enter an email address such as name@example.org. "
        "The field “surprise”: this field is not known here; remove it (every field is "
        "listed at /docs)."
    )
    for forbidden in ("emails.1", "pattern", "^", "String should", "Field required"):
        assert forbidden not in answer["error"]


def test_api_refusal_in_spanish_when_asked(client: TestClient, acme: IssuerHandle) -> None:
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/candidates",
        json={"name": "Ada", "emails": ["nope"]},
        headers={**acme.auth, "Accept-Language": "es-ES,es;q=0.9,en;q=0.5"},
    )
    assert r.status_code == 422 and r.json()["code"] == "request.invalid"
    assert r.json()["error"] == (
        "Correo electrónico (emails, elemento 1): escriba una dirección de correo como "
        "nombre@example.org."
    )


def test_query_parameters_are_described_too(client: TestClient, acme: IssuerHandle) -> None:
    r = client.get(f"/api/v1/issuers/{acme.slug}/candidates?limit=many", headers=acme.auth)
    assert r.status_code == 422
    assert r.json()["error"] == "Number of results (limit): enter a whole number, such as 30."
