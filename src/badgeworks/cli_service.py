"""Service commands for the ``badgeworks`` CLI: serve, db, issuers, tokens, issue, demo.

``service_commands`` is a click group; ``cli.py`` attaches it. The commands call services,
never the web layer (except ``serve``, which runs it). Exit codes: 0 ok, 1 failed, 2 usage.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from badgeworks.core.cryptosuites import DEFAULT_CRYPTOSUITE, SIGNING_CRYPTOSUITES
from badgeworks.core.errors import BadgeworksError
from badgeworks.db.engine import make_engine, make_session_factory
from badgeworks.db.migrate import current_revision, upgrade
from badgeworks.services.accounts import tokens
from badgeworks.services.context import ServiceContext, build_context
from badgeworks.services.infra.secrets import check_key_secret, ensure_dev_key_secret
from badgeworks.services.issuance import bulk, bulk_jobs
from badgeworks.services.issuance import completion as issuance
from badgeworks.services.programs import issuers
from badgeworks.services.programs.models import IssuerCreate, IssuerUpdate
from badgeworks.settings import Settings, get_settings

if TYPE_CHECKING:
    from badgeworks.services.demo import DemoResult

CLI_ACTOR = "cli"

_Model = TypeVar("_Model", bound=BaseModel)


def _fail(exc: BadgeworksError) -> None:
    click.echo(f"error [{exc.code}]: {exc.message}", err=True)
    sys.exit(1)


def _validated(model: type[_Model], fields: dict[str, Any]) -> _Model:
    """``fields`` read as ``model``; when they are invalid, print each problem and exit 2."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        for error in exc.errors():
            click.echo(f"error: {'.'.join(map(str, error['loc']))}: {error['msg']}", err=True)
        sys.exit(2)


@contextmanager
def _services(settings: Settings | None = None) -> Iterator[tuple[Session, ServiceContext]]:
    settings = settings or get_settings()
    engine = make_engine(settings)
    if settings.key_secret is not None and settings.key_secret.get_secret_value().strip():
        from badgeworks.services.infra import outbox

        # The server's key: what it queued sealed can be sent from here, and vice versa.
        outbox.seal_outbox(engine, settings.key_secret.get_secret_value(), _previous(settings))
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        ctx = build_context(settings, factory)
        ctx.blobs.check()  # a bucket of BADGEWORKS_STORAGE_URL is usable before any command runs
        with factory() as session:
            # A changed key secret is reported here, before any command needs a key.
            if settings.key_secret is not None:
                check_key_secret(
                    session,
                    settings.key_secret.get_secret_value(),
                    now=ctx.clock(),
                    previous=_previous(settings),
                )
            yield session, ctx
    except BadgeworksError as exc:
        _fail(exc)
    finally:
        engine.dispose()


def _previous(settings: Settings) -> str | None:
    """The key secret being rotated away from, if set (BADGEWORKS_KEY_SECRET_PREVIOUS)."""
    value = settings.key_secret_previous
    return value.get_secret_value() if value and value.get_secret_value().strip() else None


@click.group("service")
def service_commands() -> None:
    """Run and operate the issuer service."""


