"""Importing MLflow model folders (MLmodel + model file) as loopml packages."""

from __future__ import annotations

import json
from pathlib import Path

import cloudpickle
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from loopml.errors import NotFoundError, ValidationError
from loopml.models import import_mlflow_model, load_package

# The MLmodel layout MLflow 3 writes for mlflow.sklearn.save_model (checked against MLflow
# 3.17's output); the signature is a JSON string per MLflow's column-based schema.
MLMODEL = """\
flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: {file}
    predict_fn: predict
    python_version: 3.11.7
  sklearn:
    code: null
    pickled_model: {file}
    serialization_format: {fmt}
    sklearn_version: 1.9.1
mlflow_version: 3.17.2
saved_input_example_info:
  artifact_path: input_example.json
  pandas_orient: split
  type: dataframe
signature:
  inputs: '{inputs}'
  outputs: '[{{"type": "tensor", "tensor-spec": {{"dtype": "float64", "shape": [-1]}}}}]'
"""


@pytest.fixture(scope="module")
def fitted():
    d = load_diabetes(as_frame=True)
    return d.data, Ridge(alpha=0.7).fit(d.data, d.target)


def _mlflow_folder(root: Path, fmt: str, X, model) -> Path:  # type: ignore[no-untyped-def]
    folder = root / f"mlflow-{fmt}"
    folder.mkdir()
    file = "model.skops" if fmt == "skops" else "model.pkl"
    if fmt == "skops":
        sio.dump(model, folder / file)
    else:
        with (folder / file).open("wb") as f:
            cloudpickle.dump(model, f)
    inputs = json.dumps([{"type": "double", "name": c, "required": True} for c in X.columns])
    (folder / "MLmodel").write_text(MLMODEL.format(file=file, fmt=fmt, inputs=inputs))
    (folder / "input_example.json").write_text(X.head(2).to_json(orient="split", index=False))
    return folder


def test_import_skops_sklearn_model(tmp_path, fitted):
    X, model = fitted
    package = import_mlflow_model(_mlflow_folder(tmp_path, "skops", X, model), tmp_path / "out")
    loaded = load_package(package)
    assert loaded.flavor == "sklearn"
    assert loaded.signature.input_names == list(X.columns)
    assert {c.type for c in loaded.signature.inputs} == {"float"}
    assert loaded.input_example().shape == (2, 10)
    np.testing.assert_allclose(loaded.predict(X.head(5)), model.predict(X.head(5)))


def test_pickled_models_need_explicit_trust(tmp_path, fitted):
    X, model = fitted
    folder = _mlflow_folder(tmp_path, "cloudpickle", X, model)
    with pytest.raises(ValidationError, match="allow_pickle=True"):
        import_mlflow_model(folder, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    package = import_mlflow_model(folder, tmp_path / "out", allow_pickle=True)
    loaded = load_package(package)
    assert loaded.manifest.flavor_section["serialization"] == "skops"  # re-serialized safely
    np.testing.assert_allclose(loaded.predict(X.head(3)), model.predict(X.head(3)))


def test_unsupported_folders(tmp_path):
    with pytest.raises(NotFoundError, match="no MLmodel"):
        import_mlflow_model(tmp_path, tmp_path / "x")
    custom = tmp_path / "pyfunc"
    custom.mkdir()
    (custom / "MLmodel").write_text(
        "flavors:\n  python_function:\n    loader_module: mlflow.pyfunc.model\n"
        "    python_model: python_model.pkl\n"
    )
    with pytest.raises(ValidationError, match=r"loader 'mlflow\.pyfunc\.model'"):
        import_mlflow_model(custom, tmp_path / "y")
