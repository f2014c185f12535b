"""Stored data and uploaded content, attacked through a served app on both databases.

- An achievement edit that would make every later credential fail (nulls, an
  ``achievement_type`` or ``in_language`` outside OB 3.0) is refused with a 422 and
  nothing of it is stored; the API and the console form refuse it alike.
- Hostile SVG badge images lose scripts, event handlers, ``foreignObject`` and external
  references before they are stored and before they are baked; a clean one still bakes
  and verifies.
- A truncated PNG photo is refused.
- The data directory, the SQLite files and the blobs are owner-only, and the outbox
  holds the sign-in links it queues encrypted: the database never has them in clear.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from fastapi import FastAPI
from PIL import Image
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from badgeworks.adapters.smtp import Mail
from badgeworks.core.baking import extract_svg
from badgeworks.services.infra import outbox
from badgeworks.settings import get_settings
from badgeworks.web.app import create_app
from tests.console_staff import add_staff, fast_scrypt  # noqa: F401
from tests.issuer_app import ACHIEVEMENT, NOW, TEST_SECRET, IssuerHandle, make_issuer
from tests.servers import free_port, serve

EMAIL = "ada@example.org"


@dataclass
class Site:
    base: str
    app: FastAPI
    http: httpx.Client
    acme: IssuerHandle
    database_url: str
    data_dir: Path

    @property
    def auth(self) -> dict[str, str]:
        return self.acme.auth


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[Site]:
    """A real app served by uvicorn on loopback, on SQLite or PostgreSQL, with an issuer.

    Created under umask 022 (the usual default), so owner-only modes are the service's
    own doing.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = get_settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        key_secret=TEST_SECRET,
        public_base_url=base,
        max_upload_bytes=256 * 1024,
        fetch_allow_private=True,
    )
    old = os.umask(0o022)
    try:
        application = create_app(settings, clock=lambda: NOW)
    finally:
        os.umask(old)
    try:
        with serve(application, port), httpx.Client(base_url=base, timeout=30) as http:
            yield Site(
                base,
                application,
                http,
                make_issuer(application, "acme"),
                database_url,
                settings.data_dir,
            )
    finally:
        application.state.engine.dispose()


def _draft(site: Site, achievement: dict[str, Any] | None = None) -> dict[str, int]:
    r = site.http.post(
        "/api/v1/issuers/acme/achievements", json=achievement or ACHIEVEMENT, headers=site.auth
    )
    assert r.status_code == 201, r.text
    achievement_id = r.json()["id"]
    return {"achievement": achievement_id, **_project(site, achievement_id)}


def _project(site: Site, achievement_id: int, results: bool = True) -> dict[str, int]:
    r = site.http.post(
        "/api/v1/issuers/acme/candidates",
        json={"name": "Ada Lovelace", "emails": [EMAIL]},
        headers=site.auth,
    )
    assert r.status_code == 201, r.text
    candidate_id = r.json()["id"]
    r = site.http.post(
        "/api/v1/issuers/acme/projects",
        json={
            "achievement_id": achievement_id,
            "candidate_id": candidate_id,
            "title": "Churn analysis",
            "host": {"name": "Northwind Traders", "url": "https://northwind.example"},
            "results": (
                [{"result_description": "quality", "achieved_level": "meets"}] if results else []
            ),
        },
        headers=site.auth,
    )
    assert r.status_code == 201, r.text
    return {"candidate": candidate_id, "project": r.json()["id"]}


def _complete(site: Site, project_id: int) -> dict[str, Any]:
    r = site.http.post(f"/api/v1/projects/{project_id}/complete", headers=site.auth)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _still_usable(site: Site, achievement_id: int) -> dict[str, Any]:
    """The achievement, the issuer's list, a new project and its credential all work."""
    one = site.http.get(f"/api/v1/achievements/{achievement_id}", headers=site.auth)
    assert one.status_code == 200, one.text
    listed = site.http.get("/api/v1/issuers/acme/achievements", headers=site.auth)
    assert listed.status_code == 200, listed.text
    ids = _project(site, achievement_id, results=bool(one.json()["result_descriptions"]))
    _complete(site, ids["project"])
    body: dict[str, Any] = one.json()
    return body


