"""``badgeworks storage``: moving the blob store (docs/storage.md, docs/cli.md).

Exit codes: 0 every blob is in the bucket and checked, 1 some were not, 2 a usage or
configuration problem (no ``s3://`` BADGEWORKS_STORAGE_URL, a bucket that cannot be used).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from badgeworks.adapters.blobstore import BlobStore
from badgeworks.adapters.s3_blobstore import S3BlobStore
from badgeworks.core.errors import BadgeworksError
from badgeworks.services.infra.storage_copy import copy_to_s3
from badgeworks.settings import get_settings


@click.group("storage")
def storage_group() -> None:
    """Where deliverables, photos and images are kept."""


@storage_group.command("copy-to-s3")
@click.option(
    "--from",
    "source_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The local blob store to copy (default: the blobs folder of BADGEWORKS_DATA_DIR).",
)
@click.option(
    "--check-existing",
    is_flag=True,
    help="Also read back every blob already in the bucket and replace any whose bytes no "
    "longer match its digest.",
)
@click.option("--quiet", is_flag=True, help="Print only the totals.")
def copy_to_s3_command(source_dir: Path | None, check_existing: bool, quiet: bool) -> None:
    """Copy the local blob store into the bucket of BADGEWORKS_STORAGE_URL.

    Safe to run again: blobs already in the bucket are skipped, so an interrupted copy is
    finished by running it once more. Each local file is checked against its digest before
    it is sent and each upload is read back and checked. The local files are not changed.
    """
    settings = get_settings()
    if not settings.storage_url:
        click.echo(
            "error [config.storage_url]: set BADGEWORKS_STORAGE_URL=s3://bucket/prefix (and "
            "the S3 endpoint, region and keys) to name the bucket to copy into",
            err=True,
        )
        sys.exit(2)
    source = BlobStore(source_dir or settings.data_dir / "blobs")
    if not source.root.is_dir():
        click.echo(f"error [storage.no_source]: there is no blob store at {source.root}", err=True)
        sys.exit(2)
    try:
        target = S3BlobStore.from_settings(settings)
        target.check()
    except BadgeworksError as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(2)

    def progress(digest: str, outcome: str) -> None:
        if not quiet or outcome in ("corrupt", "failed"):
            click.echo(f"{outcome:8} {digest}", err=outcome in ("corrupt", "failed"))

    click.echo(f"copying {source.root} to {target.describe()}")
    try:
        report = copy_to_s3(source, target, check_existing=check_existing, progress=progress)
    except BadgeworksError as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        sys.exit(1)
    click.echo(
        f"{report.copied} copied, {report.present} already in the bucket, "
        f"{report.repaired} replaced (changed in the bucket), "
        f"{len(report.corrupt_local)} local file(s) not matching their digest (not copied), "
        f"{len(report.failed)} failed"
    )
    if not report.ok:
        sys.exit(1)