@service_commands.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--demo", is_flag=True, help="Seed the demo first (dev secret if none is set).")
@click.option(
    "--ssl-certfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM certificate (chain): serve HTTPS directly (docs/https.md).",
)
@click.option(
    "--ssl-keyfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM private key of --ssl-certfile.",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    metavar="ADDRS",
    help="Comma-separated addresses/CIDRs of reverse proxies whose X-Forwarded-For and "
    "X-Forwarded-Proto are believed (default: BADGEWORKS_FORWARDED_ALLOW_IPS, else none).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Worker processes serving requests (default: BADGEWORKS_WORKERS, else the number "
    'of cores); 1 serves in this process (docs/operations.md, "Worker processes").',
)
def serve(
    host: str,
    port: int,
    demo: bool,
    ssl_certfile: Path | None,
    ssl_keyfile: Path | None,
    forwarded_allow_ips: str | None,
    workers: int | None,
) -> None:
    """Run the web service (migrations are applied on start).

    Without BADGEWORKS_PUBLIC_BASE_URL the public base URL is http(s)://HOST:PORT, so the
    URLs put into credentials (and printed by --demo) point at this server. With
    BADGEWORKS_OUTBOX_INTERVAL_SECONDS it also delivers the outbox; --demo without an SMTP
    server prints the mail in this terminal (docs/outbox.md). The database is migrated
    and the demo seeded here, once, before any worker process starts.
    """
    import os

    import uvicorn

    from badgeworks.services.infra import outbox
    from badgeworks.web.app import create_app
    from badgeworks.web.observability import configure_logging
    from badgeworks.web.proxies import trusted_proxies

    settings = get_settings()
    from_environment = settings
    if workers is None:
        workers = settings.workers if "workers" in settings.model_fields_set else None
    settings = settings.model_copy(update={"workers": workers or os.cpu_count() or 1})
    if forwarded_allow_ips is not None:
        settings = settings.model_copy(update={"forwarded_allow_ips": forwarded_allow_ips})
    try:
        proxies = trusted_proxies(settings.forwarded_allow_ips)
    except BadgeworksError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    certfile = ssl_certfile or settings.ssl_certfile
    keyfile = ssl_keyfile or settings.ssl_keyfile
    if (certfile is None) != (keyfile is None):
        click.echo("error: --ssl-certfile and --ssl-keyfile go together", err=True)
        sys.exit(2)
    scheme = "https" if certfile else "http"
    if not os.environ.get("BADGEWORKS_PUBLIC_BASE_URL"):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings = settings.model_copy(update={"public_base_url": f"{scheme}://{shown}:{port}"})
    mail_note = None
    if demo:
        settings, mail_note = demo_mail_settings(settings)
        settings = _seed_and_print(settings, serving=True)
    try:
        # Checks the secret and keys and migrates the database, once for every worker.
        app = create_app(settings)
    except BadgeworksError as exc:
        _fail(exc)
    click.echo(mail_note or outbox.delivery_summary(settings))
    click.echo(
        f"badgeworks listening on {scheme}://{host}:{port} (API docs at /docs; "
        f"{settings.workers} worker process{'es' if settings.workers > 1 else ''})"
    )
    target: Any = app
    configure_logging(settings.log_format)
    samples = None
    if settings.workers > 1:
        # Each worker builds its own app (uvicorn's factory) from the environment: the
        # settings this command changed are passed on the same way as the rest.
        app.state.engine.dispose()
        app.state.verify_pool.shutdown()
        os.environ.update(settings_environment(settings, from_environment))
        target = "badgeworks.web.app:app_from_environment"
        # Every worker writes its metric samples into one fresh directory, so /metrics on
        # any of them reports the sum over all (docs/operations.md, "Metrics").
        samples = metrics_samples_dir()
    try:
        _run_uvicorn(uvicorn, target, settings, host, port, certfile, keyfile, proxies)
    finally:
        if samples is not None:
            samples.cleanup()
            # The directory is gone: a process started from this one later (a caller that
            # runs the command in-process) must not write samples into it.
            forget_metrics_samples_dir(samples.name)


#: Seconds a worker process may take to answer uvicorn's health check (start-up included).
WORKER_HEALTHCHECK_SECONDS = 30


def metrics_samples_dir() -> Any:
    """A fresh directory for the workers' metric samples, named in the environment the
    workers inherit (``PROMETHEUS_MULTIPROC_DIR``); removed when the command ends."""
    import os
    import tempfile

    from badgeworks.services.infra.metrics import MULTIPROC_ENV

    samples = tempfile.TemporaryDirectory(prefix="badgeworks-metrics-")
    os.environ[MULTIPROC_ENV] = samples.name
    return samples


def forget_metrics_samples_dir(name: str) -> None:
    """Take ``PROMETHEUS_MULTIPROC_DIR`` out of the environment if it still names ``name``."""
    import os

    from badgeworks.services.infra.metrics import MULTIPROC_ENV

    if os.environ.get(MULTIPROC_ENV) == name:
        del os.environ[MULTIPROC_ENV]


def _run_uvicorn(
    uvicorn: Any,
    target: Any,
    settings: Settings,
    host: str,
    port: int,
    certfile: Path | None,
    keyfile: Path | None,
    proxies: list[str],
) -> None:
    import inspect

    # uvicorn kills a worker that does not answer its health check within 5 s by default;
    # a worker still importing the service on a busy host would be killed and restarted
    # over and over, so it gets 30 s (the option exists from uvicorn 0.31).
    patience = (
        {"timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS}
        if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters
        else {}
    )
    uvicorn.run(
        target,
        factory=settings.workers > 1,
        workers=settings.workers if settings.workers > 1 else None,
        host=host,
        port=port,
        log_level="info",
        # Logging is set up by configure_logging (text or JSON lines, with request ids).
        log_config=None,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        # X-Forwarded-For only from the proxies named; uvicorn would otherwise believe any
        # local peer, and a spoofed address would dodge every per-client limit.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        # Requests still waiting after this long (say, on a slow issuer) do not hold up exit.
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
        **patience,
    )


def settings_environment(settings: Settings, base: Settings) -> dict[str, str]:
    """The ``BADGEWORKS_*`` variables that make a worker process read ``settings``: one
    for each field that differs from ``base`` (what the environment already gives)."""
    import json

    from pydantic import SecretStr
    from pydantic_core import to_jsonable_python

    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value == getattr(base, name):
            continue
        if value is None:
            raise click.UsageError(f"cannot pass an unset {name} to the worker processes")
        if isinstance(value, SecretStr):
            text = value.get_secret_value()
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str | int | float | Path):
            text = str(value)
        else:
            text = json.dumps(to_jsonable_python(value))
        env[f"BADGEWORKS_{name.upper()}"] = text
    return env


