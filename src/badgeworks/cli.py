"""The ``badgeworks`` command line: keys, sign, verify, demo.

File I/O lives here; the work is done by the pure core. Exit codes: 0 success or
verified, 1 not verified, 2 unreadable input or usage error (docs/cli.md). Every
error is one line on stderr starting with ``error:``; no command prints a traceback.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import click

from badgeworks.adapters.resources import default_loader
from badgeworks.core.credential import parse_xsd_datetime, xsd_datetime
from badgeworks.core.crypto.ed25519 import Ed25519KeyPair
from badgeworks.core.cryptosuites import DEFAULT_CRYPTOSUITE, SIGNING_CRYPTOSUITES
from badgeworks.core.document import DEFAULT_MAX_BYTES, parse_json_document
from badgeworks.core.enveloped import envelope_credential, envelope_kind, enveloped_payload
from badgeworks.core.errors import BadgeworksError
from badgeworks.core.keys import key_pair_from_json, key_pair_to_json
from badgeworks.core.proof import add_proof
from badgeworks.core.vc_jwt import is_compact_jws
from badgeworks.services.verification.capabilities import standalone
from badgeworks.services.verification.pipeline import VERDICT_TEXT, KnownIssuer, Report, verify
from badgeworks.settings import Settings, get_settings

EXIT_OK = 0
EXIT_NOT_VERIFIED = 1
EXIT_USAGE = 2

MARKS = {"pass": "✓", "fail": "✗", "warning": "!", "skipped": "-", "indeterminate": "?"}


class UsageFailure(click.ClickException):
    """An input or usage problem: one line on stderr, exit code 2."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def _fail(message: str) -> NoReturn:
    raise UsageFailure(message)


class _Group(click.Group):
    """A group whose usage errors are one ``error:`` line, like every other error."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.ClickException as exc:
            message = exc.format_message().splitlines()[0] if exc.format_message() else ""
            click.echo(f"error: {message}", err=True)
            sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(EXIT_USAGE)
        except BrokenPipeError:
            sys.exit(EXIT_OK)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


def _read_bytes(path: str, what: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read at most ``max_bytes + 1`` bytes (so oversize is detectable without reading it all)."""
    if path == "-":
        stdin: BinaryIO = sys.stdin.buffer
        return stdin.read(max_bytes + 1)
    try:
        with Path(path).open("rb") as f:
            return f.read(max_bytes + 1)
    except FileNotFoundError:
        _fail(f"{what} {path}: no such file")
    except IsADirectoryError:
        _fail(f"{what} {path} is a directory, not a file")
    except PermissionError:
        _fail(f"{what} {path}: permission denied")
    except OSError as exc:
        _fail(f"{what} {path}: {exc.strerror or exc}")


def _read_json(path: str, what: str = "input") -> Any:
    data = _read_bytes(path, what)
    try:
        return parse_json_document(data)
    except BadgeworksError as exc:
        name = "stdin" if path == "-" else path
        _fail(f"{what} {name}: {exc}")


