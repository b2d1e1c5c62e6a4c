"""Request bodies of the three protocols, turned into DataFrames.

- loopml ``POST /predict``: one record ``{"age": 3}``, many ``[{...}, …]`` or
  ``{"records": [...]}``, or columnar ``{"columns": {"age": [...]}}``.
- MLflow ``POST /invocations``: ``dataframe_split``, ``dataframe_records``, ``instances``,
  ``inputs``.
- Open Inference Protocol v2 ``/v2/models/{name}/infer``: named 1-D tensors per column.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from loopml.errors import ValidationError


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
