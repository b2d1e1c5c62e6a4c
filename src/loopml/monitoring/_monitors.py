"""``MonitorClient``: monitors over a deployment's prediction log, windows, alerts.

One window of a monitor reads the joined prediction + feedback log of its deployment for
[start, end), compares the inputs, predictions and labels with the serving model version's
reference profile (no raw training data), checks data quality, computes model quality once
labels exist and service health, stores every number, writes the HTML/JSON report as
artifacts of a tracking run (experiment ``monitor-<name>``) and evaluates the alert rules.
"""

from __future__ import annotations

import json
import logging
import math
import re
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from loopml.entities import Alert, AlertDelivery, Metric, Monitor, MonitorWindow, Run
from loopml.errors import NotFoundError, ValidationError
from loopml.monitoring._channels import Notification, deliver, describe_channel, parse_channel
from loopml.monitoring._results import WindowReport
from loopml.monitoring._rules import AlertRule, parse_rule
from loopml.registry import RegistryClient
from loopml.serving import joined_log
from loopml.store.artifacts import open_artifact_store
from loopml.store.metadata import SqlDeploymentStore, SqlMonitorStore, now_ms
from loopml.tracking import Client
from loopml.tracking._context import current_user

log = logging.getLogger(__name__)

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_METRIC_KEY = re.compile(r"^[\w\-. /]+$")
# columns of the prediction log that are not model inputs
LOG_COLUMNS = frozenset(
    {
        "request_id",
        "timestamp",
        "timestamp_ms",
        "model_name",
        "model_version",
        "route",
        "latency_ms",
        "status",
        "prediction",
        "label",
        "label_timestamp_ms",
        "deployment",
        "date",
    }
)


def parse_duration(text: str) -> int:
    """``15m``, ``1h``, ``7d`` → milliseconds; a clear error otherwise."""
    match = _DURATION.match(str(text))
    if match is None or int(match[1]) == 0:
        raise ValidationError(
            f"window {text!r} is not a duration; write a number and a unit s, m, h, d or w "
            "(e.g. 1h, 15m, 7d)"
        )
    return int(match[1]) * _UNIT_MS[match[2]]


def check_schedule(schedule: str | None) -> str | None:
    """Validate a cron expression (five fields) with croniter."""
    if schedule is None:
        return None
    from croniter import croniter

    if not croniter.is_valid(schedule):
        raise ValidationError(
            f"schedule {schedule!r} is not a cron expression; write five fields, "
            "e.g. '*/15 * * * *' for every 15 minutes"
        )
    return schedule


@dataclass(frozen=True)
class WindowOutcome:
    """What one monitor window produced: the stored window, its report, alert changes."""

    window: MonitorWindow
    report: WindowReport
    fired: tuple[Alert, ...]
    resolved: tuple[Alert, ...]
    html_path: str | None


