"""The layering rules of docs/architecture.md, checked on the import graph.

- ``badgeworks.core`` is pure: no web framework, ORM, HTTP client or outer layer.
- The ``core/crypto/`` package is the only code that imports ``cryptography``.
- Services never import the web layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "badgeworks"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _offenders(files: list[Path], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in files:
        bad = sorted(
            name
            for name in _imports(path)
            if any(name == f or name.startswith(f + ".") for f in forbidden)
        )
        if bad:
            found[str(path.relative_to(SRC))] = bad
    return found


def test_core_is_pure() -> None:
    forbidden = (
        "fastapi",
        "starlette",
        "sqlmodel",
        "sqlalchemy",
        "alembic",
        "httpx",
        "requests",
        "socket",
        "urllib.request",
        "badgeworks.web",
        "badgeworks.services",
        "badgeworks.db",
        "badgeworks.adapters",
        "badgeworks.settings",
        "badgeworks.cli",
    )
    assert _offenders(sorted((SRC / "core").rglob("*.py")), forbidden) == {}


def test_only_the_crypto_package_imports_cryptography() -> None:
    crypto = SRC / "core" / "crypto"
    assert (crypto / "__init__.py").is_file()
    files = [p for p in sorted(SRC.rglob("*.py")) if crypto not in p.parents]
    assert _offenders(files, ("cryptography",)) == {}


def test_services_do_not_import_the_web_layer() -> None:
    files = sorted((SRC / "services").rglob("*.py"))
    assert _offenders(files, ("badgeworks.web", "fastapi", "starlette")) == {}
