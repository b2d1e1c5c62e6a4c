"""Typed results of monitoring: drift, data quality, model quality, service health.

These are the contract between the statistics (``_stats``/``_drift``), the checks
(``_quality``), the reports (``_report``) and the monitors (``_monitors``). Every result
turns into plain JSON with ``to_dict`` and flattens into named numbers with ``metrics``
so alert rules can refer to any of them (``drift_share``, ``rmse``, ``drift_score.age``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ColumnKind = Literal["numerical", "categorical"]


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None, tuples become lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@dataclass(frozen=True)
class Finding:
    """Something a user should know about a column or window (not necessarily drift).

    ``code`` is stable and machine-readable (``constant_column``, ``all_missing``,
    ``empty_window``, ``unseen_categories``, ``missing_column``, ``unexpected_column``,
    ``type_mismatch``, ``out_of_range``, ``duplicate_rows``, ``missing_values``).
    """

    code: str
    message: str
    column: str | None = None
    count: int = 0
    examples: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Distribution:
    """Reference vs current distribution of one column, for overlays in reports.

    Numerical: ``edges`` has len(counts)+1 bin edges shared by both sides.
    Categorical: ``categories`` names each position of the count arrays.
    """

    reference_counts: tuple[float, ...]
    current_counts: tuple[float, ...]
    edges: tuple[float, ...] | None = None
    categories: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ColumnDrift:
    """The drift test of one column.

    ``score`` is what is compared to ``threshold``: the p-value for statistical tests
    (drift when ``score < threshold``; ``<=`` for KS and Cramér-von Mises, as Evidently
    does) and the distance for distances (drift when ``score >= threshold``; for
    Wasserstein ``statistic`` is the raw distance and ``score`` the normed one);
    ``higher_is_drift`` says which.
    """

    column: str
    kind: ColumnKind
    method: str
    statistic: float
    p_value: float | None
    score: float
    threshold: float
    higher_is_drift: bool
    drifted: bool
    reference_count: int
    current_count: int
    reference_missing: int = 0
    current_missing: int = 0
    findings: tuple[Finding, ...] = ()
    distribution: Distribution | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        return _clean(asdict(self))


@dataclass(frozen=True)
class DriftResult:
    """Drift of every compared column plus the dataset verdict."""

    columns: tuple[ColumnDrift, ...]
    share_threshold: float
    reference_rows: int
    current_rows: int
    findings: tuple[Finding, ...] = ()

    @property
    def drifted_count(self) -> int:
        """Number of drifted columns."""
        return sum(c.drifted for c in self.columns)

    @property
    def drift_share(self) -> float:
        """Share of compared columns that drifted (0 when nothing was compared)."""
        return self.drifted_count / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        """True when the drifted share reaches ``share_threshold``."""
        return bool(self.columns) and self.drift_share >= self.share_threshold

    def column(self, name: str) -> ColumnDrift:
        """The result for one column; KeyError naming the known columns otherwise."""
        for c in self.columns:
            if c.column == name:
                return c
        known = [c.column for c in self.columns]
        raise KeyError(f"no drift result for column {name!r}; columns: {known}")

    def metrics(self, prefix: str = "") -> dict[str, float]:
        """Named numbers for alert rules: drift_share, drifted_columns, drift_score.<col>, …"""
        out = {
            f"{prefix}drift_share": self.drift_share,
            f"{prefix}drifted_columns": float(self.drifted_count),
            f"{prefix}dataset_drift": float(self.dataset_drift),
        }
        for c in self.columns:
            out[f"{prefix}drift_score.{c.column}"] = c.score
            out[f"{prefix}drift_detected.{c.column}"] = float(c.drifted)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (verdict first, then columns)."""
        return _clean(
            {
                "dataset_drift": self.dataset_drift,
                "drift_share": self.drift_share,
                "drifted_columns": self.drifted_count,
                "share_threshold": self.share_threshold,
                "reference_rows": self.reference_rows,
                "current_rows": self.current_rows,
                "findings": [asdict(f) for f in self.findings],
                "columns": [c.to_dict() for c in self.columns],
            }
        )