@service_commands.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
def backup_cmd(dest: Path) -> None:
    """Write a consistent backup of the database and the blobs into DEST (a new or empty
    directory), safe while the service runs. The key secret is never in it."""
    from badgeworks.services.context import utcnow
    from badgeworks.services.infra import backup

    try:
        result = backup.backup(get_settings(), dest, now=utcnow())
    except BadgeworksError as exc:
        _fail(exc)
    counts = result.counts
    click.echo(
        f"backup written to {result.path}: {result.manifest['database']['kind']} database at "
        f"migration {result.manifest['database']['migration']}, "
        + ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
    )


@service_commands.command("restore")
@click.argument("src", type=click.Path(path_type=Path))
def restore_cmd(src: Path) -> None:
    """Rebuild an empty database and data directory from the backup SRC (every file is
    checked first; a non-empty target is refused and nothing is overwritten)."""
    from badgeworks.services.infra import backup

    try:
        result = backup.restore(get_settings(), src)
    except BadgeworksError as exc:
        _fail(exc)
    click.echo(
        f"restored {result.path}: "
        + ", ".join(f"{n} {name}" for name, n in sorted(result.counts.items()))
        + f"; database at migration {result.manifest['restored_migration']}. Start the "
        "service with the BADGEWORKS_KEY_SECRET the backed-up service used"
    )


def rotate_secret(check_only: bool) -> None:
    """``badgeworks keys rotate-secret [--check]``: exit 0 when every record is under the
    new secret (or was moved there), 1 when records are left (or, checked, to move)."""
    from sqlalchemy.exc import OperationalError

    from badgeworks.adapters.keystore import check_secret
    from badgeworks.services.context import utcnow
    from badgeworks.services.infra.secrets import rotate_secret as rotate

    settings = get_settings()
    engine = make_engine(settings)
    try:
        new = check_secret(settings.key_secret.get_secret_value() if settings.key_secret else None)
        upgrade(engine)
        result = rotate(engine, new, _previous(settings), now=utcnow(), apply=not check_only)
    except BadgeworksError as exc:
        _fail(exc)
    except OperationalError as exc:
        click.echo(
            f"error [database.unreachable]: the database cannot be reached "
            f"({str(exc.orig or exc).strip().splitlines()[0][:200]}); nothing was changed",
            err=True,
        )
        sys.exit(1)
    finally:
        engine.dispose()
    counts = (
        f"{result.issuer_keys} issuer key(s), {result.endorser_keys} endorser key(s), "
        f"{result.outbox_bodies} outbox message(s)"
    )
    for record in result.unreadable:
        click.echo(f"unreadable with either secret: {record}", err=True)
    if check_only:
        click.echo(f"still under the previous secret: {counts}")
        sys.exit(1 if result.pending or result.unreadable else 0)
    if result.unreadable:
        click.echo(
            f"re-encrypted {counts}; {len(result.unreadable)} record(s) open with neither "
            "secret, so the new secret was not recorded",
            err=True,
        )
        sys.exit(1)
    click.echo(
        f"re-encrypted {counts} under BADGEWORKS_KEY_SECRET"
        + ("; the new secret is recorded" if result.fingerprint_moved else "")
        + ". Restart every process without BADGEWORKS_KEY_SECRET_PREVIOUS"
    )


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


@service_commands.group("status")
def status_group() -> None:
    """Status lists: compare them with the database and repair them."""


