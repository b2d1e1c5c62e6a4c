"""``autolog()`` for scikit-learn: params, training score and fit time of every ``fit``.

Each estimator class's own ``fit`` is wrapped; only the outermost ``fit`` logs (a
Pipeline's steps do not log separately). Without an active run, one is started and
ended around the fit, as MLflow does.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Any

from loopml.tracking import _fluent
from loopml.tracking._context import AUTOLOGGED

log = logging.getLogger(__name__)

_patched: dict[type, Any] = {}
_guard = threading.local()


def _params(estimator: Any) -> dict[str, str]:
    try:
        raw = estimator.get_params(deep=True)
    except Exception:  # estimators with broken get_params still train
        return {}
    out = {}
    for key, value in raw.items():
        if hasattr(value, "get_params"):  # nested estimator objects: record the class
            value = type(value).__name__
        text = str(value)
        out[key] = text if len(text) <= 500 else text[:497] + "..."
    return out


def _wrap(cls: type, original: Any) -> Any:
    @functools.wraps(original)
    def fit(self, X, y=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if getattr(_guard, "depth", 0) > 0:
            return original(self, X, y, *args, **kwargs)
        _guard.depth = 1
        started_here = _fluent.active_run() is None
        try:
            if started_here:
                _fluent.start_run()
            start = time.perf_counter()
            result = original(self, X, y, *args, **kwargs)
            elapsed = time.perf_counter() - start
            _log_fit(self, X, y, elapsed)
        except BaseException:
            if started_here:
                _fluent.end_run("FAILED")
            raise
        finally:
            _guard.depth = 0
        if started_here:
            _fluent.end_run()
        return result

    fit.__loopml_autolog__ = True  # type: ignore[attr-defined]
    return fit


def _log_fit(estimator: Any, X: Any, y: Any, elapsed: float) -> None:
    name = type(estimator).__name__
    _fluent.log_params(_params(estimator))
    metrics = {"fit_time_seconds": elapsed}
    if y is not None and hasattr(estimator, "score"):
        try:
            metrics["training_score"] = float(estimator.score(X, y))
        except Exception as exc:  # scoring is best effort; fitting already succeeded
            log.debug("autolog could not score %s: %s", name, exc)
    _fluent.log_metrics(metrics)
    _fluent.set_tags(
        {"estimator_name": name, "estimator_class": _qualname(estimator), AUTOLOGGED: "sklearn"}
    )


def _qualname(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def autolog(disable: bool = False) -> None:
    """Log params, training score and fit time for every scikit-learn ``fit``.

    ``autolog(disable=True)`` removes the patches again.
    """
    if disable:
        for cls, original in _patched.items():
            cls.fit = original  # type: ignore[attr-defined]
        _patched.clear()
        return
    from sklearn.utils import all_estimators

    for _, cls in all_estimators():
        original = cls.__dict__.get("fit")
        if original is None or cls in _patched or getattr(original, "__loopml_autolog__", False):
            continue
        _patched[cls] = original
        cls.fit = _wrap(cls, original)  # type: ignore[attr-defined]
