"""Reports of a monitoring window: JSON for machines, one self-contained HTML file for people.

The HTML embeds Plotly's JavaScript from the installed ``plotly`` package once (no CDN, no
network) and draws every chart from a JSON blob that cannot break out of its script tag.
Sections: summary verdict, columns sorted by drift severity, distribution overlays, failed
data-quality checks with examples, model quality against the offline metrics, service
health and metric time series across windows. ``ReportView`` renders inline in Jupyter.
"""

from __future__ import annotations

import html
import itertools
import math
import os
import tempfile
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import orjson

from loopml.monitoring._results import (
    ColumnDrift,
    DriftResult,
    ModelQualityResult,
    WindowReport,
)

TEMPLATES = Path(__file__).parent / "templates"
LOWER_IS_BETTER = frozenset({"mae", "rmse", "mape", "log_loss"})
MODEL_TOLERANCE = 0.10  # relative degradation vs the offline metric that makes a warning
ERROR_SHARE_WARNING = 0.01
# metrics drawn as time series across windows, in this order, when present
KEY_METRICS = (
    "drift_share",
    "prediction_drift_share",
    "label_drift_share",
    "quality_failures",
    "rmse",
    "mae",
    "mape",
    "r2",
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "error_share",
    "latency_p95_ms",
    "throughput_per_s",
)
_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
DASH = "\u2013"  # shown for missing numbers
REF, CUR = "reference", "current"
REF_COLOR, CUR_COLOR = "#8da0cb", "#fc8d62"
_CHART_HEIGHT = 230
_SERIES_HEIGHT = 200


# --- public API -----------------------------------------------------------------------------


def render_json(report: WindowReport) -> str:
    """The report as indented JSON: a summary verdict first, drift columns most drifted first."""
    data = report.to_dict()
    for key in ("drift", "prediction_drift", "label_drift"):
        result: DriftResult | None = getattr(report, key)
        if result is not None:
            data[key]["columns"] = [c.to_dict() for c in sorted_columns(result)]
    out = {"summary": summarize(report)} | data
    return orjson.dumps(out, default=_json_default, option=_JSON_OPTIONS).decode()


def render_html(report: WindowReport) -> str:
    """One self-contained HTML page (Plotly's JavaScript inlined, no network access)."""
    charts: list[dict[str, Any]] = []
    context = {
        "title": report.title,
        "window": _window_text(report),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "summary": summarize(report),
        "drift_sections": _drift_sections(report),
        "overlays": _overlays(report, charts),
        "quality": _quality_context(report),
        "model": _model_context(report.model_quality),
        "health": report.health,
        "series": _series(report, charts),
        "alerts": list(report.alerts),
    }
    return (
        _environment()
        .get_template("report.html.j2")
        .render(**context, charts_json=_script_json(charts), plotly_js=_plotly_js())
    )


