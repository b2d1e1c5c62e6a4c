"""Monitoring: drift, data quality, model quality, reports, monitors and alerts.

Library calls work on any two DataFrames (``detect_drift``, ``check_quality``,
``model_quality``); ``MonitorClient`` runs them per window over a deployment's prediction
log against the model version's stored reference profile, stores the results, writes
reports and raises alerts.
"""

from __future__ import annotations

from typing import Any

from loopml.monitoring._channels import Notification, deliver, parse_channel
from loopml.monitoring._exporter import (
    MonitorCollector,
    exporter_registry,
    grafana_dashboard,
    start_exporter,
    write_grafana_dashboard,
)
from loopml.monitoring._monitors import MonitorClient, WindowOutcome, parse_duration
from loopml.monitoring._results import (
    ColumnDrift,
    DataQualityResult,
    Distribution,
    DriftResult,
    Finding,
    ModelQualityResult,
    QualityCheck,
    ServiceHealth,
    WindowReport,
)
from loopml.monitoring._rules import AlertRule, parse_rule

# modules with heavier imports load on first use
_LAZY = {
    "detect_drift": "loopml.monitoring._drift",
    "drift_from_profile": "loopml.monitoring._reference",
    "ColumnSketch": "loopml.monitoring._sketch",
    "sketch_parquet": "loopml.monitoring._sketch",
    "drift_from_sketches": "loopml.monitoring._sketch",
    "check_quality": "loopml.monitoring._quality",
    "model_quality": "loopml.monitoring._model_quality",
    "service_health": "loopml.monitoring._model_quality",
    "render_html": "loopml.monitoring._report",
    "render_json": "loopml.monitoring._report",
    "save_report": "loopml.monitoring._report",
    "compare_parquet": "loopml.monitoring._compare",
    "ReportView": "loopml.monitoring._report",
    "as_notebook": "loopml.monitoring._report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'loopml.monitoring' has no attribute {name!r}")


__all__ = [
    "AlertRule",
    "ColumnDrift",
    "ColumnSketch",
    "DataQualityResult",
    "Distribution",
    "DriftResult",
    "Finding",
    "ModelQualityResult",
    "MonitorClient",
    "MonitorCollector",
    "Notification",
    "QualityCheck",
    "ReportView",
    "ServiceHealth",
    "WindowOutcome",
    "WindowReport",
    "as_notebook",
    "check_quality",
    "compare_parquet",
    "deliver",
    "detect_drift",
    "drift_from_profile",
    "drift_from_sketches",
    "exporter_registry",
    "grafana_dashboard",
    "model_quality",
    "parse_channel",
    "parse_duration",
    "parse_rule",
    "render_html",
    "render_json",
    "save_report",
    "service_health",
    "sketch_parquet",
    "start_exporter",
    "write_grafana_dashboard",
]
