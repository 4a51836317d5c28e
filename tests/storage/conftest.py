"""Storage fixtures: every behavioural test runs against a local folder and against S3.

The S3 side is moto's server mode on a loopback port: a real HTTP server speaking the S3
protocol, reached by boto3 exactly as AWS or MinIO would be (``S3_ENDPOINT_URL``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from odyssey_workers.storage import Storage, get_storage
from tests.conftest import reset_runtime_caches
from tests.support.servers import free_port

S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "odyssey-test", "AWS_SECRET_ACCESS_KEY": "odyssey-test-secret"}


@dataclass
class Backend:
    """A storage under test and what a test needs to look behind it."""

    name: str
    storage: Storage
    env: dict[str, str]
    root: Path | None = None  # the folder, for the local backend
    s3: Any = None  # a raw boto3 client, for the S3 backend
    bucket: str | None = None


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto) on a free loopback port."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def raw_s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def s3_env(env: dict[str, str], s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The service's environment pointed at a fresh, empty bucket on the loopback S3 server."""
    bucket = f"odyssey-{uuid.uuid4().hex[:12]}"
    raw_s3_client(s3_endpoint).create_bucket(Bucket=bucket)
    values = {"STORAGE_URL": f"s3://{bucket}/media", "S3_ENDPOINT_URL": s3_endpoint, **S3_CREDENTIALS}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
        env[key] = value
    reset_runtime_caches()
    return env


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, env: dict[str, str], var_dir: Path) -> Backend:
    """The configured storage, once as the default local folder and once as S3 (same tests)."""
    if request.param == "local":
        storage = get_storage()
        return Backend("local", storage, env, root=var_dir / "storage")
    s3_env = request.getfixturevalue("s3_env")
    storage = get_storage()
    endpoint = s3_env["S3_ENDPOINT_URL"]
    bucket = s3_env["STORAGE_URL"].removeprefix("s3://").split("/")[0]
    return Backend("s3", storage, s3_env, s3=raw_s3_client(endpoint), bucket=bucket)
