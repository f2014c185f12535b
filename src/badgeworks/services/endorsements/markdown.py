"""A deliberately tiny, safe Markdown subset for endorsement comments.

Everything is HTML-escaped first; only then are these constructs recognised, so no
markup the author wrote can reach the page:

- paragraphs (blank-line separated; single line breaks become ``<br>``);
- ``**strong**`` and ``*emphasis*`` / ``_emphasis_``;
- ``[text](https://…)`` links, ``http``/``https`` only (anything else stays text), opened
  with ``rel="nofollow noopener noreferrer"``;
- bullet (``-``/``*``) and numbered (``1.``) lists.

Headings, images, raw HTML, code and tables are not supported: they render as text.
"""

from __future__ import annotations

import re
from html import escape, unescape

from markupsafe import Markup

_LINK = re.compile(r"\[([^\[\]\n]{1,500})\]\(([^()\s]{1,2000})\)")
_STRONG = re.compile(r"\*\*(?=\S)([^*\n]{1,2000}?)(?<=\S)\*\*")
_EM_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]{1,2000}?)(?<=\S)\*(?![\w*])")
_EM_UNDER = re.compile(r"(?<![\w_])_(?=\S)([^_\n]{1,2000}?)(?<=\S)_(?![\w_])")
_BULLET = re.compile(r"^\s{0,3}[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}\d{1,9}[.)]\s+(.*)$")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\\]+$", re.IGNORECASE)
MAX_INPUT = 20_000


def _inline(escaped: str) -> str:
    links: list[str] = []

    def link(match: re.Match[str]) -> str:
        text, href = match.group(1), match.group(2)
        raw = unescape(href)
        if not _SAFE_URL.match(raw):
            return match.group(0)
        links.append(
            f'<a href="{escape(raw, quote=True)}" rel="nofollow noopener noreferrer">{text}</a>'
        )
        return f"\x00{len(links) - 1}\x00"

    out = _LINK.sub(link, escaped)
    out = _STRONG.sub(r"<strong>\1</strong>", out)
    out = _EM_STAR.sub(r"<em>\1</em>", out)
    out = _EM_UNDER.sub(r"<em>\1</em>", out)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], out)


def render(text: str | None) -> Markup:
    """Safe HTML for ``text`` (Markdown subset above); ``Markup`` so Jinja keeps it."""
    if not text:
        return Markup("")
    source = text[:MAX_INPUT].replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    blocks = re.split(r"\n\s*\n", source.strip())
    html: list[str] = []
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
            items = [pattern.match(line) for line in lines]
            if all(items):
                inner = "".join(
                    f"<li>{_inline(escape(m.group(1).strip()))}</li>" for m in items if m
                )
                html.append(f"<{tag}>{inner}</{tag}>")
                break
        else:
            html.append(
                "<p>" + "<br>\n".join(_inline(escape(line.strip())) for line in lines) + "</p>"
            )
    return Markup("\n".join(html))