@status_group.command("repair")
@click.option("--check", "check_only", is_flag=True, help="Only report drift (exit 1 if any).")
def status_repair(check_only: bool) -> None:
    """Re-derive every status list's bits from the database and re-sign the lists that
    drifted (docs/operations.md). With --check nothing is changed."""
    from badgeworks.services.lifecycle import status_lists

    with _services() as (session, ctx):
        drifted = status_lists.check(session) if check_only else status_lists.repair(session, ctx)
        for drift in drifted:
            click.echo(f"{'drift' if check_only else 'repaired'}: {drift.describe()}")
        if not drifted:
            click.echo("no drift: every status list matches the database")
        elif check_only:
            click.echo(f"{len(drifted)} list(s) drifted; run `badgeworks status repair`")
            sys.exit(1)
        else:
            click.echo(f"{len(drifted)} list(s) repaired and re-signed")


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
@click.option(
    "--cryptosuite",
    type=click.Choice(SIGNING_CRYPTOSUITES),
    default=DEFAULT_CRYPTOSUITE,
    show_default=True,
    help="The Data Integrity cryptosuite its credentials are signed with.",
)
def issuers_create(
    slug: str,
    name: str,
    url: str | None,
    email: str | None,
    description: str | None,
    did_method: str,
    cryptosuite: str,
) -> None:
    """Create an issuer SLUG with a fresh signing key."""
    data = _validated(
        IssuerCreate,
        {
            "slug": slug,
            "name": name,
            "url": url,
            "email": email,
            "description": description,
            "did_method": did_method,
            "cryptosuite": cryptosuite,
        },
    )
    with _services() as (session, ctx):
        issuer = issuers.create_issuer(session, ctx, data, actor=CLI_ACTOR)
        click.echo(f"created issuer {issuer.slug}: {issuer.did}")


@issuers_group.command("cryptosuite")
@click.argument("slug")
@click.argument("name", required=False, type=click.Choice(SIGNING_CRYPTOSUITES))
def issuers_cryptosuite(slug: str, name: str | None) -> None:
    """Show the cryptosuite issuer SLUG signs with, or set it to NAME.

    Only what is signed from now on changes: issued credentials keep their proofs.
    """
    with _services() as (session, ctx):
        issuer = issuers.get_issuer(session, slug)
        if name is not None:
            data = _validated(IssuerUpdate, {"cryptosuite": name})
            issuer = issuers.update_issuer(session, issuer, data, actor=CLI_ACTOR, now=ctx.clock())
        click.echo(f"{issuer.slug}\t{issuer.cryptosuite}")


@issuers_group.command("revocation-reasons")
@click.argument("slug")
@click.option(
    "--reason",
    "items",
    multiple=True,
    metavar="CODE=MESSAGE",
    help="A reason code (2 to 15) and its public message; repeat for each reason.",
)
@click.option("--reference", default=None, help="An https:// page explaining the reasons.")
@click.option("--clear", is_flag=True, help="Remove the reasons (new entries are 1 bit again).")
def issuers_revocation_reasons(
    slug: str, items: tuple[str, ...], reference: str | None, clear: bool
) -> None:
    """Show issuer SLUG's revocation reasons, or set them (--reason …) or remove them.

    Credentials issued afterwards carry them in their revocation entry; those already
    issued keep theirs. Prints one `CODE<TAB>MESSAGE` line per value of the entry.
    """
    from badgeworks.services.lifecycle import reasons

    parsed = []
    for item in items:
        code, sep, message = item.partition("=")
        if not sep or not code.strip().isdigit():
            click.echo(
                "error: --reason must be CODE=MESSAGE, such as 2='revoked: fraud'; "
                f"got {item!r:.60}",
                err=True,
            )
            sys.exit(2)
        parsed.append({"code": int(code), "message": message})
    with _services() as (session, ctx):
        issuer = issuers.get_issuer(session, slug)
        listed = reasons.of(issuer)
        if parsed or clear or reference is not None:
            try:
                listed = reasons.define(
                    session,
                    issuer,
                    []
                    if clear
                    else parsed or [{"code": r.code, "message": r.message} for r in listed.reasons],
                    None if clear else reference,
                    actor=CLI_ACTOR,
                    now=ctx.clock(),
                )
            except reasons.ReasonsRefused as exc:
                click.echo(f"error [{exc.code}]: {exc.message}", err=True)
                sys.exit(2)
        messages = listed.messages
        if messages is None:
            click.echo(f"{issuer.slug}: no revocation reasons (revocation entries are 1 bit)")
            return
        click.echo(f"{issuer.slug}: statusSize {listed.status_size}")
        for value, message in enumerate(messages):
            click.echo(f"{value}\t{message}")
        if listed.reference:
            click.echo(f"statusReference\t{listed.reference}")


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
    with _services() as (session, ctx):
        issuer = issuers.get_issuer(session, slug)
        row, token = tokens.create_token(
            session, issuer, label=label, actor=CLI_ACTOR, now=ctx.clock()
        )
        click.echo(token)
        click.echo(f"token {row.id} for {slug}: store it now, it is not shown again", err=True)


@tokens_group.command("revoke")
@click.option("--issuer", "slug", required=True)
@click.argument("token_id", type=int)
def tokens_revoke(slug: str, token_id: int) -> None:
    """Revoke token TOKEN_ID of an issuer."""
    with _services() as (session, ctx):
        issuer = issuers.get_issuer(session, slug)
        tokens.revoke_token(session, issuer, token_id, actor=CLI_ACTOR, now=ctx.clock())
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


