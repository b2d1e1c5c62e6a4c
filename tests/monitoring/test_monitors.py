"""Monitors end to end: a deployment's replayed log, windows, reports, alerts, deliveries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from typer.testing import CliRunner

import loopml
from _servers import free_port
from loopml.cli import app
from loopml.deployments import DeploymentClient
from loopml.errors import NotFoundError, ValidationError
from loopml.monitoring import MonitorClient
from loopml.registry import RegistryClient
from loopml.serving import PredictionLogger, write_feedback
from loopml.serving._logs import PREDICTIONS, log_root

T0 = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
HOUR = 3_600_000
DRIFTED = ["bmi", "bp", "s1", "s3", "s5", "s6"]  # 6 of 10 features move


@pytest.fixture(scope="module")
def diabetes():
    d = load_diabetes(as_frame=True)
    return d.data, d.target


@pytest.fixture
def deployed(tmp_path, diabetes):
    """A store with diabetes/1 (trained with labels) deployed as diab-prod."""
    X, y = diabetes
    uri = str(tmp_path / "store")
    loopml.set_tracking_uri(uri)
    model = Ridge(alpha=0.1).fit(X, y)
    with loopml.start_run():
        loopml.log_metric("rmse", 53.5)
        loopml.log_model(
            model, "model", training_data=X, training_labels=y, registered_model_name="diab"
        )
    RegistryClient(uri).set_alias("diab", "champion", 1)
    DeploymentClient(uri).create("diab-prod", "models:/diab@champion")
    return uri, model


def _replay(uri, model, X, y, hour: int, *, drift: bool, noise: float, seed: int) -> None:
    """Write 300 predictions (and labels) into hour ``hour`` after T0."""
    rng = np.random.default_rng(seed)
    rows = X.sample(300, replace=True, random_state=seed).reset_index(drop=True)
    if drift:
        for col in DRIFTED:
            rows[col] = rows[col] + 2.5 * X[col].std()
    preds = model.predict(rows)
    client = loopml.tracking.Client(uri)
    logger = PredictionLogger(log_root(client, PREDICTIONS), "diab-prod", flush_interval=0.05)
    ids = [f"h{hour}-{i}" for i in range(len(rows))]
    start = T0 + hour * HOUR
    for i in range(len(rows)):
        logger.log_request(
            [ids[i]],
            rows.iloc[[i]],
            [float(preds[i])],
            start + i * 1000,
            "diab",
            "1",
            "primary",
            2.0 + i % 7,
        )
    logger.close()
    write_feedback(client, "diab-prod", ids, (preds + rng.normal(0, noise, len(rows))).tolist())


class _Hook:
    """A real webhook receiver on loopback."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, HTTPServer

        self.bodies: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                hook.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_windows_alerts_reports_end_to_end(deployed, diabetes):
    uri, model = deployed
    X, y = diabetes
    hook = _Hook()
    dead = f"http://127.0.0.1:{free_port()}/nobody-listens"
    for hour, drift, noise in [
        (0, False, 1.0),
        (1, True, 150.0),
        (2, True, 150.0),
        (3, False, 1.0),
    ]:
        _replay(uri, model, X, y, hour, drift=drift, noise=noise, seed=hour)
    client = MonitorClient(uri)
    client.delivery_backoff = 0.01
    client.create(
        "diab-prod",
        window="1h",
        every="*/15 * * * *",
        alerts=["drift_share >= 0.5", "critical: rmse > 100 for 2 windows"],
        channels=["log", f"webhook={hook.url}", f"webhook={dead}"],
    )
    outcomes = [client.run("diab-prod", end=T0 + (h + 1) * HOUR) for h in range(4)]

    first, second, third, fourth = outcomes
    assert [o.window.rows for o in outcomes] == [300, 300, 300, 300]
    # calm hour: no drift, quality as offline, nothing fires
    m = first.window.metrics
    assert m["dataset_drift"] == 0.0 and m["drift_share"] < 0.5
    assert m["rmse"] < 5 and m["labelled_rows"] == 300
    assert not first.fired and not first.resolved
    # drifted hour: 6 of 10 features, the drift rule fires once
    m = second.window.metrics
    assert m["dataset_drift"] == 1.0 and m["drift_share"] >= 0.5
    assert {c for c in DRIFTED if m[f"drift_detected.{c}"] == 1.0} == set(DRIFTED)
    assert m["prediction_drift_share"] == 1.0  # the outputs moved with the inputs
    assert m["rmse"] > 100
    assert [a.rule for a in second.fired] == ["drift_share >= 0.5"]
    # still drifted: drift alert not repeated; rmse alert fires after 2 windows
    assert [a.rule for a in third.fired] == ["critical: rmse > 100 for 2 windows"]
    assert third.fired[0].severity == "critical"
    # calm again: both resolve
    assert sorted(a.rule for a in fourth.resolved) == [
        "critical: rmse > 100 for 2 windows",
        "drift_share >= 0.5",
    ]
    assert client.alerts("diab-prod", "firing") == []
    # deliveries: the live webhook got fired + resolved of both, the dead one failed 3 times
    assert [(b["event"], b["rule"]) for b in hook.bodies] == [
        ("fired", "drift_share >= 0.5"),
        ("fired", "critical: rmse > 100 for 2 windows"),
        ("resolved", "drift_share >= 0.5"),  # rules are evaluated in the order given
        ("resolved", "critical: rmse > 100 for 2 windows"),
    ]
    deliveries = client.deliveries()
    failed = [d for d in deliveries if d.channel == f"webhook:{dead}"]
    assert len(failed) == 4 and all(d.status == "failed" and d.attempts == 3 for d in failed)
    assert sum(d.status == "delivered" for d in deliveries) == 8  # log + live webhook, 4 events
    # the audit log has the alert events for pipelines to subscribe to
    events = RegistryClient(uri).events("alert")
    assert [e.action for e in events] == ["fired", "fired", "resolved", "resolved"]
    # reports: self-contained HTML + JSON stored as run artifacts, listed per window
    html = Path(second.html_path)
    assert html.exists() and html.name == "report.html"
    body = html.read_text()
    assert '<script src="http' not in body and "bmi" in body
    report_json = json.loads((html.parent / "report.json").read_text())
    assert report_json["drift"]["dataset_drift"] is True
    assert [w.window_end for w in client.windows("diab-prod")] == [
        T0 + h * HOUR for h in range(1, 5)
    ]
    # every window is also a tracking run with its metrics
    runs = loopml.tracking.Client(uri).search_runs(
        [loopml.tracking.Client(uri).get_experiment_by_name("monitor-diab-prod").experiment_id]
    )
    assert len(runs) == 4


