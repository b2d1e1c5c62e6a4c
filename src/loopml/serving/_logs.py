"""Prediction and feedback logs: where they live, writing labels, reading joined windows.

Both are Parquet partitions under the artifact root::

    predictions/deployment=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet
    feedback/deployment=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet

Labels arrive any time later and join predictions by request id (the newest label wins).
"""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from fsspec.core import url_to_fs

from loopml.errors import StoreError, ValidationError
from loopml.store.artifacts import open_artifact_store
from loopml.tracking import Client

PREDICTIONS = "predictions"
FEEDBACK = "feedback"


def log_root(client: Client, kind: str) -> str:
    """``<artifact root>/predictions`` or ``<artifact root>/feedback``."""
    return f"{client.store.default_artifact_root}/{kind}"


def _check_deployment(deployment: str) -> str:
    if not deployment or "/" in deployment or "=" in deployment:
        raise ValidationError(
            f"deployment name {deployment!r} is not valid; use letters, digits, '-' or '_'"
        )
    return deployment


def write_feedback(
    client: Client,
    deployment: str,
    request_ids: Sequence[str],
    labels: Sequence[Any],
    timestamp_ms: int | None = None,
) -> int:
    """Store ground-truth labels for earlier predictions; returns how many were written."""
    _check_deployment(deployment)
    if len(request_ids) != len(labels):
        raise ValidationError(
            f"got {len(request_ids)} request ids but {len(labels)} labels; give one label per id"
        )
    if not request_ids:
        return 0
    bad = [r for r in request_ids if not isinstance(r, str) or not r]
    if bad:
        raise ValidationError(f"request ids must be non-empty strings, got {bad[:3]!r}")
    ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    table = pa.table(
        {
            "request_id": list(request_ids),
            "label": [json.dumps(_plain(v)) for v in labels],
            "timestamp_ms": pa.array([ts] * len(request_ids), pa.int64()),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    day = datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%d")
    path = f"deployment={deployment}/date={day}/part-{uuid.uuid4().hex}.parquet"
    open_artifact_store(log_root(client, FEEDBACK)).write_bytes(path, sink.getvalue())
    return len(request_ids)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return value


def read_feedback_file(path: str | os.PathLike) -> tuple[list[str], list[Any]]:
    """Request ids and labels from a CSV or Parquet file with columns request_id, label."""
    file = Path(path)
    if file.suffix == ".csv":
        frame = pd.read_csv(file, dtype={"request_id": str})
    elif file.suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(file)
    else:
        raise ValidationError(f"{file.name}: feedback files must be .csv or .parquet")
    missing = {"request_id", "label"} - set(frame.columns)
    if missing:
        raise ValidationError(
            f"{file.name} lacks column(s) {', '.join(sorted(missing))}; it needs request_id "
            "and label"
        )
    return frame["request_id"].astype(str).tolist(), frame["label"].tolist()


def _read(root: str, deployment: str, start_ms: int | None, end_ms: int | None) -> pd.DataFrame:
    fs, base = url_to_fs(f"{root}/deployment={deployment}")
    try:
        if not fs.exists(base):
            return pd.DataFrame()
        dataset = ds.dataset(base, filesystem=fs, format="parquet", partitioning="hive")
        flt = None
        if start_ms is not None:
            flt = ds.field("timestamp_ms") >= start_ms
        if end_ms is not None:
            cond = ds.field("timestamp_ms") < end_ms
            flt = cond if flt is None else flt & cond
        return dataset.to_table(filter=flt).to_pandas()
    except OSError as exc:
        raise StoreError(f"reading the log under {root} failed: {exc}") from exc


def _ms(value: datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def joined_log(
    client: Client,
    deployment: str,
    start: datetime | int | None = None,
    end: datetime | int | None = None,
) -> pd.DataFrame:
    """Predictions of a deployment in [start, end), with their labels (NaN when none yet).

    Columns: request_id, timestamp (UTC), model_name, model_version, route, latency_ms,
    status, one column per input feature, prediction, label, label_timestamp_ms.
    """
    _check_deployment(deployment)
    preds = _read(log_root(client, PREDICTIONS), deployment, _ms(start), _ms(end))
    if preds.empty:
        return pd.DataFrame(columns=["request_id", "timestamp", "prediction", "label"])
    inputs = pd.DataFrame.from_records([json.loads(x) for x in preds["inputs"]])
    out = preds.drop(columns=["inputs", "output", "date"], errors="ignore").reset_index(drop=True)
    out["prediction"] = [json.loads(x) for x in preds["output"]]
    out["timestamp"] = pd.to_datetime(out["timestamp_ms"], unit="ms", utc=True)
    out = pd.concat([out, inputs.set_index(out.index)], axis=1)
    labels = _read(log_root(client, FEEDBACK), deployment, None, None)
    if labels.empty:
        out["label"] = float("nan")
        out["label_timestamp_ms"] = pd.NA
    else:
        latest = labels.sort_values("timestamp_ms").drop_duplicates("request_id", keep="last")
        latest = latest.assign(label=[json.loads(x) for x in latest["label"]])
        latest = latest[["request_id", "label", "timestamp_ms"]].rename(
            columns={"timestamp_ms": "label_timestamp_ms"}
        )
        out = out.merge(latest, on="request_id", how="left")
    return out.sort_values(["timestamp_ms", "request_id"]).reset_index(drop=True)
