"""Model flavors: how a kind of model is written to and read from a package folder.

A flavor is a small interface (accepts, save, load, requirements). Flavors are registered
explicitly in :data:`FLAVORS`, by name.
"""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from loopml.errors import ValidationError

# Modules whose types skops may load: the scientific stack a scikit-learn model is made of.
SAFE_MODULE_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.", "_codecs.")


class Flavor(ABC):
    """Writes and reads one kind of model."""

    name: str
    packages: tuple[str, ...] = ()

    @abstractmethod
    def accepts(self, model: Any) -> bool:
        """True when this flavor can save ``model``."""

    @abstractmethod
    def save(
        self, model: Any, folder: Path, serialization: str | None, sample: Any = None
    ) -> dict[str, Any]:
        """Write the model into ``folder``; return the manifest's flavor section.

        ``sample`` is example input, for flavors that convert the model (ONNX).
        """

    @abstractmethod
    def load(self, folder: Path, section: dict[str, Any]) -> Any:
        """Read the model back from ``folder``."""


class SklearnFlavor(Flavor):
    """scikit-learn estimators and Pipelines; skops by default, pickle only on request."""

    name = "sklearn"
    packages = ("scikit-learn", "numpy", "scipy", "skops")
    serializations = ("skops", "pickle")

    def accepts(self, model: Any) -> bool:
        """Any scikit-learn estimator (Pipelines included)."""
        from sklearn.base import BaseEstimator

        return isinstance(model, BaseEstimator)

    def save(
        self, model: Any, folder: Path, serialization: str | None, sample: Any = None
    ) -> dict[str, Any]:
        """Write model.skops (or model.pkl when serialization='pickle')."""
        serialization = serialization or "skops"
        if serialization not in self.serializations:
            raise ValidationError(
                f"serialization {serialization!r} is not available for scikit-learn models; "
                "use 'skops' (safe, default) or 'pickle'"
            )
        if serialization == "skops":
            import skops.io as sio

            try:
                sio.dump(model, folder / "model.skops")
            except Exception as exc:  # skops refuses some custom objects
                raise ValidationError(
                    f"skops cannot serialize this {type(model).__name__} ({exc}); pass "
                    "serialization='pickle' to save it with pickle (loading a pickle runs code)"
                ) from exc
            return {"data": "model.skops", "serialization": "skops"}
        with (folder / "model.pkl").open("wb") as f:
            pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
        return {"data": "model.pkl", "serialization": "pickle"}

    def load(self, folder: Path, section: dict[str, Any]) -> Any:
        """Load with skops, trusting only scikit-learn/numpy/scipy types; or pickle."""
        path = folder / section["data"]
        if section.get("serialization") == "pickle":
            with path.open("rb") as f:
                return pickle.load(f)
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=path)
        unsafe = [t for t in untrusted if not t.startswith(SAFE_MODULE_PREFIXES)]
        if unsafe:
            raise ValidationError(
                f"model file {path} contains types outside scikit-learn/numpy/scipy that "
                f"skops will not load without trust: {', '.join(unsafe)}; inspect them and "
                "re-save the model, or save it with serialization='pickle' if you trust it"
            )
        return sio.load(path, trusted=untrusted)


class PyFuncFlavor(Flavor):
    """Any object with a ``predict`` method, saved with cloudpickle (custom code allowed)."""

    name = "python_function"
    packages = ("cloudpickle", "numpy", "pandas")

    def accepts(self, model: Any) -> bool:
        """Objects with a callable ``predict``."""
        return callable(getattr(model, "predict", None))

    def save(
        self, model: Any, folder: Path, serialization: str | None, sample: Any = None
    ) -> dict[str, Any]:
        """Write model.cloudpickle."""
        if serialization not in (None, "cloudpickle"):
            raise ValidationError(
                f"serialization {serialization!r} is not available for python_function "
                "models; they are saved with cloudpickle"
            )
        import cloudpickle

        with (folder / "model.cloudpickle").open("wb") as f:
            cloudpickle.dump(model, f)
        return {"data": "model.cloudpickle", "serialization": "cloudpickle"}

    def load(self, folder: Path, section: dict[str, Any]) -> Any:
        """Unpickle the object (it was saved by this package's author)."""
        import cloudpickle

        with (folder / section["data"]).open("rb") as f:
            return cloudpickle.load(f)


def _registered() -> dict[str, Flavor]:
    from loopml.models._flavors_boost import LightGBMFlavor, OnnxFlavor, XGBoostFlavor

    # Order matters for auto-detection: specific libraries before scikit-learn (XGBoost and
    # LightGBM wrappers are scikit-learn estimators too), python_function last.
    ordered = (XGBoostFlavor(), LightGBMFlavor(), OnnxFlavor(), SklearnFlavor(), PyFuncFlavor())
    return {f.name: f for f in ordered}


FLAVORS: dict[str, Flavor] = _registered()


def flavor_for(model: Any, name: str | None = None) -> Flavor:
    """The named flavor, or the first registered flavor that accepts ``model``."""
    if name is not None:
        if name not in FLAVORS:
            raise ValidationError(
                f"flavor {name!r} is not known; available: {', '.join(sorted(FLAVORS))}"
            )
        return FLAVORS[name]
    for flavor in FLAVORS.values():
        if flavor.accepts(model):
            return flavor
    raise ValidationError(
        f"no flavor can save a {type(model).__name__}; models need a predict() method"
    )
