"""A tiny HTML reader for tests (the standard library's html.parser), and form fields."""

from __future__ import annotations

import re
from html.parser import HTMLParser


def csrf_of(html: str, name: str = "csrf_token") -> str:
    """The value of the page's first form field ``name`` (the CSRF token unless told)."""
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


class Page(HTMLParser):
    """Collects every element's attributes, and the text, of one HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text_parts: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.elements
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    def meta(self, key: str) -> str | None:
        for attrs in self.all("meta"):
            if attrs.get("property") == key or attrs.get("name") == key:
                return attrs.get("content")
        return None

    def hrefs(self) -> list[str]:
        return [a["href"] for a in self.all("a") if "href" in a]