def test_empty_window_is_stored_and_changes_no_alert(deployed):
    uri, _ = deployed
    client = MonitorClient(uri)
    client.create("diab-prod", name="quiet", alerts=["drift_share >= 0.5"])
    outcome = client.run("quiet", end=T0)
    assert outcome.window.status == "empty" and outcome.window.rows == 0
    assert outcome.fired == () and outcome.resolved == ()
    assert outcome.report.drift is not None
    assert any(f.code == "empty_window" for f in outcome.report.drift.findings)


def test_bad_configuration_is_refused(deployed):
    uri, _ = deployed
    client = MonitorClient(uri)
    with pytest.raises(ValidationError, match="not a duration"):
        client.create("diab-prod", window="an hour")
    with pytest.raises(ValidationError, match="cron"):
        client.create("diab-prod", every="every 15 minutes")
    with pytest.raises(ValidationError, match="not valid"):
        client.create("diab-prod", alerts=["drift_share ≥ 0.5"])
    with pytest.raises(NotFoundError, match="monitor 'nope' does not exist"):
        client.run("nope")
    client.create("diab-prod")
    with pytest.raises(loopml.errors.ConflictError, match="already exists"):
        client.create("diab-prod")


def test_schedule_due(deployed):
    uri, _ = deployed
    client = MonitorClient(uri)
    monitor = client.create("diab-prod", every="*/15 * * * *")
    created = datetime.fromtimestamp(monitor.creation_time / 1000, UTC)
    assert not client.due("diab-prod", created)
    later = pd.Timestamp(created) + pd.Timedelta(minutes=16)
    assert client.due("diab-prod", later.to_pydatetime())


def test_cli_create_run_reports_alerts(deployed, diabetes):
    uri, model = deployed
    X, y = diabetes
    _replay(uri, model, X, y, 0, drift=True, noise=1.0, seed=5)

    def cli(*args: str) -> str:
        result = CliRunner().invoke(app, [*args, "-t", uri])
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return " ".join(re.sub(r"[│╭╮╰╯─┃━┏┓┗┛]", " ", result.stdout + result.stderr).split())

    assert "monitor diab-prod watches diab-prod every 1h" in cli(
        "monitor", "create", "diab-prod", "--alert", "drift_share >= 0.5"
    )
    text = cli("monitor", "run", "diab-prod", "--end", "2026-10-01T01:00:00")
    assert "300 rows" in text and "DRIFT" in text and "ALERT fired" in text
    assert "report:" in text and "report.html" in text
    assert "DRIFT" in cli("monitor", "reports", "diab-prod")
    assert "firing" in cli("monitor", "alerts", "diab-prod")
    listed = json.loads(CliRunner().invoke(app, ["monitor", "list", "--json", "-t", uri]).stdout)
    assert listed[0]["config"]["rules"] == ["drift_share >= 0.5"]
    bad = CliRunner().invoke(app, ["monitor", "create", "diab-prod", "--window", "x", "-t", uri])
    assert bad.exit_code != 0 and "not a duration" in bad.stdout + bad.stderr
    assert "Traceback" not in bad.stdout + bad.stderr
