"""End to end: `loopml serve --deployment` with a canary that guards roll back, and the
CLI driving a deployment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from _servers import free_port
from loopml.cli import app
from loopml.deployments import DeploymentClient


def _serve(store: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    exe = Path(sys.executable).parent / "loopml"
    proc = subprocess.Popen(
        [str(exe), "serve", "--deployment", "prod", "--port", str(port), "-t", store],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LOOPML_RELOAD_INTERVAL": "0.2"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("server not ready")


def test_canary_is_rolled_back_automatically(store, data):
    X, _ = data
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "deploy",
            "canary",
            "prod",
            "-m",
            "models:/diabetes/3",
            "--weight",
            "0.3",
            "--min-requests",
            "30",
            "-t",
            store,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "candidate v3 (0.3)" in res.stdout
    proc, url = _serve(store)
    try:
        row = X.head(1).to_dict(orient="records")[0]
        seen: list[tuple[int, str]] = []
        with httpx.Client() as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                r = client.post(f"{url}/predict", json=row)
                seen.append((r.status_code, r.json()["model_version"]))
                state = DeploymentClient(store).get("prod").state
                if state["status"] == "rolled_back" and len(seen) > 100:
                    break
        assert {s for s, _ in seen} == {200}
        assert {v for _, v in seen} == {"1", "3"}
        assert DeploymentClient(store).get("prod").state["candidate"] is None
        time.sleep(0.6)  # the server picks up the new revision
        after = [httpx.post(f"{url}/predict", json=row).json()["model_version"] for _ in range(30)]
        assert set(after) == {"1"}
        history = json.loads(
            runner.invoke(app, ["deploy", "history", "prod", "--json", "-t", store]).stdout
        )
        assert [h["action"] for h in history] == ["created", "canary", "rollback"]
        assert "Jensen-Shannon" in history[-1]["reason"]
        status = runner.invoke(app, ["deploy", "status", "prod", "-t", store])
        assert "rolled_back" in status.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def test_cli_switch_and_rollback(store):
    runner = CliRunner()
    res = runner.invoke(app, ["deploy", "switch", "prod", "-m", "models:/diabetes/2", "-t", store])
    assert res.exit_code == 0 and "standby v1" in res.stdout
    res = runner.invoke(app, ["deploy", "rollback", "prod", "--reason", "oops", "-t", store])
    assert res.exit_code == 0 and "diabetes v1" in res.stdout
    bad = runner.invoke(
        app, ["deploy", "canary", "prod", "-m", "models:/diabetes/2", "--weight", "2", "-t", store]
    )
    assert bad.exit_code == 1 and "between 0 and 1" in bad.stderr


def test_shadow_is_promoted_automatically(store, data):
    X, _ = data
    client = DeploymentClient(store)
    from loopml.deployments import Guards

    # a shadow's latency is measured on a background thread competing for the GIL, so this
    # test allows a generous latency ratio; error rate and divergence keep their defaults
    client.shadow(
        "prod", "models:/diabetes/2", guards=Guards(min_requests=200, max_p95_latency_ratio=50)
    )
    proc, url = _serve(store)
    try:
        rows = X.head(50).to_dict(orient="records")
        answered: list[str] = []
        with httpx.Client() as http:
            deadline = time.monotonic() + 60
            i = 0
            while (status := client.get("prod").state["status"]) != "promoted":
                assert status == "rolling_out", client.history("prod")[-1]
                assert time.monotonic() < deadline, "the shadow was never promoted"
                r = http.post(f"{url}/predict", json=rows[i % len(rows)])
                assert r.status_code == 200
                answered.append(r.json()["model_version"])
                i += 1
        # a shadow never answers: version 1 until the promotion, version 2 after it
        assert answered[0] == "1" and answered == sorted(answered)
        from loopml.registry import RegistryClient

        assert RegistryClient(store).resolve("models:/diabetes@champion").version == 2
        deadline = time.monotonic() + 10
        while httpx.post(f"{url}/predict", json=rows[0]).json()["model_version"] != "2":
            assert time.monotonic() < deadline, "the server kept answering with version 1"
            time.sleep(0.1)
        last = client.history("prod")[-1]
        assert last.action == "promote" and last.reason.startswith("guard: healthy")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)


def biased_model(model):  # type: ignore[no-untyped-def]
    """Wraps a model and adds 80 to its answers: close in distribution, worse in quality."""

    class Biased:
        def __init__(self, inner):  # type: ignore[no-untyped-def]
            self.inner = inner

        def predict(self, frame):  # type: ignore[no-untyped-def]
            return self.inner.predict(frame) + 80.0

    return Biased(model)


def test_shadow_with_worse_quality_is_rolled_back_once_labels_arrive(store, data):
    from sklearn.linear_model import Ridge

    import loopml
    from loopml.deployments import Guards

    X, y = data
    loopml.set_tracking_uri(store)
    with loopml.start_run():
        loopml.log_model(
            biased_model(Ridge(alpha=0.1).fit(X, y)),
            "model",
            training_data=X,
            registered_model_name="diabetes",
        )  # version 4
    client = DeploymentClient(store)
    # divergence and latency are allowed generously and promotion needs an hour: only the
    # quality guard can decide here
    guards = Guards(
        min_requests=60,
        min_minutes=60,
        max_divergence=1.0,
        max_p95_latency_ratio=100,
        min_labels=40,
    )
    client.shadow("prod", "models:/diabetes/4", guards=guards)
    proc, url = _serve(store)
    try:
        with httpx.Client() as http:
            deadline = time.monotonic() + 60
            i = 0
            while client.get("prod").state["status"] == "rolling_out":
                assert time.monotonic() < deadline, client.history("prod")[-1]
                batch = X.iloc[[(i + k) % len(X) for k in range(10)]]
                answer = http.post(f"{url}/predict", json=batch.to_dict(orient="records")).json()
                labels = y.iloc[[(i + k) % len(X) for k in range(10)]].tolist()
                time.sleep(0.05)  # the mirrored copy is scored on a background thread
                sent = http.post(
                    f"{url}/feedback",
                    json={"request_ids": answer["request_ids"], "labels": labels},
                )
                assert sent.status_code == 200
                i += 10
        last = client.history("prod")[-1]
        assert last.action == "rollback"
        assert "quality on labelled requests" in last.reason
        assert client.get("prod").state["candidate"] is None
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