# ----------------------------------------------------------------------------- achievements


def test_null_fields_are_refused_or_empty_lists_and_nothing_broken_is_stored(
    site: Site,
) -> None:
    ids = _draft(site)
    _complete(site, ids["project"])  # version 1 is issued: an edit makes a new version
    url = f"/api/v1/achievements/{ids['achievement']}"
    for field in ("name", "description", "achievement_type"):
        r = site.http.patch(url, json={field: None}, headers=site.auth)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == f"achievement.{field}_required", r.text
        assert field in r.json()["error"]
        versions = site.http.get(f"{url}/versions", headers=site.auth)
        assert [v["version"] for v in versions.json()] == [1]
        _still_usable(site, ids["achievement"])
    # A null list means "none": stored as an empty list, and the achievement still issues.
    for field in ("tags", "alignments", "result_descriptions"):
        r = site.http.patch(url, json={field: None}, headers=site.auth)
        assert r.status_code == 200, r.text
        assert r.json()[field] == []
        assert _still_usable(site, ids["achievement"])[field] == []


def test_achievement_type_and_language_outside_ob3_are_refused(site: Site) -> None:
    ids = _draft(site)
    url = f"/api/v1/achievements/{ids['achievement']}"
    for body, code in [
        ({"achievement_type": "AA"}, "achievement.achievement_type_invalid"),
        ({"achievement_type": "Fieldworkk"}, "achievement.achievement_type_invalid"),
        ({"in_language": "en-abcdefgh"}, "achievement.in_language_invalid"),
        ({"in_language": "en-US-x-private"}, "achievement.in_language_invalid"),
    ]:
        r = site.http.patch(url, json=body, headers=site.auth)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == code, r.text
    r = site.http.post(
        "/api/v1/issuers/acme/achievements",
        json={**ACHIEVEMENT, "achievement_type": "AA"},
        headers=site.auth,
    )
    assert r.status_code == 422 and r.json()["code"] == "achievement.achievement_type_invalid"
    # A tag in another case is the same language: stored in the case OB 3.0 asks for.
    r = site.http.patch(url, json={"in_language": "AA"}, headers=site.auth)
    assert r.status_code == 200 and r.json()["in_language"] == "aa", r.text
    r = site.http.patch(url, json={"achievement_type": "ext:Micro-Internship"}, headers=site.auth)
    assert r.status_code == 200, r.text
    issued = _complete(site, ids["project"])
    assert issued["credential"]["credentialSubject"]["achievement"]["inLanguage"] == "aa"
    _a_version_the_schema_refuses_names_its_field(site)


