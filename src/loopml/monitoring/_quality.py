"""Data-quality checks of a window against a reference (raw frame, stored profile or signature).

Check names are stable: ``missing_values``, ``out_of_range``, ``unseen_categories``,
``type_mismatch`` and ``constant_column`` run per column; ``missing_columns``,
``unexpected_columns`` and ``duplicate_rows`` run once per window. Every check carries the
count of failing rows (or columns), its share and up to five examples in order of appearance.
Everything is vectorised: each column is scanned a handful of times by numpy/pandas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.models._signature import Signature, as_frame, logical_type, value_kind
from loopml.monitoring._results import DataQualityResult, QualityCheck

MAX_EXAMPLES = 5
MISSING_TOLERANCE = 0.05  # allowed rise of the missing share over the reference's, when it had some
NUMBERS = frozenset({"integer", "float"})
# which value kinds each expected type accepts ("numeric"/"categorical" come from profiles)
ACCEPTS: dict[str, frozenset[str]] = {
    "integer": NUMBERS,  # floats pass only when integral (checked separately)
    "float": NUMBERS,
    "numeric": NUMBERS,
    "boolean": frozenset({"boolean"}),
    "string": frozenset({"string"}),
    "datetime": frozenset({"datetime"}),
    "categorical": frozenset({"string", "boolean", "datetime", "other"}),
}
_INFERRED_KIND = {
    "string": "string",
    "integer": "integer",
    "floating": "float",
    "mixed-integer-float": "float",
    "decimal": "float",
    "boolean": "boolean",
    "datetime": "datetime",
    "datetime64": "datetime",
    "date": "datetime",
}


@dataclass
class _Expected:
    """What the reference says about one column."""

    type: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    categories: frozenset[str] | None = None
    missing_share: float | None = None  # None: unknown
    nullable: bool | None = None
    constant: bool | None = None


def check_quality(
    current: pd.DataFrame | Any,
    reference: pd.DataFrame | dict[str, Any] | None = None,
    *,
    signature: Signature | dict[str, Any] | None = None,
) -> DataQualityResult:
    """Run every data-quality check on ``current``.

    ``reference`` is the training frame or its stored profile (``profile_frame`` output);
    ``signature`` (a Signature or its dict) adds expected types, categories and ranges.
    Without either, only the checks that need no reference run.
    """
    current = as_frame(current)
    expected = _expectations(reference, signature)
    rows = len(current)
    names = [str(c) for c in current.columns]
    checks: list[QualityCheck] = []
    if expected is not None:
        checks += _column_set_checks(names, expected, signature)
    missing = current.isna().sum().to_numpy()
    encoded: list[np.ndarray] = []
    for i, name in enumerate(names):
        exp = expected.get(name, _Expected()) if expected is not None else _Expected()
        col_checks, encoding = _column_checks(name, current.iloc[:, i], exp, int(missing[i]), rows)
        checks += col_checks
        encoded.append(encoding)
    checks.append(_duplicates(current, encoded))
    return DataQualityResult(checks=tuple(checks), rows=rows)


# --- expectations ---------------------------------------------------------------------------


def _expectations(
    reference: pd.DataFrame | dict[str, Any] | None,
    signature: Signature | dict[str, Any] | None,
) -> dict[str, _Expected] | None:
    if reference is None and signature is None:
        return None
    out: dict[str, _Expected] = {}
    if isinstance(reference, pd.DataFrame):
        out = {str(c): _from_series(reference[c]) for c in reference.columns}
    elif isinstance(reference, dict):
        columns = reference.get("columns", reference)
        out = {str(k): _from_profile(v) for k, v in columns.items()}
    if signature is not None:
        sig = Signature.from_dict(signature) if isinstance(signature, dict) else signature
        for spec in sig.inputs:
            exp = out.setdefault(spec.name, _Expected())
            exp.type = spec.type  # the signature's logical type is the most precise
            if exp.minimum is None and exp.maximum is None:
                exp.minimum, exp.maximum = spec.minimum, spec.maximum
            if exp.categories is None and spec.categories is not None:
                exp.categories = frozenset(spec.categories)
            exp.nullable = spec.nullable
    return out


def _from_series(series: pd.Series) -> _Expected:
    rows = len(series)
    exp = _Expected(missing_share=float(series.isna().sum()) / rows if rows else 0.0)
    try:
        exp.type = logical_type(series)
    except ValueError:
        exp.type = "categorical"
    if exp.type in NUMBERS:
        values = series.to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if finite.size:
            exp.minimum, exp.maximum = float(finite.min()), float(finite.max())
            exp.constant = exp.minimum == exp.maximum
    else:
        _, uniques = _factorize(series)
        exp.constant = len(uniques) == 1
        if exp.type != "datetime":
            exp.categories = frozenset(_as_str(uniques))
    return exp


def _from_profile(entry: dict[str, Any]) -> _Expected:
    exp = _Expected(missing_share=entry.get("missing_rate"))
    distinct = entry.get("distinct")
    exp.constant = None if distinct is None else distinct <= 1
    if entry.get("kind") == "numeric":
        exp.type = "numeric"
        exp.minimum, exp.maximum = entry.get("min"), entry.get("max")
    else:
        exp.type = "categorical"
        freqs = entry.get("frequencies")
        if freqs is not None and not entry.get("other"):  # complete only without an "other"
            exp.categories = frozenset(str(k) for k in freqs)
    return exp


# --- window-level checks --------------------------------------------------------------------


def _column_set_checks(
    present: list[str],
    expected: dict[str, _Expected],
    signature: Signature | dict[str, Any] | None,
) -> list[QualityCheck]:
    if signature is not None:
        sig = Signature.from_dict(signature) if isinstance(signature, dict) else signature
        required = sig.input_names
    else:
        required = list(expected)
    have = set(present)
    missing = [c for c in required if c not in have]
    unexpected = [c for c in present if c not in expected]
    return [
        QualityCheck(
            name="missing_columns",
            passed=not missing,
            count=len(missing),
            share=len(missing) / len(required) if required else 0.0,
            message=(
                f"{len(missing)} of {len(required)} expected column(s) missing: "
                + ", ".join(missing[:MAX_EXAMPLES])
                if missing
                else f"all {len(required)} expected columns present"
            ),
            examples=tuple(missing[:MAX_EXAMPLES]),
        ),
        QualityCheck(
            name="unexpected_columns",
            passed=not unexpected,
            count=len(unexpected),
            share=len(unexpected) / len(present) if present else 0.0,
            message=(
                f"{len(unexpected)} column(s) not in the reference: "
                + ", ".join(unexpected[:MAX_EXAMPLES])
                if unexpected
                else "no unexpected columns"
            ),
            examples=tuple(unexpected[:MAX_EXAMPLES]),
        ),
    ]


def _duplicates(frame: pd.DataFrame, encoded: list[np.ndarray]) -> QualityCheck:
    """Rows equal to an earlier row: hash every row from exact per-column encodings, then
    confirm each candidate against the first row with the same hash."""
    rows = len(frame)
    dup_positions = np.empty(0, dtype=np.int64)
    if rows > 1 and encoded:
        h = np.zeros(rows, dtype=np.uint64)
        for enc in encoded:
            h = pd.util.hash_array(enc) ^ (h * np.uint64(1_000_003))
        shared = np.flatnonzero(pd.Series(h).duplicated(keep=False).to_numpy())
        if shared.size:  # only rows whose hash occurs more than once
            codes, _ = pd.factorize(h[shared])
            first = np.full(codes.max() + 1, rows, dtype=np.int64)
            np.minimum.at(first, codes, shared)
            first_of = first[codes]
            later = first_of != shared
            candidates, first_of = shared[later], first_of[later]
            same = np.ones(candidates.size, dtype=bool)
            for enc in encoded:
                same &= enc[candidates] == enc[first_of]
            dup_positions = candidates[same]
    count = int(dup_positions.size)
    examples = tuple(
        {str(k): _plain(v) for k, v in frame.iloc[int(p)].items()}
        for p in dup_positions[:MAX_EXAMPLES]
    )
    return QualityCheck(
        name="duplicate_rows",
        passed=count == 0,
        count=count,
        share=count / rows if rows else 0.0,
        message=f"{count} row(s) repeat an earlier row" if count else "no duplicate rows",
        examples=examples,
    )


# --- per-column checks ----------------------------------------------------------------------


def _column_checks(
    name: str, series: pd.Series, exp: _Expected, missing: int, rows: int
) -> tuple[list[QualityCheck], np.ndarray]:
    """The checks of one column, and an exact uint64 encoding of it for duplicate detection."""
    checks = [_missing_check(name, missing, rows, exp)]
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric:
        values = series.to_numpy(dtype=float, na_value=np.nan)
        if series.dtype.kind in "iu":  # plain numpy integers: exact even beyond 2**53
            encoding = series.to_numpy().view(np.uint64)
        else:
            encoding = _float_encoding(values)
        if exp.type is not None:
            checks.append(_numeric_type_check(name, series, values, exp.type, rows))
        if exp.minimum is not None or exp.maximum is not None:
            integer = pd.api.types.is_integer_dtype(series)
            checks.append(_range_check(name, values, exp, rows, integer))
        present = values[~np.isnan(values)]
        distinct = 0 if present.size == 0 else 1 if present.min() == present.max() else 2
        constant_value = present[0] if present.size else None
        if constant_value is not None and pd.api.types.is_integer_dtype(series):
            constant_value = int(constant_value)
    else:
        codes, uniques = _factorize(series)
        encoding = codes.astype(np.uint64)
        counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
        if exp.type is not None:
            checks.append(_object_type_check(name, series, uniques, counts, exp.type, rows))
        dates = pd.api.types.is_datetime64_any_dtype(series)
        if exp.categories is not None and exp.type != "datetime" and not dates:
            checks.append(_unseen_check(name, uniques, counts, exp.categories, rows))
        distinct = len(uniques)
        constant_value = uniques[0] if len(uniques) else None
    checks.append(_constant_check(name, distinct, constant_value, rows - missing, rows, exp))
    return checks, encoding


def _missing_check(name: str, missing: int, rows: int, exp: _Expected) -> QualityCheck:
    share = missing / rows if rows else 0.0
    if exp.missing_share:  # the reference had missing values: allow a little more
        allowed = exp.missing_share + MISSING_TOLERANCE
        why = f"reference share {exp.missing_share:.1%} + {MISSING_TOLERANCE:.0%} tolerance"
    elif exp.missing_share is None and exp.nullable:
        allowed, why = 1.0, "nullable in the signature"
    elif exp.missing_share is None and exp.nullable is False:
        allowed, why = 0.0, "not nullable in the signature"
    elif exp.missing_share is None:
        allowed, why = 0.0, "no reference"
    else:
        allowed, why = 0.0, "never missing in the reference"
    message = (
        f"{missing} of {rows} value(s) missing ({share:.1%}; allowed {allowed:.1%}: {why})"
        if missing
        else "no missing values"
    )
    return QualityCheck("missing_values", share <= allowed, missing, share, name, message)


def _range_check(
    name: str, values: np.ndarray, exp: _Expected, rows: int, integer: bool
) -> QualityCheck:
    lo = -np.inf if exp.minimum is None else exp.minimum
    hi = np.inf if exp.maximum is None else exp.maximum
    with np.errstate(invalid="ignore"):
        bad = (values < lo) | (values > hi)
    count = int(bad.sum())
    examples = _first_distinct(values[bad], integer) if count else ()
    span = f"[{lo:g}, {hi:g}]"
    message = (
        f"{count} value(s) outside the reference range {span}, e.g. "
        + ", ".join(f"{v:g}" for v in examples)
        if count
        else f"all values within {span}"
    )
    return QualityCheck(
        "out_of_range", count == 0, count, count / rows if rows else 0.0, name, message, examples
    )


def _unseen_check(
    name: str, uniques: np.ndarray, counts: np.ndarray, known: frozenset[str], rows: int
) -> QualityCheck:
    unseen = np.array([s not in known for s in _as_str(uniques)], dtype=bool)
    count = int(counts[unseen].sum()) if unseen.size else 0
    examples = tuple(_plain(v) for v in uniques[unseen][:MAX_EXAMPLES]) if count else ()
    distinct = int(unseen.sum())
    message = (
        f"{count} value(s) in {distinct} categor{'y' if distinct == 1 else 'ies'} never seen in "
        f"the reference, e.g. {', '.join(repr(e) for e in examples)}"
        if count
        else f"all values among the {len(known)} known categories"
    )
    return QualityCheck(
        "unseen_categories",
        count == 0,
        count,
        count / rows if rows else 0.0,
        name,
        message,
        examples,
    )


def _numeric_type_check(
    name: str, series: pd.Series, values: np.ndarray, expected: str, rows: int
) -> QualityCheck:
    """A numeric column: wrong as a whole, or fractional values where integers are expected."""
    accepts = ACCEPTS.get(expected)
    if accepts is None or "float" in accepts:
        if expected == "integer":
            with np.errstate(invalid="ignore"):
                bad = np.isfinite(values) & (np.mod(values, 1) != 0)
        else:
            bad = np.zeros(len(values), dtype=bool)
        found = "fractional numbers"
    else:
        bad = ~np.isnan(values)
        found = "integer" if pd.api.types.is_integer_dtype(series) else "float"
    count = int(bad.sum())
    integer = pd.api.types.is_integer_dtype(series)
    examples = _first_distinct(values[bad], integer) if count else ()
    return _type_result(name, expected, found, count, examples, rows)


def _object_type_check(
    name: str,
    series: pd.Series,
    uniques: np.ndarray,
    counts: np.ndarray,
    expected: str,
    rows: int,
) -> QualityCheck:
    """A non-numeric column: classify its distinct values by kind (cheap: uniques only)."""
    accepts = ACCEPTS.get(expected, frozenset({expected}))
    whole = _whole_kind(series)
    if whole is not None:
        bad = np.full(len(uniques), whole not in accepts, dtype=bool)
    else:
        bad = np.array(
            [
                value_kind(v) not in accepts
                or (expected == "integer" and isinstance(v, float) and not v.is_integer())
                for v in uniques
            ],
            dtype=bool,
        )
    count = int(counts[bad].sum()) if bad.size else 0
    found = "/".join(sorted({value_kind(v) for v in uniques[bad][:1000]}))
    examples = tuple(_plain(v) for v in uniques[bad][:MAX_EXAMPLES]) if count else ()
    return _type_result(name, expected, found, count, examples, rows)


def _type_result(
    name: str, expected: str, found: str, count: int, examples: tuple[Any, ...], rows: int
) -> QualityCheck:
    message = (
        f"{count} value(s) are not {expected} (found {found}), e.g. "
        + ", ".join(repr(e) for e in examples)
        if count
        else f"all values are {expected}"
    )
    return QualityCheck(
        "type_mismatch", count == 0, count, count / rows if rows else 0.0, name, message, examples
    )


def _constant_check(
    name: str, distinct: int, value: Any, present: int, rows: int, exp: _Expected
) -> QualityCheck:
    constant = distinct == 1 and present > 1
    expected_constant = bool(exp.constant)
    example = _plain(value)
    if constant:
        note = " (as in the reference)" if expected_constant else ""
        message = f"every present value is {example!r}{note}"
    else:
        message = "not constant"
    return QualityCheck(
        "constant_column",
        not constant or expected_constant,
        present if constant else 0,
        present / rows if constant and rows else 0.0,
        name,
        message,
        (example,) if constant else (),
    )


# --- helpers --------------------------------------------------------------------------------


def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for missing) and distinct values in order of appearance."""
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable values (lists, dicts): compare their text
        text = series.map(lambda v: v if _is_missing(v) else repr(v))
        codes, uniques = pd.factorize(text, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)


def _float_encoding(values: np.ndarray) -> np.ndarray:
    """Exact uint64 encoding of floats: -0.0 folds into 0.0, every NaN into one pattern."""
    folded = values + 0.0
    folded[np.isnan(folded)] = np.nan
    return folded.view(np.uint64)


def _whole_kind(series: pd.Series) -> str | None:
    """The single value kind of a non-numeric column, or None when mixed or unknown."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if isinstance(series.dtype, pd.CategoricalDtype):
        return _INFERRED_KIND.get(pd.api.types.infer_dtype(series.cat.categories, skipna=True))
    return _INFERRED_KIND.get(pd.api.types.infer_dtype(series, skipna=True))


def _as_str(values: Iterable[Any]) -> list[str]:
    return [str(v) for v in values]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def _first_distinct(values: np.ndarray, integer: bool = False) -> tuple[Any, ...]:
    """Up to MAX_EXAMPLES distinct values in order of appearance, as plain Python values."""
    first = pd.unique(values)[:MAX_EXAMPLES]
    return tuple(int(v) for v in first) if integer else tuple(_plain(v) for v in first)


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value: numpy scalars unwrapped, timestamps as ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)