def save_report(report: WindowReport, folder: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.json`` into ``folder`` atomically; return both paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    html_path = _write_atomic(target / "report.html", render_html(report))
    json_path = _write_atomic(target / "report.json", render_json(report))
    return html_path, json_path


class ReportView:
    """A report that renders inline in Jupyter (in an iframe, so its scripts run)."""

    def __init__(self, report: WindowReport, height: int = 900) -> None:
        self.report = report
        self.height = height

    def html(self) -> str:
        """The full HTML page."""
        return render_html(self.report)

    def json(self) -> str:
        """The JSON report."""
        return render_json(self.report)

    def save(self, folder: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write report.html and report.json into ``folder``."""
        return save_report(self.report, folder)

    def _repr_html_(self) -> str:
        page = html.escape(self.html(), quote=True)
        return (
            f'<iframe srcdoc="{page}" style="width:100%;height:{self.height}px;border:0" '
            'sandbox="allow-scripts allow-popups" loading="lazy"></iframe>'
        )


def as_notebook(report: WindowReport, height: int = 900) -> ReportView:
    """Wrap a report so Jupyter shows it inline."""
    return ReportView(report, height)


# --- summary --------------------------------------------------------------------------------


def severity(column: ColumnDrift) -> float:
    """How far a column's score is past its threshold (> 1 means drift), across methods."""
    score, threshold = column.score, column.threshold
    if score is None or not math.isfinite(score):
        return 0.0
    if column.higher_is_drift:
        return score / threshold if threshold > 0 else math.inf if score > 0 else 0.0
    return threshold / score if score > 0 else math.inf


def sorted_columns(result: DriftResult) -> list[ColumnDrift]:
    """Columns most drifted first: drifted before not, then by severity, then by name."""
    return sorted(result.columns, key=lambda c: (not c.drifted, -severity(c), c.column))


def summarize(report: WindowReport) -> dict[str, Any]:
    """The verdict of a window: status (ok, warning, alert), headline, reasons, key numbers."""
    reasons: list[str] = []
    level = 0  # 0 ok, 1 warning, 2 alert

    def flag(new: int, reason: str) -> None:
        nonlocal level
        level = max(level, new)
        reasons.append(reason)

    drift = report.drift
    if drift is None:
        headline = "Drift not computed"
    elif drift.dataset_drift:
        headline = "Dataset drift detected"
        flag(2, f"{drift.drifted_count} of {len(drift.columns)} columns drifted")
    else:
        headline = "No dataset drift"
        if drift.drifted_count:
            flag(1, f"{drift.drifted_count} of {len(drift.columns)} columns drifted")
    for name, result in (("prediction", report.prediction_drift), ("label", report.label_drift)):
        if result is not None and result.dataset_drift:
            flag(2, f"{name} drift detected")
    if report.alerts:
        flag(2, f"{len(report.alerts)} alert(s) fired")
    failures = len(report.quality.failed) if report.quality is not None else None
    if failures:
        flag(1, f"{failures} data-quality check(s) failed")
    comparison = _compare(report.model_quality)
    for row in comparison:
        if row["worse"] and row["change"] is not None and abs(row["change"]) > MODEL_TOLERANCE:
            flag(1, f"{row['metric']} worse than offline by {abs(row['change']):.0%}")
    health = report.health
    if health is not None and health.error_share > ERROR_SHARE_WARNING:
        flag(1, f"error share {health.error_share:.1%}")
    status = ("ok", "warning", "alert")[level]
    return {
        "status": status,
        "headline": headline,
        "reasons": reasons,
        "dataset_drift": None if drift is None else drift.dataset_drift,
        "drift_share": None if drift is None else drift.drift_share,
        "drifted_columns": None if drift is None else drift.drifted_count,
        "compared_columns": None if drift is None else len(drift.columns),
        "share_threshold": None if drift is None else drift.share_threshold,
        "reference_rows": None if drift is None else drift.reference_rows,
        "current_rows": None if drift is None else drift.current_rows,
        "prediction_drift": _verdict(report.prediction_drift),
        "label_drift": _verdict(report.label_drift),
        "quality_failures": failures,
        "quality_checks": None if report.quality is None else len(report.quality.checks),
        "alerts": len(report.alerts),
        "labelled_rows": None
        if report.model_quality is None
        else report.model_quality.labelled_rows,
        "model_quality": comparison,
        "health": None if health is None else health.to_dict(),
    }


def _verdict(result: DriftResult | None) -> bool | None:
    return None if result is None else result.dataset_drift


def _compare(result: ModelQualityResult | None) -> list[dict[str, Any]]:
    """Each metric against its offline value: relative change, and whether it is worse."""
    if result is None:
        return []
    rows = []
    for name, value in result.metrics.items():
        ref = result.reference.get(name)
        change = worse = None
        if ref is not None and _finite(value) and _finite(ref):
            change = (value - ref) / abs(ref) if ref else None
            worse = value > ref if name in LOWER_IS_BETTER else value < ref
        rows.append(
            {"metric": name, "value": value, "reference": ref, "change": change, "worse": worse}
        )
    return rows


# --- sections -------------------------------------------------------------------------------


def _drift_sections(report: WindowReport) -> list[dict[str, Any]]:
    sections = []
    for title, result in (
        ("Feature drift", report.drift),
        ("Prediction drift", report.prediction_drift),
        ("Label drift", report.label_drift),
    ):
        if result is None:
            continue
        rows = [
            {
                "column": c.column,
                "kind": c.kind,
                "method": c.method,
                "statistic": c.statistic,
                "p_value": c.p_value,
                "score": c.score,
                "threshold": c.threshold,
                "rule": ">=" if c.higher_is_drift else "<",
                "drifted": c.drifted,
                "reference_count": c.reference_count,
                "current_count": c.current_count,
                "missing": f"{c.reference_missing} / {c.current_missing}",
                "findings": [f.message for f in c.findings],
            }
            for c in sorted_columns(result)
        ]
        sections.append(
            {
                "title": title,
                "rows": rows,
                "dataset_drift": result.dataset_drift,
                "drift_share": result.drift_share,
                "drifted": result.drifted_count,
                "findings": [f.message for f in result.findings],
            }
        )
    return sections


def _overlays(report: WindowReport, charts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One reference-vs-current chart per column that carries a distribution."""
    out = []
    for prefix, result in (
        ("", report.drift),
        ("prediction · ", report.prediction_drift),
        ("label · ", report.label_drift),
    ):
        if result is None:
            continue
        for column in sorted_columns(result):
            if column.distribution is None:
                continue
            chart_id = f"chart-{len(charts)}"
            charts.append(_overlay_chart(chart_id, column))
            out.append(
                {
                    "id": chart_id,
                    "title": prefix + column.column,
                    "method": column.method,
                    "drifted": column.drifted,
                    "score": column.score,
                }
            )
    return out


def _overlay_chart(chart_id: str, column: ColumnDrift) -> dict[str, Any]:
    dist = column.distribution
    assert dist is not None
    ref = _shares(dist.reference_counts)
    cur = _shares(dist.current_counts)
    layout: dict[str, Any] = {
        "height": _CHART_HEIGHT,
        "margin": {"l": 45, "r": 10, "t": 10, "b": 45},
        "legend": {"orientation": "h", "y": 1.15, "x": 0},
        "yaxis": {"title": {"text": "share"}, "tickformat": ".0%"},
        "font": {"size": 11},
    }
    if dist.categories is not None:
        labels = [_plotly_text(c) for c in dist.categories]
        traces = [
            {
                "type": "bar",
                "name": "reference",
                "x": labels,
                "y": ref,
                "marker": {"color": "#8da0cb"},
            },
            {
                "type": "bar",
                "name": "current",
                "x": labels,
                "y": cur,
                "marker": {"color": "#fc8d62"},
            },
        ]
        layout |= {"barmode": "group", "xaxis": {"type": "category", "automargin": True}}
    else:
        edges = list(dist.edges) if dist.edges is not None else list(range(len(ref) + 1))
        centers = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
        widths = [b - a for a, b in itertools.pairwise(edges)]
        traces = [
            {
                "type": "bar",
                "name": name,
                "x": centers,
                "y": values,
                "width": widths,
                "opacity": 0.6,
                "marker": {"color": color},
            }
            for name, values, color in ((REF, ref, REF_COLOR), (CUR, cur, CUR_COLOR))
        ]
        layout |= {"barmode": "overlay", "bargap": 0}
    return {"id": chart_id, "data": traces, "layout": layout}


def _quality_context(report: WindowReport) -> dict[str, Any] | None:
    quality = report.quality
    if quality is None:
        return None
    failed = [
        {
            "name": c.name,
            "column": c.column,
            "count": c.count,
            "share": c.share,
            "message": c.message,
            "examples": [_example_text(e) for e in c.examples],
        }
        for c in sorted(quality.failed, key=lambda c: (-c.share, c.name, c.column or ""))
    ]
    return {"rows": quality.rows, "checks": len(quality.checks), "failed": failed}


def _model_context(result: ModelQualityResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    names = list(result.metrics)
    segments = [
        {"name": seg, "values": [values.get(m) for m in names], "rows": values.get("labelled_rows")}
        for seg, values in result.segments.items()
    ]
    return {
        "task": result.task,
        "labelled_rows": result.labelled_rows,
        "comparison": _compare(result),
        "segment_column": result.segment_column,
        "metric_names": names,
        "segments": segments,
    }


def _series(report: WindowReport, charts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One small line chart per key metric known for two or more windows (earlier + this)."""
    if not report.history:
        return []
    points = list(report.history)
    if report.window_end_ms is not None:
        points.append((report.window_end_ms, report.metrics()))
    points.sort(key=lambda p: p[0])
    times = [_iso(end) for end, _ in points]
    reference = report.model_quality.reference if report.model_quality is not None else {}
    out = []
    for name in KEY_METRICS:
        values = [_json_number(m.get(name)) for _, m in points]
        if sum(v is not None for v in values) < 2:  # a line needs two windows
            continue
        chart_id = f"chart-{len(charts)}"
        traces: list[dict[str, Any]] = [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": times,
                "y": values,
                "line": {"color": "#1f77b4"},
            }
        ]
        if name in reference:
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "offline",
                    "x": [times[0], times[-1]],
                    "y": [reference[name]] * 2,
                    "line": {"dash": "dash", "color": "#999"},
                }
            )
        charts.append(
            {
                "id": chart_id,
                "data": traces,
                "layout": {
                    "height": _SERIES_HEIGHT,
                    "margin": {"l": 50, "r": 10, "t": 10, "b": 40},
                    "showlegend": len(traces) > 1,
                    "legend": {"orientation": "h", "y": 1.2, "x": 0},
                    "xaxis": {"type": "date"},
                    "font": {"size": 11},
                },
            }
        )
        out.append({"id": chart_id, "metric": name})
    return out


