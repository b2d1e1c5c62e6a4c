"""Model quality on labelled rows (overall and per segment) and service health of a log window.

Metrics come straight from scikit-learn. Regression: mae, rmse, mape, r2. Classification:
accuracy, precision, recall, f1 (binary for two classes, the greater label positive; macro
otherwise), plus roc_auc and log_loss when class probabilities are given.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from loopml.errors import ValidationError
from loopml.monitoring._results import ModelQualityResult, ServiceHealth

Task = Literal["regression", "classification"]
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
MAX_CLASSES = 50  # integral targets with at most this many values are taken as classes
MISSING_SEGMENT = "(missing)"
NO_ERROR = ("", "False", "0", "None")  # text of ``error`` values that mean "no error"
REFERENCE_PREFIXES = ("", "test_", "test.", "eval_", "eval.", "val_", "val.", "validation_")


def model_quality(
    y_true: Any,
    y_pred: Any,
    *,
    task: Task | None = None,
    proba: Any = None,
    segments: pd.Series | None = None,
    reference_metrics: dict[str, float] | None = None,
) -> ModelQualityResult:
    """Quality of predictions against labels; rows without a label (or prediction) are ignored.

    ``proba`` is the probability of the positive class (1-D, binary) or one column per class
    (a DataFrame named by class, or an array in sorted class order). ``segments`` gives one
    segment value per row; ``reference_metrics`` (the model version's offline metrics) is
    matched by name (``rmse``, ``test_rmse``, ``val_rmse``, …) to the computed metrics.
    """
    truth = _series(y_true, "y_true")
    pred = _series(y_pred, "y_pred")
    if len(truth) != len(pred):
        raise ValidationError(
            f"y_true has {len(truth)} rows but y_pred has {len(pred)}; give one label per row"
        )
    probs = _proba(proba, len(truth))
    seg = None
    if segments is not None:
        seg = _series(segments, "segments")
        if len(seg) != len(truth):
            raise ValidationError(
                f"segments has {len(seg)} rows but y_true has {len(truth)}; give one per row"
            )
    keep = (truth.notna() & pred.notna()).to_numpy()
    truth, pred = truth[keep].reset_index(drop=True), pred[keep].reset_index(drop=True)
    if probs is not None:
        probs = probs[keep].reset_index(drop=True)
    task = task or _infer_task(truth, pred, probs)
    if task not in ("regression", "classification"):
        raise ValidationError(f"task must be 'regression' or 'classification', got {task!r}")
    if task == "classification":
        truth, pred = _align_labels(truth, pred)
        classes, probs = _classes(truth, pred, probs)
    else:
        classes = []
    overall = _metrics(task, truth, pred, probs, classes)
    per_segment: dict[str, dict[str, float]] = {}
    segment_column = None
    if seg is not None:
        segment_column = str(seg.name) if seg.name is not None else "segment"
        labels = seg[keep].reset_index(drop=True)
        names = labels.astype(object).where(labels.notna(), MISSING_SEGMENT).map(str)
        for name, index in names.groupby(names, sort=True).groups.items():
            idx = np.asarray(index)
            part = None if probs is None else probs.iloc[idx].reset_index(drop=True)
            values = _metrics(
                task,
                truth.iloc[idx].reset_index(drop=True),
                pred.iloc[idx].reset_index(drop=True),
                part,
                classes,
            )
            per_segment[str(name)] = values | {"labelled_rows": float(len(idx))}
    return ModelQualityResult(
        task=task,
        metrics=overall,
        labelled_rows=int(keep.sum()),
        reference=_match_reference(reference_metrics, overall, task),
        segment_column=segment_column,
        segments=per_segment,
    )


def service_health(log: pd.DataFrame, *, window_s: float | None = None) -> ServiceHealth:
    """Throughput, error share and latency percentiles of a prediction-log window.

    Uses ``timestamp`` (or ``timestamp_ms``), ``latency_ms`` and ``status`` (HTTP code;
    >= 400 is an error) or an ``error`` column (non-empty is an error). Throughput divides by
    ``window_s`` when given, else by the span of the timestamps (NaN for a single instant).
    """
    requests = len(log)
    if requests == 0:
        nan = float("nan")
        return ServiceHealth(0, 0.0, 0.0, nan, nan, nan)
    errors = np.zeros(requests, dtype=bool)
    if "status" in log.columns:
        status = pd.to_numeric(log["status"], errors="coerce").to_numpy(dtype=float)
        errors |= status >= 400
    if "error" in log.columns:
        err = log["error"]
        errors |= (err.notna() & ~err.astype(str).isin(NO_ERROR)).to_numpy()
    if "latency_ms" in log.columns:
        latency = pd.to_numeric(log["latency_ms"], errors="coerce").to_numpy(dtype=float)
        latency = latency[~np.isnan(latency)]
    else:
        latency = np.empty(0)
    if latency.size:
        p50, p95, p99 = (float(v) for v in np.percentile(latency, [50, 95, 99]))
    else:
        p50 = p95 = p99 = float("nan")
    if window_s is not None:
        throughput = requests / window_s if window_s > 0 else float("nan")
    else:
        span = _span_s(log)
        throughput = requests / span if span > 0 else float("nan")
    return ServiceHealth(
        requests=requests,
        throughput_per_s=throughput,
        error_share=float(errors.mean()),
        latency_p50_ms=p50,
        latency_p95_ms=p95,
        latency_p99_ms=p99,
    )


# --- helpers --------------------------------------------------------------------------------


def _series(values: Any, what: str) -> pd.Series:
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise ValidationError(f"{what} must be one column, got {values.shape[1]} columns")
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValidationError(f"{what} must be one-dimensional, got shape {array.shape}")
    return pd.Series(array)


def _proba(proba: Any, rows: int) -> pd.DataFrame | None:
    """Probabilities as a frame: one column per class (named), or one unnamed positive column."""
    if proba is None:
        return None
    if isinstance(proba, pd.DataFrame):
        frame = proba.reset_index(drop=True)
    else:
        array = np.asarray(proba, dtype=float)
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        if array.ndim != 2:
            raise ValidationError(f"proba must be 1-D or 2-D, got shape {array.shape}")
        frame = pd.DataFrame(array, columns=[None] * array.shape[1])
    if len(frame) != rows:
        raise ValidationError(f"proba has {len(frame)} rows but y_true has {rows}")
    return frame


def _infer_task(truth: pd.Series, pred: pd.Series, probs: pd.DataFrame | None) -> Task:
    """Classification with probabilities, labels that are not numbers, or few integral values
    predicted as integers; regression otherwise (any fraction, or float predictions)."""
    if probs is not None:
        return "classification"
    both = pd.concat([truth, pred], ignore_index=True)
    if both.empty:
        return "regression"
    if pd.api.types.is_bool_dtype(both) or not pd.api.types.is_numeric_dtype(both):
        return "classification"
    if pd.api.types.is_float_dtype(pred):
        return "regression"
    values = both.to_numpy(dtype=float)
    if np.all(np.mod(values, 1) == 0) and np.unique(values).size <= MAX_CLASSES:
        return "classification"
    return "regression"


def _align_labels(truth: pd.Series, pred: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Integral float labels (left by missing values) take the predictions' integer type."""
    for a, b in ((truth, pred), (pred, truth)):
        if (
            pd.api.types.is_float_dtype(a)
            and pd.api.types.is_integer_dtype(b)
            and np.all(np.mod(a.to_numpy(dtype=float), 1) == 0)
        ):
            converted = a.astype(b.dtype)
            return (converted, pred) if a is truth else (truth, converted)
    if truth.dtype == object or pred.dtype == object:
        truth, pred = truth.map(_unwrap), pred.map(_unwrap)
    return truth, pred


def _unwrap(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _classes(
    truth: pd.Series, pred: pd.Series, probs: pd.DataFrame | None
) -> tuple[list[Any], pd.DataFrame | None]:
    """Class labels in sorted order (scikit-learn's), and probabilities in that column order."""
    named = probs is not None and probs.shape[1] > 1 and all(c is not None for c in probs.columns)
    found = set(probs.columns) if named else set(truth.tolist()) | set(pred.tolist())
    try:
        classes = sorted(found)
    except TypeError:
        classes = sorted(found, key=str)
    if named:
        return classes, probs[classes]
    if probs is not None and probs.shape[1] > 1 and probs.shape[1] != len(classes):
        raise ValidationError(
            f"proba has {probs.shape[1]} columns but {len(classes)} classes were seen; "
            "pass proba as a DataFrame with one column per class label"
        )
    return classes, probs


def _metrics(
    task: Task,
    truth: pd.Series,
    pred: pd.Series,
    probs: pd.DataFrame | None,
    classes: list[Any],
) -> dict[str, float]:
    if truth.empty:
        return {}
    if task == "regression":
        return _regression(truth.to_numpy(dtype=float), pred.to_numpy(dtype=float))
    return _classification(truth.to_numpy(), pred.to_numpy(), probs, classes)


def _regression(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    out = {
        "mae": float(skm.mean_absolute_error(y, p)),
        "rmse": float(skm.root_mean_squared_error(y, p)),
        "mape": float(skm.mean_absolute_percentage_error(y, p)),
    }
    if y.size >= 2:  # R² is undefined (and warns) for a single sample
        out["r2"] = float(skm.r2_score(y, p))
    return out


def _classification(
    y: np.ndarray, p: np.ndarray, probs: pd.DataFrame | None, classes: list[Any]
) -> dict[str, float]:
    binary = len(classes) <= 2
    kwargs: dict[str, Any] = {"zero_division": 0.0}
    if binary:
        kwargs |= {"average": "binary", "pos_label": classes[-1]}
    else:
        kwargs["average"] = "macro"
    out = {
        "accuracy": float(skm.accuracy_score(y, p)),
        "precision": float(skm.precision_score(y, p, **kwargs)),
        "recall": float(skm.recall_score(y, p, **kwargs)),
        "f1": float(skm.f1_score(y, p, **kwargs)),
    }
    if probs is None:
        return out
    if probs.shape[1] == 1 or binary:
        positive = probs.iloc[:, -1].to_numpy(dtype=float)
        if len(set(y.tolist())) == 2:  # the greater label is positive, as in scikit-learn
            out["roc_auc"] = float(skm.roc_auc_score(y, positive))
        if len(classes) == 2:
            out["log_loss"] = float(skm.log_loss(y, positive, labels=classes))
        return out
    matrix = probs.to_numpy(dtype=float)
    if set(y.tolist()) == set(classes):
        out["roc_auc"] = float(skm.roc_auc_score(y, matrix, multi_class="ovr", labels=classes))
    out["log_loss"] = float(skm.log_loss(y, matrix, labels=classes))
    return out


def _match_reference(
    reference: dict[str, float] | None, computed: dict[str, float], task: Task
) -> dict[str, float]:
    """Offline metrics under the computed names: exact name first, then test_/val_ prefixes."""
    if not reference:
        return {}
    names = computed or dict.fromkeys(
        REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
    )
    out = {}
    for name in names:
        for prefix in REFERENCE_PREFIXES:
            value = reference.get(prefix + name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[name] = float(value)
                break
    return out


def _span_s(log: pd.DataFrame) -> float:
    if "timestamp_ms" in log.columns:
        ms = pd.to_numeric(log["timestamp_ms"], errors="coerce")
        return float(ms.max() - ms.min()) / 1000 if ms.notna().any() else 0.0
    if "timestamp" in log.columns:
        ts = pd.to_datetime(log["timestamp"], utc=True)
        return (ts.max() - ts.min()).total_seconds() if ts.notna().any() else 0.0
    return 0.0