@pytest.mark.usefixtures("fast_scrypt")
def test_the_console_form_refuses_what_the_api_refuses(site: Site) -> None:
    from tests.console_staff import PASSWORD
    from tests.html_page import csrf_of

    add_staff(site.app, "acme", "grace@example.org", "issuer")
    page = site.http.get("/console/login")
    r = site.http.post(
        "/console/login",
        data={"email": "grace@example.org", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303, r.text
    csrf = csrf_of(site.http.get("/console/acme/achievements/new").text)
    form = {
        "name": "Data analysis",
        "description": "A project.",
        "achievement_type": "AA",
        "in_language": "en",
        "csrf_token": csrf,
    }
    for action in ("preview", "save"):
        r = site.http.post("/console/acme/achievements/new", data={**form, "action": action})
        assert r.status_code == 422, r.text
        assert "achievement_type" in r.text
    listed = site.http.get("/api/v1/issuers/acme/achievements", headers=site.auth)
    assert listed.json() == []


# ----------------------------------------------------------------------------- SVG images

HOSTILE_SVG = """<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="100" height="100" viewBox="0 0 100 100" onload="alert(1)">
  <title>Data badge</title>
  <script>alert(document.cookie)</script>
  <script xlink:href="https://evil.example/x.js"/>
  <circle cx="50" cy="50" r="40" fill="teal" onclick="alert(2)" style="fill:url(https://evil.example/f)"/>
  <foreignObject width="100" height="100">
    <div xmlns="http://www.w3.org/1999/xhtml"><iframe src="https://evil.example/"/></div>
  </foreignObject>
  <a href="javascript:alert(3)"><text x="10" y="20">click</text></a>
  <a xlink:href=" JaVaScRiPt:alert(4)"><rect width="5" height="5"/></a>
  <image href="https://evil.example/track.png" width="10" height="10"/>
  <use xlink:href="https://evil.example/sprite.svg#x"/>
  <style>@import url(https://evil.example/x.css);</style>
  <set attributeName="onmouseover" to="alert(5)"/>
  <animate attributeName="href" to="javascript:alert(6)"/>
  <iframe xmlns="http://www.w3.org/1999/xhtml" src="https://evil.example/"/>
</svg>
"""

BAD = (
    "<script",
    "onload",
    "onclick",
    "foreignobject",
    "javascript",
    "evil.example",
    "<set",
    "<animate",
    "iframe",
    "@import",
)


def _image(site: Site, achievement_id: int, data: bytes, name: str) -> httpx.Response:
    return site.http.put(
        f"/api/v1/achievements/{achievement_id}/image",
        files={"file": (name, data, "application/octet-stream")},
        data={"caption": "A teal disc"},
        headers=site.auth,
    )


def test_a_hostile_svg_is_defused_on_upload_and_in_the_baked_badge(site: Site) -> None:
    ids = _draft(site)
    r = _image(site, ids["achievement"], HOSTILE_SVG.encode(), "badge.svg")
    assert r.status_code == 200, r.text
    stored = site.http.get(r.json()["image_url"].removeprefix(site.base))
    assert stored.status_code == 200
    issued = _complete(site, ids["project"])
    baked = site.http.get(f"/credentials/{issued['id']}/badge.svg")
    assert baked.status_code == 200, baked.text
    for text in (stored.text, baked.text):
        lowered = text.lower()
        for needle in BAD:
            assert needle not in lowered, (needle, text)
        assert "<circle" in lowered and "<title>data badge</title>" in lowered
    assert json.loads(extract_svg(baked.text)) == issued["credential"]
    report = site.http.post(
        "/api/v1/verify", files={"file": ("badge.svg", baked.content, "image/svg+xml")}
    )
    assert report.status_code == 200 and report.json()["verified"] is True, report.text
    _an_svg_stored_before_defusing_is_defused_when_baked(site)


def _an_svg_stored_before_defusing_is_defused_when_baked(site: Site) -> None:
    from badgeworks.db.models import Achievement
    from badgeworks.services.programs import achievements

    ids = _draft(site)
    ctx = site.app.state.ctx
    sha256 = ctx.blobs.put(HOSTILE_SVG.encode())  # as an older release stored it
    with site.app.state.session_factory() as session:
        row = session.get(Achievement, ids["achievement"])
        assert row is not None
        achievements.set_image(
            session,
            row,
            sha256=sha256,
            media_type="image/svg+xml",
            caption="x",
            actor="test",
            now=ctx.clock(),
        )
    issued = _complete(site, ids["project"])
    baked = site.http.get(f"/credentials/{issued['id']}/badge.svg")
    assert baked.status_code == 200, baked.text
    for needle in BAD:
        assert needle not in baked.text.lower(), needle
    assert json.loads(extract_svg(baked.text)) == issued["credential"]


UNUSABLE_SVGS = [
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "xx">]>'
    '<svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
    '<svg xmlns="http://www.w3.org/2000/svg"><circle r="1"></svg>',
    '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><svg/></html>',
]


def test_an_svg_that_cannot_be_defused_is_refused(site: Site) -> None:
    ids = _draft(site)
    for svg in UNUSABLE_SVGS:
        r = _image(site, ids["achievement"], svg.encode(), "badge.svg")
        assert r.status_code == 422, r.text
        assert r.json()["code"].startswith("image."), r.text
    one = site.http.get(f"/api/v1/achievements/{ids['achievement']}", headers=site.auth)
    assert one.json()["image_url"] is None


# ----------------------------------------------------------------------------- photos


def _candidate_sign_in(site: Site) -> str:
    """Sign in at /me with the link from the outbox; returns the mailed link."""
    page = site.http.get("/me/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text
    r = site.http.post("/me/sign-in", data={"email": EMAIL, "csrf_token": csrf.group(1)})
    assert r.status_code == 200, r.text
    sent: list[Mail] = []
    with site.app.state.session_factory() as session:
        outbox.send_pending(session, site.app.state.ctx, sent.append)
    (mail,) = sent
    found = re.search(re.escape(site.base) + r"/me/link/[A-Za-z0-9_-]+", mail.text)
    assert found, mail.text
    link = found.group(0)
    page = site.http.get(link)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce, page.text
    r = site.http.post(link, data={"nonce": nonce.group(1)})
    assert r.status_code == 303, r.text
    return link


def test_a_truncated_png_photo_is_refused(site: Site) -> None:
    r = site.http.post(
        "/api/v1/issuers/acme/candidates",
        json={"name": "Ada Lovelace", "emails": [EMAIL]},
        headers=site.auth,
    )
    candidate_id = r.json()["id"]
    _candidate_sign_in(site)
    me = site.http.get("/me")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', me.text)
    assert csrf, me.text
    out = io.BytesIO()
    Image.effect_noise((64, 64), 40).convert("RGB").save(out, "PNG")
    png = out.getvalue()
    for cut in (len(png) - 12, len(png) - 20):  # no IEND; the last IDAT cut short
        r = site.http.post(
            f"/me/photo/{candidate_id}",
            files={"file": ("me.png", png[:cut], "image/png")},
            data={"caption": "Ada at her desk", "csrf_token": csrf.group(1)},
        )
        assert r.status_code == 422, r.text
        assert "truncated" in r.text
        assert site.http.get(f"/me/photo/{candidate_id}").status_code == 404
    r = site.http.post(
        f"/me/photo/{candidate_id}",
        files={"file": ("me.png", png, "image/png")},
        data={"caption": "Ada at her desk", "csrf_token": csrf.group(1)},
    )
    assert r.status_code == 303, r.text
    assert site.http.get(f"/me/photo/{candidate_id}").status_code == 200


# ----------------------------------------------------------------------------- at rest


def _raw_outbox_text(site: Site) -> str:
    """Every byte the database holds for the outbox, read without the service."""
    if site.database_url.startswith("sqlite"):
        path = Path(site.database_url.split(":///", 1)[1])
        files = [path, Path(f"{path}-wal")]
        return "".join(p.read_bytes().decode("latin-1") for p in files if p.exists())
    engine = sqlalchemy.create_engine(site.database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text("SELECT body_text, body_html FROM outbox_message"))
            return "\n".join(f"{a}\n{b}" for a, b in rows)
    finally:
        engine.dispose()


def test_queued_sign_in_links_are_encrypted_at_rest(site: Site) -> None:
    site.http.post(
        "/api/v1/issuers/acme/candidates",
        json={"name": "Ada Lovelace", "emails": [EMAIL]},
        headers=site.auth,
    )
    page = site.http.get("/me/sign-in")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    r = site.http.post("/me/sign-in", data={"email": EMAIL, "csrf_token": csrf.group(1)})
    assert r.status_code == 200, r.text
    with site.app.state.session_factory() as session:
        (row,) = outbox.list_messages(session)
        token = re.search(r"/me/link/([A-Za-z0-9_-]+)", row.body_text)
        assert token, row.body_text
    raw = _raw_outbox_text(site)
    assert "bwseal1:" in raw
    assert token.group(1) not in raw and "/me/link/" not in raw

    # A row queued in clear by an older release is still delivered as it is.
    engine = sqlalchemy.create_engine(site.database_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.text(
                'INSERT INTO outbox_message ("to", subject, body_text, body_html, status, '
                "attempts, reference, created_at) VALUES ('old@example.org', 'old', "
                "'old text', '<p>old</p>', 'pending', 0, '', :now)"
            ),
            {"now": NOW},
        )
    engine.dispose()
    sent: list[Mail] = []
    with site.app.state.session_factory() as session:
        result = outbox.send_pending(session, site.app.state.ctx, sent.append)
    assert result.sent == 2, result
    assert token.group(1) in sent[0].text and token.group(1) in sent[0].html
    assert (sent[1].text, sent[1].html) == ("old text", "<p>old</p>")
    _a_message_sealed_under_another_secret_fails_clearly(site)


def _a_message_sealed_under_another_secret_fails_clearly(site: Site) -> None:
    from badgeworks.db.outbox import OutboxMessage, is_sealed

    other = sqlalchemy.create_engine(site.database_url, poolclass=NullPool)
    try:
        outbox.seal_outbox(other, "another-secret-0123456789abcdef")
        with Session(other) as session:
            session.add(
                OutboxMessage(to="a@example.org", subject="s", body_text="t", body_html="h")
            )
            session.commit()
    finally:
        other.dispose()
    sent: list[Mail] = []
    with site.app.state.session_factory() as session:
        result = outbox.send_pending(session, site.app.state.ctx, sent.append)
        row = outbox.list_messages(session)[-1]
    assert sent == [] and result.failed == 1
    assert row.status == "pending" and is_sealed(row.body_text)
    assert row.last_error is not None and "BADGEWORKS_KEY_SECRET" in row.last_error


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_files_at_rest_are_owner_only(site: Site) -> None:
    ids = _draft(site)
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 128)).save(out, "PNG")
    assert _image(site, ids["achievement"], out.getvalue(), "b.png").status_code == 200
    assert stat.S_IMODE(site.data_dir.stat().st_mode) == 0o700
    blobs = [p for p in (site.data_dir / "blobs").rglob("*")]
    assert any(p.is_file() for p in blobs)
    for path in blobs:
        assert _private(path), (path, oct(path.stat().st_mode))
    if site.database_url.startswith("sqlite"):
        db = Path(site.database_url.split(":///", 1)[1])
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in files)
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    db = data / "badgeworks.db"
    db.touch(mode=0o644)
    os.chmod(data, 0o755)
    os.chmod(db, 0o644)
    settings = get_settings(data_dir=data, key_secret=TEST_SECRET)
    application = create_app(settings)
    application.state.engine.dispose()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_the_achievement_types_are_the_ob3_schema_enumeration() -> None:
    from badgeworks.adapters.resources import schema
    from badgeworks.services.programs.achievements import ACHIEVEMENT_TYPES

    ob = schema("ob_v3p0_achievementcredential_schema.json")
    one_of = ob["$defs"]["Achievement"]["properties"]["achievementType"]["oneOf"]
    assert set(one_of[0]["enum"]) == ACHIEVEMENT_TYPES


