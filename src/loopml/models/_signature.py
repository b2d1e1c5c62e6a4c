"""Model signatures: the input and output columns a model was trained on, and validation.

A signature is inferred from a training frame: column names, logical types, nullability,
the categories of low-cardinality text columns and numeric ranges. ``validate`` checks a
request frame against it and reports every offending column at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ValidationError

MAX_CATEGORIES = 100
SMALL_FRAME = 64  # up to this many rows, values are checked in plain Python (fast path)
NUMERIC = ("integer", "float")


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: logical type, whether it may be missing, categories and range."""

    name: str
    type: str  # integer | float | boolean | string | datetime
    nullable: bool = False
    categories: tuple[str, ...] | None = None  # set: unseen values are refused
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class Signature:
    """Input and output columns of a model."""

    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "inputs": [_spec_dict(c) for c in self.inputs],
            "outputs": [_spec_dict(c) for c in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        """Rebuild a signature from :meth:`to_dict` output."""
        return cls(
            inputs=tuple(_spec_from(d) for d in data.get("inputs", [])),
            outputs=tuple(_spec_from(d) for d in data.get("outputs", [])),
        )

    @property
    def input_names(self) -> list[str]:
        """Input column names in training order."""
        return [c.name for c in self.inputs]

    def validate(self, data: Any) -> pd.DataFrame:
        """Check ``data`` against the inputs; return it as a frame in training column order.

        Raises ValidationError listing every missing column, wrong type, unexpected
        missing value and unseen category.
        """
        frame = as_frame(data, self.input_names)
        problems = []
        small = len(frame) <= SMALL_FRAME
        for spec in self.inputs:
            if spec.name not in frame.columns:
                problems.append(f"{spec.name}: missing column (expected {spec.type})")
                continue
            column = frame[spec.name]
            if small:
                problems += _check_values(spec, column.tolist(), str(column.dtype))
            else:
                problems += _check_column(spec, column)
        if problems:
            raise ValidationError(
                f"input does not match the model signature ({len(problems)} problem"
                f"{'s' if len(problems) > 1 else ''}):\n  - " + "\n  - ".join(problems)
            )
        names = self.input_names
        return frame if list(frame.columns) == names else frame[names]


def _spec_dict(spec: ColumnSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["categories"] = list(spec.categories) if spec.categories is not None else None
    return data


def _spec_from(data: dict[str, Any]) -> ColumnSpec:
    cats = data.get("categories")
    return ColumnSpec(
        name=data["name"],
        type=data["type"],
        nullable=bool(data.get("nullable", False)),
        categories=tuple(cats) if cats is not None else None,
        minimum=data.get("minimum"),
        maximum=data.get("maximum"),
    )


def logical_type(series: pd.Series) -> str:
    """The logical type of a column: integer, float, boolean, string or datetime."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(dtype):
        return "string"
    non_null = series.dropna()
    if len(non_null) and all(isinstance(v, str) for v in non_null):
        return "string"
    raise ValidationError(
        f"column {series.name!r} has dtype {dtype} that a signature cannot describe; "
        "convert it to numbers, booleans, strings or datetimes"
    )


def infer_column(name: str, series: pd.Series) -> ColumnSpec:
    """A ColumnSpec learned from one training column."""
    kind = logical_type(series)
    nullable = bool(series.isna().any())
    minimum = maximum = None
    categories = None
    if kind in NUMERIC and series.notna().any():
        values = series.dropna().to_numpy(dtype=float)
        minimum, maximum = float(values.min()), float(values.max())
    if kind == "string":
        distinct = series.dropna().astype(str).unique()
        if len(distinct) <= MAX_CATEGORIES:
            categories = tuple(sorted(distinct))
    return ColumnSpec(str(name), kind, nullable, categories, minimum, maximum)


def as_frame(data: Any, names: list[str] | None = None) -> pd.DataFrame:
    """Accept a DataFrame, a Series, a dict of columns, a list of records or a 2-D array."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict):
        try:
            return pd.DataFrame(data if _is_columnar(data) else [data])
        except ValueError as exc:
            raise ValidationError(f"cannot read the columns of the input: {exc}") from None
    if isinstance(data, list) and (not data or isinstance(data[0], dict)):
        return pd.DataFrame.from_records(data)
    array = np.asarray(data)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ValidationError(f"input must be 2-D (rows x columns), got shape {array.shape}")
    if names is not None and array.shape[1] != len(names):
        raise ValidationError(
            f"input has {array.shape[1]} columns but the model expects {len(names)}: "
            f"{', '.join(names)}"
        )
    return pd.DataFrame(array, columns=names or [f"col_{i}" for i in range(array.shape[1])])


def _is_columnar(data: dict[str, Any]) -> bool:
    return all(isinstance(v, list | tuple | np.ndarray | pd.Series) for v in data.values())


def infer_signature(inputs: Any, outputs: Any = None) -> Signature:
    """Infer a signature from training inputs (and optionally model outputs)."""
    frame = as_frame(inputs)
    specs = tuple(infer_column(str(c), frame[c]) for c in frame.columns)
    out_specs: tuple[ColumnSpec, ...] = ()
    if outputs is not None:
        out = outputs
        if (isinstance(out, np.ndarray) and out.ndim == 1) or isinstance(out, list):
            out = pd.DataFrame({"prediction": np.asarray(out)})
        out_frame = as_frame(out)
        out_specs = tuple(
            ColumnSpec(str(c), logical_type(out_frame[c]), bool(out_frame[c].isna().any()))
            for c in out_frame.columns
        )
    return Signature(specs, out_specs)


def value_kind(value: Any) -> str:
    """The logical type of one value: boolean, integer, float, string, datetime or the
    Python type's name."""
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, int | np.integer):
        return "integer"
    if isinstance(value, float | np.floating):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.date | np.datetime64):  # pd.Timestamp is a datetime.date
        return "datetime"
    return type(value).__name__


