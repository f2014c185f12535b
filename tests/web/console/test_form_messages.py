"""Console forms say what is wrong in words, every problem at once, each linked to the
field to fix, and keep what was typed (the image's alt text included)."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import csrf_of
from tests.issuer_app import IssuerHandle, draft_project

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]

FORM = {
    "name": "Data Analysis",
    "description": "Completed a mentored data analysis project.",
    "criteria_narrative": "",
    "achievement_type": "Fieldwork",
    "in_language": "en",
    "tags": "data",
    "alignments": "",
    "rubric": "",
}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _box(html: str, box_id: str) -> str:
    box = rf'<div class="verdict bad" role="alert" id="{box_id}">(.*?)</div>'
    match = re.search(box, html, re.S)
    assert match, html
    return match.group(1)


def _no_machine_words(text: str) -> None:
    for forbidden in ("pattern", "^", "String should", "Input should", "Field required"):
        assert forbidden not in text, text
    assert not re.search(r"\b[a-z_]+\.\d+\b", text), text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_achievement_form_lists_every_problem_with_a_link_and_keeps_the_text(
    app: FastAPI, client: TestClient, acme: IssuerHandle, lang: str
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    typed = {
        **FORM,
        "name": " ",
        "achievement_type": "not a type",
        "alignments": "Data analysis | not-a-url",
        "rubric": "bad key! | Quality",
        "action": "save",
        "csrf_token": csrf,
    }
    r = client.post(f"/console/acme/achievements/new?lang={lang}", data=typed)
    assert r.status_code == 422
    box = _box(r.text, "form-error")
    links = re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', box)
    assert [field for field, _ in links] == ["name", "achievement_type", "alignments", "rubric"]
    texts = " ".join(text for _, text in links)
    _no_machine_words(texts)
    if lang == "es":
        assert "Nombre: no puede quedar vac" in texts and "Tipo de logro: elija" in texts
    else:
        assert "Name: this cannot be empty" in texts
        assert "Alignment web address (item 1): enter a web address" in texts
    # Every field the links point at is on the page, and what was typed is still there.
    for field, _ in links:
        assert f'id="{field}"' in r.text
    assert 'value="not a type"' in r.text and "bad key! | Quality" in r.text


def test_image_refusal_names_both_problems_at_the_top_and_keeps_the_alt_text(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    r = client.post(
        "/console/acme/achievements/new", data={**FORM, "action": "save", "csrf_token": csrf}
    )
    assert r.status_code == 200
    url = r.url.path
    # A wrong kind of file with alt text: refused at the top, the alt text kept.
    r = client.post(
        f"{url}/image",
        data={"csrf_token": csrf_of(r.text), "caption": "A teal disc with a chart"},
        files={"file": ("x.gif", b"GIF89a not ours", "image/gif")},
    )
    assert r.status_code == 422
    box = _box(r.text, "image-error")
    # At the top: before the achievement's own form, not down in the image section.
    assert r.text.index('id="image-error"') < r.text.index(f'<form method="post" action="{url}"')
    assert '<a href="#image-file">' in box and "PNG or an SVG" in box
    assert 'value="A teal disc with a chart"' in r.text
    # No alt text and a wrong file: both problems at once, each linked to its field, in
    # the page's language.
    r = client.post(
        f"{url}/image?lang=es",
        data={"csrf_token": csrf, "caption": " "},
        files={"file": ("x.gif", b"GIF89a not ours", "image/gif")},
    )
    assert r.status_code == 422
    box = _box(r.text, "image-error")
    assert re.findall(r'<a href="#([^"]+)">([^:]+):', box) == [
        ("caption", "Texto alternativo"),
        ("image-file", "Archivo de imagen"),
    ]
    assert "debe ser una imagen PNG o SVG" in box
    # And a good image with its alt text is saved.
    r = client.post(
        f"{url}/image",
        data={"csrf_token": csrf, "caption": "A teal disc"},
        files={"file": ("x.png", PNG, "image/png")},
    )
    assert r.status_code == 200 and 'alt="A teal disc"' in r.text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_bulk_problems_table_says_each_field_problem_in_words(
    app: FastAPI, client: TestClient, acme: IssuerHandle, lang: str
) -> None:
    ids = draft_project(client, acme)
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    a = ids["achievement"]
    body = (
        "achievement_id,candidate_name,candidate_email,project_title,host_name,"
        "end_date,deliverable_name,deliverable_url\n"
        f"{a},Cy Bad,not-an-email,P2,Host,2025-13-40,Report,ftp://nowhere\n"
        f"{a}, ,cy@example.org,{'x' * 301},Host,,,\n"
    )
    r = client.post(
        "/console/acme/bulk",
        data={"csrf_token": csrf},
        files={"file": ("cohort.csv", body.encode(), "text/csv")},
    )
    assert r.status_code == 200
    r = client.get(f"{r.url.path}?lang={lang}")
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", r.text)
    columns = {(line, column) for line, column, _ in rows}
    assert columns == {
        ("2", "candidate_email"),
        ("2", "end_date"),
        ("2", "deliverable_url"),
        ("3", "candidate_name"),
        ("3", "project_title"),
    }
    text = " ".join(problem for _, _, problem in rows)
    _no_machine_words(text)
    assert "valid email" not in text and "deliverable url" not in text
    if lang == "es":
        assert "escriba una dirección de correo como nombre@example.org" in text
        assert "acórtelo a 300 caracteres" in text
    else:
        assert "enter an email address such as name@example.org" in text
        assert "shorten it to at most 300 characters" in text


def test_project_form_lists_every_problem_at_once_with_links(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    r = client.post(
        "/console/acme/projects/new?lang=es",
        data={
            "csrf_token": csrf,
            "achievement_id": str(ids["achievement"]),
            "candidate_name": "Bea",
            "candidate_email": "bea-at-example",
            "title": " ",
            "host_name": "Northwind",
            "host_url": "northwind dot example",
            "start_date": "2025-03-10",
            "end_date": "2025-03-01",
        },
    )
    assert r.status_code == 422
    links = re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', r.text)
    assert [field for field, _ in links] == ["title", "host_url", "candidate_email"]
    text = " ".join(t for _, t in links)
    _no_machine_words(text)
    assert "Título: no puede quedar vacío" in text
    assert 'value="bea-at-example"' in r.text and 'value="northwind dot example"' in r.text
    # Once the fields are right, the dates' order is checked and linked the same way.
    r = client.post(
        "/console/acme/projects/new?lang=es",
        data={
            "csrf_token": csrf,
            "achievement_id": str(ids["achievement"]),
            "candidate_id": str(ids["candidate"]),
            "title": "Churn",
            "host_name": "Northwind",
            "start_date": "2025-03-10",
            "end_date": "2025-03-01",
        },
    )
    assert r.status_code == 422
    assert '<a href="#end_date">Fecha de fin: es anterior' in r.text


def test_settings_forms_link_every_problem_and_keep_the_alt_text(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    r = client.post(
        "/console/acme/settings/profile?lang=es",
        data={"csrf_token": csrf, "name": " ", "url": "acme dot example", "email": "x"},
    )
    assert r.status_code == 422
    links = re.findall(r'<li><a href="#([^"]+)">([^<]+)</a></li>', r.text)
    assert [field for field, _ in links] == ["p-name", "p-url", "p-email"]
    _no_machine_words(" ".join(t for _, t in links))
    r = client.post(
        "/console/acme/settings/image",
        data={"csrf_token": csrf, "caption": " "},
        files={"file": ("x.gif", b"GIF89a not ours", "image/gif")},
    )
    assert r.status_code == 422
    assert re.findall(r'<li><a href="#([^"]+)">', r.text) == ["i-caption", "i-file"]
    r = client.post(
        "/console/acme/settings/image",
        data={"csrf_token": csrf, "caption": "The Acme logo"},
        files={"file": ("x.gif", b"GIF89a not ours", "image/gif")},
    )
    assert r.status_code == 422 and 'value="The Acme logo"' in r.text
