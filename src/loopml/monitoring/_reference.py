"""Drift of a current window against a model version's stored reference profile.

No raw training data is needed: each reference column is rebuilt from its profile entry
(``loopml.models._profile``). Numerical columns become a stand-in sample drawn from the
profile's quantile function (109 quantiles in version 2, 11 in version 1), or the exact
data when the profile kept every value's count (at most 100 distinct values); the mean,
standard deviation, min/max and counts come from the profile itself. Categorical columns
use the stored frequencies (the top 100 by name, the rest pooled as "other").

The test for each column is chosen with Evidently's rule from the profile's row count,
exactly as ``detect_drift`` chooses it from raw data, so verdicts agree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ValidationError
from loopml.monitoring._drift import (
    INTEGER_CATEGORY_LIMIT,
    OTHER,
    CategoricalSide,
    ColumnJob,
    NumericSide,
    category_counts,
    float_values,
    method_for,
    plan_columns,
    run_job,
    run_jobs,
    sample_from_counts,
    sample_from_quantiles,
    window_findings,
)
from loopml.monitoring._results import ColumnKind, DriftResult, Finding

_INTEGER_DTYPES = ("int", "uint", "Int", "UInt")


def _is_integer(entry: Mapping[str, Any]) -> bool:
    return str(entry.get("dtype", "")).startswith(_INTEGER_DTYPES)


def numeric_side_from_profile(entry: Mapping[str, Any]) -> NumericSide:
    """The reference side of a numerical column rebuilt from its profile entry."""
    rows = int(entry.get("count", 0))
    missing = int(entry.get("missing", 0))
    if entry.get("min") is None:
        return NumericSide(0, rows, np.zeros(0), True, math.nan, math.nan, math.nan, 0, rows=rows)
    histogram = entry.get("histogram") or {}
    n = int(entry.get("finite", sum(histogram.get("counts", ())) or rows - missing))
    std1 = float(entry.get("std", 0.0))
    std = std1 * math.sqrt((n - 1) / n) if n > 1 else 0.0
    stored = entry.get("values")
    values = counts = None
    if stored:
        values = np.asarray(stored["values"], dtype=np.float64)
        counts = np.asarray(stored["counts"], dtype=np.float64)
        sample, exact = sample_from_counts(values, counts)
    else:
        quantiles = sorted((float(q), float(v)) for q, v in entry["quantiles"].items())
        probabilities, points = (np.array(x) for x in zip(*quantiles, strict=True))
        sample, exact = sample_from_quantiles(probabilities, points, n), False
    return NumericSide(
        n=n,
        missing=rows - n,
        sample=sample,
        exact=exact,
        std=std,
        low=float(entry["min"]),
        high=float(entry["max"]),
        distinct=int(entry.get("distinct", 0)) or None,
        values=values,
        counts=counts,
        integer=_is_integer(entry),
        rows=rows,
    )


def categorical_side_from_profile(entry: Mapping[str, Any]) -> CategoricalSide:
    """The reference side of a categorical column from its stored frequencies."""
    rows = int(entry.get("count", 0))
    if "frequencies" in entry:
        frequencies = {str(k): int(v) for k, v in entry["frequencies"].items()}
        other = int(entry.get("other", 0))
    else:  # a numeric entry used as categories: its exact value counts
        stored = entry["values"]
        frequencies = dict(zip(stored["values"], stored["counts"], strict=True))
        other = 0
    keys = list(frequencies)
    counts = list(frequencies.values())
    if other:
        keys.append(OTHER)
        counts.append(other)
    series = pd.Series(np.asarray(counts, dtype=np.int64), index=pd.Index(keys, dtype=object))
    series = series[series.to_numpy() > 0]
    n = int(series.sum())
    distinct = int(entry.get("distinct", series.size))
    return CategoricalSide(n, rows - n, series, distinct, rows=rows)


def _profile_columns(profile: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(profile, Mapping) or not isinstance(profile.get("columns"), Mapping):
        raise ValidationError(
            "the reference profile must be a dict with 'columns' (as written by "
            f"loopml.models.profile_frame); got {type(profile).__name__}"
        )
    return {str(k): dict(v) for k, v in profile["columns"].items()}


def _kind(entry: Mapping[str, Any], current: pd.Series, forced: ColumnKind | None) -> ColumnKind:
    """Evidently's inference with the profile standing in for the reference dtype."""
    if forced is not None:
        return forced
    if entry.get("kind") != "numeric":
        return "categorical"
    if entry.get("values"):  # integers with <= 10 current values are categories
        present = current.notna()
        if present.any():
            integer = pd.api.types.is_integer_dtype(current.dtype)
            distinct = current[present].nunique()
        else:
            integer, distinct = _is_integer(entry), entry.get("distinct", 0)
        if integer and distinct <= INTEGER_CATEGORY_LIMIT:
            return "categorical"
    return "numerical"


