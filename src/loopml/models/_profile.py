"""Reference profiles: a compact statistical summary of the training data.

Stored with a model so monitoring can compare live traffic without the raw training
data. Numeric columns keep count, missing rate, min/max, mean/std, 109 quantiles (every
percentile plus finer tails down to 0.001% and up to 99.999%), a 50-bin histogram, the
dtype and, with at most 100 distinct values, every value's count; text and boolean
columns keep category frequencies (top 100). Version 1 profiles (11 quantiles, 20 bins)
are still read by monitoring.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from loopml.models._signature import as_frame

TAILS = (0.00001, 0.0001, 0.001, 0.005, 0.995, 0.999, 0.9999, 0.99999)
QUANTILES = tuple(sorted({i / 100 for i in range(101)} | set(TAILS)))
HISTOGRAM_BINS = 50
TOP_CATEGORIES = 100
VALUE_COUNTS_LIMIT = 100  # numeric columns with at most this many distinct values keep counts
PROFILE_VERSION = 2


def _numeric(series: pd.Series) -> dict[str, Any]:
    values = series.dropna().to_numpy(dtype=float)
    finite = np.sort(values[np.isfinite(values)])
    entry: dict[str, Any] = {"kind": "numeric", "dtype": str(series.dtype), "finite": finite.size}
    if finite.size == 0:
        return entry | {"min": None, "max": None}
    counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
    starts = np.flatnonzero(np.concatenate(([True], finite[1:] != finite[:-1])))
    entry |= {
        "min": float(finite[0]),
        "max": float(finite[-1]),
        "mean": float(finite.mean()),
        "std": float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
        "distinct": int(starts.size),
        "quantiles": {
            str(q): float(v) for q, v in zip(QUANTILES, np.quantile(finite, QUANTILES), strict=True)
        },
        "histogram": {"edges": edges.tolist(), "counts": counts.astype(int).tolist()},
    }
    if starts.size <= VALUE_COUNTS_LIMIT:
        entry["values"] = {
            "values": finite[starts].tolist(),
            "counts": np.diff(np.append(starts, finite.size)).tolist(),
        }
    return entry


def _categorical(series: pd.Series) -> dict[str, Any]:
    counts = series.dropna().astype(str).value_counts()
    top = counts.iloc[:TOP_CATEGORIES]
    other = int(counts.iloc[TOP_CATEGORIES:].sum())
    return {
        "kind": "categorical",
        "dtype": str(series.dtype),
        "distinct": int(counts.size),
        "frequencies": {str(k): int(v) for k, v in top.items()},
        "other": other,
    }


def profile_frame(data: Any) -> dict[str, Any]:
    """Profile every column of a frame (or anything ``as_frame`` accepts)."""
    frame = as_frame(data)
    columns = {}
    for name, series in frame.items():
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        entry = _numeric(series) if numeric else _categorical(series)
        missing = int(series.isna().sum())
        entry |= {
            "count": len(series),
            "missing": missing,
            "missing_rate": missing / len(series) if len(series) else 0.0,
        }
        columns[str(name)] = entry
    return {"version": PROFILE_VERSION, "rows": len(frame), "columns": columns}
