"""Prometheus exporter of monitor results and the matching Grafana dashboard.

The exporter reads the store on every scrape (latest stored window per monitor plus the
firing alerts), so it needs no state of its own and several can run side by side.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from loopml.store.metadata import SqlMonitorStore

QUALITY_METRICS = (
    "mae",
    "rmse",
    "mape",
    "r2",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
)
HEALTH_METRICS = (
    "throughput_per_s",
    "error_share",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
)
_SEVERITY = {"info": 0, "warning": 1, "critical": 2}


class MonitorCollector(Collector):
    """Gauges of the latest window of every monitor and of firing alerts."""

    def __init__(self, store: SqlMonitorStore) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Build the gauges from the store (called on each scrape)."""
        base = ["monitor", "deployment"]
        share = GaugeMetricFamily(
            "loopml_drift_share", "Share of drifted columns in the latest window", labels=base
        )
        dataset = GaugeMetricFamily(
            "loopml_dataset_drift", "1 when the latest window shows dataset drift", labels=base
        )
        score = GaugeMetricFamily(
            "loopml_drift_score",
            "Drift score per feature (p-value for tests, distance otherwise)",
            labels=[*base, "feature"],
        )
        detected = GaugeMetricFamily(
            "loopml_drift_detected", "1 when the feature drifted", labels=[*base, "feature"]
        )
        prediction = GaugeMetricFamily(
            "loopml_prediction_drift_score", "Drift score of the model's outputs", labels=base
        )
        quality = GaugeMetricFamily(
            "loopml_model_quality", "Model quality on labelled rows", labels=[*base, "metric"]
        )
        health = GaugeMetricFamily(
            "loopml_service_health",
            "Service health from the prediction log",
            labels=[*base, "metric"],
        )
        rows = GaugeMetricFamily("loopml_window_rows", "Rows in the latest window", labels=base)
        end = GaugeMetricFamily(
            "loopml_window_end_timestamp_seconds", "End of the latest window", labels=base
        )
        for monitor in self.store.list():
            windows = [w for w in self.store.windows(monitor.name, limit=20) if w.status == "ok"]
            if not windows:
                continue
            latest = windows[-1]
            m: dict[str, Any] = latest.metrics
            labels = [monitor.name, monitor.deployment]
            rows.add_metric(labels, latest.rows)
            end.add_metric(labels, latest.window_end / 1000)
            if "drift_share" in m:
                share.add_metric(labels, _num(m["drift_share"]))
                dataset.add_metric(labels, _num(m.get("dataset_drift", 0)))
            for key, value in m.items():
                if key.startswith("drift_score."):
                    score.add_metric([*labels, key.removeprefix("drift_score.")], _num(value))
                elif key.startswith("drift_detected."):
                    feature = key.removeprefix("drift_detected.")
                    detected.add_metric([*labels, feature], _num(value))
            if "prediction_drift_score.prediction" in m:
                prediction.add_metric(labels, _num(m["prediction_drift_score.prediction"]))
            for key in QUALITY_METRICS:
                if key in m:
                    quality.add_metric([*labels, key], _num(m[key]))
            for key in HEALTH_METRICS:
                if key in m:
                    health.add_metric([*labels, key], _num(m[key]))
        active = GaugeMetricFamily(
            "loopml_alert_active",
            "1 for each firing alert (severity: 0 info, 1 warning, 2 critical in the value of "
            "loopml_alert_severity)",
            labels=["monitor", "rule", "severity"],
        )
        severity = GaugeMetricFamily(
            "loopml_alert_severity", "Severity of each firing alert", labels=["monitor", "rule"]
        )
        for alert in self.store.alerts(state="firing"):
            active.add_metric([alert.monitor, alert.rule, alert.severity], 1)
            severity.add_metric([alert.monitor, alert.rule], _SEVERITY.get(alert.severity, 1))
        yield from (share, dataset, score, detected, prediction, quality, health, rows, end)
        yield from (active, severity)


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def exporter_registry(store: SqlMonitorStore) -> CollectorRegistry:
    """A Prometheus registry holding only the monitor collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitorCollector(store))
    return registry


def start_exporter(
    store: SqlMonitorStore, host: str = "127.0.0.1", port: int = 9109
) -> tuple[WSGIServer, threading.Thread]:
    """Serve /metrics on a background thread; returns (server, thread)."""
    app = make_wsgi_app(exporter_registry(store))
    server = make_server(host, port, app)
    thread = threading.Thread(target=server.serve_forever, name="loopml-exporter", daemon=True)
    thread.start()
    return server, thread


def _panel(pid: int, title: str, expr: str, legend: str, y: int, x: int, unit: str = "short"):  # type: ignore[no-untyped-def]
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
    }


def grafana_dashboard(title: str = "loopml monitoring") -> dict[str, Any]:
    """A Grafana dashboard (JSON model) over the exporter's metrics, one monitor at a time."""
    sel = 'monitor=~"$monitor"'
    panels = [
        _panel(
            1, "Drift share", f"loopml_drift_share{{{sel}}}", "{{monitor}}", 0, 0, "percentunit"
        ),
        _panel(2, "Drift score per feature", f"loopml_drift_score{{{sel}}}", "{{feature}}", 0, 12),
        _panel(
            3,
            "Drifted features",
            f"sum by (monitor) (loopml_drift_detected{{{sel}}})",
            "{{monitor}}",
            8,
            0,
        ),
        _panel(
            4, "Prediction drift", f"loopml_prediction_drift_score{{{sel}}}", "{{monitor}}", 8, 12
        ),
        _panel(5, "Model quality", f"loopml_model_quality{{{sel}}}", "{{metric}}", 16, 0),
        _panel(6, "Latency and errors", f"loopml_service_health{{{sel}}}", "{{metric}}", 16, 12),
        _panel(
            7,
            "Active alerts",
            f"sum by (monitor, severity) (loopml_alert_active{{{sel}}})",
            "{{severity}}",
            24,
            0,
        ),
        _panel(8, "Rows per window", f"loopml_window_rows{{{sel}}}", "{{monitor}}", 24, 12),
    ]
    return {
        "title": title,
        "uid": "loopml-monitoring",
        "tags": ["loopml", "mlops"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-7d", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Data source",
                },
                {
                    "name": "monitor",
                    "type": "query",
                    "label": "Monitor",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": "label_values(loopml_window_rows, monitor)",
                    "includeAll": True,
                    "multi": True,
                    "refresh": 2,
                },
            ]
        },
        "panels": panels,
    }


def write_grafana_dashboard(path: str, title: str = "loopml monitoring") -> str:
    """Write the dashboard JSON to ``path``; returns the path."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(grafana_dashboard(title), fh, indent=2)
    return path
