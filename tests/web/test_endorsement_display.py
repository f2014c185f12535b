"""Endorsements on the credential page and the portfolio: signed into the badge, or added
later and verified on their own; withdrawn ones hidden; comments in the safe Markdown
subset, with markup inert. HTML is parsed, never matched as text."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.issuer_app import BASE, IssuerHandle, draft_project
from tests.mentor_reviews import invite, open_form, review_path

HTML = {"Accept": "text/html"}
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

XSS = (
    '<script>alert("x")</script> <img src=x onerror=alert(1)> '
    "[click](javascript:alert(1)) **bold** and [a link](https://example.org/work)"
)


@dataclass
class Item:
    """One ``<li class="endorsement">``: its attributes, text and what is inside it."""

    attrs: dict[str, str]
    text: str = ""
    tags: list[tuple[str, dict[str, str]]] | None = None


class Endorsements(HTMLParser):
    """Collects every ``li.endorsement`` (tags and text inside), and every tag on the page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[Item] = []
        self.all_tags: list[tuple[str, dict[str, str]]] = []
        self._depth = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.all_tags.append((tag, a))
        if self._depth:
            if tag == "li":
                self._depth += 1
            assert self.items[-1].tags is not None
            self.items[-1].tags.append((tag, a))
        elif tag == "li" and "endorsement" in a.get("class", "").split():
            self._depth = 1
            self.items.append(Item(a, "", []))

    def handle_endtag(self, tag: str) -> None:
        if self._depth and tag == "li":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.items[-1].text += data

    def by_kind(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.attrs.get("data-kind") == kind]


def _sign(client: TestClient, who: IssuerHandle, project: int, comment: str, **fields: str) -> str:
    """Invite, open the link, sign; returns the hosted endorsement's URL."""
    data = invite(client, who, project, **fields)
    path = review_path(data)
    r = client.post(path, data={"nonce": open_form(client, path), "comment": comment})
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


@pytest.fixture
def endorsed(app: FastAPI, client: TestClient, acme: IssuerHandle) -> dict[str, str]:
    """A badge with one embedded endorsement, one later one and one withdrawn later one."""
    ids = draft_project(client, acme)
    project = ids["project"]
    embedded = _sign(
        client, acme, project, "Ada's *careful* work.\n\n" + XSS, organization="Northwind"
    )
    r = client.post(f"/api/v1/projects/{project}/complete", headers=acme.auth)
    assert r.status_code == 201, r.text
    credential = r.json()
    later = _sign(
        client,
        acme,
        project,
        "A **great** intern. <b onmouseover=alert(2)>hi</b>",
        kind="host",
        name="Northwind Traders",
        email="people@northwind.example",
        title="Host organisation",
    )
    gone = _sign(
        client,
        acme,
        project,
        "I take this back.",
        name="Alan Turing",
        email="alan@example.org",
        title="Reviewer",
    )
    r = client.post(
        f"/api/v1/endorsements/{gone.rsplit('/', 1)[1]}/withdraw",
        json={"reason": "test"},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    r = client.patch(
        f"/api/v1/candidates/{ids['candidate']}/portfolio",
        json={"handle": "ada-endorsed", "visibility": "public"},
        headers=acme.auth,
    )
    assert r.status_code == 200, r.text
    return {
        "path": credential["url"].removeprefix(BASE),
        "embedded": embedded,
        "later": later,
        "gone": gone,
        "portfolio": "/p/ada-endorsed",
    }


def _check_page(html: str, endorsed: dict[str, str]) -> None:
    page = Endorsements(html)
    (inside,) = page.by_kind("embedded")
    (added,) = page.by_kind("later")
    assert len(page.items) == 2  # the withdrawn one is not shown

    # Signed into the badge: Grace, her title and organisation, verified, linked.
    assert "Signed into the badge" in inside.text
    assert "Grace Hopper" in inside.text and "Lead analyst" in inside.text
    assert "Northwind" in inside.text
    assert inside.attrs["data-verified"] == "true"
    assert "Verified" in inside.text and "Not verified" not in inside.text
    assert inside.tags is not None
    assert ("a", {"class": "endorsement-link", "href": endorsed["embedded"]}) in inside.tags

    # Added later: the host company's endorsement, verified on its own, linked.
    assert "Added later, verified on its own" in added.text
    assert "Northwind Traders" in added.text and "Host organisation" in added.text
    assert added.attrs["data-verified"] == "true"
    assert added.tags is not None
    assert ("a", {"class": "endorsement-link", "href": endorsed["later"]}) in added.tags

    # The Markdown subset renders; markup the authors wrote stays inert text.
    inside_tags = [t for t, _ in inside.tags]
    assert "em" in inside_tags and "strong" in inside_tags
    assert ("a", {"href": "https://example.org/work", "rel": "nofollow noopener noreferrer"}) in (
        inside.tags
    )
    assert "strong" in [t for t, _ in added.tags]
    for item in (inside, added):
        assert item.tags is not None
        for tag, attrs in item.tags:
            assert tag not in {"script", "img", "b"}
            assert not any(k.startswith("on") for k in attrs)
            assert not attrs.get("href", "").lower().startswith("javascript:")
    assert '<script>alert("x")</script>' in inside.text  # shown as text
    assert "<b onmouseover=alert(2)>hi</b>" in added.text
    assert not [t for t, _ in page.all_tags if t == "script"]
    assert endorsed["gone"] not in html and "I take this back" not in html


@sqlite_only
def test_credential_page_shows_embedded_and_later_endorsements(
    client: TestClient, endorsed: dict[str, str]
) -> None:
    r = client.get(endorsed["path"], headers=HTML)
    assert r.status_code == 200, r.text
    _check_page(r.text, endorsed)


@sqlite_only
def test_portfolio_shows_embedded_and_later_endorsements(
    client: TestClient, endorsed: dict[str, str]
) -> None:
    r = client.get(endorsed["portfolio"], headers=HTML)
    assert r.status_code == 200, r.text
    _check_page(r.text, endorsed)


@sqlite_only
def test_spanish_labels(client: TestClient, endorsed: dict[str, str]) -> None:
    page = Endorsements(client.get(endorsed["path"] + "?lang=es", headers=HTML).text)
    (inside,) = page.by_kind("embedded")
    (added,) = page.by_kind("later")
    assert "Firmada dentro de la insignia" in inside.text
    assert "Añadida después, verificada por separado" in added.text


@sqlite_only
def test_a_tampered_later_endorsement_shows_not_verified(
    app: FastAPI, client: TestClient, endorsed: dict[str, str]
) -> None:
    later_id = endorsed["later"].rsplit("/", 1)[1]
    with app.state.engine.begin() as conn:
        (document,) = conn.execute(
            text("SELECT document FROM endorsement WHERE id = :id"), {"id": later_id}
        ).one()
        conn.execute(
            text("UPDATE endorsement SET document = :d WHERE id = :id"),
            {"d": document.replace("A **great** intern.", "A poor intern."), "id": later_id},
        )
    page = Endorsements(client.get(endorsed["path"], headers=HTML).text)
    (added,) = page.by_kind("later")
    assert added.attrs["data-verified"] == "false"
    assert "Not verified" in added.text
    (inside,) = page.by_kind("embedded")
    assert inside.attrs["data-verified"] == "true"
