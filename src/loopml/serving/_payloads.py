"""Request bodies of the three protocols, turned into DataFrames.

- loopml ``POST /predict``: one record ``{"age": 3}``, many ``[{...}, …]`` or
  ``{"records": [...]}``, or columnar ``{"columns": {"age": [...]}}``.
- MLflow ``POST /invocations``: ``dataframe_split``, ``dataframe_records``, ``instances``,
  ``inputs``.
- Open Inference Protocol v2 ``/v2/models/{name}/infer``: named 1-D tensors per column.

Small record-shaped bodies (the usual online request) also have a fast path: :func:`predict_rows`
and :func:`invocations_rows` keep their plain rows, and :func:`signature_frame` checks them
against the model signature in plain Python and builds the validated frame directly. It only
accepts values whose frame and validation outcome are certain (numbers, booleans, known
strings); anything else returns None and the request takes the general path, which builds the
frame with pandas and reports problems exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ValidationError
from loopml.models._signature import SMALL_FRAME, Signature


def predict_frame(body: Any) -> pd.DataFrame:
    """The frame of a ``/predict`` body."""
    if isinstance(body, list):
        if not all(isinstance(r, dict) for r in body):
            raise ValidationError("a list body must hold records (JSON objects), one per row")
        return pd.DataFrame.from_records(body)
    if isinstance(body, dict):
        if "records" in body:
            return predict_frame(body["records"])
        if "columns" in body:
            columns = body["columns"]
            if not isinstance(columns, dict):
                raise ValidationError('"columns" must map column names to lists of values')
            return _columnar(columns)
        return pd.DataFrame.from_records([body])
    raise ValidationError(
        'the body must be a record, a list of records, {"records": [...]} or {"columns": {...}}'
    )


def _columnar(columns: dict[str, Any]) -> pd.DataFrame:
    lengths = {k: len(v) for k, v in columns.items() if isinstance(v, list)}
    if len(lengths) != len(columns):
        bad = sorted(set(columns) - set(lengths))
        raise ValidationError(f"columns {bad} must be lists of values")
    if len(set(lengths.values())) > 1:
        raise ValidationError(f"columns have different lengths: {lengths}")
    return pd.DataFrame(columns)


def invocations_frame(body: Any) -> pd.DataFrame:
    """The frame of an MLflow scoring-protocol body."""
    if not isinstance(body, dict):
        raise ValidationError(
            "MLflow scoring bodies are objects with one of dataframe_split, dataframe_records, "
            "instances or inputs"
        )
    keys = [k for k in ("dataframe_split", "dataframe_records", "instances", "inputs") if k in body]
    if len(keys) != 1:
        raise ValidationError(
            "give exactly one of dataframe_split, dataframe_records, instances, inputs; got "
            + (", ".join(sorted(body)) or "none")
        )
    key = keys[0]
    value = body[key]
    if key == "dataframe_split":
        if not isinstance(value, dict) or "data" not in value:
            raise ValidationError('dataframe_split needs {"columns": [...], "data": [[...]]}')
        return pd.DataFrame(value["data"], columns=value.get("columns"))
    if key == "dataframe_records":
        return predict_frame(value if isinstance(value, list) else [value])
    if isinstance(value, dict):
        return _columnar(value)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return pd.DataFrame.from_records(value)
    return pd.DataFrame(value)


def oip_frame(body: Any, column_names: list[str]) -> pd.DataFrame:
    """The frame of an Open Inference Protocol request: one named tensor per column, or
    a single 2-D tensor whose columns follow the model signature."""
    if not isinstance(body, dict) or not isinstance(body.get("inputs"), list):
        raise ValidationError('an inference request needs "inputs": a list of tensors')
    tensors = body["inputs"]
    for t in tensors:
        if not isinstance(t, dict) or "name" not in t or "data" not in t:
            raise ValidationError('each input tensor needs "name", "shape", "datatype", "data"')
    if len(tensors) == 1 and tensors[0]["name"] not in column_names:
        tensor = tensors[0]
        shape = tensor.get("shape") or [len(tensor["data"])]
        data = tensor["data"]
        if data and not isinstance(data[0], list) and len(shape) == 2:
            data = [data[i : i + shape[1]] for i in range(0, len(data), shape[1])]
        return pd.DataFrame(data, columns=column_names or None)
    return _columnar({t["name"]: _flat(t["data"]) for t in tensors})


def _flat(data: Any) -> list[Any]:
    if isinstance(data, list) and data and isinstance(data[0], list):
        return [row[0] if isinstance(row, list) and len(row) == 1 else row for row in data]
    return data


# --------------------------------------------------------------------------- fast path


@dataclass(slots=True)
class Rows:
    """The plain rows of a small request: records, or column names and row lists."""

    records: list[dict[str, Any]] | None = None
    columns: list[str] | None = None
    data: list[list[Any]] | None = None

    def column(self, name: str) -> list[Any] | None:
        """The values of one column, or None when a row lacks it."""
        if self.records is not None:
            try:
                return [r[name] for r in self.records]
            except KeyError:
                return None
        assert self.columns is not None and self.data is not None
        try:
            i = self.columns.index(name)
        except ValueError:
            return None
        return [row[i] for row in self.data]

    def __len__(self) -> int:
        return len(self.records if self.records is not None else self.data or ())


def predict_rows(body: Any) -> Rows | None:
    """The rows of a small ``/predict`` body made of records, else None."""
    if isinstance(body, dict):
        if "columns" in body:
            return None
        if "records" in body:
            return predict_rows(body["records"]) if isinstance(body["records"], list) else None
        return Rows(records=[body])
    if (
        isinstance(body, list)
        and 0 < len(body) <= SMALL_FRAME
        and all(isinstance(r, dict) for r in body)
    ):
        return Rows(records=body)
    return None


def invocations_rows(body: Any) -> Rows | None:
    """The rows of a small ``dataframe_split`` or ``dataframe_records`` body, else None."""
    if not isinstance(body, dict) or len(body) != 1:
        return None
    if "dataframe_records" in body:
        value = body["dataframe_records"]
        return predict_rows(value if isinstance(value, list) else [value])
    split = body.get("dataframe_split")
    if not isinstance(split, dict):
        return None
    columns, data = split.get("columns"), split.get("data")
    if (
        not isinstance(columns, list)
        or not isinstance(data, list)
        or not 0 < len(data) <= SMALL_FRAME
        or not all(isinstance(c, str) for c in columns)
        or len(set(columns)) != len(columns)
        or not all(isinstance(row, list) and len(row) == len(columns) for row in data)
    ):
        return None
    return Rows(columns=columns, data=data)


_INT64 = (-(2**63), 2**63)
_PLANS: dict[int, tuple[Signature, pd.Index]] = {}


def _plan(sig: Signature) -> pd.Index | None:
    """The column index of a signature's frames, or None when it has a column the fast path
    leaves to pandas (datetimes)."""
    found = _PLANS.get(id(sig))
    if found is not None and found[0] is sig:
        return found[1]
    if any(c.type == "datetime" for c in sig.inputs):
        return None
    if len(_PLANS) > 64:
        _PLANS.clear()
    index = pd.Index(sig.input_names)
    _PLANS[id(sig)] = (sig, index)
    return index


def signature_frame(rows: Rows, sig: Signature) -> pd.DataFrame | None:
    """The validated frame of plain rows, in signature order, with the dtypes the general path
    gives them; None when any value needs the general path (which reports any problem)."""
    index = _plan(sig)
    if index is None:
        return None
    columns: list[Any] = []
    all_float = True
    for spec in sig.inputs:
        values = rows.column(spec.name)
        if values is None:
            return None
        kinds = {type(v) for v in values}
        if spec.type in ("float", "integer"):
            if kinds == {float}:
                if spec.type == "integer" and not all(v.is_integer() for v in values):
                    return None
                if any(v != v for v in values):  # NaN
                    return None
                columns.append(values)
                continue
            if not kinds <= {int, float} or not all(_INT64[0] <= v < _INT64[1] for v in values):
                return None
            if spec.type == "integer" and not all(float(v).is_integer() for v in values):
                return None
            if kinds == {int}:
                columns.append(np.array(values, dtype=np.int64))
                all_float = False
            else:
                columns.append(values)  # ints and floats mixed: a float64 column
        elif spec.type == "boolean" and kinds == {bool}:
            columns.append(np.array(values, dtype=bool))
            all_float = False
        elif spec.type == "string" and kinds == {str}:
            if spec.categories is not None and not set(values) <= set(spec.categories):
                return None
            columns.append(values)  # pandas infers its default string dtype, as in general
            all_float = False
        else:
            return None
    if all_float:
        return pd.DataFrame(np.array(columns, dtype=np.float64).T, columns=index, copy=False)
    data = {
        name: np.array(v, dtype=np.float64) if isinstance(v, list) and type(v[0]) is not str else v
        for name, v in zip(index, columns, strict=True)
    }
    return pd.DataFrame(data, columns=index, copy=False)
