"""Shared fixtures: real PostgreSQL and S3 (moto) servers on loopback, started on demand."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

import loopml
from loopml.tracking import _fluent

sys.path.insert(0, str(Path(__file__).parent))

from _servers import postgres_database, start_moto, start_postgres


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL server: ``LOOPML_TEST_POSTGRES_URL`` or a throwaway cluster."""
    given = os.environ.get("LOOPML_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    server = start_postgres()
    try:
        yield server.admin_url
    finally:
        server.stop()


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> str:
    """An empty database of its own for one test."""
    with postgres_database(postgres_url, f"t_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """Endpoint URL of moto's standalone S3 server, with test credentials in the env."""
    server = start_moto()
    saved = {k: os.environ.get(k) for k in _S3_ENV}
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        LOOPML_S3_ENDPOINT_URL=server.endpoint_url,
    )
    try:
        yield server.endpoint_url
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_S3_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "LOOPML_S3_ENDPOINT_URL",
)


@pytest.fixture
def s3_root(s3_endpoint: str) -> str:
    """A fresh bucket on the moto server, as an ``s3://bucket/prefix`` root."""
    import boto3

    bucket = f"loopml-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/root"


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """Point the fluent API at an empty folder store; end leftover runs afterwards."""
    monkeypatch.delenv("LOOPML_TRACKING_URI", raising=False)
    monkeypatch.delenv("LOOPML_EXPERIMENT_NAME", raising=False)
    loopml.set_tracking_uri(tmp_path / "store")
    yield tmp_path / "store"
    while loopml.active_run() is not None:
        loopml.end_run()
    loopml.enable_async_logging(False)
    _fluent._async_default = False
    loopml.set_tracking_uri(tmp_path / "unused")


def _find_chromium() -> str | None:
    import shutil

    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a Chromium binary for headless rendering tests, installed when missing.

    Looks for ``/usr/bin/chromium`` or ``chromium`` on PATH; when absent and running as root,
    installs Debian's package; otherwise the test fails (never skips) with how to fix it.
    """
    import subprocess

    found = _find_chromium()
    if found is not None:
        return found
    if os.geteuid() != 0:
        pytest.fail(
            "Chromium is not installed and tests are not running as root; install it with "
            "`sudo apt-get install chromium` (Debian) or put a `chromium` binary on PATH"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=600"]
    steps = (
        ["apt-get", *lock, "update", "-q"],
        ["apt-get", *lock, "install", "-y", "-q", "--no-install-recommends", "chromium"],
    )
    for cmd in steps:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            command = " ".join(cmd)
            pytest.fail(f"`{command}` failed while installing Chromium:\n{done.stderr[-3000:]}")
    found = _find_chromium()
    if found is None:
        pytest.fail("the chromium package was installed but no chromium binary was found")
    return found