def _lifecycle_command(action: str, summary: str) -> None:
    @service_commands.command(action, help=summary)
    @click.argument("credential_id")
    @click.option("--issuer", "slug", required=True, help="The credential's issuer.")
    @click.option("--reason", default="", help="Why (public: shown on the credential's page).")
    @click.option(
        "--at",
        "at",
        type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
        default=None,
        help="expire only: when validity ends (UTC; default now).",
        hidden=action != "expire",
    )
    @click.option(
        "--reason-code",
        "reason_code",
        type=click.IntRange(1, 65535),
        default=None,
        help="revoke only: one of the issuer's revocation reason codes (its message is "
        "the public reason).",
        hidden=action != "revoke",
    )
    def command(
        credential_id: str, slug: str, reason: str, at: Any, reason_code: int | None
    ) -> None:
        from datetime import UTC

        from badgeworks.services.lifecycle import changes as lifecycle

        with _services() as (session, ctx):
            issuer = issuers.get_issuer(session, slug)
            if action in ("reissue", "expire"):
                when = at.replace(tzinfo=UTC) if at is not None else None
                if action == "expire":
                    new = lifecycle.expire(
                        session, ctx, issuer, credential_id, reason=reason, actor=CLI_ACTOR, at=when
                    )
                else:
                    new = lifecycle.reissue(
                        session, ctx, issuer, credential_id, reason=reason, actor=CLI_ACTOR
                    )
                click.echo(issuance.credential_url(ctx, new.id))
                return
            operation = {
                "revoke": lifecycle.revoke,
                "suspend": lifecycle.suspend,
                "unsuspend": lifecycle.unsuspend,
            }[action]
            if reason_code is not None and action != "revoke":
                click.echo("error: --reason-code applies to revoke only", err=True)
                sys.exit(2)
            extra = {"reason_code": reason_code} if reason_code is not None else {}
            row = operation(
                session, ctx, issuer, credential_id, reason=reason, actor=CLI_ACTOR, **extra
            )
            label = lifecycle.state(session, ctx, row).label
            click.echo(f"{issuance.credential_url(ctx, row.id)}: {label}")


for _action, _summary in (
    ("revoke", "Revoke CREDENTIAL_ID for good (its status list bit is set and re-signed)."),
    ("suspend", "Suspend CREDENTIAL_ID (reversible with unsuspend)."),
    ("unsuspend", "Lift the suspension of CREDENTIAL_ID."),
    ("reissue", "Re-issue (correct) CREDENTIAL_ID; the old one is revoked as superseded."),
    ("expire", "End CREDENTIAL_ID's validity (--at, default now) by re-issuing it."),
):
    _lifecycle_command(_action, _summary)


@service_commands.command("issue-csv")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--issuer", "slug", required=True, help="The issuer of the cohort.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--reissue-revoked",
    is_flag=True,
    help="Issue again rows whose earlier credential was revoked (skipped otherwise).",
)
@click.option(
    "--no-notify",
    is_flag=True,
    help="Do not email the candidates (by default each issued row queues its candidate's "
    "message in the outbox; docs/outbox.md).",
)
def issue_csv(file: Path, slug: str, as_json: bool, reissue_revoked: bool, no_notify: bool) -> None:
    """Issue a cohort from a CSV FILE (format in docs/api.md), each row once.

    The file is checked first (bad rows are reported, nothing is issued for them). Rows
    issued before (a re-run, or a run that was killed) are skipped and listed with their
    credential; an interrupted run of the same file is resumed. Exit 1 if a row was refused.
    """
    data = file.read_bytes()
    actor = f"{CLI_ACTOR}:issue-csv"
    with _services() as (session, ctx):
        issuer = issuers.get_issuer(session, slug)
        lease = ctx.settings.bulk_lease_seconds
        bulk_jobs.reap(session, lease, issuer_id=issuer.id, now=ctx.clock())
        checked = bulk.check(session, issuer, data)
        earlier = bulk_jobs.find_resumable(session, issuer, bulk_jobs.good_csv(checked), "cli")
        if earlier is not None:
            job = bulk_jobs.resume(
                session, issuer, earlier.id or 0, lease=lease, actor=actor, now=ctx.clock()
            )
            click.echo(f"resuming interrupted job {job.id}", err=True)
        else:
            job = bulk_jobs.create_job(
                session,
                issuer,
                None,
                file.name,
                data,
                actor=actor,
                source="cli",
                checked=checked,
                now=ctx.clock(),
            )
        if job.status == "validated" and job.good_rows:
            job = bulk_jobs.claim(
                session,
                issuer,
                job.id or 0,
                reissue_revoked=reissue_revoked,
                notify_candidates=not no_notify,
                now=ctx.clock(),
            )
        bulk_jobs.close_empty(session, job, now=ctx.clock())
        result = _run_job(session, ctx, job.id or 0, actor)
    _print_result(result, as_json, job.id or 0)


