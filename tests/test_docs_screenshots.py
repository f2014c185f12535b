"""The screenshots the docs show exist, and every screenshot in ``docs/`` is shown by a doc
(``make screenshots`` writes them; a renamed or dropped screen must not leave a broken
image or a stray file behind)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.png)\)")


def _shown() -> dict[Path, list[str]]:
    """Each PNG a Markdown file in docs/ (or the README) shows, with the files showing it."""
    shown: dict[Path, list[str]] = {}
    for doc in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in IMAGE.findall(doc.read_text("utf-8")):
            if "://" in target:
                continue
            path = (doc.parent / target).resolve()
            shown.setdefault(path, []).append(doc.name)
    return shown


def test_every_image_a_doc_shows_exists() -> None:
    missing = {str(p.relative_to(ROOT)): docs for p, docs in _shown().items() if not p.is_file()}
    assert missing == {}


def test_every_screenshot_in_docs_is_shown_by_a_doc() -> None:
    shown = _shown()
    stray = [
        str(p.relative_to(ROOT)) for p in sorted(DOCS.rglob("*.png")) if p.resolve() not in shown
    ]
    assert stray == []
