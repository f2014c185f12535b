"""Reading JSON-LD values as they appear in JSON: one value or a list of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def as_list(value: Any) -> list[Any]:
    """``value`` as a list: ``None`` is empty, a list is copied, anything else is one item."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def types_of(node: Any) -> list[str]:
    """The string ``type`` values of a node (``type`` may be one string or a list)."""
    if not isinstance(node, Mapping):
        return []
    return [t for t in as_list(node.get("type")) if isinstance(t, str)]
