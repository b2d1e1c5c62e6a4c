"""XGBoost, LightGBM and ONNX flavors: native formats, round trips, predictions equal."""

from __future__ import annotations

import json

import lightgbm
import numpy as np
import pytest
import xgboost
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import Ridge

from loopml.errors import ValidationError
from loopml.models import load_package, save_model
from loopml.models._package import MANIFEST

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:onnx.*")


@pytest.fixture(scope="module")
def regression():
    d = load_diabetes(as_frame=True)
    return d.data, d.target


@pytest.fixture(scope="module")
def classification():
    d = load_breast_cancer(as_frame=True)
    return d.data.iloc[:, :8], d.target


def _manifest(folder):  # type: ignore[no-untyped-def]
    return json.loads((folder / MANIFEST).read_text())


def test_xgboost_regressor_round_trip(tmp_path, regression):
    X, y = regression
    model = xgboost.XGBRegressor(n_estimators=20, max_depth=3).fit(X, y)
    folder = save_model(model, tmp_path / "xgb", training_data=X)
    manifest = _manifest(folder)
    assert manifest["flavor"] == "xgboost"
    assert manifest["xgboost"] == {
        "data": "model.json",
        "serialization": "json",
        "wrapper": "XGBRegressor",
    }
    assert "xgboost" in manifest["library_versions"]
    loaded = load_package(folder)
    np.testing.assert_allclose(loaded.predict(X.head(10)), model.predict(X.head(10)), rtol=1e-6)


def test_lightgbm_classifier_returns_labels(tmp_path, classification):
    X, y = classification
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y)
    folder = save_model(model, tmp_path / "lgb", training_data=X)
    assert _manifest(folder)["lightgbm"]["classes"] == [0, 1]
    loaded = load_package(folder)
    np.testing.assert_array_equal(loaded.predict(X.head(30)), model.predict(X.head(30)))
    np.testing.assert_allclose(
        loaded.model.predict_proba(X.head(5)), model.predict_proba(X.head(5)), rtol=1e-6
    )


def test_lightgbm_regressor(tmp_path, regression):
    X, y = regression
    model = lightgbm.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, y)
    loaded = load_package(save_model(model, tmp_path / "lgbr", training_data=X))
    np.testing.assert_allclose(loaded.predict(X.head(10)), model.predict(X.head(10)), rtol=1e-6)


def test_sklearn_to_onnx_conversion(tmp_path, regression):
    X, y = regression
    model = Ridge(alpha=0.3).fit(X, y)
    folder = save_model(model, tmp_path / "onnx", flavor="onnx", training_data=X)
    assert _manifest(folder)["onnx"]["data"] == "model.onnx"
    loaded = load_package(folder)
    assert loaded.flavor == "onnx"
    np.testing.assert_allclose(loaded.predict(X.head(10)), model.predict(X.head(10)), rtol=1e-4)
    with pytest.raises(ValidationError, match="needs example input"):
        save_model(model, tmp_path / "onnx2", flavor="onnx")
    with pytest.raises(ValidationError, match="saved in onnx format"):
        save_model(
            model, tmp_path / "onnx3", flavor="onnx", training_data=X, serialization="pickle"
        )