def _current_data(
    kind: ColumnKind, entry: Mapping[str, Any], series: pd.Series
) -> pd.Series | CategoricalSide:
    """The current column in the form of the profile's keys (numbers, strings or floats)."""
    if kind == "numerical":
        if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series):
            return series
        return pd.to_numeric(series, errors="coerce")
    if "frequencies" in entry:  # the profile stores categories as strings: count, then name
        counts = category_counts(series)
        counts.index = pd.Index([str(k) for k in counts.index], dtype=object)
        counts = counts.groupby(level=0, sort=False).sum()
        n = int(counts.sum())
        return CategoricalSide(n, len(series) - n, counts, int(counts.size), rows=len(series))
    return pd.Series(float_values(pd.to_numeric(series, errors="coerce")))


def drift_from_profile(
    profile: Mapping[str, Any],
    current: pd.DataFrame | pd.Series,
    *,
    columns: Sequence[str] | None = None,
    numerical: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = 0.5,
    executor: Any = None,
) -> DriftResult:
    """Compare a current window with a stored reference profile (same options as
    ``detect_drift``); profile columns absent from the window are reported as findings."""
    entries = _profile_columns(profile)
    if isinstance(current, pd.Series):
        current = current.to_frame(name=str(current.name))
    available = list(entries)

    plan = plan_columns(
        available,
        columns,
        numerical,
        categorical,
        methods,
        thresholds,
        share_threshold,
        "reference profile",
    )
    requested, forced, methods, thresholds = (
        plan.requested,
        plan.forced,
        plan.methods,
        plan.thresholds,
    )
    empty = len(current) == 0
    restricted = columns is not None
    findings = window_findings(empty, current.columns, entries, restricted, "reference profile")
    jobs = []
    for name in requested:
        entry = entries[name]
        if name in current.columns:
            series = current[name]
        elif empty:
            series = pd.Series([], dtype=object if entry.get("kind") != "numeric" else float)
        else:
            findings.append(
                Finding(
                    "missing_column", f"{name}: in the profile but not the current window", name
                )
            )
            continue
        kind = _kind(entry, series, forced.get(name))
        if kind == "numerical" and entry.get("kind") != "numeric":
            raise ValidationError(
                f"{name} is declared numerical but the profile stores it as categories"
            )
        if kind == "numerical":
            reference: NumericSide | CategoricalSide = numeric_side_from_profile(entry)
        elif entry.get("kind") == "numeric" and not entry.get("values"):
            raise ValidationError(
                f"{name} is declared categorical but its profile keeps no value counts "
                "(more than 100 distinct values, or a version-1 profile); compare it as numerical"
            )
        else:
            reference = categorical_side_from_profile(entry)
        cur = _current_data(kind, entry, series)
        notes: list[Finding] = []
        if int(profile.get("version", 1)) < 2 and kind == "numerical":
            notes.append(
                Finding(
                    "coarse_profile",
                    f"{name}: a version-1 profile keeps 11 quantiles; scores are approximate",
                    name,
                )
            )
        method, _ = method_for(name, kind, methods)
        jobs.append(
            ColumnJob(
                name,
                kind,
                reference,
                cur,
                method,
                thresholds.get(name, thresholds.get("*")),
                tuple(notes),
                empty,
            )
        )
    results = run_jobs(jobs, run_job, executor)
    return DriftResult(
        columns=tuple(results),
        share_threshold=float(share_threshold),
        reference_rows=int(profile.get("rows", 0)),
        current_rows=len(current),
        findings=tuple(findings),
    )