def _run_job(session: Session, ctx: ServiceContext, job_id: int, actor: str) -> Any:
    """Run a job this process took, in the foreground with a progress bar; its result."""
    from badgeworks.db.console import BulkJob

    assert ctx.session_factory is not None
    job = session.get(BulkJob, job_id)
    assert job is not None
    if job.status == "running":
        with click.progressbar(length=job.good_rows, label="issuing", file=sys.stderr) as bar:
            last = [0]

            def progress(done: int, _total: int) -> None:
                bar.update(done - last[0])
                last[0] = done

            bulk_jobs.run(ctx.session_factory, ctx, job_id, actor=actor, progress=progress)
    session.expire_all()
    job = session.get(BulkJob, job_id)
    assert job is not None
    return bulk_jobs.result_of(session, ctx, job)


def _print_result(result: Any, as_json: bool, job_id: int) -> None:
    if as_json:
        click.echo(result.model_dump_json(indent=2))
    else:
        for row in result.rows:
            if row.outcome == "issued":
                click.echo(row.credential_url)
            elif row.outcome == "skipped" and row.reason == "revoked":
                click.echo(
                    f"line {row.line}: skipped, its credential {row.credential_url} was "
                    "revoked (--reissue-revoked issues it again)",
                    err=True,
                )
            elif row.outcome == "skipped":
                click.echo(
                    f"line {row.line}: skipped, already issued as {row.credential_url}", err=True
                )
            else:
                click.echo(f"line {row.line}: {'; '.join(row.errors)}", err=True)
        outcomes = ("issued", "skipped", "refused")
        counts = {k: sum(r.outcome == k for r in result.rows) for k in outcomes}
        click.echo(
            f"job {job_id}: issued {counts['issued']}, skipped {counts['skipped']}, "
            f"refused {counts['refused']}",
            err=True,
        )
    sys.exit(1 if result.rejected else 0)


@service_commands.group("jobs")
def jobs_group() -> None:
    """Bulk issuance jobs: list them, resume one whose worker died."""


