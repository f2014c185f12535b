"""Achievement language editions: the API, issued credentials' ``related``, and the pages.

OB 3.0 models language editions with ``inLanguage`` and ``related``. The signed credential
keeps the original text; pages show the issuer's edition in the visitor's language, with a
note and a way back to the signed text.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from badgeworks.core.schema import schema_problems
from badgeworks.core.verification.credential import verify
from badgeworks.db import models
from badgeworks.db.migrate import upgrade
from badgeworks.services.demo import SPANISH_EDITION, seed_demo
from badgeworks.services.programs import achievements
from tests.console_staff import add_staff, fast_scrypt, sign_in
from tests.html_page import Page
from tests.issuer_app import (
    ACHIEVEMENT,
    BASE,
    NOW,
    Issued,
    IssuerHandle,
    draft_project,
    issue_with_deliverables,
)

__all__ = ["fast_scrypt"]

HTML = {"Accept": "text/html"}
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

ENGLISH_NAME = str(ACHIEVEMENT["name"])
SPANISH: dict[str, Any] = {
    "name": "Micropasantía de análisis de datos",
    "description": "Completó un proyecto de análisis de datos con mentoría.",
    "criteria_narrative": "Entregó un conjunto de datos depurado y un informe escrito.",
    "image_caption": "Un disco verde azulado: la insignia de análisis de datos",
    "result_names": {
        "quality": {
            "name": "Calidad del trabajo",
            "levels": {"meets": "Cumple las expectativas", "exceeds": "Supera las expectativas"},
        }
    },
}


def _editions(achievement_id: int) -> str:
    return f"/api/v1/achievements/{achievement_id}/editions"


def _put(client: TestClient, who: IssuerHandle, achievement_id: int, lang: str, body: Any) -> Any:
    return client.put(f"{_editions(achievement_id)}/{lang}", json=body, headers=who.auth)


def _error(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["ok"] is False and body["status"] == status and body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"]
    return body


def _achievement_id(credential: dict[str, Any]) -> int:
    ach_url = credential["credentialSubject"]["achievement"]["id"]
    return int(ach_url.removeprefix(f"{BASE}/achievements/").split("/")[0])


# ------------------------------------------------------------------------------ the API


def test_edition_crud(client: TestClient, acme: IssuerHandle) -> None:
    ids = draft_project(client, acme)
    aid = ids["achievement"]
    assert client.get(_editions(aid), headers=acme.auth).json() == []

    r = _put(client, acme, aid, "es", SPANISH)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["lang"] == "es" and body["version"] == 1 and body["original_lang"] == "en"
    assert body["url"] == f"{BASE}/achievements/{aid}/versions/1/es"
    assert body["name"] == SPANISH["name"]
    assert body["result_names"]["quality"]["levels"]["exceeds"] == "Supera las expectativas"

    # A second PUT replaces it (200); optional fields left out are cleared.
    r = _put(client, acme, aid, "ES", {"name": "Análisis de datos", "description": "Otra."})
    assert r.status_code == 200, r.text
    assert r.json()["lang"] == "es" and r.json()["criteria_narrative"] is None
    assert r.json()["result_names"] == {}

    # Tags are stored in canonical case; the achievement lists its editions.
    r = _put(client, acme, aid, "pt-br", {"name": "Análise de dados", "description": "Feito."})
    assert r.status_code == 201 and r.json()["lang"] == "pt-BR"
    listed = client.get(_editions(aid), headers=acme.auth).json()
    assert [e["lang"] for e in listed] == ["es", "pt-BR"]
    ach = client.get(f"/api/v1/achievements/{aid}", headers=acme.auth).json()
    assert ach["editions"] == ["es", "pt-BR"]

    assert client.delete(f"{_editions(aid)}/pt-BR", headers=acme.auth).status_code == 204
    _error(client.delete(f"{_editions(aid)}/pt-BR", headers=acme.auth), 404, "edition.not_found")
    assert [e["lang"] for e in client.get(_editions(aid), headers=acme.auth).json()] == ["es"]

    # Who did what is in the audit log.
    audit = client.get(f"/api/v1/issuers/{acme.slug}/audit", headers=acme.auth).json()
    actions = [e["action"] for e in audit]
    assert "achievement.edition.put" in actions and "achievement.edition.delete" in actions


@sqlite_only
def test_bad_edition_input(client: TestClient, acme: IssuerHandle, globex: IssuerHandle) -> None:
    aid = draft_project(client, acme)["achievement"]
    for lang in ("e", "english", "es_MX", "es-", "x" * 36, "<b>"):
        r = _put(client, acme, aid, lang, SPANISH)
        assert r.status_code == 422, (lang, r.text)
        assert r.json()["code"] in ("edition.lang_invalid", "request.invalid"), r.text
    # BCP 47 syntax, but not a form the OB 3.0 schema accepts in inLanguage.
    _error(_put(client, acme, aid, "es-valencia", SPANISH), 422, "edition.lang_invalid")
    # The original's own language (any case) is not an edition.
    _error(_put(client, acme, aid, "EN", SPANISH), 422, "edition.same_language")
    # Text limits as for the achievement itself; unknown fields and rubric keys.
    _error(_put(client, acme, aid, "es", {**SPANISH, "name": "n" * 201}), 422, "request.invalid")
    _error(
        _put(client, acme, aid, "es", {**SPANISH, "image_caption": "c" * 501}),
        422,
        "request.invalid",
    )
    _error(_put(client, acme, aid, "es", {**SPANISH, "surprise": 1}), 422, "request.invalid")
    _error(_put(client, acme, aid, "es", {"name": "Sin descripción"}), 422, "request.invalid")
    body = _error(
        _put(client, acme, aid, "es", {**SPANISH, "result_names": {"speed": {"name": "Rapidez"}}}),
        422,
        "edition.unknown_result",
    )
    assert "speed" in body["error"]
    bad_level = {"quality": {"levels": {"perfect": "Perfecto"}}}
    _error(
        _put(client, acme, aid, "es", {**SPANISH, "result_names": bad_level}),
        422,
        "edition.unknown_result",
    )
    # Oversized bodies are refused before they are read.
    r = client.put(
        f"{_editions(aid)}/es",
        content=json.dumps({**SPANISH, "description": "d" * 30000}),
        headers={**acme.auth, "Content-Type": "application/json"},
    )
    assert r.status_code in (413, 422) and r.json()["ok"] is False

    # A version without in_language cannot have editions.
    r = client.post(
        f"/api/v1/issuers/{acme.slug}/achievements",
        json={"name": "No language", "description": "Its language is not said."},
        headers=acme.auth,
    )
    bare = r.json()["id"]
    _error(_put(client, acme, bare, "es", SPANISH), 422, "edition.no_original_language")

    # Another issuer's token: the achievement does not exist for it; no token: 401.
    _error(_put(client, globex, aid, "es", SPANISH), 404, "achievement.not_found")
    _error(client.get(_editions(aid), headers=globex.auth), 404, "achievement.not_found")
    _error(client.delete(f"{_editions(aid)}/es", headers=globex.auth), 404, "achievement.not_found")
    assert client.put(f"{_editions(aid)}/es", json=SPANISH).status_code == 401
    # Nothing above was stored.
    assert client.get(_editions(aid), headers=acme.auth).json() == []

    # An edit that would break an edition is refused and changes nothing.
    assert _put(client, acme, aid, "es", SPANISH).status_code == 201
    for change in ({"in_language": None}, {"in_language": "es"}):
        r = client.patch(f"/api/v1/achievements/{aid}", json=change, headers=acme.auth)
        _error(r, 409, "achievement.editions_conflict")
    ach = client.get(f"/api/v1/achievements/{aid}", headers=acme.auth).json()
    assert ach["in_language"] == "en" and ach["editions"] == ["es"]
    _error(
        client.get(f"{_editions(aid)}?version=9", headers=acme.auth), 404, "achievement.not_found"
    )


# ------------------------------------------------------------------------------ issuance


def test_issued_credential_names_its_editions(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    aid = ids["achievement"]
    assert _put(client, acme, aid, "es", SPANISH).status_code == 201
    assert (
        _put(client, acme, aid, "fr", {"name": "Analyse", "description": "Fait."}).status_code
        == 201
    )
    # Before issuance the version (and so its editions) is not public.
    _error(client.get(f"/achievements/{aid}/versions/1/es"), 404, "edition.not_found")
    r = client.post(f"/api/v1/projects/{ids['project']}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    credential = r.json()["credential"]
    ach = credential["credentialSubject"]["achievement"]
    assert ach["inLanguage"] == "en" and ach["name"] == ENGLISH_NAME
    edition_es = f"{BASE}/achievements/{aid}/versions/1/es"
    assert ach["related"] == [
        {"id": edition_es, "type": ["Related"], "inLanguage": "es", "version": "1"},
        {"id": edition_es[:-2] + "fr", "type": ["Related"], "inLanguage": "fr", "version": "1"},
    ]
    assert schema_problems(credential, app.state.ctx.schemas()) == []
    assert verify(credential, loader=app.state.ctx.loader, now=NOW).verified

    # The related id is the edition's OB Achievement, pointing back at the original.
    r = client.get(edition_es.removeprefix(BASE))
    assert r.status_code == 200, r.text
    edition = r.json()
    assert edition["id"] == edition_es and edition["type"] == ["Achievement"]
    assert edition["inLanguage"] == "es" and edition["name"] == SPANISH["name"]
    assert edition["criteria"]["narrative"] == SPANISH["criteria_narrative"]
    assert edition["resultDescription"][0]["name"] == "Calidad del trabajo"
    levels = [lv["name"] for lv in edition["resultDescription"][0]["rubricCriterionLevel"]]
    assert levels == ["Cumple las expectativas", "Supera las expectativas"]
    assert edition["related"] == [
        {"id": ach["id"], "type": ["Related"], "inLanguage": "en", "version": "1"},
        {"id": edition_es[:-2] + "fr", "type": ["Related"], "inLanguage": "fr", "version": "1"},
    ]
    assert client.get(f"/achievements/{aid}/versions/1/ES").json()["inLanguage"] == "es"
    _error(client.get(f"/achievements/{aid}/versions/1/de"), 404, "edition.not_found")
    _error(client.get(f"/achievements/{aid}/versions/1/%00"), 404, "edition.not_found")
    # The original's public JSON names its editions too.
    original = client.get(f"/achievements/{aid}/versions/1").json()
    assert [x["inLanguage"] for x in original["related"]] == ["es", "fr"]

    # Editions may change after issuance; the signed credential does not.
    assert _put(client, acme, aid, "es", {**SPANISH, "name": "Nuevo nombre"}).status_code == 200
    assert client.get(edition_es.removeprefix(BASE)).json()["name"] == "Nuevo nombre"
    signed = client.get(credential["id"].removeprefix(BASE) + ".json").json()
    assert signed == credential

    # An edit after issuance makes version 2, which keeps the translations.
    r = client.patch(f"/api/v1/achievements/{aid}", json={"tags": ["x"]}, headers=acme.auth)
    assert r.status_code == 200 and r.json()["version"] == 2
    assert r.json()["editions"] == ["es", "fr"]
    v1 = client.get(f"{_editions(aid)}?version=1", headers=acme.auth).json()
    v2 = client.get(_editions(aid), headers=acme.auth).json()
    assert [e["version"] for e in v1] == [1, 1] and [e["version"] for e in v2] == [2, 2]
    assert v2[0]["url"] == f"{BASE}/achievements/{aid}/versions/2/es"


# ------------------------------------------------------------------------------ pages


def _page(client: TestClient, path: str, **headers: str) -> Page:
    r = client.get(path, headers={**HTML, **headers})
    assert r.status_code == 200, r.text
    return Page(r.text)


def test_credential_page_in_the_visitors_language(
    app: FastAPI, client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    # The credential was issued before the edition existed: it has no ``related``, but
    # this service hosts its achievement, so the page still finds the edition.
    subject: Any = issued.credential["credentialSubject"]
    assert "related" not in subject["achievement"]
    aid = _achievement_id(issued.credential)
    hostile = {
        **SPANISH,
        "description": "Completó <script>alert(1)</script> un proyecto.",
        "image_caption": 'Insignia "><img src=x onerror=alert(2)>',
    }
    assert _put(client, acme, aid, "es", hostile).status_code == 201

    # English visitors see the signed text, as before, and no note.
    r = client.get(issued.path + "?lang=en", headers=HTML)
    en = Page(r.text)
    (h1,) = en.all("h1")
    assert h1["lang"] == "en"
    assert ENGLISH_NAME in en.text and SPANISH["name"] not in en.text
    assert not en.all("p", id="edition-note")

    # Spanish visitors see the edition, marked lang="es", with the note and a way back.
    r = client.get(issued.path + "?lang=es", headers=HTML)
    assert r.status_code == 200
    es = Page(r.text)
    (h1,) = es.all("h1")
    assert h1["lang"] == "es"
    assert SPANISH["name"] in es.text and ENGLISH_NAME not in es.text
    assert "Completó <script>alert(1)</script> un proyecto." in es.text
    assert "<script>alert(1)" not in r.text and "&lt;script&gt;" in r.text
    assert "<img src=x" not in r.text
    assert not es.all("script")
    assert SPANISH["criteria_narrative"] in es.text
    assert "Calidad del trabajo" in es.text and "Supera las expectativas" in es.text
    assert "Exceeds expectations" not in es.text
    assert len(es.all("dt", lang="es")) >= 1 and es.all("span", lang="es")
    (img,) = es.all("img", **{"class": "badge-image"})
    assert img["alt"] == hostile["image_caption"] and img["lang"] == "es"
    assert es.all("p", lang="es")  # the description and criteria
    (note,) = es.all("p", id="edition-note")
    assert note["data-shown"] == "edition"
    assert (
        "Se muestra en español a partir de la edición en español del emisor. "
        "La credencial firmada está en inglés." in es.text
    )
    (toggle,) = es.all("a", id="edition-toggle")
    assert toggle["href"] == "?lang=es&original=1" and toggle["hreflang"] == "en"
    assert es.meta("og:title") == f"Ada Lovelace: {SPANISH['name']}"

    # The toggle shows the signed text, still in a Spanish page, with a way back.
    orig = _page(client, issued.path + "?lang=es&original=1")
    (h1,) = orig.all("h1")
    assert h1["lang"] == "en" and ENGLISH_NAME in orig.text
    assert SPANISH["name"] not in orig.text
    (note,) = orig.all("p", id="edition-note")
    assert note["data-shown"] == "original"
    (toggle,) = orig.all("a", id="edition-toggle")
    assert toggle["href"] == "?lang=es" and toggle["hreflang"] == "es"

    # Accept-Language es-MX reads Spanish: the es edition (primary subtag match).
    mx = _page(client, issued.path, **{"Accept-Language": "es-MX,es;q=0.9"})
    (h1,) = mx.all("h1")
    assert h1["lang"] == "es" and SPANISH["name"] in mx.text

    # The JSON at the same URL is still the signed original, byte for byte.
    r = client.get(issued.path, headers={"Accept": "application/vc+ld+json"})
    assert json.loads(r.text) == issued.credential

    # Deleting the edition brings the signed text back for everyone.
    assert client.delete(f"{_editions(aid)}/es", headers=acme.auth).status_code == 204
    again = _page(client, issued.path + "?lang=es")
    assert ENGLISH_NAME in again.text and not again.all("p", id="edition-note")


def test_regional_edition_and_pdf(client: TestClient, acme: IssuerHandle, issued: Issued) -> None:
    aid = _achievement_id(issued.credential)
    assert _put(client, acme, aid, "es-MX", SPANISH).status_code == 201
    page = _page(client, issued.path + "?lang=es")
    (h1,) = page.all("h1")
    assert h1["lang"] == "es-MX" and SPANISH["name"] in page.text
    # The PDF certificate follows the page's language.
    r = client.get(f"{issued.path}/certificate.pdf?lang=es")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")


def test_portfolio_lists_names_in_the_visitors_language(
    client: TestClient, acme: IssuerHandle, issued: Issued
) -> None:
    aid = _achievement_id(issued.credential)
    assert _put(client, acme, aid, "es", SPANISH).status_code == 201
    r = client.patch(
        f"/api/v1/candidates/{issued.candidate}/portfolio",
        json={"handle": "ada-languages", "visibility": "public"},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    es = _page(client, "/p/ada-languages?lang=es")
    (h3,) = es.all("h3")
    assert h3["lang"] == "es" and SPANISH["name"] in es.text
    assert ENGLISH_NAME not in es.text
    assert "la credencial firmada está en inglés" in es.text
    en = _page(client, "/p/ada-languages?lang=en")
    (h3,) = en.all("h3")
    assert h3["lang"] == "en" and ENGLISH_NAME in en.text
    assert SPANISH["name"] not in en.text


def test_an_achievement_without_editions_is_unchanged(
    client: TestClient, acme: IssuerHandle
) -> None:
    issued = issue_with_deliverables(client, acme, with_image=False)
    page = _page(client, issued.path + "?lang=es")
    (h1,) = page.all("h1")
    assert h1["lang"] == "en" and ENGLISH_NAME in page.text
    assert not page.all("p", id="edition-note")


@sqlite_only
def test_demo_has_a_spanish_edition(app: FastAPI, client: TestClient) -> None:
    for _ in range(2):  # seeding twice adds nothing
        with app.state.session_factory() as session:
            result = seed_demo(session, app.state.ctx)
    path = result.credential_url.removeprefix(BASE)
    signed = client.get(path + ".json").json()
    (related,) = signed["credentialSubject"]["achievement"]["related"]
    assert related["inLanguage"] == "es"
    assert client.get(related["id"].removeprefix(BASE)).status_code == 200
    es = _page(client, path + "?lang=es")
    (h1,) = es.all("h1")
    assert h1["lang"] == "es" and SPANISH_EDITION["name"] in es.text
    assert "Ejemplar" in es.text
    en = _page(client, path + "?lang=en")
    assert SPANISH_EDITION["name"] not in en.text


# ------------------------------------------------------------------------------ services


@sqlite_only
def test_another_issuers_credential_never_shows_our_edition(
    app: FastAPI, client: TestClient, acme: IssuerHandle, globex: IssuerHandle, issued: Issued
) -> None:
    # A credential signed through the VC-API names whatever achievement id the issuer
    # sends; one naming another issuer's achievement URL must not get its editions.
    aid = _achievement_id(issued.credential)
    ach_id = f"{BASE}/achievements/{aid}/versions/1"
    with app.state.session_factory() as session:
        acme_row = session.get(models.Credential, issued.id)
        assert acme_row is not None
        other = models.Issuer(slug="x", name="X", did="did:web:x")
        session.add(other)
        session.flush()
        foreign = models.Credential(id="f", issuer_id=other.id or 0, document="{}")
        own = models.Credential(id="o", issuer_id=acme_row.issuer_id, document="{}")
        ctx = app.state.ctx
        assert achievements.hosted_version(session, ctx, foreign, ach_id) is None
        found = achievements.hosted_version(session, ctx, own, ach_id)
        assert found is not None and found.achievement_id == aid
        for bad in (None, "", f"{ach_id}/es", f"{ach_id}x", "https://elsewhere.example/a"):
            assert achievements.hosted_version(session, ctx, own, bad) is None
        session.rollback()


def test_pick_edition_and_canonical_tags() -> None:
    def edition(lang: str) -> models.AchievementEdition:
        return models.AchievementEdition(
            achievement_version_id=1, lang=lang, name="n", description="d"
        )

    def picked(editions: list[models.AchievementEdition], lang: str) -> str | None:
        found = achievements.pick_edition(editions, lang)
        return found.lang if found is not None else None

    eds = [edition("es-MX"), edition("es"), edition("fr")]
    assert picked(eds, "es") == "es"
    assert picked(eds, "es-MX") == "es-MX"
    assert picked(eds[:1], "es") == "es-MX"  # a regional edition serves the language
    assert picked(eds, "de") is None
    assert achievements.canonical_lang("ZH-hant-tw") == "zh-Hant-TW"
    assert achievements.canonical_lang("es-419") == "es-419"
    with pytest.raises(achievements.EditionError):
        achievements.canonical_lang("es-x-private")


# ------------------------------------------------------------------------------ storage


def test_edition_table_after_migrations(database_url: str) -> None:
    engine = sqlalchemy.create_engine(database_url)
    try:
        upgrade(engine, "heads")
        assert "achievement_edition" in sqlalchemy.inspect(engine).get_table_names()
        with Session(engine) as session:
            issuer = models.Issuer(slug="a", name="A", did="did:web:x:issuers:a")
            session.add(issuer)
            session.flush()
            ach = models.Achievement(issuer_id=issuer.id or 0)
            session.add(ach)
            session.flush()
            version = models.AchievementVersion(
                achievement_id=ach.id or 0, version=1, name="n", description="d", in_language="en"
            )
            session.add(version)
            session.flush()
            for _ in range(2):
                session.add(
                    models.AchievementEdition(
                        achievement_version_id=version.id or 0,
                        lang="es",
                        name="n",
                        description="d",
                        result_names={"q": {"name": "Calidad"}},
                    )
                )
            with pytest.raises(IntegrityError):
                session.commit()
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------ console


@sqlite_only
@pytest.mark.usefixtures("fast_scrypt")
def test_console_adds_and_edits_an_edition(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    aid = draft_project(client, acme)["achievement"]
    assert _put(client, acme, aid, "es", SPANISH).status_code == 201  # rubric names via API
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    base = f"/console/acme/achievements/{aid}"
    page = Page(client.get(base).text)
    assert page.all("section", id="editions") and page.all("span", lang="es")

    # Change the Spanish edition from the console. The form shows the rubric names the API
    # set (criterion 0 and its levels 0 and 1), and saves what the fields then hold.
    form = Page(client.get(f"{base}?edition=es").text)
    (lang_input,) = form.all("input", id="edition-lang")
    assert lang_input["value"] == "es"
    fields = {f: form.all("input", id=f)[0]["value"] for f in ("rn_0", "rn_0_0", "rn_0_1")}
    assert fields == {
        "rn_0": "Calidad del trabajo",
        "rn_0_0": "Cumple las expectativas",
        "rn_0_1": "Supera las expectativas",
    }
    r = client.post(
        f"{base}/editions",
        data={
            "csrf_token": csrf,
            "lang": "es",
            "name": "Análisis de datos",
            "description": "Un proyecto <b>real</b>.",
            "rn_0": "Calidad",
            "rn_0_0": "Cumple las expectativas",
            "rn_0_1": "",  # emptied: the original level name shows
        },
    )
    assert r.status_code == 200 and "The language edition was saved." in r.text
    (edition,) = client.get(_editions(aid), headers=acme.auth).json()
    assert edition["name"] == "Análisis de datos" and edition["criteria_narrative"] is None
    assert edition["result_names"] == {
        "quality": {"name": "Calidad", "levels": {"meets": "Cumple las expectativas"}}
    }

    # Bad input is shown on the form and changes nothing.
    for bad in ({"lang": "en"}, {"lang": "e$"}, {"lang": "fr", "name": ""}):
        body = {"csrf_token": csrf, "name": "Nom", "description": "Texte.", **bad}
        r = client.post(f"{base}/editions", data=body)
        assert r.status_code == 422 and Page(r.text).all("div", id="edition-error"), bad
    assert [e["lang"] for e in client.get(_editions(aid), headers=acme.auth).json()] == ["es"]
    # Without the CSRF token nothing happens either.
    r = client.post(f"{base}/editions", data={"lang": "fr", "name": "N", "description": "D"})
    assert r.status_code in (400, 403)

    r = client.post(f"{base}/editions/es/delete", data={"csrf_token": csrf})
    assert r.status_code == 200 and "The language edition was deleted." in r.text
    assert client.get(_editions(aid), headers=acme.auth).json() == []
