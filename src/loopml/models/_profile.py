"""Reference profiles: a compact statistical summary of the training data.

Stored with a model so monitoring can compare live traffic without the raw training
data. Numeric columns keep count, missing rate, min/max, mean/std, quantiles and a
20-bin histogram; text and boolean columns keep category frequencies (top 100).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from loopml.models._signature import as_frame

QUANTILES = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
HISTOGRAM_BINS = 20
TOP_CATEGORIES = 100
PROFILE_VERSION = 1


def _numeric(series: pd.Series) -> dict[str, Any]:
    values = series.dropna().to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    entry: dict[str, Any] = {"kind": "numeric"}
    if finite.size == 0:
        return entry | {"min": None, "max": None}
    counts, edges = np.histogram(finite, bins=HISTOGRAM_BINS)
    return entry | {
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float(finite.mean()),
        "std": float(finite.std(ddof=1)) if finite.size > 1 else 0.0,
        "distinct": int(np.unique(finite).size),
        "quantiles": {
            str(q): float(v) for q, v in zip(QUANTILES, np.quantile(finite, QUANTILES), strict=True)
        },
        "histogram": {"edges": edges.tolist(), "counts": counts.astype(int).tolist()},
    }


def _categorical(series: pd.Series) -> dict[str, Any]:
    counts = series.dropna().astype(str).value_counts()
    top = counts.iloc[:TOP_CATEGORIES]
    other = int(counts.iloc[TOP_CATEGORIES:].sum())
    return {
        "kind": "categorical",
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
