"""The program console: sign-in, sessions, roles, CSRF, cross-program isolation on every
console route, the issue flow through the same services as the API, bulk CSV, bad input."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import select

from badgeworks.cli_service import service_commands
from badgeworks.db.models import AuditEvent, Credential, Project
from badgeworks.services.accounts import staff
from badgeworks.services.issuance import bulk
from badgeworks.web.routes import console as console_pages
from badgeworks.web.routes.console.common import ConsoleRoute
from tests.console_staff import PASSWORD, add_staff, fast_scrypt, sign_in
from tests.html_page import csrf_of
from tests.issuer_app import NOW, TEST_SECRET, IssuerHandle, draft_project

pytestmark = pytest.mark.usefixtures("fast_scrypt")
__all__ = ["fast_scrypt"]

# A whole 1 × 1 PNG: images are decoded before they are stored.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c49444154789c63606868000001840101568f20230000000049454e44ae426082"
)
ACH_FORM = {
    "name": "Data Analysis",
    "description": "Completed a mentored data analysis project.",
    "criteria_narrative": "Delivered a cleaned dataset and a report.",
    "achievement_type": "Fieldwork",
    "in_language": "en",
    "tags": "data, python",
    "alignments": "Data analysis | https://esco.example/skill/1 | ESCO | S1.2",
    "rubric": "quality | Quality of work | meets=Meets expectations; exceeds=Exceeds",
}


def _count(app: FastAPI, model: type) -> int:
    with app.state.session_factory() as session:
        return len(list(session.exec(select(model))))


def test_password_hashes_are_salted_scrypt_and_checked_in_constant_time() -> None:
    first, second = staff.hash_password("a long password!"), staff.hash_password("a long password!")
    assert first != second and first.startswith(f"scrypt${staff._SCRYPT_N}$8$1$")
    assert staff.check_password("a long password!", first)
    assert not staff.check_password("a long password?", first)
    assert not staff.check_password("anything", None)
    assert not staff.check_password("anything", "md5$garbage")


def test_sign_in_session_cookie_expiry_and_sign_out(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    assert client.get("/console/acme/", follow_redirects=False).status_code == 303
    page = client.get("/console/login")
    r = client.post(
        "/console/login",
        data={
            "email": "owner@acme.example",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # the base URL is http:// in tests
    assert client.get("/console/acme/").status_code == 200

    # Idle for longer than the timeout: the session is gone.
    app.state.ctx.clock = lambda: NOW + staff.IDLE_TIMEOUT + timedelta(seconds=1)
    r = client.get("/console/acme/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next=")
    app.state.ctx.clock = lambda: NOW

    # Signing out ends the session on the server: replaying the old cookie fails.
    token = client.cookies.get("bw_console")
    home = client.get("/console/acme/")
    assert (
        client.post(
            "/console/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False
        ).status_code
        == 303
    )
    client.cookies.set("bw_console", token or "", path="/console")
    assert client.get("/console/acme/", follow_redirects=False).status_code == 303


def test_login_is_rate_limited_and_needs_its_csrf_token(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    token = csrf_of(client.get("/console/login").text)
    r = client.post(
        "/console/login",
        data={"email": "owner@acme.example", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert r.status_code == 403
    for _ in range(staff.MAX_FAILURES_PER_EMAIL):
        r = client.post(
            "/console/login",
            data={"email": "owner@acme.example", "password": "wrong password", "csrf_token": token},
        )
        assert r.status_code == 401 and "wrong" in r.text
    r = client.post(
        "/console/login",
        data={"email": "owner@acme.example", "password": PASSWORD, "csrf_token": token},
    )
    assert r.status_code == 429 and "bw_console" not in r.headers.get("set-cookie", "")


def test_viewer_reads_but_is_refused_issuer_actions_and_forged_csrf_changes_nothing(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    add_staff(app, "acme", "viewer@acme.example", "viewer")
    csrf = sign_in(client, "viewer@acme.example")
    assert client.get(f"/console/acme/projects/{ids['project']}").status_code == 200
    r = client.post(f"/console/acme/projects/{ids['project']}/issue", data={"csrf_token": csrf})
    assert r.status_code == 403 and "viewer" in r.text and "<h1>" in r.text
    assert client.get(f"/console/acme/projects/{ids['project']}/issue").status_code == 403
    assert (
        client.post("/console/acme/settings/keys/rotate", data={"csrf_token": csrf}).status_code
        == 403
    )
    assert _count(app, Credential) == 0

    add_staff(app, "acme", "issuer@acme.example", "issuer")
    sign_in(client, "issuer@acme.example")
    for data in ({"csrf_token": "forged"}, {}):
        r = client.post(f"/console/acme/projects/{ids['project']}/issue", data=data)
        assert r.status_code == 403 and "CSRF" in r.text
    # A token of another session is not this session's token either.
    r = client.post(f"/console/acme/projects/{ids['project']}/issue", data={"csrf_token": csrf})
    assert r.status_code == 403
    # An issuer may not manage keys or staff (owners only).
    home = client.get("/console/acme/")
    own = csrf_of(home.text)
    assert client.post("/console/acme/settings/tokens", data={"csrf_token": own}).status_code == 403
    assert _count(app, Credential) == 0
    with app.state.session_factory() as session:
        assert session.get(Project, ids["project"]).status == "draft"


def _fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::path)?\}", lambda m: values.get(m.group(1), "1"), path)


def test_every_console_route_hides_other_programs(
    app: FastAPI, client: TestClient, acme: IssuerHandle, globex: IssuerHandle
) -> None:
    foreign = draft_project(client, globex)
    cred = client.post(f"/api/v1/projects/{foreign['project']}/complete", headers=globex.auth)
    credential_id = cred.json()["id"]
    link = client.post(
        f"/api/v1/projects/{draft_project(client, globex)['project']}/links",
        json={"name": "x", "url": "https://x.example"},
        headers=globex.auth,
    ).json()
    add_staff(app, "globex", "boss@globex.example", "owner")
    with app.state.session_factory() as session:
        globex_staff = staff.find_staff(session, "boss@globex.example")
        assert globex_staff is not None
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    values = {
        "achievement_id": str(foreign["achievement"]),
        "project_id": str(foreign["project"]),
        "deliverable_id": str(link["id"]),
        "credential_id": credential_id,
        "job_id": "1",
        "token_id": "1",  # globex's first token (acme's was created first: id 1 is acme's)
        "staff_id": str(globex_staff.id),
        "action": "revoke",
    }
    checked = 0
    for route in [r for module in console_pages.PAGES for r in module.router.routes]:
        assert isinstance(route, ConsoleRoute)
        if "{slug}" not in route.path:
            continue
        for method in route.methods:  # type: ignore[union-attr]
            for slug in ("globex", "acme"):
                params = {**values, "slug": slug}
                if slug == "acme":
                    if not re.search(r"\{(?!slug)\w+\}", route.path):
                        continue  # only the program's own lists and forms
                    if "{token_id}" in route.path:
                        params["token_id"] = "2"  # globex's token
                path = _fill(route.path, params)
                if method == "POST":
                    # Multipart, so upload routes get as far as their checks too.
                    r = client.post(
                        path, data={"csrf_token": csrf}, files={"file": ("x.png", PNG, "image/png")}
                    )
                else:
                    r = client.get(path)
                assert r.status_code == 404, (method, path, r.status_code, r.text[:300])
                assert "text/html" in r.headers["content-type"]
                checked += 1
    assert checked > 40
    # Nothing of globex's changed.
    with app.state.session_factory() as session:
        assert session.get(Project, foreign["project"]).status == "completed"
    assert (
        client.get("/api/v1/issuers/globex/credentials", headers=globex.auth).json()[0][
            "revoked_at"
        ]
        is None
    )


def test_issue_flow_uses_the_same_services_and_audits_the_staff_member(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    r = client.post(
        "/console/acme/achievements/new", data={**ACH_FORM, "action": "preview", "csrf_token": csrf}
    )
    assert r.status_code == 200 and "Exceeds" in r.text and "ESCO" in r.text
    # The form's field limits hold (one form class serves new and edit): refused, unsaved.
    r = client.post(
        "/console/acme/achievements/new",
        data={**ACH_FORM, "name": "x" * 201, "action": "save", "csrf_token": csrf},
    )
    assert r.status_code == 422, r.text
    assert client.get("/api/v1/issuers/acme/achievements", headers=acme.auth).json() == []
    r = client.post(
        "/console/acme/achievements/new", data={**ACH_FORM, "action": "save", "csrf_token": csrf}
    )
    achievement_url = r.url.path
    achievement_id = achievement_url.rsplit("/", 1)[-1]
    # An image that is not an image, and one without alt text, change nothing.
    r = client.post(
        f"{achievement_url}/image",
        data={"csrf_token": csrf, "caption": "A teal disc"},
        files={"file": ("x.png", b"MZ not an image", "image/png")},
    )
    assert r.status_code == 422 and "PNG or an SVG" in r.text
    r = client.post(
        f"{achievement_url}/image",
        data={"csrf_token": csrf, "caption": " "},
        files={"file": ("x.png", PNG, "image/png")},
    )
    assert r.status_code == 422 and "alternative text" in r.text
    r = client.post(
        f"{achievement_url}/image",
        data={"csrf_token": csrf, "caption": "A teal disc"},
        files={"file": ("x.png", PNG, "image/png")},
    )
    assert r.status_code == 200 and 'alt="A teal disc"' in r.text

    r = client.post(
        "/console/acme/projects/new",
        data={
            "csrf_token": csrf,
            "achievement_id": achievement_id,
            "candidate_name": "Ada Lovelace",
            "candidate_email": "ada@example.org",
            "title": "Churn analysis",
            "host_name": "Northwind",
            "host_url": "https://northwind.example",
            "start_date": "2025-03-01",
            "end_date": "2025-03-28",
            "mentors": "Grace Hopper | grace@example.org | Lead analyst",
        },
    )
    project_url = r.url.path
    assert r.status_code == 200 and "In progress" in r.text
    r = client.post(
        f"{project_url}/deliverables",
        data={"csrf_token": csrf, "name": "Report"},
        files={"file": ("report.txt", b"the report", "text/plain")},
    )
    assert r.status_code == 200 and "report.txt" in r.text
    r = client.post(
        f"{project_url}/assessment", data={"csrf_token": csrf, "level_quality": "exceeds"}
    )
    assert r.status_code == 200
    preview = client.get(f"{project_url}/issue")
    assert preview.status_code == 200 and "OpenBadgeCredential" in preview.text
    assert _count(app, Credential) == 0  # previewing signs nothing
    r = client.post(f"{project_url}/issue", data={"csrf_token": csrf})
    assert r.status_code == 200
    credential_id = r.url.path.rsplit("/", 1)[-1]
    served = client.get(f"/credentials/{credential_id}.json").content.decode()
    with app.state.session_factory() as session:
        row = session.get(Credential, credential_id)
        assert row is not None and row.document == served
        events = list(
            session.exec(select(AuditEvent).where(AuditEvent.action == "credential.issue"))
        )
        assert [e.actor for e in events] == ["staff:owner@acme.example"]
    document = json.loads(served)
    assert document["credentialSubject"]["achievement"]["name"] == "Data Analysis"
    assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022" or document["proof"]

    r = client.get(f"/console/acme/credentials/{credential_id}/revoke")
    assert r.status_code == 200 and "cannot be undone" in r.text
    r = client.post(
        f"/console/acme/credentials/{credential_id}/revoke",
        data={"csrf_token": csrf, "reason": "issued by mistake"},
    )
    assert r.status_code == 200 and "issued by mistake" in r.text
    r = client.get("/console/acme/credentials?q=ada@example.org&status=revoked")
    assert credential_id in r.text
    r = client.get("/console/acme/")
    # The dashboard says who revoked what, in words.
    assert "owner@acme.example revoked Ada Lovelace's credential" in html.unescape(r.text)


CSV_HEADER = "achievement_id,candidate_name,candidate_email,project_title,host_name\n"


def test_bulk_validates_every_row_first_then_issues_the_good_ones(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    ids = draft_project(client, acme)
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    a = ids["achievement"]
    body = (
        CSV_HEADER
        + f"{a},Bo Good,bo@example.org,P1,Host\n"
        + f"{a},Cy Bad,not-an-email,P2,Host\n"
        + f'{a},"=HYPERLINK(""http://x"")",cy@example.org,P3,Host\n'
        + f"{a},Bo Again,bo@example.org,P4,Host\n"
        + "999,Di Nowhere,di@example.org,P5,Host\n"
        + f"{a},Ed Good,ed@example.org,P6,Host\n"
    )
    before = _count(app, Credential)
    r = client.post(
        "/console/acme/bulk",
        data={"csrf_token": csrf},
        files={"file": ("cohort.csv", body.encode(), "text/csv")},
    )
    assert r.status_code == 200 and "6 rows: 2 ready, 4 with problems" in r.text
    assert _count(app, Credential) == before  # nothing issued yet
    job_url = r.url.path
    problems = client.get(f"{job_url}/problems.csv").text.splitlines()
    assert problems[0] == "line,column,problem"
    assert any(p.startswith("3,candidate_email,") for p in problems)
    assert any(p.startswith("4,candidate_name,") for p in problems)
    assert any(p.startswith("5,candidate_email,") and "line 2" in p for p in problems)
    assert any(p.startswith("6,achievement_id,") for p in problems)
    assert not any(",=" in p for p in problems)  # exported cells are escaped
    r = client.post(f"{job_url}/issue", data={"csrf_token": csrf})
    assert r.status_code == 200
    for _ in range(100):
        page = client.get(job_url).text
        if "Finished" in page:
            break
        import time

        time.sleep(0.1)
    assert "Finished" in page and "2 of 2 issued" in page
    assert _count(app, Credential) == before + 2
    # Starting it again is refused, and changes nothing.
    assert client.post(f"{job_url}/issue", data={"csrf_token": csrf}).status_code == 409
    assert _count(app, Credential) == before + 2


def test_bulk_refuses_whole_files_that_cannot_be_used(
    app: FastAPI, client: TestClient, acme: IssuerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    # The real limit is 10,000 rows; a smaller one exercises the same check quickly.
    monkeypatch.setattr(bulk, "MAX_ROWS", 3)
    too_many = CSV_HEADER + "".join(f"1,N{i},n{i}@example.org,P,H\n" for i in range(4))
    for content, message in (
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"name,email\nx,y\n", "header is wrong"),
        (b"", "empty"),
        (too_many.encode(), "more than 3 rows"),
    ):
        r = client.post(
            "/console/acme/bulk",
            data={"csrf_token": csrf},
            files={"file": ("f.csv", content, "text/csv")},
        )
        assert r.status_code == 422, r.text[:300]
        assert "text/html" in r.headers["content-type"] and message in r.text
    # Larger than the upload limit: refused by the body-limit middleware before any route.
    big = CSV_HEADER.encode() + b"x" * (app.state.settings.max_upload_bytes + 1)
    r = client.post(
        "/console/acme/bulk", data={"csrf_token": csrf}, files={"file": ("f.csv", big, "text/csv")}
    )
    assert r.status_code == 413
    assert "#1" not in client.get("/console/acme/bulk").text


def test_owner_manages_tokens_keys_and_staff(
    app: FastAPI, client: TestClient, acme: IssuerHandle
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    csrf = sign_in(client, "owner@acme.example")
    r = client.post("/console/acme/settings/tokens", data={"csrf_token": csrf, "label": "ci"})
    token = re.search(r'value="(bwt_[^"]+)"', r.text)
    assert token is not None
    assert (
        client.get(
            "/api/v1/issuers/acme/tokens", headers={"Authorization": f"Bearer {token.group(1)}"}
        ).status_code
        == 200
    )
    assert token.group(1) not in client.get("/console/acme/settings").text  # shown once
    assert "Rotate" in client.get("/console/acme/settings/keys/rotate").text
    r = client.post("/console/acme/settings/keys/rotate", data={"csrf_token": csrf})
    assert r.status_code == 200 and "#key-2" in r.text
    r = client.post(
        "/console/acme/settings/staff",
        data={
            "csrf_token": csrf,
            "email": "new@acme.example",
            "role": "viewer",
            "password": "short",
        },
    )
    assert r.status_code == 422 and "12 characters" in r.text
    r = client.post(
        "/console/acme/settings/staff",
        data={
            "csrf_token": csrf,
            "email": "new@acme.example",
            "role": "viewer",
            "password": PASSWORD,
        },
    )
    assert r.status_code == 200 and "new@acme.example" in r.text
    with app.state.session_factory() as session:
        me = staff.find_staff(session, "owner@acme.example")
        assert me is not None
    # The last owner cannot demote themselves.
    r = client.post(
        f"/console/acme/settings/staff/{me.id}", data={"csrf_token": csrf, "role": "viewer"}
    )
    assert r.status_code == 409 and "last owner" in r.text


def test_cli_staff_create(app: FastAPI, settings: object, acme: IssuerHandle) -> None:
    env = {
        "BADGEWORKS_DATABASE_URL": app.state.settings.resolved_database_url,
        "BADGEWORKS_DATA_DIR": str(app.state.settings.data_dir),
        "BADGEWORKS_KEY_SECRET": TEST_SECRET,
    }
    runner = CliRunner()
    r = runner.invoke(
        service_commands,
        [
            "staff",
            "create",
            "Cli@Acme.example",
            "--issuer",
            "acme",
            "--role",
            "issuer",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert "cli@acme.example is issuer of acme" in r.output
    r = runner.invoke(
        service_commands,
        ["staff", "create", "x@acme.example", "--issuer", "acme", "--password-stdin"],
        input="short\n",
        env=env,
    )
    assert r.exit_code == 1 and "12 characters" in r.output
    client = TestClient(app)
    assert sign_in(client, "cli@acme.example")


@pytest.mark.parametrize("path", ["/console/acme/nothing-here", "/console/zz/"])
def test_unknown_console_pages_are_html_404s(
    app: FastAPI, client: TestClient, acme: IssuerHandle, path: str
) -> None:
    add_staff(app, "acme", "owner@acme.example", "owner")
    sign_in(client, "owner@acme.example")
    r = client.get(path)
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