class MonitorClient:
    """Monitors of the store a tracking URI names."""

    def __init__(self, tracking_uri: str | None = None, client: Client | None = None) -> None:
        self.tracking = client or Client(tracking_uri)
        self.registry = RegistryClient(client=self.tracking)
        self.store = SqlMonitorStore(self.tracking.store)
        self._deployments = SqlDeploymentStore(self.tracking.store)
        self.delivery_attempts = 3
        self.delivery_backoff = 0.5

    # -- configuration ----------------------------------------------------------------
    def create(
        self,
        deployment: str,
        *,
        name: str | None = None,
        window: str = "1h",
        every: str | None = None,
        alerts: list[str] | None = None,
        channels: list[str] | None = None,
        segment: str | None = None,
        methods: dict[str, str] | None = None,
        thresholds: dict[str, float] | None = None,
        share_threshold: float = 0.5,
    ) -> Monitor:
        """Create a monitor of a deployment's prediction log (name defaults to the deployment)."""
        rules = [parse_rule(a).text for a in alerts or []]
        if len(set(rules)) != len(rules):
            raise ValidationError("the same alert rule is given twice; give each rule once")
        if not 0 < share_threshold <= 1:
            raise ValidationError(
                f"share_threshold {share_threshold} is not in (0, 1]; the default is 0.5"
            )
        config = {
            "window_ms": parse_duration(window),
            "window": window,
            "schedule": check_schedule(every),
            "rules": rules,
            "channels": [parse_channel(c) for c in channels or ["log"]],
            "segment": segment,
            "methods": dict(methods or {}),
            "thresholds": dict(thresholds or {}),
            "share_threshold": share_threshold,
        }
        return self.store.create(name or deployment, deployment, config, current_user())

    def get(self, name: str) -> Monitor:
        """The monitor with this name."""
        return self.store.get(name)

    def list(self) -> list[Monitor]:
        """All monitors."""
        return self.store.list()

    def delete(self, name: str) -> None:
        """Delete a monitor, its windows and alerts (audit events stay)."""
        self.store.delete(name, current_user())

    def windows(self, name: str, limit: int = 100) -> list[MonitorWindow]:
        """Stored windows of a monitor, oldest first."""
        self.store.get(name)
        return self.store.windows(name, limit)

    def alerts(self, name: str | None = None, state: str | None = None) -> list[Alert]:
        """Alerts (newest first), optionally of one monitor and state (firing/resolved)."""
        if state not in (None, "firing", "resolved"):
            raise ValidationError(f"state {state!r} is not valid; use firing or resolved")
        return self.store.alerts(name, state)

    def deliveries(self, alert_id: int | None = None) -> list[AlertDelivery]:
        """Recorded deliveries of alert events."""
        return self.store.deliveries(alert_id)

    def due(self, name: str, now: datetime | None = None) -> bool:
        """True when the monitor's cron schedule has fired since its last window."""
        from croniter import croniter

        monitor = self.store.get(name)
        schedule = monitor.config.get("schedule")
        if not schedule:
            return False
        done = self.store.windows(name, limit=1)
        last_ms = done[-1].created_time if done else monitor.creation_time
        last = datetime.fromtimestamp(last_ms / 1000, UTC)
        upcoming = croniter(schedule, last).get_next(datetime)
        return upcoming <= (now or datetime.now(UTC))

    # -- one window -------------------------------------------------------------------
    def run(
        self,
        name: str,
        *,
        end: datetime | int | None = None,
        start: datetime | int | None = None,
        executor: Any = None,
    ) -> WindowOutcome:
        """Compute one window now: [end - window, end) by default, end = now.

        ``executor`` ("dask" or "dask://HOST:PORT") spreads the drift tests' columns over
        a Dask cluster.
        """
        monitor = self.store.get(name)
        end_ms = _ms(end) if end is not None else now_ms()
        start_ms = _ms(start) if start is not None else end_ms - int(monitor.config["window_ms"])
        if start_ms >= end_ms:
            raise ValidationError(
                f"window start {start_ms} is not before its end {end_ms}; pass an earlier start"
            )
        frame = joined_log(self.tracking, monitor.deployment, start_ms, end_ms)
        history = [(w.window_end, w.metrics) for w in self.store.windows(name, limit=30)]
        report = self.compute(monitor, frame, start_ms, end_ms, tuple(history), executor)
        metrics = report.metrics()
        rows = len(frame)
        run = self._start_run(monitor, start_ms, end_ms)
        report_uri = f"{run.info.artifact_uri}/report/report.html"
        try:
            window = self.store.add_window(
                name,
                start_ms,
                end_ms,
                "ok" if rows else "empty",
                rows,
                metrics,
                run.info.run_id,
                report_uri,
            )
            fired, resolved = self._evaluate_rules(monitor, window)
            changes = [f"fired [{a.severity}] {a.rule}: {a.message}" for a in fired]
            changes += [f"resolved {a.rule}" for a in resolved]
            firing = self.store.alerts(name, "firing")
            changes += [
                f"still firing [{a.severity}] {a.rule}"
                for a in firing
                if a.id not in {f.id for f in fired}
            ]
            report = replace(report, alerts=tuple(changes))
            self._finish_run(run.info.run_id, report)
        except BaseException:
            self.tracking.set_terminated(run.info.run_id, "FAILED")
            raise
        local = report_uri if "://" not in report_uri else None
        if report_uri.startswith("file://"):
            local = report_uri.removeprefix("file://")
        return WindowOutcome(window, report, tuple(fired), tuple(resolved), local)

    def compute(
        self,
        monitor: Monitor,
        frame: pd.DataFrame,
        start_ms: int,
        end_ms: int,
        history: tuple[tuple[int, dict[str, float]], ...] = (),
        executor: Any = None,
    ) -> WindowReport:
        """The report of one window of log rows (no storing, no alerts)."""
        from loopml.monitoring._model_quality import model_quality, service_health
        from loopml.monitoring._quality import check_quality
        from loopml.monitoring._reference import drift_from_profile

        cfg = monitor.config
        title = f"Monitor {monitor.name} · deployment {monitor.deployment}"
        if "route" in frame.columns:
            frame = frame[frame["route"] != "shadow"]
        frame = frame.reset_index(drop=True)
        version = self._model_version(monitor, frame)
        profile, signature, reference_metrics = self._reference(version)
        options = {
            "methods": cfg.get("methods") or None,
            "thresholds": cfg.get("thresholds") or None,
            "share_threshold": cfg.get("share_threshold", 0.5),
            "executor": executor,
        }
        logged = frame[[c for c in frame.columns if c not in LOG_COLUMNS]]
        features = list(logged.columns)
        if profile is not None:
            features = [c for c in profile["columns"] if c in frame.columns] or features
        inputs = frame[features]
        drift = prediction_drift = label_drift = quality = model_q = health = None
        if profile is not None:
            drift = drift_from_profile(profile, inputs, **options)
            if "outputs" in profile and "prediction" in frame.columns:
                predictions = _numeric_column(frame["prediction"], "prediction")
                prediction_drift = drift_from_profile(profile["outputs"], predictions, **options)
        quality = check_quality(logged, profile, signature=signature)
        labelled = frame[frame["label"].notna()] if "label" in frame.columns else frame.iloc[:0]
        if len(labelled) and "prediction" in frame.columns:
            segments = labelled[cfg["segment"]] if cfg.get("segment") in labelled else None
            model_q = model_quality(
                labelled["label"].tolist(),
                labelled["prediction"].tolist(),
                segments=segments,
                reference_metrics=reference_metrics,
            )
            if profile is not None and "labels" in profile:
                label_drift = drift_from_profile(
                    profile["labels"], _numeric_column(labelled["label"], "label"), **options
                )
        if "latency_ms" in frame.columns and len(frame):
            health = service_health(frame, window_s=(end_ms - start_ms) / 1000)
        return WindowReport(
            title=title,
            window_start_ms=start_ms,
            window_end_ms=end_ms,
            drift=drift,
            prediction_drift=prediction_drift,
            label_drift=label_drift,
            quality=quality,
            model_quality=model_q,
            health=health,
            history=history,
        )

    def _model_version(self, monitor: Monitor, frame: pd.DataFrame) -> tuple[str, int] | None:
        """The version that answered most rows, else the deployment's primary version."""
        if len(frame) and {"model_name", "model_version"} <= set(frame.columns):
            top = frame.groupby(["model_name", "model_version"]).size().idxmax()
            try:
                return str(top[0]), int(top[1])
            except (TypeError, ValueError):
                pass
        try:
            record = self._deployments.get(monitor.deployment)
        except NotFoundError:
            return None
        return record.model_name, int(record.state["primary"])

    def _reference(
        self, version: tuple[str, int] | None
    ) -> tuple[dict[str, Any] | None, Any, dict[str, float]]:
        """(reference profile, signature, offline metrics) of a model version."""
        if version is None:
            return None, None, {}
        from loopml.models._signature import Signature

        mv = self.registry.get_model_version(*version)
        store = open_artifact_store(mv.storage_location)
        try:
            profile = json.loads(store.read_bytes("reference_profile.json"))
        except (FileNotFoundError, OSError, NotFoundError):
            profile = None
        signature = Signature.from_dict(json.loads(mv.signature)) if mv.signature else None
        return profile, signature, dict(mv.metrics)

    def _start_run(self, monitor: Monitor, start_ms: int, end_ms: int) -> Run:
        """A tracking run (experiment ``monitor-<name>``) that holds the window's report."""
        experiment = f"monitor-{monitor.name}"
        found = self.tracking.get_experiment_by_name(experiment)
        exp_id = (
            found.experiment_id
            if found is not None
            else self.tracking.create_experiment(experiment, tags={"loopml.monitor": monitor.name})
        )
        stamp = datetime.fromtimestamp(end_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.tracking.create_run(
            exp_id,
            run_name=f"window-{stamp}",
            tags={
                "loopml.monitor": monitor.name,
                "loopml.deployment": monitor.deployment,
                "loopml.window_start_ms": start_ms,
                "loopml.window_end_ms": end_ms,
            },
        )

    def _finish_run(self, run_id: str, report: WindowReport) -> None:
        """Log the window's metrics and report.html/report.json, then end the run."""
        from loopml.monitoring._report import save_report

        now = now_ms()
        metrics = [
            Metric(k, float(v), now, 0)
            for k, v in report.metrics().items()
            if _METRIC_KEY.match(k) and isinstance(v, int | float) and math.isfinite(v)
        ]
        if metrics:
            self.tracking.log_batch(run_id, metrics=metrics)
        with tempfile.TemporaryDirectory(prefix="loopml-report-") as tmp:
            save_report(report, tmp)
            self.tracking.log_artifacts(run_id, tmp, "report")
        self.tracking.set_terminated(run_id, "FINISHED")

    # -- alerts -----------------------------------------------------------------------
    def _evaluate_rules(
        self, monitor: Monitor, window: MonitorWindow
    ) -> tuple[list[Alert], list[Alert]]:
        rules = [parse_rule(text) for text in monitor.config.get("rules", [])]
        if not rules:
            return [], []
        longest = max(r.windows for r in rules)
        recent = self.store.windows(monitor.name, limit=longest)
        history = [w.metrics for w in recent if w.status == "ok"]
        if window.status != "ok":
            history = []  # an empty window neither fires nor resolves anything
        fired, resolved = [], []
        for rule in rules:
            if not history:
                continue
            value = _value(history[-1], rule)
            active = self.store.active_alert(monitor.name, rule.text)
            holds = rule.evaluate(history)
            if holds and active is None:
                alert = self.store.fire(
                    monitor.name,
                    rule.text,
                    rule.severity,
                    value,
                    window.id,
                    rule.describe(value),
                    current_user(),
                )
                self._notify(monitor, alert, "fired", window.report_uri)
                fired.append(alert)
            elif not rule.holds(history[-1]) and active is not None:
                alert = self.store.resolve(active.id, value, current_user())
                self._notify(monitor, alert, "resolved", window.report_uri)
                resolved.append(alert)
        return fired, resolved

    def _notify(self, monitor: Monitor, alert: Alert, event: str, report: str | None) -> None:
        note = Notification(
            event,
            monitor.name,
            monitor.deployment,
            alert.rule,
            alert.severity,
            alert.value,
            alert.message,
            alert.id,
            report,
        )
        for channel in monitor.config.get("channels", []):
            ok, attempts, error = deliver(
                channel, note, self.delivery_attempts, self.delivery_backoff
            )
            self.store.add_delivery(
                alert.id,
                describe_channel(channel),
                event,
                "delivered" if ok else "failed",
                attempts,
                error,
            )

    # -- scheduling -------------------------------------------------------------------
    def run_due(self, now: datetime | None = None) -> list[WindowOutcome]:
        """Run every monitor whose schedule is due; a failing monitor is logged, not raised."""
        outcomes = []
        for monitor in self.store.list():
            try:
                if self.due(monitor.name, now):
                    outcomes.append(self.run(monitor.name))
            except Exception:  # one broken monitor must not stop the others
                log.exception("monitor %s failed", monitor.name)
        return outcomes

    def scheduler(self, poll_seconds: float = 15.0, stop: Any = None) -> None:
        """Run due monitors until ``stop`` (a threading.Event) is set."""
        while stop is None or not stop.is_set():
            self.run_due()
            if stop is not None:
                stop.wait(poll_seconds)
            else:
                time.sleep(poll_seconds)


def _value(metrics: dict[str, float], rule: AlertRule) -> float | None:
    got = metrics.get(rule.metric)
    return None if got is None else float(got)


def _numeric_column(values: pd.Series, name: str) -> pd.DataFrame:
    """One-column frame; lists (multi-output) become NaN rather than failing."""
    as_num = pd.to_numeric(values, errors="coerce")
    if as_num.notna().any():
        return pd.DataFrame({name: as_num.to_numpy()})
    return pd.DataFrame({name: values.astype(str).to_numpy()})


def _ms(value: datetime | int) -> int:
    if isinstance(value, int):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)
