"""A real S3 server for tests: moto in server mode, its own process, on a free loopback
port over HTTP (registered as a plugin in conftest.py: ``s3_endpoint``, ``bucket``), and
the settings and client that reach it."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from pydantic import SecretStr

from badgeworks.settings import Settings


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server process on a free loopback port, for one test file's tests."""
    from tests.servers import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(endpoint + "/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto S3 server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)


def raw_client(endpoint: str) -> Any:
    """A plain boto3 client of the moto server: what someone else with the keys can do."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def new_bucket(endpoint: str, stem: str = "deliverables") -> str:
    """A new, empty bucket of its own name."""
    name = f"{stem}-{secrets.token_hex(4)}"
    raw_client(endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    """A new, empty bucket for one test."""
    return new_bucket(s3_endpoint)


def s3_settings(base: Settings, endpoint: str, bucket: str, **extra: Any) -> Settings:
    """``base`` with its blobs in ``bucket`` under the prefix ``blobs``."""
    return base.model_copy(
        update={
            "storage_url": f"s3://{bucket}/blobs",
            "s3_endpoint_url": endpoint,
            "s3_access_key_id": SecretStr("testing"),
            "s3_secret_access_key": SecretStr("testing"),
            "s3_region": "us-east-1",
            **extra,
        }
    )


def key_of(digest: str) -> str:
    """The object key of a blob under the prefix ``blobs``."""
    return f"blobs/{digest[:2]}/{digest[2:4]}/{digest}"
