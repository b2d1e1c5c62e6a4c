"""Reports: JSON round trip and verdict, self-contained HTML rendered in headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from loopml.monitoring._model_quality import model_quality, service_health
from loopml.monitoring._quality import check_quality
from loopml.monitoring._report import (
    ReportView,
    as_notebook,
    render_html,
    render_json,
    save_report,
    sorted_columns,
)
from loopml.monitoring._results import (
    ColumnDrift,
    Distribution,
    DriftResult,
    Finding,
    WindowReport,
)

EVIL = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
EVIL_CATEGORY = "<script>document.body.setAttribute('data-pwned','2')</script>"
HOUR = 3_600_000
END = 1_700_000_000_000


def _column(name: str, method: str, score: float, threshold: float, **extra) -> ColumnDrift:
    distance = method in ("psi", "wasserstein", "jensenshannon")
    drifted = score >= threshold if distance else score < threshold
    return ColumnDrift(
        column=name,
        kind=extra.pop("kind", "numerical"),
        method=method,
        statistic=extra.pop("statistic", score),
        p_value=None if distance else score,
        score=score,
        threshold=threshold,
        higher_is_drift=distance,
        drifted=drifted,
        reference_count=1000,
        current_count=800,
        **extra,
    )


@pytest.fixture
def drift() -> DriftResult:
    numeric = Distribution((5, 20, 40, 25, 10), (2, 8, 30, 40, 20), edges=(0, 1, 2, 3, 4, 5))
    categories = Distribution((50, 30, 20), (20, 30, 50), categories=("a", "b", EVIL_CATEGORY))
    columns = (
        _column("age", "ks", 0.2, 0.05, distribution=numeric),  # no drift
        _column("income", "wasserstein", 0.3, 0.1, distribution=numeric),  # 3x the threshold
        _column(
            EVIL,
            "psi",
            0.15,
            0.1,
            kind="categorical",
            distribution=categories,
            findings=(Finding("unseen_categories", f"unseen {EVIL_CATEGORY}", EVIL, 3),),
        ),  # 1.5x
        _column("score", "ks", 0.001, 0.05, distribution=numeric),  # 50x
        _column("plain", "jensenshannon", 0.01, 0.1),  # no distribution: no overlay
    )
    return DriftResult(columns, share_threshold=0.5, reference_rows=1000, current_rows=800)


@pytest.fixture
def report(drift: DriftResult) -> WindowReport:
    current = pd.DataFrame({"age": [1, 2, 2, None], EVIL: ["a", "b", "b", "zz"]})
    reference = pd.DataFrame({"age": [1, 2, 3], EVIL: ["a", "b", "b"]})
    quality = check_quality(current, reference)
    model = model_quality(
        [1.0, 2.0, 3.0, 4.0],
        [1.5, 2.0, 2.0, 5.0],
        segments=pd.Series(["x", "y", "x", "y"], name="region"),
        reference_metrics={"rmse": 0.5, "mae": 0.4},
    )
    log = pd.DataFrame(
        {"timestamp_ms": [0, 500, 1000, 2000], "latency_ms": [5.0, 7.0, 9.0, 30.0]}
        | {"status": [200, 200, 500, 200]}
    )
    history = tuple(
        (END - (5 - i) * HOUR, {"drift_share": i / 10, "rmse": 0.5 + i / 20, "error_share": 0.0})
        for i in range(5)
    )
    return WindowReport(
        title="Monitor <churn> & co",
        window_start_ms=END - HOUR,
        window_end_ms=END,
        drift=drift,
        quality=quality,
        model_quality=model,
        health=service_health(log),
        history=history,
        alerts=("rmse > 0.6 for 1 window",),
    )


def test_columns_sort_by_severity_across_methods(drift):
    order = [c.column for c in sorted_columns(drift)]
    assert order == ["score", "income", EVIL, "age", "plain"]


def test_json_round_trips_with_verdict_and_sorted_columns(report):
    data = json.loads(render_json(report))
    assert next(iter(data)) == "summary"
    summary = data["summary"]
    assert summary["status"] == "alert"
    assert summary["headline"] == "Dataset drift detected"
    assert summary["dataset_drift"] is True
    assert summary["drift_share"] == pytest.approx(0.6)
    assert (summary["drifted_columns"], summary["compared_columns"]) == (3, 5)
    assert summary["alerts"] == 1
    assert summary["quality_failures"] == len(report.quality.failed)
    assert {r["metric"]: r["reference"] for r in summary["model_quality"]}["rmse"] == 0.5
    assert [c["column"] for c in data["drift"]["columns"]] == [
        "score",
        "income",
        EVIL,
        "age",
        "plain",
    ]
    # apart from the column order, the JSON is the report's own dictionary
    expected = json.loads(json.dumps(report.to_dict()))
    data.pop("summary")
    key = lambda c: c["column"]  # noqa: E731
    data["drift"]["columns"].sort(key=key)
    expected["drift"]["columns"].sort(key=key)
    assert data == expected
    assert data["health"]["latency_p50_ms"] == 8.0


def test_quiet_window_is_ok_and_nan_becomes_null():
    quiet = DriftResult((_column("a", "ks", 0.5, 0.05),), 0.5, 10, 10)
    empty_log = service_health(pd.DataFrame(columns=["timestamp_ms", "latency_ms", "status"]))
    report = WindowReport("quiet", drift=quiet, health=empty_log)
    data = json.loads(render_json(report))
    assert data["summary"]["status"] == "ok"
    assert data["summary"]["headline"] == "No dataset drift"
    assert data["health"]["latency_p95_ms"] is None
    page = render_html(report)
    assert "No dataset drift" in page
    assert "Metrics across windows" not in page  # no history: no time series


def test_html_is_self_contained_and_escapes_user_text(report):
    page = render_html(report)
    assert not re.search(r"<script[^>]*\bsrc=", page, re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref=[\"']?https?://", page, re.IGNORECASE)
    assert page.count(get_plotlyjs()[:80]) == 1  # plotly.js embedded exactly once
    assert EVIL not in page and EVIL_CATEGORY not in page
    assert "&lt;img src=x onerror=" in page  # shown as text in the tables
    assert "Monitor &lt;churn&gt; &amp; co" in page
    head = page[: page.index("<script")]
    assert head.index("Dataset drift detected") < head.index("Feature drift")


def _dump_dom(chromium: str, page: Path, profile: Path) -> str:
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_html_renders_plotly_charts_in_headless_chromium(report, chromium, tmp_path):
    html_path, _ = save_report(report, tmp_path / "out")
    dom = _dump_dom(chromium, html_path, tmp_path / "profile")
    # 4 overlays (every column with a distribution) + 3 series (drift_share, rmse, error_share)
    rendered = re.findall(r'<div class="chart js-plotly-plot" id="(chart-\d+)"', dom)
    assert sorted(rendered, key=lambda s: int(s.split("-")[1])) == [f"chart-{i}" for i in range(7)]
    assert dom.count('class="main-svg"') == 3 * 7  # plotly draws three SVG layers per chart
    assert "Dataset drift detected" in dom
    assert "3 of 5" in dom
    assert 'data-pwned="' not in dom  # the malicious names stayed text
    assert "&lt;script&gt;document.body" in dom  # the category label, drawn literally


def test_repr_html_is_an_iframe(report):
    view = as_notebook(report, height=600)
    assert isinstance(view, ReportView)
    frame = view._repr_html_()
    assert frame.startswith("<iframe srcdoc=")
    assert frame.endswith("</iframe>")
    assert "height:600px" in frame
    assert "<script" not in frame  # the page lives, escaped, in the srcdoc attribute
    assert "&lt;script" in frame


def test_save_report_writes_both_files_atomically(report, tmp_path):
    folder = tmp_path / "nested" / "reports"
    html_path, json_path = save_report(report, folder)
    assert (html_path.name, json_path.name) == ("report.html", "report.json")
    assert json.loads(json_path.read_text())["summary"]["status"] == "alert"
    assert html_path.read_text().startswith("<!DOCTYPE html>")
    assert html_path.stat().st_mode & 0o777 == 0o644
    again = save_report(WindowReport("second"), folder)  # overwrites in place
    assert json.loads(again[1].read_text())["title"] == "second"
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.json"]