def _parse_now(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_xsd_datetime(value, require_timezone=True)
    except BadgeworksError as exc:
        _fail(f"--now: {exc}")


def _schemas() -> Mapping[str, Any] | None:
    """The bundled JSON Schemas by URL, if this build has them."""
    try:
        from badgeworks.adapters.resources import schema_documents
    except ImportError:  # pragma: no cover - older resource adapter
        return None
    try:
        found: Mapping[str, Any] = schema_documents()
    except (OSError, ValueError):
        return None
    return found


def _write_new_file(path: str, text: str, mode: int) -> None:
    """Create ``path`` with ``mode``; refuse to overwrite anything."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        _fail(f"{path} already exists; refusing to overwrite it")
    except OSError as exc:
        _fail(f"cannot create {path}: {exc.strerror or exc}")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@click.group(cls=_Group)
@click.version_option(package_name="badgeworks")
def badgeworks() -> None:
    """Sign and verify Open Badges 3.0 credentials (eddsa-rdfc-2022 Data Integrity)."""


@badgeworks.group()
def keys() -> None:
    """Manage Ed25519 signing keys."""


@keys.command("generate")
@click.option("--out", "out", metavar="FILE", help="Write the key file here (mode 0600).")
@click.option("--controller", metavar="DID", help="The key's controller (default: its did:key).")
def keys_generate(out: str | None, controller: str | None) -> None:
    """Generate an Ed25519 key and print (or write) its key file JSON."""
    try:
        key = Ed25519KeyPair.generate(controller=controller)
    except BadgeworksError as exc:
        _fail(f"--controller: {exc}")
    text = _dumps(key_pair_to_json(key, include_secret=True)) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    _write_new_file(out, text, 0o600)
    click.echo(f"wrote {out} (key {key.id})", err=True)


@keys.command("rotate-secret")
@click.option(
    "--check", "check_only", is_flag=True, help="Only count the records still to re-encrypt."
)
def keys_rotate_secret(check_only: bool) -> None:
    """Re-encrypt every stored key (and sealed mail) under BADGEWORKS_KEY_SECRET, from
    BADGEWORKS_KEY_SECRET_PREVIOUS, while the service runs (docs/deployment.md)."""
    from badgeworks.cli_service import rotate_secret

    rotate_secret(check_only)


def _load_key(path: str) -> Ed25519KeyPair:
    data = _read_json(path, "key file")
    try:
        key = key_pair_from_json(data)
    except BadgeworksError as exc:
        _fail(f"key file {path}: {exc}")
    if not key.can_sign:
        _fail(f"key file {path} has no secretKeyMultibase, so it cannot sign")
    return key


@badgeworks.command()
@click.argument("file")
@click.option(
    "--key", "key_file", required=True, metavar="KEYFILE", help="The key file to sign with."
)
@click.option("--created", metavar="ISO8601", help="The proof's created time (default: now).")
@click.option("--output", metavar="FILE", help="Write the signed JSON here instead of stdout.")
@click.option(
    "--envelope",
    is_flag=True,
    help="Secure it with VC-JOSE-COSE instead: write an EnvelopedVerifiableCredential "
    "(application/vc+jwt, EdDSA); --created becomes its 'iat'.",
)
@click.option(
    "--cryptosuite",
    type=click.Choice(SIGNING_CRYPTOSUITES),
    default=None,
    help=f"The Data Integrity cryptosuite of the proof (default: {DEFAULT_CRYPTOSUITE}; "
    "not with --envelope).",
)
def sign(
    file: str,
    key_file: str,
    created: str | None,
    output: str | None,
    envelope: bool,
    cryptosuite: str | None,
) -> None:
    """Add a Data Integrity proof (eddsa-rdfc-2022, or --cryptosuite eddsa-jcs-2022) to the
    credential in FILE ('-' for stdin)."""
    if envelope and cryptosuite is not None:
        _fail("--cryptosuite names a Data Integrity proof; --envelope makes a JWS instead")
    document = _read_json(file)
    if not isinstance(document, dict):
        _fail("input: only a JSON object can be signed")
    key = _load_key(key_file)
    when = _parse_created(created)
    try:
        if envelope:
            signed = envelope_credential(document, key, iat=when)
        else:
            signed = add_proof(
                document,
                key,
                default_loader(),
                created=when,
                cryptosuite=cryptosuite or DEFAULT_CRYPTOSUITE,
            )
    except BadgeworksError as exc:
        _fail(f"cannot sign {file}: {exc}")
    text = _dumps(signed) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        _write_new_file(output, text, 0o644)


def _parse_created(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return parse_xsd_datetime(value, require_timezone=True)
    except BadgeworksError as exc:
        _fail(f"--created: {exc}")


def _status_list_argument(argument: str) -> tuple[str | None, str]:
    """``--status-list`` as (URL, FILE): ``FILE``, or ``URL=FILE`` naming the
    ``statusListCredential`` URL the file answers for (split at the last ``=``)."""
    if os.path.exists(argument) or argument == "-":
        return None, argument
    url, equals, path = argument.rpartition("=")
    if equals and url.split(":", 1)[0].lower() in ("http", "https") and path:
        return url, path
    return None, argument


def _status_entries(document: Any) -> list[tuple[str, set[str]]]:
    """The credential's Bitstring Status List entries as (URL, purposes); none for a
    VC-JWT (its entries are read after its signature, by the pipeline). An enveloped
    credential's entries are those of the credential it carries (read, not yet verified:
    this only matches list files to entries; the pipeline verifies)."""
    if envelope_kind(document) == "vc":
        document = enveloped_payload(document)
    status = document.get("credentialStatus") if isinstance(document, dict) else None
    entries = status if isinstance(status, list) else [status]
    found: list[tuple[str, set[str]]] = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("statusListCredential"), str):
            purpose = entry.get("statusPurpose")
            found.append((entry["statusListCredential"], {purpose} if purpose else set()))
    return found


def _list_purposes(document: dict[str, Any]) -> set[str]:
    subject = document.get("credentialSubject")
    purposes = subject.get("statusPurpose") if isinstance(subject, dict) else None
    purposes = [purposes] if isinstance(purposes, str) else purposes
    return {p for p in purposes if isinstance(p, str)} if isinstance(purposes, list) else set()


def _status_lists(arguments: Sequence[str], credential: Any) -> dict[str, dict[str, Any]]:
    """The ``--status-list`` files by the ``statusListCredential`` URL each answers for.

    A list with an ``id`` answers for that URL only (Bitstring Status List §2.2: the ``id``
    may match the entry's ``statusListCredential``): its signed ``id`` is never overridden,
    so a list the issuer published for other credentials cannot stand in for this one's.
    A list without an ``id`` answers for the URL given with it (``URL=FILE``), or else for
    the one entry of the credential that no other list answers for and whose purpose the
    list has.
    """
    lists: dict[str, dict[str, Any]] = {}
    unnamed: list[tuple[str, dict[str, Any]]] = []
    for argument in arguments:
        url, path = _status_list_argument(argument)
        document = _read_json(path, "status list")
        if not isinstance(document, dict):
            _fail(f"status list {path} is not a JSON object")
        own = document.get("id")
        if own is not None and not isinstance(own, str):
            _fail(f"status list {path} has an 'id' that is not a URL")
        if url is not None and own is not None and own != url:
            _fail(
                f"status list {path} names itself {own!r:.200}, not {url!r:.200}; "
                "a list is only used for the URL it names"
            )
        key = url or own
        if key is None:
            unnamed.append((path, document))
        elif key in lists:
            _fail(f"two status lists were given for {key:.200}")
        else:
            lists[key] = document
    open_entries = [(u, p) for u, p in _status_entries(credential) if u not in lists]
    for path, document in unnamed:
        purposes = _list_purposes(document)
        fits = {u for u, wanted in open_entries if u not in lists and wanted & purposes}
        if len(fits) != 1:
            _fail(
                f"status list {path} has no 'id', and the credential has "
                f"{'no' if not fits else 'more than one'} status entry it could answer for; "
                "give it as --status-list URL=FILE"
            )
        lists[fits.pop()] = document
    return lists


def _read_credential(path: str) -> Any:
    """A JSON document, or as plain text a compact JWS (a VC-JWT, or VC-JOSE-COSE with
    ``typ`` ``vc+jwt``) or an enveloped credential's ``data:application/vc+jwt,`` URL."""
    data = _read_bytes(path, "input")
    try:
        return parse_json_document(data)
    except BadgeworksError as exc:
        text = data[:DEFAULT_MAX_BYTES].decode("utf-8", "replace").strip()
        if is_compact_jws(text) or envelope_kind(text) == "vc":
            return text
        name = "stdin" if path == "-" else path
        _fail(f"input {name}: {exc}")


def _trust(path: str | None) -> dict[str, KnownIssuer]:
    """The ``--trust`` registry (the format of ``BADGEWORKS_VERIFY_TRUST_REGISTRY``)."""
    if path is None:
        return {}
    from badgeworks.services.verification.public import load_registry

    try:
        return load_registry(Path(path))
    except BadgeworksError as exc:
        _fail(f"--trust: {exc}")


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    from badgeworks.services.verification.public import check_email

    try:
        checked = check_email(value)
    except BadgeworksError as exc:
        _fail(f"--email: {exc}")
    if checked is None:
        _fail("--email: the email address is empty")
    return checked


def _online_settings() -> Settings:
    """The fetcher's settings (``BADGEWORKS_FETCH_*``, docs/configuration.md)."""
    try:
        return get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        _fail(f"--online: the BADGEWORKS_* settings are invalid: {str(exc).splitlines()[0]}")


def _print_report(report: Report) -> None:
    click.echo(VERDICT_TEXT[report.verdict])
    for check in report.checks:
        click.echo(f"  {MARKS[check.outcome]} {check.check}: {check.message} [{check.code}]")


@badgeworks.command("verify")
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--now", metavar="ISO8601", help="Verify as of this time (default: now).")
@click.option(
    "--status-list",
    "status_lists",
    multiple=True,
    metavar="[URL=]FILE",
    help="A BitstringStatusListCredential to check status against (repeatable): used for "
    "the statusListCredential URL its id names, or the URL given before '='; a list "
    "without an id answers for the one status entry it fits.",
)
@click.option(
    "--online",
    is_flag=True,
    help="Fetch did:web documents, HTTPS keys, status lists and deliverables "
    "(through the SSRF-safe fetcher).",
)
@click.option("--email", metavar="ADDRESS", help="Check the recipient against this email.")
@click.option(
    "--trust",
    "trust_file",
    metavar="FILE",
    help="A trust registry of known issuers (the BADGEWORKS_VERIFY_TRUST_REGISTRY format).",
)
@click.pass_context
def verify_command(
    ctx: click.Context,
    file: str,
    as_json: bool,
    now: str | None,
    status_lists: tuple[str, ...],
    online: bool,
    email: str | None,
    trust_file: str | None,
) -> None:
    """Verify the credential in FILE ('-' for stdin). Exit 0 verified, 1 not, 2 bad input."""

    moment = _parse_now(now)
    known = _trust(trust_file)
    address = _email(email)
    settings = _online_settings() if online else None
    document = _read_credential(file)
    lists = _status_lists(status_lists, document)
    # The same pipeline as the API and the VC-API; only the capabilities differ.
    with standalone(settings, status_lists=lists, known=known) as verifier:
        report = verify(verifier, document, now=moment, email=address).report
    if as_json:
        click.echo(_dumps(report.as_dict()))
    else:
        _print_report(report)
    ctx.exit(EXIT_OK if report.verified else EXIT_NOT_VERIFIED)


@badgeworks.command()
def demo() -> None:
    """Issue, verify and tamper with a sample micro-internship badge (no files written)."""
    run_demo(datetime.now(UTC).replace(microsecond=0))


DEMO_LIST_URL = "https://northwind.example/status/revocation/1"


def _sample_badge(key: Ed25519KeyPair, now: datetime) -> dict[str, Any]:
    """A realistic micro-internship badge, unsigned, built with the OB 3.0 builders."""
    from badgeworks.core import credential as ob
    from badgeworks.core.identity import identity_object

    issuer = ob.profile(
        id=key.controller,
        name="Northwind Institute of Technology",
        url="https://northwind.example",
    )
    host = ob.profile(id="https://acme-robotics.example", name="Acme Robotics")
    rubric = ob.result_description(
        id="https://northwind.example/achievements/data-pipeline/results/overall",
        name="Mentor's overall assessment",
        result_type="RubricCriterionLevel",
        rubric_criterion_level=[
            ob.rubric_criterion_level(
                id="https://northwind.example/achievements/data-pipeline/levels/meets",
                name="Meets expectations",
            ),
            ob.rubric_criterion_level(
                id="https://northwind.example/achievements/data-pipeline/levels/exceeds",
                name="Exceeds expectations",
            ),
        ],
    )
    achievement = ob.achievement(
        id="https://northwind.example/achievements/data-pipeline",
        name="Data Pipeline Micro-internship",
        description="A four-week, 40-hour project building a data pipeline for a host company.",
        criteria_narrative="Deliver a tested ingestion pipeline and present it to the host team.",
        achievement_type="Fieldwork",
        result_description=[rubric],
        tag=["data engineering", "python", "micro-internship"],
    )
    subject = ob.achievement_subject(
        achievement=achievement,
        identifier=[identity_object("ada.lovelace@example.com", salt="demo-salt-7f3a")],
        role="Intern",
        source=host,
        result=[
            ob.result(
                result_description=rubric["id"],
                achieved_level="https://northwind.example/achievements/data-pipeline/levels/exceeds",
            )
        ],
    )
    return ob.achievement_credential(
        id="urn:uuid:6f1c2b1e-3c55-4a8e-9d43-2f0a8f6b7c11",
        issuer=issuer,
        valid_from=xsd_datetime(now),
        subject=subject,
        name="Data Pipeline Micro-internship",
        evidence=[
            ob.evidence(
                id="https://acme-robotics.example/projects/ingest/v1.2.0",
                name="Ingestion pipeline (release v1.2.0)",
                genre="Source code",
            )
        ],
        credential_status=ob.bitstring_status_list_entry(list_url=DEMO_LIST_URL, index=94567),
    )


def run_demo(now: datetime) -> None:
    """Generate a throwaway key, issue a badge, verify it, then tamper with it and revoke it."""
    from badgeworks.core.issue import issue
    from badgeworks.core.status import (
        encode_list,
        new_bitstring,
        set_status,
        status_list_credential,
    )

    loader = default_loader()
    schemas = _schemas()
    key = Ed25519KeyPair.generate()
    bits = new_bitstring()

    def signed_list() -> dict[str, Any]:
        unsigned = status_list_credential(
            id=DEMO_LIST_URL,
            issuer=key.controller,
            purpose="revocation",
            encoded_list=encode_list(bits),
            valid_from=now,
        )
        return add_proof(unsigned, key, loader, created=now)

    lists = {DEMO_LIST_URL: signed_list()}

    def show(title: str, document: Any) -> None:
        with standalone(None, status_lists=lists, known={}) as verifier:
            report = verify(verifier, document, now=now).report
        click.echo(f"\n== {title} ==")
        _print_report(report)

    badge = issue(_sample_badge(key, now), key, loader, now=now, schemas=schemas)
    click.echo("== The signed badge (a throwaway key; nothing is written to disk) ==")
    click.echo(_dumps(badge))
    show("Verifying the badge", badge)

    tampered = copy.deepcopy(badge)
    tampered["credentialSubject"]["achievement"]["name"] = "Senior Data Engineer"
    show("Verifying a copy whose achievement name was changed", tampered)

    set_status(bits, 94567, 1)
    lists[DEMO_LIST_URL] = signed_list()
    show("Verifying the badge after the issuer revoked it", badge)


def _attach_service_commands() -> None:
    """Add the service's commands (serve, db, issuers, tokens, issue, …) to this group."""
    from badgeworks.cli_service import service_commands

    for name, command in service_commands.commands.items():
        badgeworks.add_command(command, name)
    from badgeworks.cli_worker import queue_group, worker_command

    badgeworks.add_command(worker_command, "worker")
    badgeworks.add_command(queue_group, "queue")
    from badgeworks.cli_storage import storage_group

    badgeworks.add_command(storage_group, "storage")


_attach_service_commands()


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (``badgeworks``, ``python -m badgeworks``)."""
    badgeworks.main(args=list(argv) if argv is not None else None, prog_name="badgeworks")
