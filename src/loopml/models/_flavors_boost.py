"""Optional flavors: XGBoost, LightGBM (``loopml[xgboost]``, ``loopml[lightgbm]``) and ONNX
(``loopml[onnx]``). Each stores the model in its library's own portable format (JSON, text,
ONNX protobuf), so loading never unpickles code."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from loopml.errors import ValidationError
from loopml.models._flavors import Flavor


def _require(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValidationError(
            f"this model needs {module}, which is not installed: pip install 'loopml[{extra}]'"
        ) from None


def _installed(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _refuse_serialization(flavor: str, serialization: str | None, native: str) -> None:
    if serialization not in (None, native):
        raise ValidationError(
            f"serialization {serialization!r} is not available for {flavor} models; "
            f"they are saved in {native} format"
        )


class XGBoostFlavor(Flavor):
    """XGBoost Boosters and scikit-learn wrappers (XGBRegressor, XGBClassifier, …) as JSON."""

    name = "xgboost"
    packages = ("xgboost", "numpy", "scikit-learn")

    def accepts(self, model: Any) -> bool:
        """XGBoost models, when xgboost is installed."""
        xgb = _installed("xgboost")
        return xgb is not None and isinstance(model, xgb.XGBModel | xgb.Booster)

    def save(
        self, model: Any, folder: Path, serialization: str | None, sample: Any = None
    ) -> dict[str, Any]:
        """Write model.json with XGBoost's own save_model."""
        _refuse_serialization(self.name, serialization, "json")
        model.save_model(str(folder / "model.json"))
        wrapper = None if type(model).__name__ == "Booster" else type(model).__name__
        return {"data": "model.json", "serialization": "json", "wrapper": wrapper}

    def load(self, folder: Path, section: dict[str, Any]) -> Any:
        """Rebuild the wrapper class (or a Booster) and load the JSON into it."""
        xgb = _require("xgboost", "xgboost")
        wrapper = section.get("wrapper")
        model = getattr(xgb, wrapper)() if wrapper else xgb.Booster()
        model.load_model(str(folder / section["data"]))
        return model


class LightGBMModel:
    """A LightGBM Booster with scikit-learn-like ``predict`` (labels for classifiers)."""

    def __init__(self, booster: Any, classes: list[Any] | None) -> None:
        self.booster = booster
        self.classes = classes

    def predict(self, data: Any) -> np.ndarray:
        """Predictions; classifiers return class labels like the scikit-learn wrapper."""
        raw = np.asarray(self.booster.predict(data))
        if self.classes is None:
            return raw
        if raw.ndim == 1:
            return np.asarray(self.classes)[(raw > 0.5).astype(int)]
        return np.asarray(self.classes)[raw.argmax(axis=1)]

    def predict_proba(self, data: Any) -> np.ndarray:
        """Class probabilities (classifiers only)."""
        raw = np.asarray(self.booster.predict(data))
        return np.column_stack([1 - raw, raw]) if raw.ndim == 1 else raw


class LightGBMFlavor(Flavor):
    """LightGBM Boosters and scikit-learn wrappers, saved as LightGBM's text model."""

    name = "lightgbm"
    packages = ("lightgbm", "numpy", "scikit-learn")

    def accepts(self, model: Any) -> bool:
        """LightGBM models, when lightgbm is installed."""
        lgb = _installed("lightgbm")
        return lgb is not None and isinstance(model, lgb.LGBMModel | lgb.Booster)

    def save(
        self, model: Any, folder: Path, serialization: str | None, sample: Any = None
    ) -> dict[str, Any]:
        """Write model.txt; record the classes of a classifier."""
        _refuse_serialization(self.name, serialization, "text")
        booster = getattr(model, "booster_", model)
        booster.save_model(str(folder / "model.txt"))
        classes = getattr(model, "classes_", None)
        return {
            "data": "model.txt",
            "serialization": "text",
            "classes": json.loads(json.dumps(np.asarray(classes).tolist()))
            if classes is not None
            else None,
        }

    def load(self, folder: Path, section: dict[str, Any]) -> Any:
        """A :class:`LightGBMModel` around the loaded Booster."""
        lgb = _require("lightgbm", "lightgbm")
        booster = lgb.Booster(model_file=str(folder / section["data"]))
        return LightGBMModel(booster, section.get("classes"))


class OnnxModel:
    """An onnxruntime session with ``predict`` taking a frame or 2-D array."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name

    def predict(self, data: Any) -> np.ndarray:
        """Run the graph on float32 input; returns the first output, flattened for 1 column."""
        array = np.asarray(data, dtype=np.float32)
        result = np.asarray(self.session.run(None, {self.input_name: array})[0])
        return result.ravel() if result.ndim == 2 and result.shape[1] == 1 else result


class OnnxFlavor(Flavor):
    """ONNX graphs, or scikit-learn models converted with skl2onnx; run with onnxruntime."""

    name = "onnx"
    packages = ("onnx", "onnxruntime", "skl2onnx", "numpy")

    def accepts(self, model: Any) -> bool:
        """ONNX ModelProto objects (scikit-learn models only when asked for by name)."""
        onnx = _installed("onnx")
        return onnx is not None and isinstance(model, onnx.ModelProto)

    def save(
        self, model: Any, folder: Path, serialization: str | None, sample: Any = None
    ) -> dict[str, Any]:
        """Write model.onnx, converting a scikit-learn model from a sample of its input."""
        _refuse_serialization(self.name, serialization, "onnx")
        onnx = _require("onnx", "onnx")
        if not isinstance(model, onnx.ModelProto):
            skl2onnx = _require("skl2onnx", "onnx")
            if sample is None:
                raise ValidationError(
                    "converting a scikit-learn model to ONNX needs example input: pass "
                    "training_data= or input_example="
                )
            model = skl2onnx.to_onnx(model, np.asarray(sample, dtype=np.float32)[:1])
        (folder / "model.onnx").write_bytes(model.SerializeToString())
        return {"data": "model.onnx", "serialization": "onnx"}

    def load(self, folder: Path, section: dict[str, Any]) -> Any:
        """An :class:`OnnxModel` on a CPU onnxruntime session."""
        ort = _require("onnxruntime", "onnx")
        session = ort.InferenceSession(
            str(folder / section["data"]), providers=["CPUExecutionProvider"]
        )
        return OnnxModel(session)
