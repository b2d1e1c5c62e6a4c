"""Data drift between a reference and a current window, column by column.

``detect_drift`` compares two DataFrames. The per-column machinery (``NumericSide``,
``CategoricalSide``, ``compare_column``) is shared with ``_reference`` (a stored model
profile as the reference) and ``_sketch`` (mergeable sketches of windows larger than
memory): each of them only builds the two sides differently.

Defaults follow Evidently's documented rules so verdicts agree with ``DataDriftPreset``:

* reference with at most 1000 non-missing values: Kolmogorov-Smirnov (drift when
  p <= 0.05) for numerical columns with more than 5 distinct values (pooled), chi-square
  (p < 0.05) for categorical and low-cardinality columns, z-test (p < 0.05) when at most
  2 distinct values;
* more than 1000: normed Wasserstein distance (>= 0.1) for numerical columns with more
  than 5 distinct values, Jensen-Shannon distance (natural log, >= 0.1) otherwise;
* PSI and Jensen-Shannon bin numerical columns whose reference has more than 20
  distinct values with Sturges' rule on the pooled data, else use the values;
* missing and infinite values are dropped before testing (and reported);
* undeclared integer columns with at most 10 distinct current values are categorical
  (Evidently 0.7's type inference); dataset drift when the drifted share >= 0.5.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.interpolate import PchipInterpolator

from loopml.errors import ValidationError
from loopml.monitoring import _stats
from loopml.monitoring._results import (
    ColumnDrift,
    ColumnKind,
    Distribution,
    DriftResult,
    Finding,
)

SMALL_REFERENCE_ROWS = 1000  # Evidently: at most this many reference values -> p-value tests
LOW_CARDINALITY = 5  # pooled distinct values at or below which a number is tested as a category
BINARY = 2  # distinct values at or below which the z-test replaces chi-square
VALUE_BINS_LIMIT = 20  # reference distinct values at or below which PSI/JS use the values
INTEGER_CATEGORY_LIMIT = 10  # Evidently 0.7: integer columns with <= 10 values are categorical
DISTRIBUTION_BINS = 30
TOP_CATEGORIES = 30
EXAMPLES = 10
SAMPLE_LIMIT = 100_000  # size of stand-in samples rebuilt from profiles and sketches
COUNTING_PROBE = 4096  # values probed to decide between a counting sort and a comparison sort
COUNTING_LIMIT = 65_536  # most distinct values a counting sort handles


@dataclass(frozen=True)
class Method:
    """A drift test: its default threshold and how the score compares with it."""

    name: str
    numeric_only: bool  # needs ordered numeric values (ECDF tests)
    threshold: float
    higher_is_drift: bool  # distance (score >= threshold) vs p-value (score < threshold)
    inclusive: bool = False  # p-value tests: drift also when p == threshold


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ks", True, 0.05, False, inclusive=True),
        Method("wasserstein", True, 0.1, True),
        Method("psi", False, 0.1, True),
        Method("jensenshannon", False, 0.1, True),
        Method("anderson", True, 0.1, False),
        Method("cramervonmises", True, 0.1, False, inclusive=True),
        Method("chisquare", False, 0.05, False),
        Method("z", False, 0.05, False),
    )
}


class _Other:
    """The pooled bucket of categories a reference profile did not keep by name."""

    def __repr__(self) -> str:
        return "other"

    def __reduce__(self) -> str:
        return "OTHER"


OTHER = _Other()


# --- the two sides of a column ------------------------------------------------------------


@dataclass
class NumericSide:
    """What the tests need from one side of a numerical column.

    ``sample`` is sorted: the finite data itself when ``exact``, else a reconstruction of
    its quantile function (profile or sketch) standing for ``n`` values.
    ``values``/``counts`` are the distinct values and their counts when stored (exact data
    with at most ``VALUE_BINS_LIMIT`` values; profiles and sketches keep up to 100), else
    estimated from the sample; ``distinct`` is None when only known to exceed a sketch's
    limit.
    """

    n: int
    missing: int
    sample: np.ndarray
    exact: bool
    std: float  # ddof 0
    low: float
    high: float
    distinct: int | None
    values: np.ndarray | None = None
    counts: np.ndarray | None = None
    integer: bool = False
    rows: int = 0

    def value_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values and their counts (estimated from the sample when not stored)."""
        if self.values is not None and self.counts is not None:
            return self.values, np.asarray(self.counts, dtype=np.float64)
        values, counts = run_lengths(self.sample)
        return values, counts * (self.n / max(self.sample.size, 1))

    def has_values(self) -> bool:
        """True when the distinct values and counts are known (not estimated)."""
        return self.exact or self.values is not None


