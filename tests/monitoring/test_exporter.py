"""The Prometheus exporter (a real HTTP server in a subprocess) and the Grafana dashboard."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from _servers import free_port
from loopml.cli import app
from loopml.monitoring import grafana_dashboard
from loopml.store.metadata import SqlMonitorStore
from loopml.tracking import Client


def _store_with_windows(uri: str) -> None:
    store = SqlMonitorStore(Client(uri).store)
    store.create("taxi", "taxi-prod", {"window_ms": 3_600_000, "rules": []}, "tester")
    store.add_window("taxi", 0, 1000, "ok", 10, {"drift_share": 0.1}, None, None)
    latest = {
        "drift_share": 0.5,
        "dataset_drift": 1.0,
        "drift_score.fare": 0.31,
        "drift_detected.fare": 1.0,
        "drift_score.distance": 0.02,
        "drift_detected.distance": 0.0,
        "prediction_drift_score.prediction": 0.2,
        "rmse": 7.5,
        "latency_p95_ms": 4.0,
    }
    store.add_window("taxi", 1000, 2000, "ok", 250, latest, None, None)
    store.add_window("taxi", 2000, 3000, "empty", 0, {}, None, None)  # ignored: empty
    store.fire("taxi", "critical: rmse > 5", "critical", 7.5, None, "rmse = 7.5", "tester")


def _scrape(url: str) -> dict[tuple[str, tuple], float]:
    text = httpx.get(url, timeout=5).text
    found = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def test_exporter_serves_latest_window_and_alerts(tmp_path):
    uri = str(tmp_path / "store")
    _store_with_windows(uri)
    port = free_port()
    exe = Path(sys.executable).parent / "loopml"
    proc = subprocess.Popen(
        [str(exe), "monitor", "exporter", "--port", str(port), "-t", uri],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 30
        while True:
            try:
                samples = _scrape(url)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline, "exporter did not start"
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    base = (("deployment", "taxi-prod"), ("monitor", "taxi"))
    assert samples[("loopml_drift_share", base)] == 0.5
    assert samples[("loopml_dataset_drift", base)] == 1.0
    assert samples[("loopml_window_rows", base)] == 250
    feature = lambda f: tuple(sorted((*base, ("feature", f))))  # noqa: E731
    assert samples[("loopml_drift_score", feature("fare"))] == 0.31
    assert samples[("loopml_drift_detected", feature("distance"))] == 0.0
    assert samples[("loopml_prediction_drift_score", base)] == 0.2
    assert samples[("loopml_model_quality", tuple(sorted((*base, ("metric", "rmse")))))] == 7.5
    health = tuple(sorted((*base, ("metric", "latency_p95_ms"))))
    assert samples[("loopml_service_health", health)] == 4.0
    alert = (("monitor", "taxi"), ("rule", "critical: rmse > 5"), ("severity", "critical"))
    assert samples[("loopml_alert_active", alert)] == 1.0


def test_grafana_dashboard_queries_only_exported_metrics(tmp_path):
    target = tmp_path / "dash.json"
    result = CliRunner().invoke(app, ["monitor", "grafana", "--out", str(target)])
    assert result.exit_code == 0, result.stdout
    dash = json.loads(target.read_text())
    assert dash == json.loads(json.dumps(grafana_dashboard()))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) == 8 and len({p["id"] for p in dash["panels"]}) == 8
    exported = {
        "loopml_drift_share",
        "loopml_dataset_drift",
        "loopml_drift_score",
        "loopml_drift_detected",
        "loopml_prediction_drift_score",
        "loopml_model_quality",
        "loopml_service_health",
        "loopml_window_rows",
        "loopml_window_end_timestamp_seconds",
        "loopml_alert_active",
        "loopml_alert_severity",
    }
    used = {m for e in exprs for m in re.findall(r"loopml_[a-z_]+", e)}
    assert used <= exported and "loopml_drift_score" in used
    assert all('monitor=~"$monitor"' in e for e in exprs)
    names = {v["name"] for v in dash["templating"]["list"]}
    assert names == {"datasource", "monitor"}