# --- helpers --------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _fmt_number
    env.filters["pct"] = _fmt_percent
    return env


@cache
def _plotly_js() -> str:
    """Plotly's minified JavaScript from the installed package (safe inside a script tag)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs().replace("</script", "<\\/script")


def _script_json(value: Any) -> str:
    """JSON that is safe inside <script type="application/json">: no tag or comment opener."""
    text = orjson.dumps(value, default=_json_default).decode()
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _json_number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and _finite(value) else None


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _shares(counts: tuple[float, ...]) -> list[float]:
    total = float(sum(counts))
    return [float(c) / total if total else 0.0 for c in counts]


def _plotly_text(value: Any) -> str:
    """Plotly reads a few HTML tags in labels; escaping keeps user text literal."""
    return html.escape(str(value), quote=False)


def _example_text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v!r}" for k, v in value.items())
    return repr(value)


def _fmt_number(value: Any, digits: int = 4) -> str:
    if value is None or isinstance(value, bool):
        return DASH if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return DASH
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.{digits - 1}e}"
        return f"{value:,.{digits}g}" if abs(value) >= 1 else f"{value:.{digits}g}"
    return str(value)


def _fmt_percent(value: Any, digits: int = 1) -> str:
    if not _finite(value):
        return DASH
    return f"{value:.{digits}%}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _window_text(report: WindowReport) -> str:
    start, end = report.window_start_ms, report.window_end_ms
    if start is None and end is None:
        return ""
    left = _iso(start) if start is not None else "…"
    right = _iso(end) if end is not None else "…"
    return f"{left} → {right} UTC"


def _write_atomic(path: Path, text: str) -> Path:
    """Write to a temporary file in the same folder, then rename over the target."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; reports are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
