"""Runs as a pandas DataFrame (MLflow's ``search_runs`` column layout)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from loopml.entities import Run

BASE_COLUMNS = [
    "run_id",
    "experiment_id",
    "run_name",
    "status",
    "artifact_uri",
    "start_time",
    "end_time",
]


def runs_to_frame(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: attributes, then ``metrics.*``, ``params.*`` and ``tags.*`` columns."""
    rows = []
    for run in runs:
        info = run.info
        row: dict[str, object] = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "run_name": info.run_name,
            "status": info.status.value,
            "artifact_uri": info.artifact_uri,
            "start_time": pd.Timestamp(info.start_time, unit="ms", tz="UTC"),
            "end_time": (
                pd.Timestamp(info.end_time, unit="ms", tz="UTC") if info.end_time else pd.NaT
            ),
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=BASE_COLUMNS)
    extra = sorted(c for c in frame.columns if c not in BASE_COLUMNS)
    ordered = [c for c in BASE_COLUMNS if c in frame.columns]
    by_kind = sorted(extra, key=lambda c: (("metrics", "params", "tags").index(c.split(".")[0]), c))
    return frame[ordered + by_kind]
