"""Service commands for the ``badgeworks`` CLI: serve, db, issuers, tokens, issue, demo.

``service_commands`` is a click group; ``cli.py`` attaches it. The commands call services,
never the web layer (except ``serve``, which runs it). Exit codes: 0 ok, 1 failed, 2 usage.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlmodel import Session

from badgeworks.core.errors import BadgeworksError
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import current_revision, upgrade
from badgeworks.services import bulk, issuance, issuers, tokens
from badgeworks.services.context import ServiceContext, build_context
from badgeworks.services.schemas import IssuerCreate
from badgeworks.services.secrets import ensure_dev_key_secret
from badgeworks.settings import Settings, get_settings

CLI_ACTOR = "cli"


def _fail(exc: BadgeworksError) -> None:
    click.echo(f"error [{exc.code}]: {exc.message}", err=True)
    sys.exit(1)


@contextmanager
def _services(settings: Settings | None = None) -> Iterator[tuple[Session, ServiceContext]]:
    settings = settings or get_settings()
    engine = make_engine(settings)
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        ctx = build_context(settings, factory)
        with factory() as session:
            yield session, ctx
    except BadgeworksError as exc:
        _fail(exc)
    finally:
        engine.dispose()


@click.group("service")
def service_commands() -> None:
    """Run and operate the issuer service."""


@service_commands.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--demo", is_flag=True, help="Seed the demo first (dev secret if none is set).")
def serve(host: str, port: int, demo: bool) -> None:
    """Run the web service (migrations are applied on start)."""
    import uvicorn

    from badgeworks.web.app import create_app

    settings = get_settings()
    if demo:
        settings = _seed_and_print(settings)
    try:
        app = create_app(settings)
    except BadgeworksError as exc:
        _fail(exc)
    click.echo(f"badgeworks listening on http://{host}:{port} (API docs at /docs)")
    uvicorn.run(app, host=host, port=port, log_level="info")


@service_commands.group()
def db() -> None:
    """Database commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (creates the SQLite file on first run)."""
    settings = get_settings()
    engine = make_engine(settings)
    try:
        upgrade(engine)
        click.echo(f"database at revision {current_revision(engine)}")
    finally:
        engine.dispose()


@service_commands.group("issuers")
def issuers_group() -> None:
    """Manage issuers."""


@issuers_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name of the program or organisation.")
@click.option("--url", default=None, help="Homepage URL.")
@click.option("--email", default=None, help="Contact email.")
@click.option("--description", default=None)
@click.option("--did-method", type=click.Choice(["web", "key"]), default="web", show_default=True)
def issuers_create(
    slug: str,
    name: str,
    url: str | None,
    email: str | None,
    description: str | None,
    did_method: str,
) -> None:
    """Create an issuer SLUG with a fresh signing key."""
    from pydantic import ValidationError

    try:
        data = IssuerCreate.model_validate(
            {
                "slug": slug,
                "name": name,
                "url": url,
                "email": email,
                "description": description,
                "did_method": did_method,
            }
        )
    except ValidationError as exc:
        for error in exc.errors():
            click.echo(f"error: {'.'.join(map(str, error['loc']))}: {error['msg']}", err=True)
        sys.exit(2)
    with _services() as (session, ctx):
        issuer = issuers.create_issuer(session, ctx, data, actor=CLI_ACTOR)
        click.echo(f"created issuer {issuer.slug}: {issuer.did}")


@issuers_group.command("list")
def issuers_list() -> None:
    """List issuers."""
    with _services() as (session, _ctx):
        for issuer in issuers.list_issuers(session, limit=10000):
            click.echo(f"{issuer.slug}\t{issuer.name}\t{issuer.did}")


@service_commands.group("tokens")
def tokens_group() -> None:
    """Manage API tokens."""


@tokens_group.command("create")
@click.option("--issuer", "slug", required=True, help="The issuer the token acts for.")
@click.option("--label", default="", help="A note to recognise the token by.")
def tokens_create(slug: str, label: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    with _services() as (session, _ctx):
        issuer = issuers.get_issuer(session, slug)
        row, token = tokens.create_token(session, issuer, label=label, actor=CLI_ACTOR)
        click.echo(token)
        click.echo(f"token {row.id} for {slug}: store it now, it is not shown again", err=True)


@tokens_group.command("revoke")
@click.option("--issuer", "slug", required=True)
@click.argument("token_id", type=int)
def tokens_revoke(slug: str, token_id: int) -> None:
    """Revoke token TOKEN_ID of an issuer."""
    with _services() as (session, _ctx):
        issuer = issuers.get_issuer(session, slug)
        tokens.revoke_token(session, issuer, token_id, actor=CLI_ACTOR)
        click.echo(f"revoked token {token_id}")


@service_commands.command("issue")
@click.argument("project_id", type=int)
@click.option("--issuer", "slug", required=True, help="The project's issuer.")
def issue_cmd(project_id: int, slug: str) -> None:
    """Complete project PROJECT_ID and issue its credential; prints its URL."""
    with _services() as (session, ctx):
        issuer = issuers.get_issuer(session, slug)
        row = issuance.complete_project(session, ctx, issuer, project_id, actor=CLI_ACTOR)
        click.echo(issuance.credential_url(ctx, row.id))


@service_commands.command("issue-csv")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--issuer", "slug", required=True, help="The issuer of the cohort.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def issue_csv(file: Path, slug: str, as_json: bool) -> None:
    """Issue a cohort from a CSV FILE (format in docs/api.md); bad rows are reported."""
    data = file.read_bytes()
    with _services() as (session, ctx):
        issuer = issuers.get_issuer(session, slug)
        good, _ = bulk.parse(data)
        with click.progressbar(length=len(good), label="issuing", file=sys.stderr) as bar:
            last = [0]

            def progress(done: int, _total: int) -> None:
                bar.update(done - last[0])
                last[0] = done

            result = bulk.issue_batch(
                session, ctx, issuer, data, actor=f"{CLI_ACTOR}:issue-csv", progress=progress
            )
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        for credential in result.issued:
            click.echo(credential.url)
        for bad in result.rejected:
            click.echo(f"line {bad.line}: {'; '.join(bad.errors)}", err=True)
        click.echo(f"issued {len(result.issued)}, rejected {len(result.rejected)}", err=True)
    sys.exit(1 if result.rejected else 0)


def _seed_and_print(settings: Settings) -> Settings:
    from badgeworks.services.demo import seed_demo

    settings, note = ensure_dev_key_secret(settings)
    if note:
        click.echo(note, err=True)
    with _services(settings) as (session, ctx):
        result = seed_demo(session, ctx)
    lines: dict[str, Any] = {
        "credential (HTML or JSON)": result.credential_url,
        "credential JSON": result.json_url,
        "issuer DID document": result.did_document_url,
        "deliverables": ", ".join(result.blob_urls),
        f"API token for {result.issuer_slug}": result.token,
    }
    click.echo("Demo issued one credential:")
    for label, value in lines.items():
        click.echo(f"  {label}: {value}")
    return settings


@service_commands.command("seed-demo")
def seed_demo_cmd() -> None:
    """Create a demo program, achievement, candidate and project; issue one credential."""
    _seed_and_print(get_settings())
