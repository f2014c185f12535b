"""Plain-text form fields for structured lists, so every form works without JavaScript.

Alignments, rubric criteria and mentors are typed one per line with ``|`` between parts
(the pages show the format next to each field); these functions turn the text into the
API's request shapes and back.
"""

from __future__ import annotations

from typing import Any


def _parts(line: str) -> list[str]:
    return [p.strip() for p in line.split("|")]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_tags(text: str) -> list[str]:
    """``data, python`` → ``["data", "python"]``."""
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_alignments(text: str) -> list[dict[str, Any]]:
    """``Name | URL | framework | code`` per line."""
    out = []
    for line in _lines(text):
        parts = [*_parts(line), "", "", "", ""]
        out.append(
            {
                "target_name": parts[0],
                "target_url": parts[1],
                "target_framework": parts[2] or None,
                "target_code": parts[3] or None,
            }
        )
    return out


def format_alignments(items: list[dict[str, Any]]) -> str:
    """The inverse of ``parse_alignments``."""
    return "\n".join(
        " | ".join(
            [
                a.get("target_name") or "",
                a.get("target_url") or "",
                a.get("target_framework") or "",
                a.get("target_code") or "",
            ]
        ).rstrip(" |")
        for a in items
    )


def parse_rubric(text: str) -> list[dict[str, Any]]:
    """``key | name | level-key=Level name; level-key=Level name`` per line."""
    out = []
    for line in _lines(text):
        parts = [*_parts(line), "", ""]
        levels = []
        for chunk in parts[2].split(";"):
            if not chunk.strip():
                continue
            key, _, name = chunk.partition("=")
            levels.append({"key": key.strip(), "name": (name or key).strip()})
        out.append({"key": parts[0], "name": parts[1], "levels": levels})
    return out


def format_rubric(items: list[dict[str, Any]]) -> str:
    """The inverse of ``parse_rubric``."""
    lines = []
    for rd in items:
        levels = "; ".join(f"{lv['key']}={lv['name']}" for lv in rd.get("levels", []))
        lines.append(f"{rd['key']} | {rd['name']}" + (f" | {levels}" if levels else ""))
    return "\n".join(lines)


def parse_mentors(text: str) -> list[dict[str, Any]]:
    """``Name | email | job title`` per line."""
    out = []
    for line in _lines(text):
        parts = [*_parts(line), "", ""]
        out.append({"name": parts[0], "email": parts[1] or None, "title": parts[2] or None})
    return out


def format_mentors(items: list[dict[str, Any]]) -> str:
    """The inverse of ``parse_mentors``."""
    return "\n".join(
        " | ".join([m.get("name") or "", m.get("email") or "", m.get("title") or ""]).rstrip(" |")
        for m in items
    )


def none_if_blank(value: str | None) -> str | None:
    """``None`` for an empty form field."""
    return value.strip() if value and value.strip() else None
