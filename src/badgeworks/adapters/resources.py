"""Read the bundled data files: JSON-LD contexts (``contexts/``) and JSON Schemas (``schemas/``).

In a source checkout they sit at the repository root; in a wheel they are packaged under
``badgeworks/_resources``. This is the only module that knows where they live.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from badgeworks.core.loader import DocumentLoader

_PACKAGE = Path(__file__).resolve().parent.parent


def resource_dir(name: str) -> Path:
    """Locate ``contexts`` or ``schemas``: the packaged copy, else the source checkout's."""
    for candidate in (_PACKAGE / "_resources" / name, _PACKAGE.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled resource directory {name!r} not found")


@cache
def context_documents() -> dict[str, Any]:
    """URL -> parsed context document, for every entry of ``contexts/index.json``."""
    root = resource_dir("contexts")
    index = json.loads((root / "index.json").read_text("utf-8"))
    return {url: json.loads((root / file).read_text("utf-8")) for url, file in index.items()}


def default_loader() -> DocumentLoader:
    """The strict offline loader over the bundled contexts."""
    return DocumentLoader(context_documents())


@cache
def schema(name: str) -> Any:
    """A parsed JSON Schema from ``schemas/`` by file name."""
    return json.loads((resource_dir("schemas") / name).read_text("utf-8"))


@cache
def schema_documents() -> dict[str, Any]:
    """Schema URL -> parsed JSON Schema, for every entry of ``schemas/index.json``."""
    root = resource_dir("schemas")
    index = json.loads((root / "index.json").read_text("utf-8"))
    return {url: json.loads((root / file).read_text("utf-8")) for url, file in index.items()}
