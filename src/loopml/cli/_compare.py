"""Side-by-side comparison of runs for ``loopml runs compare``.

The best value of a metric is the lowest when its name contains one of
:data:`LOWER_IS_BETTER` (``val_loss``, ``rmse``, ``error_rate``…), else the highest; NaN
never wins. Ties are all best. The table highlights the best only when the runs disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text

from loopml.cli._render import fmt_number, run_duration, status_text
from loopml.entities import Run

LOWER_IS_BETTER = ("loss", "error", "rmse", "mae", "mse", "mape")


def lower_is_better(key: str) -> bool:
    """True when smaller values of metric ``key`` are better (losses and errors)."""
    name = key.lower()
    return any(word in name for word in LOWER_IS_BETTER)


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One metric across the compared runs (None where a run lacks it)."""

    key: str
    values: tuple[float | None, ...]
    lower_is_better: bool
    best: float | None

    @property
    def best_indexes(self) -> list[int]:
        """Positions of the runs holding the best value."""
        return [i for i, v in enumerate(self.values) if self.best is not None and v == self.best]

    @property
    def differs(self) -> bool:
        """True when the runs do not all have the same value (missing counts as a value)."""
        return len({_key(v) for v in self.values}) > 1


@dataclass(frozen=True, slots=True)
class ParamRow:
    """One param across the compared runs (None where a run lacks it)."""

    key: str
    values: tuple[str | None, ...]

    @property
    def differs(self) -> bool:
        """True when the runs do not all have the same value."""
        return len(set(self.values)) > 1


def metric_row(key: str, values: Sequence[float | None]) -> MetricRow:
    """Compare one metric; ``best`` is None when no run has a non-NaN value."""
    lower = lower_is_better(key)
    comparable = [v for v in values if v is not None and not math.isnan(v)]
    best = None
    if comparable:
        best = min(comparable) if lower else max(comparable)
    return MetricRow(key, tuple(values), lower, best)


def _key(value: float | None) -> object:
    """A set key that treats every NaN as the same value."""
    return "NaN" if value is not None and math.isnan(value) else value


def compare(runs: Sequence[Run]) -> tuple[list[MetricRow], list[ParamRow]]:
    """Metric and param rows over the union of the runs' keys, sorted by key."""
    metric_keys = sorted({k for r in runs for k in r.data.metrics})
    param_keys = sorted({k for r in runs for k in r.data.params})
    metrics = [metric_row(k, [r.data.metrics.get(k) for r in runs]) for k in metric_keys]
    params = [ParamRow(k, tuple(r.data.params.get(k) for r in runs)) for k in param_keys]
    return metrics, params


def comparison_json(runs: Sequence[Run]) -> dict[str, Any]:
    """The comparison as JSON-ready data (values listed in the order of ``runs``)."""
    metrics, params = compare(runs)
    ids = [r.info.run_id for r in runs]
    return {
        "runs": [{"run_id": r.info.run_id, "run_name": r.info.run_name} for r in runs],
        "metrics": {
            m.key: {
                "values": list(m.values),
                "lower_is_better": m.lower_is_better,
                "best": m.best,
                "best_runs": [ids[i] for i in m.best_indexes],
                "differs": m.differs,
            }
            for m in metrics
        },
        "params": {p.key: {"values": list(p.values), "differs": p.differs} for p in params},
    }


LEGEND = "green: best value (↓ lower is better, ↑ higher is better) · yellow: params that differ"


def comparison_table(runs: Sequence[Run], now_ms: int) -> Table:
    """One column per run: status, duration, metrics (best in green), params (differing in
    yellow); print :data:`LEGEND` under it."""
    metrics, params = compare(runs)
    result = Table(
        title=Text("run comparison", style="bold"),
        title_justify="left",
    )
    result.add_column(Text(""))
    for r in runs:
        result.add_column(Text(f"{r.info.run_name}\n{r.info.run_id[:8]}"), justify="right")
    result.add_row(Text("status"), *[status_text(r.info.status) for r in runs])
    result.add_row(Text("duration"), *[run_duration(r, now_ms) for r in runs], end_section=True)
    for m in metrics:
        best = set(m.best_indexes) if m.differs else set()
        cells = [
            Text("-", style="dim")
            if v is None
            else Text(fmt_number(v), style="bold green" if i in best else "")
            for i, v in enumerate(m.values)
        ]
        arrow = "↓" if m.lower_is_better else "↑"
        result.add_row(Text(f"metrics.{m.key} {arrow}"), *cells)
    if metrics:
        result.rows[-1].end_section = True
    for p in params:
        style = "yellow" if p.differs else ""
        cells = [Text("-", style="dim") if v is None else Text(v, style=style) for v in p.values]
        result.add_row(Text(f"params.{p.key}", style=style), *cells)
    return result