def _check_values(spec: ColumnSpec, values: list[Any], dtype: str) -> list[str]:
    """The same checks as :func:`_check_column` on a few plain values (no pandas calls)."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and v != v)]
    problems = []
    missing = len(values) - len(present)
    if missing and not spec.nullable:
        problems.append(
            f"{spec.name}: {missing} missing value(s), but the column was never missing in training"
        )
    if not present:
        return problems
    kinds = {value_kind(v) for v in present}
    if spec.type == "datetime" and dtype.startswith("datetime64"):
        kinds = {"datetime"}
    if spec.type == "float":
        wrong = kinds - {"integer", "float"}
    elif spec.type == "integer":
        wrong = kinds - {"integer", "float"}
        if not wrong and any(isinstance(v, float) and not v.is_integer() for v in present):
            problems.append(f"{spec.name}: expected integer, got fractional numbers")
    else:
        wrong = kinds - {spec.type}
    if wrong:
        sample = next(v for v in present if value_kind(v) in wrong)
        found = "string" if "string" in wrong else sorted(wrong)[0]
        problems.append(f"{spec.name}: expected {spec.type}, got {found} (e.g. {sample!r})")
        return problems
    if spec.categories is not None:
        unseen = sorted({str(v) for v in present} - set(spec.categories))
        if unseen:
            shown = ", ".join(repr(u) for u in unseen[:5])
            problems.append(
                f"{spec.name}: unseen categor{'ies' if len(unseen) > 1 else 'y'} {shown}; "
                f"known: {', '.join(spec.categories[:10])}"
            )
    return problems


def _check_column(spec: ColumnSpec, series: pd.Series) -> list[str]:
    problems = []
    missing = int(series.isna().sum())
    if missing and not spec.nullable:
        problems.append(
            f"{spec.name}: {missing} missing value(s), but the column was never missing in training"
        )
    values = series.dropna()
    if values.empty:
        return problems
    try:
        found = logical_type(series)
    except ValidationError:
        found = str(series.dtype)
    if spec.type == "float" and found in ("integer", "float"):
        pass
    elif spec.type == "integer" and found == "float":
        if not np.all(np.mod(values.to_numpy(dtype=float), 1) == 0):
            problems.append(f"{spec.name}: expected integer, got fractional numbers")
    elif found != spec.type:
        sample = values.iloc[0]
        problems.append(f"{spec.name}: expected {spec.type}, got {found} (e.g. {sample!r})")
        return problems
    if spec.categories is not None:
        unseen = sorted(set(values.astype(str)) - set(spec.categories))
        if unseen:
            shown = ", ".join(repr(u) for u in unseen[:5])
            problems.append(
                f"{spec.name}: unseen categor{'ies' if len(unseen) > 1 else 'y'} {shown}; "
                f"known: {', '.join(spec.categories[:10])}"
            )
    return problems