@jobs_group.command("list")
@click.option("--issuer", "slug", default=None, help="Only this issuer's jobs.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def jobs_list(slug: str | None, limit: int) -> None:
    """The latest jobs: id, issuer, source, status, rows done, file."""
    from badgeworks.db.models import Issuer

    with _services() as (session, ctx):
        issuer = issuers.get_issuer(session, slug) if slug else None
        bulk_jobs.reap(session, ctx.settings.bulk_lease_seconds, now=ctx.clock())
        for job in bulk_jobs.list_jobs(session, issuer, limit):
            owner = session.get(Issuer, job.issuer_id)
            click.echo(
                f"{job.id}\t{owner.slug if owner else job.issuer_id}\t{job.source}\t"
                f"{job.status}\t{job.done}/{job.good_rows}\t{job.filename}"
            )


@jobs_group.command("resume")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def jobs_resume(job_id: int, as_json: bool) -> None:
    """Resume job JOB_ID (interrupted or failed) here, in the foreground."""

    with _services() as (session, ctx):
        actor = f"{CLI_ACTOR}:jobs-resume"
        bulk_jobs.resume(
            session,
            None,
            job_id,
            lease=ctx.settings.bulk_lease_seconds,
            actor=actor,
            now=ctx.clock(),
        )
        result = _run_job(session, ctx, job_id, actor)
    _print_result(result, as_json, job_id)


#: How often ``serve --demo`` delivers the outbox when no interval is configured.
DEMO_OUTBOX_INTERVAL = 2.0


def demo_mail_settings(settings: Settings) -> tuple[Settings, str | None]:
    """``serve --demo``'s mail: without an SMTP server, console mail every 2 s.

    Returns the settings to serve with and the line to print about mail (None: the usual
    ``delivery_summary``). An SMTP host, or BADGEWORKS_MAIL_CONSOLE set to false
    explicitly, is left as configured.
    """
    if settings.smtp_host:
        return settings, None
    if not settings.mail_console and "mail_console" in settings.model_fields_set:
        return settings, None
    interval = settings.outbox_interval_seconds or DEMO_OUTBOX_INTERVAL
    settings = settings.model_copy(
        update={"mail_console": True, "outbox_interval_seconds": interval}
    )
    note = (
        "mail: no SMTP server is configured (BADGEWORKS_SMTP_HOST), so this demo prints each "
        "message (the candidate's sign-in link, mentors' review links) in this terminal, "
        f"checked every {interval:g} s (BADGEWORKS_MAIL_CONSOLE: local development only)"
    )
    return settings, note


def _seed_and_print(settings: Settings, *, serving: bool = False) -> Settings:
    from badgeworks.services.demo import seed_demo
    from badgeworks.services.infra.secrets import check_key_secret

    settings, note = ensure_dev_key_secret(settings)
    if note:
        click.echo(note, err=True)
    with _services(settings) as (session, ctx):
        # Refuse a changed secret before touching the demo (create_app checks it again).
        check_key_secret(session, ctx.key_secret, now=ctx.clock())
        result = seed_demo(session, ctx)
    for line in demo_lines(result, console_mail=serving and settings.mail_console):
        click.echo(line)
    return settings


def demo_lines(result: DemoResult, *, console_mail: bool = False) -> list[str]:
    """What ``seed-demo`` and ``serve --demo`` print: absolute URLs, the token, the login.

    ``console_mail``: this process prints the outbox's mail (``serve --demo`` without an
    SMTP server), so the candidate's sign-in link will appear in this terminal.
    """
    if result.created:
        first = "Demo ready: one program, achievement, candidate and completed project, issued."
    else:
        first = (
            "Demo already present: reusing it (nothing was created again); "
            "only the token and the console password below are new."
        )
    urls = [
        ("start page", result.home_url),
        ("credential page", result.credential_url),
        ("credential JSON", result.json_url),
        ("verify it", result.verify_url),
        ("candidate's portfolio", result.portfolio_url),
        ("candidate sign-in", result.sign_in_url),
        ("program console", result.console_url),
        ("API docs", result.docs_url),
        ("issuer DID document", result.did_document_url),
    ]
    width = max(len(label) for label, _ in urls) + 1
    lines = [first, "Open:"]
    lines += [f"  {label + ':':<{width}} {url}" for label, url in urls]
    lines.append("  deliverables:")
    lines += [f"    {name}: {url}" for name, url in result.deliverables]
    if console_mail:
        where = "the sign-in link appears in this terminal a few seconds later"
    else:
        where = "the sign-in link is queued in the outbox (docs/outbox.md)"
    lines += [
        "Candidate sign-in (the candidate's own controls at /me):",
        f"  enter {result.candidate_email} on the candidate sign-in page; {where}",
    ]
    lines += [
        "Program console sign-in (demo owner; the password is reset on every run):",
        f"  email {result.console_email}  password {result.console_password}",
        f"API token for {result.issuer_slug} (new on every run and shown only now; "
        "earlier ones stay valid until revoked):",
        f"  {result.token}",
    ]
    return lines


@service_commands.group("staff")
def staff_group() -> None:
    """Manage program console staff (docs/console.md)."""


@staff_group.command("create")
@click.argument("email")
@click.option("--issuer", "slug", required=True, help="The program (issuer) they work in.")
@click.option(
    "--role",
    type=click.Choice(["viewer", "issuer", "owner"]),
    default="viewer",
    show_default=True,
    help="owner: staff, keys, tokens; issuer: issues and revokes; viewer: reads.",
)
@click.option("--name", default="", help="Display name.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin (else one is generated)."
)
def staff_create(email: str, slug: str, role: str, name: str, password_stdin: bool) -> None:
    """Give staff member EMAIL a role in a program, creating the account if it is new.

    A new account gets the password from stdin, or a generated one shown once. An existing
    account (of this or another program) keeps its own password: the output says so.
    """
    import secrets

    from badgeworks.services.accounts import staff

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with _services() as (session, ctx):
        issuer = issuers.get_issuer(session, slug)
        existing = staff.find_staff(session, email)
        generated = None
        if password is None and existing is None:
            generated = password = secrets.token_urlsafe(15)
        grant = staff.create_or_add_staff(
            session,
            issuer,
            email,
            role,
            password=password if existing is None else None,
            name=name,
            actor=CLI_ACTOR,
            base_url=ctx.base_url,
            operator=True,
            now=ctx.clock(),
        )
        click.echo(f"{grant.member.email} is {grant.membership.role} of {slug}")
        if not grant.created:
            click.echo(
                f"{grant.member.email} already had an account: it was added to {slug} and its "
                "password was NOT changed"
                + (" (the password given on stdin was not used)" if password_stdin else "")
                + ". To replace it, use `badgeworks staff set-password`."
            )
        if grant.pending:
            click.echo(
                f"its password was chosen by another program's owner, so {slug} opens for "
                "them only after they choose their own password with the link queued to "
                "their address (`badgeworks outbox send` delivers it)"
            )
        if generated:
            click.echo(f"password (shown once): {generated}", err=True)


@staff_group.command("set-password")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from stdin (else one is generated)."
)
def staff_set_password(email: str, password_stdin: bool) -> None:
    """Replace the password of staff member EMAIL (the operator's reset); every session of
    the account ends."""
    import secrets

    from badgeworks.services.accounts import staff
    from badgeworks.services.errors import NotFoundError

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    generated = None
    if password is None:
        generated = password = secrets.token_urlsafe(15)
    with _services() as (session, ctx):
        member = staff.find_staff(session, email)
        if member is None:
            raise NotFoundError(
                f"there is no staff account {email!r:.80}; create it with `badgeworks staff "
                "create`",
                code="staff.not_found",
            )
        ended = staff.set_password(
            session, member, password, chosen_by=None, actor=CLI_ACTOR, now=ctx.clock()
        )
        click.echo(f"the password of {member.email} was replaced; {ended} session(s) ended")
        if generated:
            click.echo(f"password (shown once): {generated}", err=True)


