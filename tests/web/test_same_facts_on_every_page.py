"""The public verifier, the credential page and the portfolio say the same about a credential.

All three read the signed credential through ``core.reading``; on the demo data (what
``make run`` seeds) the facts each shows are compared: the credential's name, its
achievement's description, the issuer, the issue date and every deliverable's name and
address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from badgeworks.services.demo import DemoResult, seed_demo
from badgeworks.web.i18n import Translator

BASE = "http://127.0.0.1:8000"
ISSUED_BY = Translator("en")("portfolio.issued_by")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})


@dataclass
class Node:
    """One element of a parsed page: its tag, attributes, children and text."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return " ".join(" ".join(parts).split())

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and all(
                    value in child.attrs.get(key.rstrip("_"), "").split()
                    if key == "class_"
                    else child.attrs.get(key) == value
                    for key, value in attrs.items()
                ):
                    found.append(child)
                found += child.find_all(tag, **attrs)
        return found

    def one(self, tag: str, **attrs: str) -> Node:
        (node,) = self.find_all(tag, **attrs)
        return node


class _Tree(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document", {})
        self.stack = [self.root]
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The page as a tree of ``Node``s."""
    return _Tree(html).root


@dataclass(frozen=True)
class Facts:
    """What one surface says about a credential."""

    name: str
    issuer: str
    issued: str
    evidence: tuple[tuple[str, str], ...]


def _deliverables(section: Node) -> tuple[tuple[str, str], ...]:
    out = []
    for item in section.find_all("li", class_="deliverable"):
        figure = item.find_all("figcaption")
        if figure:  # an image, shown inline
            out.append((figure[0].text, item.one("img").attrs["src"]))
        else:
            link = item.one("p", class_="deliverable-name").one("a")
            out.append((link.text, link.attrs["href"]))
    return tuple(sorted(out))


def _issuer(lede: Node) -> str:
    # "Issued by <issuer>, <date>": the issuer is the first link or strong after "by".
    marks = lede.find_all("a") or lede.find_all("strong")
    return marks[-1].text


def verifier_facts(summary: dict[str, Any]) -> Facts:
    """The facts in the public verifier's API summary."""
    return Facts(
        name=summary["name"],
        issuer=summary["issuer"]["name"],
        issued=summary["validFrom"][:10],
        evidence=tuple(sorted((d["name"], d["url"]) for d in summary["deliverables"])),
    )


def credential_page_facts(html: str) -> tuple[Facts, str]:
    """The facts on the credential page, and the achievement's description there."""
    page = parse(html)
    header = page.one("header", class_="credential-header")
    lede = header.one("p", class_="lede")
    about = page.one("section", **{"aria-labelledby": "about"})
    facts = Facts(
        name=header.one("h1", id="credential-title").text,
        issuer=_issuer(lede),
        issued=lede.one("time").attrs["datetime"][:10],
        evidence=_deliverables(page.one("section", **{"aria-labelledby": "evidence"})),
    )
    return facts, about.find_all("p")[0].text


def portfolio_facts(html: str) -> dict[str, Facts]:
    """The facts on each card of the portfolio page, by the credential page's URL."""
    out = {}
    for card in parse(html).find_all("li", class_="credential-card"):
        heading = card.one("h3")
        hint = next(p for p in card.find_all("p", class_="hint") if p.find_all("time"))
        # "Issued by <issuer>, <time>": the text before the date, less the label.
        before = "".join(c for c in hint.children if isinstance(c, str))
        issuer = before.strip().removesuffix(",").removeprefix(ISSUED_BY).strip()
        lists = card.find_all("ul", class_="deliverables")
        out[heading.one("a").attrs["href"]] = Facts(
            name=heading.text,
            issuer=issuer,
            issued=hint.one("time").attrs["datetime"][:10],
            evidence=_deliverables(lists[0]) if lists else (),
        )
    return out


def _seed(app: FastAPI) -> DemoResult:
    with app.state.session_factory() as session:
        return seed_demo(session, app.state.ctx)


def test_the_verifier_the_credential_page_and_the_portfolio_agree(
    app: FastAPI, client: TestClient
) -> None:
    demo = _seed(app)
    english = {"Accept": "text/html", "Accept-Language": "en"}
    verified = client.post("/api/v1/verify", json={"url": demo.credential_url})
    assert verified.status_code == 200, verified.text
    summary = verified.json()["credential"]
    from_verifier = verifier_facts(summary)

    page = client.get(demo.credential_url.removeprefix(BASE), headers=english)
    assert page.status_code == 200, page.text
    from_page, description = credential_page_facts(page.text)

    portfolio = client.get(demo.portfolio_url.removeprefix(BASE), headers=english)
    assert portfolio.status_code == 200, portfolio.text
    from_portfolio = portfolio_facts(portfolio.text)[demo.credential_url]

    # Every surface shows the same credential, issuer, date and deliverables …
    assert from_verifier == from_page == from_portfolio
    # … the ones the credential signs, and every deliverable the demo made is there.
    assert from_verifier.name == summary["achievement"]["name"]
    assert description == summary["achievement"]["description"]
    assert {url for _, url in from_verifier.evidence} == set(demo.blob_urls)
    assert all(name for name, _ in from_verifier.evidence)
    assert from_verifier.issuer and from_verifier.issued
