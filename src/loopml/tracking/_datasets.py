"""Describe a DataFrame or array as a Dataset: content digest, schema, row count, profile."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from loopml.entities import Dataset
from loopml.errors import ValidationError


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, np.ndarray):
        if data.ndim == 1:
            return pd.DataFrame({"value": data})
        if data.ndim == 2:
            return pd.DataFrame(data, columns=[f"col_{i}" for i in range(data.shape[1])])
    raise ValidationError(
        f"cannot describe a dataset of type {type(data).__name__}; pass a pandas DataFrame, "
        "Series or a 1-D/2-D numpy array"
    )


def content_digest(frame: pd.DataFrame) -> str:
    """sha256 over column names, dtypes and every row's hash (order-sensitive)."""
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _profile(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, col in frame.items():
        entry: dict[str, Any] = {
            "count": int(col.notna().sum()),
            "missing": int(col.isna().sum()),
        }
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = col.dropna().to_numpy(dtype=float)
            if values.size:
                entry.update(
                    min=float(values.min()), max=float(values.max()), mean=float(values.mean())
                )
        else:
            entry["distinct"] = int(col.nunique(dropna=True))
        out[str(name)] = entry
    return out


def describe_dataset(
    data: Any, name: str | None = None, source: str | None = None, source_type: str = "memory"
) -> Dataset:
    """Build a Dataset entity for ``data`` (digest, schema, row count and a small profile)."""
    frame = _as_frame(data)
    digest = content_digest(frame)
    schema = json.dumps([{"name": str(c), "type": str(t)} for c, t in frame.dtypes.items()])
    return Dataset(
        name=name or f"dataset-{digest[:8]}",
        digest=digest,
        source=source or "",
        source_type=source_type,
        schema=schema,
        profile=json.dumps(_profile(frame)),
        num_rows=len(frame),
    )
