"""Bring MLflow models in: read an MLflow model folder (``MLmodel``) and write a loopml package.

Supported: the ``sklearn`` flavor in every serialization MLflow uses (skops, cloudpickle,
pickle) and ``python_function`` models whose loader is ``mlflow.sklearn``. Pickle-based
files execute code when loaded, so they are read only with ``allow_pickle=True``; the
imported package is re-serialized with skops when the model allows it.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pandas as pd

from loopml.errors import NotFoundError, ValidationError
from loopml.models._flavors import SklearnFlavor
from loopml.models._package import save_model
from loopml.models._signature import ColumnSpec, Signature

_TYPES = {
    "double": "float",
    "float": "float",
    "long": "integer",
    "integer": "integer",
    "boolean": "boolean",
    "string": "string",
    "datetime": "datetime",
}


def _read_mlmodel(folder: Path) -> dict[str, Any]:
    import yaml

    path = folder / "MLmodel"
    if not path.is_file():
        raise NotFoundError(f"{folder} is not an MLflow model folder (no MLmodel file)")
    data = yaml.safe_load(path.read_text()) or {}
    if "flavors" not in data:
        raise ValidationError(f"{path} has no 'flavors' section; is it an MLflow MLmodel file?")
    return data


def _signature(mlmodel: dict[str, Any]) -> Signature | None:
    sig = mlmodel.get("signature") or {}
    raw_inputs = sig.get("inputs")
    if not raw_inputs:
        return None
    columns = json.loads(raw_inputs)
    if any("name" not in c or c.get("type") not in _TYPES for c in columns):
        return None  # tensor-based signatures: infer from data instead
    inputs = tuple(
        ColumnSpec(c["name"], _TYPES[c["type"]], nullable=not c.get("required", True))
        for c in columns
    )
    outputs: tuple[ColumnSpec, ...] = ()
    raw_outputs = json.loads(sig.get("outputs") or "[]")
    if raw_outputs and all(c.get("type") in _TYPES for c in raw_outputs):
        outputs = tuple(
            ColumnSpec(c.get("name", "prediction"), _TYPES[c["type"]]) for c in raw_outputs
        )
    elif raw_outputs:
        outputs = (ColumnSpec("prediction", "float"),)
    return Signature(inputs, outputs)


def _input_example(folder: Path, mlmodel: dict[str, Any]) -> pd.DataFrame | None:
    info = mlmodel.get("saved_input_example_info") or {}
    path = folder / info.get("artifact_path", "input_example.json")
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if isinstance(data, dict) and "columns" in data and "data" in data:
        return pd.DataFrame(data["data"], columns=data["columns"])
    return None


def _load_sklearn(folder: Path, section: dict[str, Any], allow_pickle: bool) -> Any:
    file = folder / section.get("pickled_model", section.get("model_path", "model.pkl"))
    fmt = section.get("serialization_format", "cloudpickle")
    if fmt == "skops":
        return SklearnFlavor().load(folder, {"data": file.name, "serialization": "skops"})
    if not allow_pickle:
        raise ValidationError(
            f"{file.name} is stored with {fmt}, which runs code when loaded; if you trust "
            "this model, import it with allow_pickle=True (CLI: --allow-pickle)"
        )
    with file.open("rb") as f:
        if fmt == "cloudpickle":
            import cloudpickle

            return cloudpickle.load(f)
        return pickle.load(f)


def import_mlflow_model(
    source: str | os.PathLike, destination: str | os.PathLike, allow_pickle: bool = False
) -> Path:
    """Convert an MLflow model folder into a loopml package at ``destination``."""
    folder = Path(source)
    mlmodel = _read_mlmodel(folder)
    flavors = mlmodel["flavors"]
    if "sklearn" in flavors:
        section = flavors["sklearn"]
    elif flavors.get("python_function", {}).get("loader_module") == "mlflow.sklearn":
        section = flavors["python_function"]
    elif "python_function" in flavors:
        loader = flavors["python_function"].get("loader_module")
        raise ValidationError(
            f"this MLflow model is a python_function with loader {loader!r}; only models "
            "saved by mlflow.sklearn can be imported without MLflow. Re-log it with "
            "loopml.log_model from the object itself"
        )
    else:
        raise ValidationError(
            f"MLflow flavors {', '.join(sorted(flavors))} are not supported yet; "
            "import sklearn or python_function (mlflow.sklearn) models"
        )
    model = _load_sklearn(folder, section, allow_pickle)
    example = _input_example(folder, mlmodel)
    try:
        return save_model(
            model,
            destination,
            signature=_signature(mlmodel),
            input_example=example,
            run_id=None,
        )
    except ValidationError:
        if not allow_pickle:
            raise
        return save_model(
            model,
            destination,
            signature=_signature(mlmodel),
            input_example=example,
            serialization="pickle",
        )
