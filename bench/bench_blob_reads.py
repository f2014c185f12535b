"""What a checked read from an S3-compatible bucket costs next to local disk.

    PYTHONPATH=. .venv/bin/python bench/bench_blob_reads.py --size 1048576 --reads 20

Starts a moto S3 server process on a free loopback port, stores one random blob of
``--size`` bytes in each store and prints the median of ``--reads`` reads (``open`` and
read to the end: from the bucket, downloaded whole and checked against its digest first),
and of as many signed links to the already checked object (one ``HeadObject`` each).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import httpx
from pydantic import SecretStr
from tests.servers import free_port

from badgeworks.adapters.blobstore import Blobs, BlobStore
from badgeworks.adapters.s3_blobstore import S3BlobStore
from badgeworks.settings import get_settings


def median_ms(action: Callable[[], object], times: int) -> float:
    """The median wall time of ``action`` in milliseconds."""
    spent = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        spent.append(time.perf_counter() - start)
    return statistics.median(spent) * 1000


def read_all(store: Blobs, digest: str) -> None:
    with store.open(digest) as handle:
        while handle.read(256 * 1024):
            pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1024 * 1024)
    parser.add_argument("--reads", type=int, default=20)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(endpoint + "/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).create_bucket(Bucket="bench")
        data = os.urandom(args.size)
        with tempfile.TemporaryDirectory(prefix="bench-blobs-") as tmp:
            local = BlobStore(Path(tmp) / "blobs")
            bucket = S3BlobStore.from_settings(
                get_settings(
                    storage_url="s3://bench/blobs",
                    s3_endpoint_url=endpoint,
                    s3_region="us-east-1",
                    s3_access_key_id=SecretStr("bench"),
                    s3_secret_access_key=SecretStr("bench"),
                )
            )
            for name, store in (
                ("local disk: read", local),
                ("S3 (moto, loopback): checked read", bucket),
            ):
                digest = store.put(data)
                ms = median_ms(functools.partial(read_all, store, digest), args.reads)
                print(f"{name} of {args.size} bytes, median {ms:.1f} ms")
            ms = median_ms(
                lambda: bucket.signed_url(
                    digest, media_type="image/png", attachment_name=None, seconds=60
                ),
                args.reads,
            )
            print(f"S3 (moto, loopback): signed link to a checked object, median {ms:.1f} ms")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