@service_commands.command("seed-demo")
def seed_demo_cmd() -> None:
    """Create a demo program, achievement, candidate and project; issue one credential."""
    _seed_and_print(get_settings())


# ----------------------------------------------------------------------------- mentors


@service_commands.group("mentors")
def mentors_group() -> None:
    """Invite mentors and host organisations to review and endorse (docs/endorsements.md)."""


@mentors_group.command("invite")
@click.argument("project_id", type=int)
@click.option("--mentor", "email", required=True, help="The reviewer's email address.")
@click.option("--name", default=None, help="Their name (default: the email's local part).")
@click.option("--title", default=None, help="Their job title.")
@click.option("--organization", default=None, help="Their organisation.")
@click.option("--kind", type=click.Choice(["mentor", "host"]), default="mentor", show_default=True)
@click.option(
    "--subject",
    type=click.Choice(["credential", "achievement"]),
    default="credential",
    show_default=True,
    help="Endorse the candidate's credential or the achievement.",
)
@click.option("--did", default=None, help="The reviewer's own did:key/did:web (they upload).")
@click.option("--days", type=int, default=None, help="Days the link stays valid.")
def mentors_invite(
    project_id: int,
    email: str,
    name: str | None,
    title: str | None,
    organization: str | None,
    kind: str,
    subject: str,
    did: str | None,
    days: int | None,
) -> None:
    """Invite a reviewer for PROJECT_ID; prints the single-use review link."""
    from badgeworks.db.models import Project
    from badgeworks.services.endorsements import workflow as endorsements

    data = _validated(
        endorsements.ReviewCreate,
        {
            "kind": kind,
            "name": name or email.split("@", 1)[0],
            "email": email,
            "title": title,
            "organization": organization,
            "did": did,
            "subject": subject,
            "expires_in_days": days,
        },
    )
    with _services() as (session, ctx):
        project = session.get(Project, project_id)
        if project is None:
            click.echo(f"error [project.not_found]: there is no project {project_id}", err=True)
            sys.exit(1)
        issuer = issuers.get_issuer_by_id(session, project.issuer_id)
        row, endorser, link = endorsements.invite(
            session, ctx, issuer, project_id, data, actor=CLI_ACTOR
        )
        click.echo(link)
        click.echo(
            f"invite {row.id} for {endorser.name} ({endorser.did}); expires "
            f"{row.expires_at:%Y-%m-%d}; queued in the outbox (delivered by a server with "
            "BADGEWORKS_OUTBOX_INTERVAL_SECONDS, or by 'badgeworks outbox send')",
            err=True,
        )


@service_commands.group("outbox")
def outbox_group() -> None:
    """Messages waiting to be delivered (docs/outbox.md)."""


@outbox_group.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "sending", "sent", "failed"]),
    default=None,
    help="Filter.",
)
def outbox_list(status: str | None) -> None:
    """List messages: id, status, attempts, recipient, subject, last error."""
    from badgeworks.services.infra import outbox

    with _services() as (session, _ctx):
        for m in outbox.list_messages(session, status=status, limit=10000):
            click.echo(
                f"{m.id}\t{m.status}\t{m.attempts}\t{m.to}\t{m.subject}\t{m.last_error or ''}"
            )


@outbox_group.command("send")
@click.option("--limit", type=int, default=100, show_default=True, help="At most this many.")
def outbox_send(limit: int) -> None:
    """Deliver pending messages over SMTP (BADGEWORKS_SMTP_*), or print them with
    BADGEWORKS_MAIL_CONSOLE; exit 1 if any failed. Safe alongside servers that deliver."""
    from badgeworks.services.infra import outbox

    settings = get_settings()
    with _services(settings) as (session, ctx):
        sender = outbox.require_sender(settings)
        result = outbox.send_pending(session, ctx, sender, limit=limit)
    click.echo(f"sent {result.sent}, failed {result.failed}, gave up {result.gave_up}")
    sys.exit(1 if result.failed or result.gave_up else 0)