@dataclass(frozen=True)
class QualityCheck:
    """One data-quality check: how many rows or columns failed it, with examples."""

    name: str
    passed: bool
    count: int
    share: float
    column: str | None = None
    message: str = ""
    examples: tuple[Any, ...] = ()


@dataclass(frozen=True)
class DataQualityResult:
    """Every data-quality check of a window."""

    checks: tuple[QualityCheck, ...]
    rows: int

    @property
    def failed(self) -> tuple[QualityCheck, ...]:
        """The checks that did not pass."""
        return tuple(c for c in self.checks if not c.passed)

    def metrics(self) -> dict[str, float]:
        """missing_share, duplicate_rows, quality_failures and one count per failed check name."""
        out = {"quality_failures": float(len(self.failed)), "rows": float(self.rows)}
        for c in self.checks:
            key = f"{c.name}.{c.column}" if c.column else c.name
            out[key] = float(c.count)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        return _clean({"rows": self.rows, "checks": [asdict(c) for c in self.checks]})


@dataclass(frozen=True)
class ModelQualityResult:
    """Model quality on labelled rows, overall and per segment, with the offline baseline."""

    task: Literal["regression", "classification"]
    metrics: dict[str, float]
    labelled_rows: int
    reference: dict[str, float] = field(default_factory=dict)
    segment_column: str | None = None
    segments: dict[str, dict[str, float]] = field(default_factory=dict)

    def metrics_flat(self) -> dict[str, float]:
        """rmse, mae, …, plus <metric>.<segment> for each segment."""
        out = dict(self.metrics) | {"labelled_rows": float(self.labelled_rows)}
        for seg, values in self.segments.items():
            for k, v in values.items():
                out[f"{k}.{seg}"] = v
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        return _clean(asdict(self))


@dataclass(frozen=True)
class ServiceHealth:
    """Throughput, errors and latency of a window of the prediction log."""

    requests: int
    throughput_per_s: float
    error_share: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float

    def metrics(self) -> dict[str, float]:
        """requests, throughput_per_s, error_share, latency_p50_ms, …"""
        return {k: float(v) for k, v in asdict(self).items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary."""
        return _clean(asdict(self))


@dataclass(frozen=True)
class WindowReport:
    """Everything computed for one window of a monitor (or one ad-hoc comparison).

    ``history`` holds earlier windows' metrics, oldest first, as ``(window_end_ms, metrics)``
    so reports can draw time series; ``alerts`` are short lines about alerts that fired.
    """

    title: str
    window_start_ms: int | None = None
    window_end_ms: int | None = None
    drift: DriftResult | None = None
    prediction_drift: DriftResult | None = None
    label_drift: DriftResult | None = None
    quality: DataQualityResult | None = None
    model_quality: ModelQualityResult | None = None
    health: ServiceHealth | None = None
    history: tuple[tuple[int, dict[str, float]], ...] = ()
    alerts: tuple[str, ...] = ()

    def metrics(self) -> dict[str, float]:
        """Every named number of the window, for alert rules and time series."""
        out: dict[str, float] = {}
        if self.drift is not None:
            out |= self.drift.metrics()
        if self.prediction_drift is not None:
            out |= self.prediction_drift.metrics("prediction_")
        if self.label_drift is not None:
            out |= self.label_drift.metrics("label_")
        if self.quality is not None:
            out |= self.quality.metrics()
        if self.model_quality is not None:
            out |= self.model_quality.metrics_flat()
        if self.health is not None:
            out |= self.health.metrics()
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary: verdicts and metrics first, then the details."""
        part = lambda r: None if r is None else r.to_dict()  # noqa: E731
        return _clean(
            {
                "title": self.title,
                "window_start_ms": self.window_start_ms,
                "window_end_ms": self.window_end_ms,
                "metrics": self.metrics(),
                "alerts": list(self.alerts),
                "drift": part(self.drift),
                "prediction_drift": part(self.prediction_drift),
                "label_drift": part(self.label_drift),
                "quality": part(self.quality),
                "model_quality": part(self.model_quality),
                "health": part(self.health),
                "history": [[end, m] for end, m in self.history],
            }
        )
