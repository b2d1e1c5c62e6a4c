"""Mergeable column sketches for windows larger than memory.

``sketch_parquet`` streams Parquet files chunk by chunk (pyarrow ``iter_batches``) into one
``ColumnSketch`` per column; sketches of chunks, files or Dask workers ``merge`` into the
sketch of their union, and ``drift_from_sketches`` compares two sets of sketches with the
same rules and tests as ``detect_drift``. Memory stays bounded by the chunk size plus the
sketches themselves:

* numerical: count, mean and M2 (Chan's parallel update, so the standard deviation is
  exact), min/max, missing count, exact value counts while there are at most
  ``VALUE_LIMIT`` distinct values, and a quantile sketch of at most ``delta`` centroids
  (merging t-digest style with the k1 arcsine scale, so the tails stay precise);
* categorical: exact counts per category, up to ``MAX_CATEGORIES`` (then the rarest are
  pooled as "other").

Counts, moments and value counts do not depend on the chunking; the quantile sketch does,
slightly (a small fraction of the spread), which is well inside the drift thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from loopml.errors import ValidationError
from loopml.monitoring._drift import (
    INTEGER_CATEGORY_LIMIT,
    OTHER,
    CategoricalSide,
    ColumnJob,
    NumericSide,
    category_counts,
    dask_client,
    method_for,
    plan_columns,
    run_job,
    run_jobs,
    run_lengths,
    sample_from_counts,
    sample_from_quantiles,
    window_findings,
)
from loopml.monitoring._results import ColumnKind, DriftResult, Finding

DELTA = 2000  # quantile sketch compression: at most DELTA + 1 centroids
VALUE_LIMIT = 100  # numerical columns keep exact value counts up to this many distinct values
MAX_CATEGORIES = 10_000
CHUNK_ROWS = 1_000_000


def _compress(means: np.ndarray, weights: np.ndarray, delta: int) -> tuple[np.ndarray, ...]:
    """Merge neighbouring centroids that fall into the same unit of the k1 scale."""
    order = np.argsort(means, kind="stable")
    m, w = means[order], weights[order]
    total = w.sum()
    cum = np.cumsum(w)
    mid = (cum - w / 2) / total
    k = np.floor(delta * (np.arcsin(np.clip(2 * mid - 1, -1, 1)) / np.pi + 0.5))
    starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    new_w = np.add.reduceat(w, starts)
    new_m = np.add.reduceat(w * m, starts) / new_w
    return new_m, new_w


def _to_float(data: Any) -> np.ndarray:
    if isinstance(data, pa.ChunkedArray | pa.Array):
        if pa.types.is_boolean(data.type) or pa.types.is_decimal(data.type):
            data = pc.cast(data, pa.float64())
        return np.asarray(data.to_numpy(zero_copy_only=False), dtype=np.float64)
    if isinstance(data, pd.Series):
        return data.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(data, dtype=np.float64)


def _category_counts(data: Any) -> tuple[dict[Any, int], int]:
    """(counts per category, number of values) of a chunk, missing values left out."""
    if isinstance(data, pa.ChunkedArray | pa.Array):
        if pa.types.is_floating(data.type):
            data = pc.if_else(pc.is_finite(data), data, None)
        counted = pc.value_counts(data)
        keys = counted.field("values").to_pylist()
        numbers = counted.field("counts").to_pylist()
        return {k: int(c) for k, c in zip(keys, numbers, strict=True) if k is not None}, len(data)
    series = data if isinstance(data, pd.Series) else pd.Series(np.asarray(data))
    counts = category_counts(series)
    return dict(zip(counts.index.tolist(), counts.tolist(), strict=True)), len(series)


@dataclass
class ColumnSketch:
    """A mergeable summary of one column (see the module docstring)."""

    kind: ColumnKind
    integer: bool = False
    rows: int = 0
    missing: int = 0
    count: int = 0
    mean: float = 0.0
    m2: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    means: np.ndarray = field(default_factory=lambda: np.zeros(0))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    values: dict[float, int] | None = field(default_factory=dict)
    categories: dict[Any, int] = field(default_factory=dict)
    delta: int = DELTA

    # --- building ---------------------------------------------------------------------------

    def update(self, data: Any) -> ColumnSketch:
        """Add a chunk (numpy array, pandas Series or pyarrow array); returns self."""
        if self.kind == "categorical":
            counts, size = _category_counts(data)
            self.rows += size
            seen = sum(counts.values())
            self.missing += size - seen
            self._add_categories(counts)
            return self
        values = _to_float(data)
        finite = values[np.isfinite(values)]
        self.rows += values.size
        self.missing += values.size - finite.size
        if finite.size == 0:
            return self
        ordered = np.sort(finite)
        chunk_mean = float(ordered.mean())
        chunk_m2 = float(np.sum((ordered - chunk_mean) ** 2))
        self._add_moments(finite.size, chunk_mean, chunk_m2)
        self.low = min(self.low, float(ordered[0]))
        self.high = max(self.high, float(ordered[-1]))
        if self.values is not None:
            distinct, counts = run_lengths(ordered)
            if distinct.size > VALUE_LIMIT:
                self.values = None
            else:
                self._add_values(
                    dict(zip(distinct.tolist(), counts.astype(int).tolist(), strict=True))
                )
        chunk = _compress(ordered, np.ones(ordered.size), self.delta)
        self._add_centroids(*chunk)
        return self

    def _add_moments(self, n: int, mean: float, m2: float) -> None:
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total

    def _add_values(self, counts: Mapping[float, int]) -> None:
        assert self.values is not None
        for key, value in counts.items():
            self.values[key] = self.values.get(key, 0) + value
        if len(self.values) > VALUE_LIMIT:
            self.values = None

    def _add_centroids(self, means: np.ndarray, weights: np.ndarray) -> None:
        if self.means.size:
            means = np.concatenate((self.means, means))
            weights = np.concatenate((self.weights, weights))
        self.means, self.weights = _compress(means, weights, self.delta)

    def _add_categories(self, counts: Mapping[Any, int]) -> None:
        for key, value in counts.items():
            self.categories[key] = self.categories.get(key, 0) + value
        if len(self.categories) > MAX_CATEGORIES:
            ranked = sorted(self.categories.items(), key=lambda kv: -kv[1])
            kept = dict(ranked[: MAX_CATEGORIES - 1])
            pooled = sum(v for _, v in ranked[MAX_CATEGORIES - 1 :])
            kept[OTHER] = kept.get(OTHER, 0) + pooled
            self.categories = kept

    def merge(self, other: ColumnSketch) -> ColumnSketch:
        """The sketch of both windows together (neither input changes)."""
        if other.kind != self.kind:
            raise ValidationError(
                f"cannot merge a {self.kind} sketch with a {other.kind} sketch of the same column"
            )
        out = ColumnSketch(self.kind, self.integer and other.integer, delta=self.delta)
        for part in (self, other):
            out.rows += part.rows
            out.missing += part.missing
            out._add_categories(part.categories)
            if part.count:
                out._add_moments(part.count, part.mean, part.m2)
                out.low, out.high = min(out.low, part.low), max(out.high, part.high)
                out._add_centroids(part.means, part.weights)
            if part.values is None:
                out.values = None
            elif out.values is not None:
                out._add_values(part.values)
        return out

    # --- reading ----------------------------------------------------------------------------

    @property
    def std(self) -> float:
        """Standard deviation (ddof 0) of the finite values."""
        return math.sqrt(self.m2 / self.count) if self.count else math.nan

    def quantiles(self, probabilities: Sequence[float] | np.ndarray) -> np.ndarray:
        """Estimated quantiles (exact from the value counts when they are kept)."""
        probabilities = np.asarray(probabilities, dtype=np.float64)
        if not self.count:
            return np.full(probabilities.shape, np.nan)
        if self.values is not None:
            keys = np.array(sorted(self.values))
            cum = np.cumsum([self.values[k] for k in keys])
            rank = probabilities * (self.count - 1)
            index = np.searchsorted(cum, np.floor(rank), side="right")
            return keys[np.minimum(index, keys.size - 1)]
        knots_p, knots_v = self._knots()
        return np.interp(probabilities, knots_p, knots_v)

    def _knots(self) -> tuple[np.ndarray, np.ndarray]:
        cum = np.cumsum(self.weights)
        mid = (cum - self.weights / 2) / self.count
        p = np.concatenate(([0.0], mid, [1.0]))
        v = np.concatenate(([self.low], self.means, [self.high]))
        keep = np.concatenate(([True], np.diff(p) > 0))
        return p[keep], np.maximum.accumulate(np.clip(v[keep], self.low, self.high))

    def numeric_side(self) -> NumericSide:
        """The side ``compare_column`` tests for a numerical column."""
        if not self.count:
            return NumericSide(
                0, self.rows, np.zeros(0), True, math.nan, math.nan, math.nan, 0, rows=self.rows
            )
        values = counts = None
        if self.values is not None:
            values = np.array(sorted(self.values), dtype=np.float64)
            counts = np.array([self.values[k] for k in values.tolist()], dtype=np.float64)
            sample, exact = sample_from_counts(values, counts)
            distinct: int | None = int(values.size)
        else:
            sample, exact = sample_from_quantiles(*self._knots(), self.count), False
            distinct = None
        return NumericSide(
            n=self.count,
            missing=self.missing,
            sample=sample,
            exact=exact,
            std=self.std,
            low=self.low,
            high=self.high,
            distinct=distinct,
            values=values,
            counts=counts,
            integer=self.integer,
            rows=self.rows,
        )

    def categorical_side(self) -> CategoricalSide:
        """The side for a categorical column (a numerical sketch uses its value counts)."""
        source = self.categories if self.kind == "categorical" else self.values
        if source is None:
            raise ValidationError(
                "this numerical sketch kept no value counts (more than "
                f"{VALUE_LIMIT} distinct values); compare the column as numerical"
            )
        keys = list(source)
        counts = pd.Series(
            np.asarray([source[k] for k in keys], dtype=np.int64),
            index=pd.Index(keys, dtype=object),
        )
        n = int(counts.sum())
        return CategoricalSide(n, self.rows - n, counts, int(counts.size), rows=self.rows)

    def distinct(self) -> int | None:
        """Distinct non-missing values, None when more than the sketch keeps."""
        if self.kind == "categorical":
            return len(self.categories)
        return None if self.values is None else len(self.values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``from_dict`` reads it back); categories become strings."""
        return {
            "kind": self.kind,
            "integer": self.integer,
            "rows": self.rows,
            "missing": self.missing,
            "count": self.count,
            "mean": self.mean,
            "m2": self.m2,
            "low": self.low if self.count else None,
            "high": self.high if self.count else None,
            "means": self.means.tolist(),
            "weights": self.weights.tolist(),
            "values": None if self.values is None else [[k, v] for k, v in self.values.items()],
            "categories": [[str(k), v] for k, v in self.categories.items() if k is not OTHER],
            "other": self.categories.get(OTHER, 0),
            "delta": self.delta,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSketch:
        """Rebuild a sketch written by ``to_dict``."""
        categories: dict[Any, int] = {k: int(v) for k, v in data.get("categories", [])}
        if data.get("other"):
            categories[OTHER] = int(data["other"])
        values = data.get("values")
        return cls(
            kind=data["kind"],
            integer=bool(data.get("integer")),
            rows=int(data["rows"]),
            missing=int(data["missing"]),
            count=int(data["count"]),
            mean=float(data["mean"]),
            m2=float(data["m2"]),
            low=math.inf if data.get("low") is None else float(data["low"]),
            high=-math.inf if data.get("high") is None else float(data["high"]),
            means=np.asarray(data.get("means", []), dtype=np.float64),
            weights=np.asarray(data.get("weights", []), dtype=np.float64),
            values=None if values is None else {float(k): int(v) for k, v in values},
            categories=categories,
            delta=int(data.get("delta", DELTA)),
        )


def merge(*sketches: Mapping[str, ColumnSketch]) -> dict[str, ColumnSketch]:
    """Merge sketch sets column by column (columns missing from a set are skipped there)."""
    out: dict[str, ColumnSketch] = {}
    for group in sketches:
        for name, sketch in group.items():
            out[name] = out[name].merge(sketch) if name in out else sketch
    return out


# --- Parquet ------------------------------------------------------------------------------------


def _files(path: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(path, str | Path):
        path = Path(path)
        found = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
    else:
        found = [Path(p) for p in path]
    missing = [str(p) for p in found if not p.is_file()]
    if not found or missing:
        raise ValidationError(
            f"no Parquet file at {missing or path}; pass a file, a folder of .parquet files "
            "or a list of files"
        )
    return found


def _arrow_kind(data_type: pa.DataType) -> tuple[ColumnKind | None, bool]:
    if pa.types.is_integer(data_type):
        return "numerical", True
    if pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "numerical", False
    if (
        pa.types.is_boolean(data_type)
        or pa.types.is_string(data_type)
        or pa.types.is_large_string(data_type)
        or pa.types.is_dictionary(data_type)
        or pa.types.is_binary(data_type)
    ):
        return "categorical", False
    return None, False


def _plan(
    files: list[Path], columns: Sequence[str] | None, categorical: Sequence[str] | None
) -> dict[str, tuple[ColumnKind, bool]]:
    schema = pq.read_schema(files[0])
    names = list(columns) if columns is not None else schema.names
    unknown = [c for c in list(names) + list(categorical or []) if c not in schema.names]
    if unknown:
        raise ValidationError(f"column(s) {unknown} not in {files[0]}; columns: {schema.names}")
    plan: dict[str, tuple[ColumnKind, bool]] = {}
    for name in names:
        kind, integer = _arrow_kind(schema.field(name).type)
        if categorical is not None and name in categorical:
            kind = "categorical"
        if kind is None:
            if columns is not None:
                raise ValidationError(
                    f"{name}: type {schema.field(name).type} is neither numerical nor categorical"
                )
            continue
        plan[name] = (kind, integer)
    return plan


def _sketch_part(
    file: str, row_groups: list[int] | None, plan: dict[str, tuple[ColumnKind, bool]], chunk: int
) -> dict[str, ColumnSketch]:
    sketches = {name: ColumnSketch(kind, integer) for name, (kind, integer) in plan.items()}
    reader = pq.ParquetFile(file)
    try:
        batches = reader.iter_batches(batch_size=chunk, row_groups=row_groups, columns=list(plan))
        for batch in batches:
            for name, sketch in sketches.items():
                sketch.update(batch.column(name))
    finally:
        reader.close()
    return sketches


def sketch_parquet(
    path: str | Path | Iterable[str | Path],
    columns: Sequence[str] | None = None,
    *,
    chunk_rows: int = CHUNK_ROWS,
    categorical: Sequence[str] | None = None,
    executor: Any = None,
) -> dict[str, ColumnSketch]:
    """Sketch the columns of Parquet file(s), reading ``chunk_rows`` rows at a time.

    Integer and floating columns become numerical sketches, strings, booleans and
    dictionaries categorical ones (``categorical`` forces, e.g. integer codes); other types
    are skipped. ``executor="dask"``/``"dask://HOST:PORT"`` sketches row groups on a Dask
    cluster and merges the results.
    """
    if not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValidationError(f"chunk_rows = {chunk_rows!r} must be a positive integer")
    files = _files(path)
    plan = _plan(files, columns, categorical)
    if executor is None:
        parts = [_sketch_part(str(f), None, plan, chunk_rows) for f in files]
        return merge({n: ColumnSketch(k, i) for n, (k, i) in plan.items()}, *parts)
    tasks = []
    for f in files:
        with pq.ParquetFile(f) as reader:
            groups = reader.num_row_groups
        tasks += [(str(f), [g]) for g in range(groups)] or [(str(f), None)]
    with dask_client(executor) as client:
        futures = [
            client.submit(_sketch_part, f, g, plan, chunk_rows, pure=False) for f, g in tasks
        ]
        parts = client.gather(futures)
    return merge({n: ColumnSketch(k, i) for n, (k, i) in plan.items()}, *parts)


# --- drift --------------------------------------------------------------------------------------


def _sketch_kind(
    reference: ColumnSketch, current: ColumnSketch, forced: ColumnKind | None
) -> ColumnKind:
    if forced is not None:
        return forced
    if reference.kind == "categorical":
        return "categorical"
    basis = current if current.count else reference
    if reference.values is not None and basis.integer:  # Evidently: few integers = categories
        distinct = basis.distinct()
        if distinct is not None and distinct <= INTEGER_CATEGORY_LIMIT:
            return "categorical"
    return "numerical"


def drift_from_sketches(
    reference: Mapping[str, ColumnSketch],
    current: Mapping[str, ColumnSketch],
    *,
    columns: Sequence[str] | None = None,
    numerical: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = 0.5,
    executor: Any = None,
) -> DriftResult:
    """Drift between two windows given as sketches (same rules and options as
    ``detect_drift``)."""
    available = list(reference)

    plan = plan_columns(
        available,
        columns,
        numerical,
        categorical,
        methods,
        thresholds,
        share_threshold,
        "reference sketches",
    )
    requested, forced, methods, thresholds = (
        plan.requested,
        plan.forced,
        plan.methods,
        plan.thresholds,
    )
    current_rows = max((s.rows for s in current.values()), default=0)
    empty = current_rows == 0
    findings = window_findings(empty, current, reference, columns is not None, "reference sketches")
    jobs = []
    for name in requested:
        ref = reference[name]
        if name in current:
            cur = current[name]
        elif empty:
            cur = ColumnSketch(ref.kind, ref.integer)
        else:
            findings.append(
                Finding("missing_column", f"{name}: in the reference, not the current window", name)
            )
            continue
        kind = _sketch_kind(ref, cur, forced.get(name))
        if kind == "numerical":
            if ref.kind != "numerical" or cur.kind != "numerical":
                raise ValidationError(
                    f"{name} is declared numerical but was sketched as categories; "
                    "sketch it without `categorical`"
                )
            sides: tuple[Any, Any] = (ref.numeric_side(), cur.numeric_side())
        else:
            sides = (ref.categorical_side(), cur.categorical_side())
        method, _ = method_for(name, kind, methods)
        threshold = thresholds.get(name, thresholds.get("*"))
        jobs.append(ColumnJob(name, kind, *sides, method, threshold, (), empty))
    results = run_jobs(jobs, run_job, executor)
    return DriftResult(
        columns=tuple(results),
        share_threshold=float(share_threshold),
        reference_rows=max((s.rows for s in reference.values()), default=0),
        current_rows=current_rows,
        findings=tuple(findings),
    )
