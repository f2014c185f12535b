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


def _assigned_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    return {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def test_dependency_aliases_are_defined_once_in_deps() -> None:
    aliases = {"SessionDep", "ContextDep", "SettingsDep", "PrincipalDep", "FormText", "Id"}
    web = SRC / "web"
    assert aliases <= _assigned_names(web / "deps.py")
    found = {
        str(path.relative_to(SRC)): sorted(aliases & _assigned_names(path))
        for path in sorted(web.rglob("*.py"))
        if path != web / "deps.py" and aliases & _assigned_names(path)
    }
    assert found == {}


def test_list_routes_read_their_pages_from_services() -> None:
    """A route that sends a page builds no query: its service reads rows and total from
    one query definition (``services.infra.pagination.page``)."""
    listing = [
        path
        for path in sorted((SRC / "web" / "routes").rglob("*.py"))
        if "badgeworks.web.pagination" in _imports(path)
    ]
    assert listing
    assert _offenders(listing, ("sqlalchemy", "sqlmodel")) == {}


def test_one_error_mapping_and_one_body_reader_for_the_web_layer() -> None:
    """Only ``web/errors.py`` maps error classes to statuses and negotiates pages versus
    JSON; only ``web/body.py`` reads a request body in chunks and joins them."""
    web = SRC / "web"
    for path in sorted(web.rglob("*.py")):
        text = path.read_text("utf-8")
        name = str(path.relative_to(SRC))
        if path != web / "errors.py":
            assert '("application/json", "text/html")' not in text, name
            assert "(NotFoundError, 404)" not in text, name
        if path != web / "body.py":
            assert 'b"".join(' not in text, name


def test_pages_read_signed_credentials_through_one_reader() -> None:
    """The portfolio, the credential page, the downloads and the public verifier's summary
    read what a credential says through ``core.reading`` only, so they cannot disagree."""
    routes = SRC / "web" / "routes"
    readers = [
        *sorted((SRC / "services" / "portfolio").glob("*.py")),
        SRC / "services" / "verification" / "public.py",
        routes / "public.py",
        routes / "portfolio.py",
        routes / "downloads.py",
        routes / "credential_page.py",
    ]
    found = [
        str(path.relative_to(SRC))
        for path in readers
        if '"credentialSubject"' in path.read_text("utf-8")
    ]
    assert found == []


def test_public_page_routes_run_no_queries() -> None:
    """The credential, portfolio, blob and download routes parse, call a service and
    render: every query and rule is in ``services``."""
    routes = SRC / "web" / "routes"
    files = [routes / name for name in ("public.py", "portfolio.py", "downloads.py")]
    assert _offenders(files, ("sqlalchemy", "sqlmodel", "badgeworks.db")) == {}


def test_only_the_verification_service_imports_the_core_verification_package() -> None:
    """Outside ``core``, the checks are reached through ``services.verification`` (its entry
    point is ``pipeline.verify``), so every surface verifies the same way. The adapters,
    below the services, may build the report shape (a fetch budget's restated checks)."""
    core, adapters = SRC / "core", SRC / "adapters"
    service = SRC / "services" / "verification"
    files = [
        path
        for path in sorted(SRC.rglob("*.py"))
        if not {core, adapters, service} & set(path.parents)
    ]
    assert _offenders(files, ("badgeworks.core.verification",)) == {}


def test_the_verifier_route_imports_verification_only_from_the_service() -> None:
    route = SRC / "web" / "routes" / "verifier.py"
    assert "badgeworks.services.verification.public" in _imports(route)
    assert _offenders([route], ("badgeworks.core",)) == {}


def test_one_function_turns_a_crashed_stage_into_a_check() -> None:
    """In the verification package and every layer above the core,
    ``core.verification.report.internal_error`` is the only writer of ``internal.error``."""
    home = SRC / "core" / "verification" / "report.py"
    files = [
        *sorted((SRC / "core" / "verification").rglob("*.py")),
        *sorted((SRC / "services").rglob("*.py")),
        *sorted((SRC / "web").rglob("*.py")),
        *sorted(SRC.glob("cli*.py")),
    ]
    found = [
        str(path.relative_to(SRC))
        for path in files
        if path != home and '"internal.error"' in path.read_text("utf-8")
    ]
    assert found == []


def test_api_models_import_no_database_or_web_layer() -> None:
    """Request and response models (``services/models.py`` and each domain's ``models.py``)
    describe JSON only, so every layer can import them without a cycle; the shared base
    imports nothing of ours."""
    services = SRC / "services"
    shared = services / "models.py"
    files = [shared, *sorted(services.glob("*/models.py"))]
    forbidden = ("sqlmodel", "sqlalchemy", "badgeworks.db", "badgeworks.web", "fastapi")
    assert _offenders(files, (*forbidden, "starlette")) == {}
    assert _offenders([shared], ("badgeworks",)) == {}