@dataclass
class CategoricalSide:
    """Category counts of one side; ``counts`` is indexed by category (no zeros)."""

    n: int
    missing: int
    counts: pd.Series
    distinct: int
    rows: int = 0

    @property
    def complete(self) -> bool:
        """False when some categories are pooled under OTHER (a profile's top-k)."""
        return OTHER not in self.counts.index


def run_lengths(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    if sorted_values.size == 0:
        return sorted_values[:0], np.zeros(0)
    starts = np.flatnonzero(np.concatenate(([True], sorted_values[1:] != sorted_values[:-1])))
    counts = np.diff(np.append(starts, sorted_values.size))
    return sorted_values[starts], counts.astype(np.float64)


def sample_from_quantiles(probabilities: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """A sorted stand-in sample of min(n, SAMPLE_LIMIT) values from a quantile function
    known at some (strictly increasing) probabilities."""
    size = max(1, min(int(n), SAMPLE_LIMIT))
    grid = np.linspace(0.0, 1.0, size) if size > 1 else np.array([0.5])
    if probabilities.size < 3:
        return np.interp(grid, probabilities, values)
    # monotone cubic: follows the curvature of skewed tails far better than straight lines
    return np.maximum.accumulate(PchipInterpolator(probabilities, values)(grid))


def sample_from_counts(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, bool]:
    """A sorted sample with these value counts: the data itself up to SAMPLE_LIMIT values
    (exact), else the same quantile function at SAMPLE_LIMIT points."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total <= SAMPLE_LIMIT:
        return np.repeat(np.asarray(values, dtype=np.float64), counts), True
    grid = (np.arange(SAMPLE_LIMIT) + 0.5) / SAMPLE_LIMIT * total
    index = np.searchsorted(np.cumsum(counts), grid, side="right")
    return np.asarray(values, dtype=np.float64)[np.minimum(index, counts.size - 1)], False


def float_values(series: pd.Series) -> np.ndarray:
    """A numeric (or boolean) Series as float64 with NaN for missing values."""
    if series.dtype == np.float64:
        return series.to_numpy()
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def sort_values(finite: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(sorted values, distinct values, counts) of a NaN-free array.

    Columns with few distinct values (counts, ages, codes: judged from a probe of the first
    values) are sorted by counting them with a hash table, several times faster than a
    comparison sort; the result is the same sorted array.
    """
    if finite.size >= 4 * COUNTING_PROBE and np.unique(finite[:COUNTING_PROBE]).size <= 256:
        counted = pd.Series(finite, copy=False).value_counts(sort=False)
        if counted.size <= COUNTING_LIMIT:
            keys = counted.index.to_numpy(dtype=np.float64)
            order = np.argsort(keys)
            keys, counts = keys[order], counted.to_numpy()[order]
            return np.repeat(keys, counts), keys, counts.astype(np.float64)
    return np.sort(finite), None, None


def numeric_side(series: pd.Series) -> NumericSide:
    """Build the exact side of a numerical column from its raw values."""
    values = float_values(series)
    finite_mask = np.isfinite(values)
    finite = values if finite_mask.all() else values[finite_mask]
    n = int(finite.size)
    if n == 0:
        empty = (math.nan, math.nan, math.nan)
        return NumericSide(0, len(values), finite, True, *empty, 0, rows=len(values))
    sample, keys, counts = sort_values(finite)
    if keys is None:
        distinct = 1 + int(np.count_nonzero(sample[1:] != sample[:-1]))
    else:
        distinct = int(keys.size)
    side = NumericSide(
        n=n,
        missing=len(values) - n,
        sample=sample,
        exact=True,
        std=float(np.std(finite)),
        low=float(sample[0]),
        high=float(sample[-1]),
        distinct=distinct,
        integer=pd.api.types.is_integer_dtype(series.dtype),
        rows=len(values),
    )
    if distinct <= VALUE_BINS_LIMIT:
        side.values, side.counts = (keys, counts) if keys is not None else run_lengths(sample)
    return side


def category_counts(series: pd.Series) -> pd.Series:
    """Counts per observed category (missing and infinite values dropped)."""
    if pd.api.types.is_float_dtype(series.dtype):
        series = series.where(np.isfinite(float_values(series)))
    counts = series.value_counts(dropna=True, sort=False)
    counts = counts[counts.to_numpy() > 0]
    index = pd.Index(np.asarray(counts.index, dtype=object), dtype=object)
    return pd.Series(counts.to_numpy(dtype=np.int64), index=index)


def categorical_side(series: pd.Series) -> CategoricalSide:
    """Build the side of a categorical column from its raw values."""
    counts = category_counts(series)
    n = int(counts.sum())
    return CategoricalSide(n, len(series) - n, counts, int(counts.size), rows=len(series))


Side = NumericSide | CategoricalSide


# --- choosing and running the test ------------------------------------------------------------


def _pooled_distinct(reference: Side, current: Side) -> int:
    """Distinct values of both sides together (a lower bound when not fully known)."""
    if isinstance(reference, CategoricalSide) and isinstance(current, CategoricalSide):
        named = reference.counts.index.union(current.counts.index, sort=False)
        hidden = max(reference.distinct - (reference.counts.size - (not reference.complete)), 0)
        return int(named.size - (OTHER in named) + hidden)
    assert isinstance(reference, NumericSide) and isinstance(current, NumericSide)
    sides = [s for s in (reference, current) if s.n]
    if not sides:
        return 0
    if any(s.distinct is None or s.distinct > LOW_CARDINALITY for s in sides):
        return max(VALUE_BINS_LIMIT + 1 if s.distinct is None else s.distinct for s in sides)
    if all(s.has_values() for s in sides):
        return int(np.unique(np.concatenate([s.value_counts()[0] for s in sides])).size)
    return max(int(s.distinct or 0) for s in sides)


def default_method(kind: ColumnKind, reference_n: int, pooled_distinct: int) -> str:
    """Evidently's default test for a column."""
    if reference_n <= SMALL_REFERENCE_ROWS:
        if kind == "numerical" and pooled_distinct > LOW_CARDINALITY:
            return "ks"
        return "chisquare" if pooled_distinct > BINARY else "z"
    if kind == "numerical" and pooled_distinct > LOW_CARDINALITY:
        return "wasserstein"
    return "jensenshannon"


def _aligned_counts(reference: Side, current: Side) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Categories (or distinct values) of both sides with their counts, same order."""
    if isinstance(reference, CategoricalSide) and isinstance(current, CategoricalSide):
        ref, cur = reference.counts, current.counts
        if not reference.complete:  # current categories the profile does not name -> OTHER
            unnamed = ~cur.index.isin(ref.index)
            if unnamed.any():
                pooled = cur[unnamed].sum()
                cur = cur[~unnamed]
                cur = pd.concat([cur, pd.Series([pooled], index=pd.Index([OTHER], dtype=object))])
        keys = ref.index.union(cur.index, sort=False)
        r = ref.reindex(keys, fill_value=0).to_numpy(dtype=np.float64)
        c = cur.reindex(keys, fill_value=0).to_numpy(dtype=np.float64)
        return list(keys), r, c
    assert isinstance(reference, NumericSide) and isinstance(current, NumericSide)
    rv, rc = reference.value_counts()
    cv, cc = current.value_counts()
    keys = np.union1d(rv, cv)
    r = np.zeros(keys.size)
    c = np.zeros(keys.size)
    r[np.searchsorted(keys, rv)] = rc
    c[np.searchsorted(keys, cv)] = cc
    return keys.tolist(), r, c


def _sorted_keys(keys: list[Any]) -> list[int]:
    """Positions of keys in sorted order (by string when the types do not compare)."""
    try:
        return sorted(range(len(keys)), key=lambda i: keys[i])
    except TypeError:
        return sorted(range(len(keys)), key=lambda i: str(keys[i]))


def _binned_shares(reference: Side, current: Side) -> tuple[np.ndarray, np.ndarray]:
    """Evidently's binning for PSI and Jensen-Shannon: Sturges bins or values, as shares."""
    if (
        isinstance(reference, NumericSide)
        and isinstance(current, NumericSide)
        and (reference.distinct is None or reference.distinct > VALUE_BINS_LIMIT)
    ):
        edges = _stats.sturges_edges(
            min(reference.low, current.low),
            max(reference.high, current.high),
            reference.n + current.n,
            integer=reference.integer and current.integer,
        )
        r = _stats.histogram_sorted(reference.sample, edges) / reference.sample.size
        c = _stats.histogram_sorted(current.sample, edges) / current.sample.size
        return r, c
    _, r, c = _aligned_counts(reference, current)
    return r / reference.n, c / current.n


def _run_test(method: str, reference: Side, current: Side) -> _stats.Stat:
    """Statistic and p-value of one method on two non-empty sides."""
    if method in ("chisquare", "z"):
        keys, r, c = _aligned_counts(reference, current)
        if method == "chisquare":
            return _stats.chisquare(c, r * (current.n / reference.n))
        order = _sorted_keys(keys)
        first = order[0]
        return _stats.z_test_proportions(
            reference.n - r[first], reference.n, current.n - c[first], current.n
        )
    if method in ("psi", "jensenshannon"):
        r, c = _binned_shares(reference, current)
        return _stats.Stat(_stats.psi(r, c) if method == "psi" else _stats.jensen_shannon(r, c))
    assert isinstance(reference, NumericSide) and isinstance(current, NumericSide)
    if method == "wasserstein":
        return _stats.Stat(_stats.wasserstein_sorted(reference.sample, current.sample))
    merged = _stats.merge_sorted(reference.sample, current.sample)
    if method == "ks":
        d = _stats.ks_statistic(merged)
        return _stats.Stat(*_stats.ks_pvalue(d, reference.n, current.n))
    if method == "anderson":
        return _stats.anderson_from_merged(merged)
    return _stats.cramervonmises_from_merged(merged)


# --- distributions and findings ---------------------------------------------------------------


def _distribution(reference: Side, current: Side, by_value: bool) -> Distribution | None:
    """Reference/current counts for report overlays: shared-edge histogram or categories."""
    if isinstance(reference, NumericSide) and isinstance(current, NumericSide) and not by_value:
        sides = [s for s in (reference, current) if s.n]
        if not sides:
            return None
        low = min(s.low for s in sides)
        high = max(s.high for s in sides)
        if low == high:
            low, high = low - 0.5, high + 0.5
        edges = np.linspace(low, high, DISTRIBUTION_BINS + 1)

        def counts(side: NumericSide) -> tuple[float, ...]:
            if not side.n:
                return (0.0,) * DISTRIBUTION_BINS
            hist = _stats.histogram_sorted(side.sample, edges) * (side.n / side.sample.size)
            return tuple(float(v) for v in hist)

        return Distribution(counts(reference), counts(current), edges=tuple(edges.tolist()))
    if not reference.n and not current.n:
        return None
    keys, r, c = _aligned_counts(reference, current)
    order = np.argsort(-(r + c), kind="stable")
    top, rest = order[:TOP_CATEGORIES], order[TOP_CATEGORIES:]
    names = [str(keys[i]) for i in top]
    ref_counts = [float(r[i]) for i in top]
    cur_counts = [float(c[i]) for i in top]
    if rest.size:
        names.append("other")
        ref_counts.append(float(r[rest].sum()))
        cur_counts.append(float(c[rest].sum()))
    return Distribution(tuple(ref_counts), tuple(cur_counts), categories=tuple(names))


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _side_findings(name: str, reference: Side, current: Side) -> list[Finding]:
    """Missing values, all-missing and constant columns."""
    out = []
    if reference.missing or current.missing:
        out.append(
            Finding(
                "missing_values",
                f"{name}: {current.missing} of {current.rows} current values are missing or "
                f"infinite ({_share(current.missing, current.rows)}); reference "
                f"{reference.missing} of {reference.rows} "
                f"({_share(reference.missing, reference.rows)})",
                name,
                count=current.missing,
            )
        )
    for label, side in (("reference", reference), ("current", current)):
        if side.rows and not side.n:
            out.append(
                Finding(
                    "all_missing",
                    f"{name}: every {label} value is missing; no drift verdict for this column",
                    name,
                    count=side.rows,
                )
            )
        elif side.n > 1 and side.distinct == 1:
            value = (
                side.low
                if isinstance(side, NumericSide)
                else next(k for k in side.counts.index if k is not OTHER)
            )
            out.append(
                Finding(
                    "constant_column",
                    f"{name}: the {label} window is constant ({value!r})",
                    name,
                    count=side.n,
                    examples=(value,),
                )
            )
    return out


def _unseen_findings(name: str, reference: Side, current: Side) -> list[Finding]:
    """Categories in the current window that the reference never saw."""
    if not (isinstance(reference, CategoricalSide) and isinstance(current, CategoricalSide)):
        return []
    if not reference.complete or not current.n:
        return []
    unseen = current.counts[~current.counts.index.isin(reference.counts.index)]
    if unseen.empty:
        return []
    unseen = unseen.sort_values(ascending=False, kind="stable")
    examples = tuple(unseen.index[:EXAMPLES].tolist())
    return [_unseen(name, int(unseen.size), int(unseen.sum()), current.n, examples)]


def _unseen(name: str, categories: int, rows: int, total: int, examples: tuple) -> Finding:
    listed = ", ".join(repr(e) for e in examples)
    more = f" and {categories - len(examples)} more" if categories > len(examples) else ""
    return Finding(
        "unseen_categories",
        f"{name}: {categories} categories not in the reference ({rows} rows, "
        f"{_share(rows, total)} of the current window): {listed}{more}",
        name,
        count=categories,
        examples=examples,
    )


# --- one column -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnJob:
    """Everything needed to test one column; runs anywhere (threads, Dask workers).

    ``reference``/``current`` are raw Series (sides built on the worker) or ready sides.
    """

    name: str
    kind: ColumnKind
    reference: Any
    current: Any
    method: str | None = None
    threshold: float | None = None
    findings: tuple[Finding, ...] = ()
    empty_window: bool = False
    split: bool = False


def _build(kind: ColumnKind, data: Any) -> Side:
    if isinstance(data, NumericSide | CategoricalSide):
        return data
    return numeric_side(data) if kind == "numerical" else categorical_side(data)


def run_job(job: ColumnJob) -> ColumnDrift:
    """Build both sides of a job (in two threads when ``split``) and compare them."""
    if job.split:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(_build, job.kind, job.reference)
            current = _build(job.kind, job.current)
            reference = pending.result()
    else:
        reference = _build(job.kind, job.reference)
        current = _build(job.kind, job.current)
    return compare_column(
        job.name,
        job.kind,
        reference,
        current,
        method=job.method,
        threshold=job.threshold,
        findings=job.findings,
        empty_window=job.empty_window,
    )


def compare_column(
    name: str,
    kind: ColumnKind,
    reference: Side,
    current: Side,
    *,
    method: str | None = None,
    threshold: float | None = None,
    findings: Sequence[Finding] = (),
    empty_window: bool = False,
) -> ColumnDrift:
    """Test one column: pick the method (Evidently's rule unless given) and decide."""
    found = list(findings)
    if not empty_window:
        found += _side_findings(name, reference, current)
    distinct = _pooled_distinct(reference, current)
    chosen = method or default_method(kind, reference.n, distinct)
    spec = METHODS[chosen]
    limit = spec.threshold if threshold is None else float(threshold)
    binned = isinstance(reference, NumericSide) and (
        spec.numeric_only
        or (
            chosen in ("psi", "jensenshannon")
            and (reference.distinct is None or reference.distinct > VALUE_BINS_LIMIT)
        )
    )
    distribution = _distribution(reference, current, by_value=not binned)
    result = _stats.Stat(math.nan)
    if reference.n and current.n:
        found += _unseen_findings(name, reference, current)
        try:
            result = _run_test(chosen, reference, current)
        except ValueError as exc:  # too few values for the test (e.g. Cramér-von Mises)
            found.append(Finding("too_few_values", f"{name}: {chosen}: {exc}", name))
    statistic = float(result.statistic)
    if chosen == "wasserstein" and isinstance(reference, NumericSide):
        score = _stats.wasserstein_norm(statistic, reference.std)
    elif spec.higher_is_drift:
        score = statistic
    else:
        score = math.nan if result.p_value is None else float(result.p_value)
    if math.isnan(score):
        drifted = False
    elif spec.higher_is_drift:
        drifted = score >= limit
    else:
        drifted = score <= limit if spec.inclusive else score < limit
    return ColumnDrift(
        column=name,
        kind=kind,
        method=chosen,
        statistic=statistic,
        p_value=None if spec.higher_is_drift or math.isnan(score) else score,
        score=score,
        threshold=limit,
        higher_is_drift=spec.higher_is_drift,
        drifted=bool(drifted),
        reference_count=reference.n,
        current_count=current.n,
        reference_missing=reference.missing,
        current_missing=current.missing,
        findings=tuple(found),
        distribution=distribution,
    )


# --- options ----------------------------------------------------------------------------------


def validate_options(
    names: Sequence[str],
    methods: Mapping[str, str] | None,
    thresholds: Mapping[str, float] | None,
    share_threshold: float,
) -> tuple[dict[str, str], dict[str, float]]:
    """Check method names, thresholds and the columns they name; return plain dicts."""
    methods = dict(methods or {})
    thresholds = dict(thresholds or {})
    known = set(names) | {"*"}
    for option, mapping in (("methods", methods), ("thresholds", thresholds)):
        for key in mapping:
            if key not in known:
                raise ValidationError(
                    f"{option}[{key!r}]: no such column to compare; columns: {sorted(names)} "
                    "(or '*' for all)"
                )
    for key, value in methods.items():
        if value not in METHODS:
            raise ValidationError(
                f"methods[{key!r}] = {value!r} is not a drift method; "
                f"choose one of {sorted(METHODS)}"
            )
    for key, value in thresholds.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValidationError(
                f"thresholds[{key!r}] = {value!r} is not a finite number; pass e.g. 0.05"
            )
    if (
        isinstance(share_threshold, bool)
        or not isinstance(share_threshold, int | float)
        or not 0 <= share_threshold <= 1
    ):
        raise ValidationError(
            f"share_threshold = {share_threshold!r} must be a number between 0 and 1"
        )
    return methods, thresholds


def method_for(
    name: str, kind: ColumnKind, methods: Mapping[str, str]
) -> tuple[str | None, Finding | None]:
    """The override for a column: its own entry (must suit the kind), else "*" when it does."""
    own = methods.get(name)
    if own is not None:
        if METHODS[own].numeric_only and kind != "numerical":
            valid = sorted(m for m, spec in METHODS.items() if not spec.numeric_only)
            raise ValidationError(
                f"methods[{name!r}] = {own!r} needs a numerical column but {name!r} is "
                f"categorical; choose one of {valid}"
            )
        return own, None
    default = methods.get("*")
    if default is not None and METHODS[default].numeric_only and kind != "numerical":
        return None, None
    return default, None


# --- executors --------------------------------------------------------------------------------


def _workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def run_jobs(jobs: Sequence[Any], func: Callable[[Any], Any], executor: Any) -> list[Any]:
    """Run ``func`` over jobs in threads (executor None) or on a Dask cluster; keeps order."""
    if not jobs:
        return []
    if executor is None or executor == "local":
        workers = min(_workers(), len(jobs))
        if workers == 1:
            return [func(j) for j in jobs]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(func, jobs))
    with dask_client(executor) as client:
        scattered = client.scatter(list(jobs))
        futures = client.map(func, scattered, pure=False)
        return client.gather(futures)


@contextmanager
def dask_client(executor: Any) -> Iterator[Any]:
    """A Dask client for "dask" (current or a new local cluster), "dask://HOST:PORT" or a
    ``distributed.Client``; clients this function opens are closed afterwards."""
    if hasattr(executor, "submit") and hasattr(executor, "gather"):
        yield executor
        return
    if not isinstance(executor, str) or not (executor == "dask" or executor.startswith("dask://")):
        raise ValidationError(
            f"executor = {executor!r} is not supported; use None (in-process), 'dask' "
            "(local cluster) or 'dask://HOST:PORT'"
        )
    from distributed import Client, LocalCluster, get_client

    if executor == "dask":
        try:
            yield get_client()
            return
        except ValueError:
            pass
        with (
            LocalCluster(
                n_workers=1,
                threads_per_worker=_workers(),
                processes=False,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    address = executor.removeprefix("dask://")
    if "://" not in address:
        address = f"tcp://{address}"
    with Client(address) as client:
        yield client


# --- detect_drift -----------------------------------------------------------------------------


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _is_temporal(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)


def infer_kind(reference: pd.Series, current: pd.Series) -> ColumnKind:
    """Column kind from dtype as Evidently 0.7 infers it from the current data: integers
    with at most 10 distinct values are categories (dates are filtered out before)."""
    if not _is_numeric(reference):
        return "categorical"
    basis = current if current.notna().any() else reference
    if (
        pd.api.types.is_integer_dtype(basis.dtype)
        and basis.nunique(dropna=True) <= INTEGER_CATEGORY_LIMIT
    ):
        return "categorical"
    return "numerical"


def _names(
    values: Iterable[str] | None, option: str, available: Sequence[str], source: str
) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out = list(values)
    unknown = [v for v in out if v not in available]
    if unknown:
        raise ValidationError(
            f"{option}: column(s) {unknown} not in the {source}; columns: {list(available)}"
        )
    return out


@dataclass(frozen=True)
class ColumnPlan:
    """Which columns to compare, forced kinds and validated per-column options."""

    requested: list[str]
    forced: dict[str, ColumnKind]
    methods: dict[str, str]
    thresholds: dict[str, float]


def plan_columns(
    available: Sequence[str],
    columns: Sequence[str] | None,
    numerical: Sequence[str] | None,
    categorical: Sequence[str] | None,
    methods: Mapping[str, str] | None,
    thresholds: Mapping[str, float] | None,
    share_threshold: float,
    source: str = "reference",
) -> ColumnPlan:
    """Validate the column options shared by every drift entry point."""
    requested = (
        _names(columns, "columns", available, source) if columns is not None else list(available)
    )
    forced: dict[str, ColumnKind] = {
        n: "numerical" for n in _names(numerical, "numerical", available, source)
    }
    cat = _names(categorical, "categorical", available, source)
    both = sorted(set(forced) & set(cat))
    if both:
        raise ValidationError(f"columns {both} are declared both numerical and categorical")
    forced |= {n: "categorical" for n in cat}
    checked_methods, checked_thresholds = validate_options(
        requested, methods, thresholds, share_threshold
    )
    return ColumnPlan(requested, forced, checked_methods, checked_thresholds)


def window_findings(
    empty: bool, current: Iterable[str], known: Iterable[str], restricted: bool, source: str
) -> list[Finding]:
    """The empty-window finding, or one per current column the reference does not know."""
    if empty:
        return [
            Finding(
                "empty_window",
                "the current window has no rows; every column is reported without a verdict",
            )
        ]
    if restricted:
        return []
    seen = set(known)
    return [
        Finding("unexpected_column", f"{c}: in the current window but not the {source}", c)
        for c in map(str, current)
        if c not in seen
    ]


def _coerce_current(name: str, kind: ColumnKind, series: pd.Series) -> tuple[pd.Series, list]:
    """Make the current column comparable with the reference's kind; note type mismatches."""
    if kind == "numerical" and not _is_numeric(series) and not pd.api.types.is_bool_dtype(series):
        coerced = pd.to_numeric(series, errors="coerce")
        bad = int(coerced.isna().sum() - series.isna().sum())
        note = Finding(
            "type_mismatch",
            f"{name}: the reference is numerical but the current column has dtype "
            f"{series.dtype}; {bad} values that are not numbers count as missing",
            name,
            count=bad,
        )
        return coerced, [note]
    return series, []


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    numerical: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = 0.5,
    executor: Any = None,
) -> DriftResult:
    """Compare every column of ``current`` with ``reference`` (Evidently's default rules).

    ``numerical``/``categorical`` force column kinds (others are inferred from dtype);
    ``methods``/``thresholds`` override per column, ``"*"`` for all columns (a numerical-only
    method given for ``"*"`` applies to the numerical columns). ``executor``: None runs in
    threads here, ``"dask"``/``"dask://HOST:PORT"`` spreads columns over a Dask cluster.
    """
    if not isinstance(reference, pd.DataFrame) or not isinstance(current, pd.DataFrame):
        raise ValidationError(
            f"detect_drift needs two pandas DataFrames, got {type(reference).__name__} and "
            f"{type(current).__name__}"
        )
    reference = reference.rename(columns=str)  # labels are matched by name
    current = current.rename(columns=str)
    available = list(reference.columns)
    plan = plan_columns(
        available, columns, numerical, categorical, methods, thresholds, share_threshold
    )
    requested, methods, thresholds = plan.requested, plan.methods, plan.thresholds
    forced_num = {n for n, k in plan.forced.items() if k == "numerical"}
    forced_cat = {n for n, k in plan.forced.items() if k == "categorical"}
    if len(reference) == 0:
        raise ValidationError("the reference DataFrame has no rows; pass a non-empty reference")
    empty = len(current) == 0
    findings = window_findings(empty, current.columns, available, columns is not None, "reference")
    jobs = []
    for name in requested:
        ref_col = reference[name]
        if _is_temporal(ref_col) and name not in forced_cat:
            findings.append(
                Finding(
                    "unsupported_column",
                    f"{name}: dtype {ref_col.dtype} is neither numerical nor categorical; "
                    "not compared",
                    name,
                )
            )
            continue
        if name not in current.columns:
            if not empty:
                findings.append(
                    Finding(
                        "missing_column",
                        f"{name}: in the reference but not the current window",
                        name,
                    )
                )
                continue
            cur_col = ref_col.iloc[:0]
        else:
            cur_col = current[name]
        if name in forced_num:
            if not _is_numeric(ref_col) and not pd.api.types.is_bool_dtype(ref_col):
                raise ValidationError(
                    f"{name} is declared numerical but the reference has dtype {ref_col.dtype}; "
                    "declare it categorical or convert it"
                )
            kind: ColumnKind = "numerical"
        elif name in forced_cat:
            kind = "categorical"
        else:
            kind = infer_kind(ref_col, cur_col)
        cur_col, notes = _coerce_current(name, kind, cur_col)
        method, _ = method_for(name, kind, methods)
        threshold = thresholds.get(name, thresholds.get("*"))
        jobs.append(ColumnJob(name, kind, ref_col, cur_col, method, threshold, tuple(notes), empty))
    if executor is None and 0 < len(jobs) < _workers():
        jobs = [dataclasses.replace(j, split=True) for j in jobs]
    results = run_jobs(jobs, run_job, executor)
    return DriftResult(
        columns=tuple(results),
        share_threshold=float(share_threshold),
        reference_rows=len(reference),
        current_rows=len(current),
        findings=tuple(findings),
    )