def _a_version_the_schema_refuses_names_its_field(site: Site) -> None:
    """Past the field checks, the would-be credential itself is checked before storing."""
    from badgeworks.db.models import Achievement, Issuer
    from badgeworks.services.programs import achievements

    ids = _draft(site)
    ctx = site.app.state.ctx
    with site.app.state.session_factory() as session:
        row = session.get(Achievement, ids["achievement"])
        assert row is not None
        issuer = session.get(Issuer, row.issuer_id)
        assert issuer is not None
        version = achievements.current_version(session, row)
        achievements.check_issuable(session, ctx, issuer, version)  # as stored: fine
        version.achievement_type = "AA"
        with pytest.raises(achievements.AchievementInvalid) as caught:
            achievements.check_issuable(session, ctx, issuer, version)
        assert caught.value.code == "achievement.achievement_type_invalid"
        session.rollback()
        version = achievements.current_version(session, row)
        version.alignments = [{"target_name": "x", "target_url": "not a url"}]
        with pytest.raises(achievements.AchievementInvalid) as caught:
            achievements.check_issuable(session, ctx, issuer, version)
        assert caught.value.code == "achievement.alignments_invalid", caught.value.message
    assert _still_usable(site, ids["achievement"])["achievement_type"] == "Fieldwork"
