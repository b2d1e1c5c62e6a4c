"""Fixtures for serving tests: a store with two registered versions and real servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml
from _servers import free_port
from loopml.registry import RegistryClient


@pytest.fixture(scope="module")
def data():
    d = load_diabetes(as_frame=True)
    return d.data, d.target


def _make_store(root: Path, X, y) -> str:  # type: ignore[no-untyped-def]
    """A store with diabetes/1 (alpha 0.1) as champion and diabetes/2 (alpha 10) ready."""
    uri = str(root / "store")
    loopml.set_tracking_uri(uri)
    for alpha in (0.1, 10.0):
        with loopml.start_run():
            loopml.log_model(
                Ridge(alpha=alpha).fit(X, y),
                "model",
                training_data=X,
                registered_model_name="diabetes",
            )
    RegistryClient(uri).set_alias("diabetes", "champion", 1)
    return uri


@pytest.fixture
def store(tmp_path, data):
    """A fresh store for tests that change it."""
    return _make_store(tmp_path, *data)


class Server:
    def __init__(self, store: str, uri: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).parent / "loopml"
        env = {**os.environ, "LOOPML_RELOAD_INTERVAL": "0.2"}
        self.store = store
        self.proc = subprocess.Popen(
            [str(exe), "serve", uri, "--port", str(self.port), "-t", store],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stderr.read() if self.proc.stderr else "died")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready")

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=60)
        return err


@pytest.fixture(scope="module")
def server(tmp_path_factory, data):
    """One server for the read-only tests (starting one takes seconds)."""
    srv = Server(_make_store(tmp_path_factory.mktemp("serve"), *data), "models:/diabetes@champion")
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


@pytest.fixture
def own_server(store):
    """A server of its own, for tests that move aliases or stop it."""
    srv = Server(store, "models:/diabetes@champion")
    yield srv
    if srv.proc.poll() is None:
        srv.stop()


@pytest.fixture
def server_store_with_log(own_server, data):
    """A store whose diabetes deployment has logged 4 predictions; returns (store, ids)."""
    rows = data[0].head(4).to_dict(orient="records")
    ids = httpx.post(f"{own_server.url}/predict", json=rows).json()["request_ids"]
    own_server.stop()
    return own_server.store, ids
