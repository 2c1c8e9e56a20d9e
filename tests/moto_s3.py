"""A real S3 server for the S3 tests: ``moto[server]`` started as its own process on a free local
port, stopped at the end of the module. When it cannot start the tests skip with the reason printed, or
fail under ``DAGSTUDIO_REQUIRE_SERVICES=1`` (set by ``.ci/run``). ``s3_endpoint`` yields its URL;
``aws_default`` points Airflow's ``aws_default`` connection (``AIRFLOW_CONN_AWS_DEFAULT``, JSON form) at
it; ``s3_client`` is a boto3 client of its own (not the code under test) for arranging and checking."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest

REGION = "eu-west-1"
KEY_ID, SECRET = "AKIDSTUDIOTEST", "studio-secret-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(port: int, deadline: float = 30.0) -> subprocess.Popen[bytes]:
    """Start ``python -m moto.server`` on ``port`` and wait until it answers HTTP."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"moto server exited with {proc.returncode}: {err[-2000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
            return proc
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"moto server did not answer on port {port} within {deadline}s")


def cannot_start(message: str) -> NoReturn:
    """Skip (printing why) — or fail when CI requires the services (``DAGSTUDIO_REQUIRE_SERVICES=1``)."""
    print(f"SKIP: {message}")
    if os.environ.get("DAGSTUDIO_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (DAGSTUDIO_REQUIRE_SERVICES=1: the S3 tests must run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    try:
        import moto.server  # noqa: F401

        port = free_port()
        proc = start_moto(port)
    except (ImportError, RuntimeError) as err:  # missing dev dependencies, or the server died at start
        cannot_start(f"the moto S3 server cannot start: {err}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def aws_connection(endpoint: str | None, **extra: Any) -> str:
    """An ``aws`` connection in Airflow's JSON form: access key as login, secret as password."""
    extras = {"region_name": REGION, **({"endpoint_url": endpoint} if endpoint else {}), **extra}
    return json.dumps({"conn_type": "aws", "login": KEY_ID, "password": SECRET, "extra": extras})


def isolated_aws_env() -> dict[str, str]:
    """Environment without the developer's AWS settings (no real credentials or config files are read)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_"))}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    return env


@pytest.fixture
def aws_default(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in [n for n in os.environ if n.startswith(("AWS_", "AIRFLOW_CONN_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", aws_connection(s3_endpoint))
    return s3_endpoint


@pytest.fixture
def s3_client(s3_endpoint: str) -> Any:
    """A fresh moto state (``/moto-api/reset``) and a boto3 client of the test's own."""
    import boto3

    urllib.request.urlopen(urllib.request.Request(f"{s3_endpoint}/moto-api/reset", method="POST"), timeout=10).close()

    return boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name=REGION, aws_access_key_id=KEY_ID, aws_secret_access_key=SECRET
    )


def keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    """Every key of ``bucket`` under ``prefix``, sorted."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def body(client: Any, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def make_bucket(client: Any, bucket: str) -> None:
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
