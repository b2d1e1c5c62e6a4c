"""Model quality equals scikit-learn's metrics; service health equals numpy's percentiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from loopml.errors import ValidationError
from loopml.monitoring._model_quality import model_quality, service_health


@pytest.fixture
def regression() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 400
    y = rng.normal(10, 3, n)
    frame = pd.DataFrame(
        {
            "label": y,
            "prediction": y + rng.normal(0, 1, n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    frame.loc[rng.choice(n, 50, replace=False), "label"] = np.nan  # not labelled yet
    return frame


def test_regression_equals_sklearn_overall_and_per_segment(regression):
    result = model_quality(
        regression["label"],
        regression["prediction"],
        segments=regression["region"],
        reference_metrics={"val_rmse": 0.9, "mae": 0.8, "test_mae": 5.0, "other": 1.0},
    )
    labelled = regression.dropna(subset=["label"])
    assert result.task == "regression"
    assert result.labelled_rows == len(labelled) == 350

    def expected(part: pd.DataFrame) -> dict[str, float]:
        y, p = part["label"], part["prediction"]
        return {
            "mae": skm.mean_absolute_error(y, p),
            "rmse": skm.root_mean_squared_error(y, p),
            "mape": skm.mean_absolute_percentage_error(y, p),
            "r2": skm.r2_score(y, p),
        }

    assert result.metrics == pytest.approx(expected(labelled), rel=1e-12)
    assert result.segment_column == "region"
    assert sorted(result.segments) == ["east", "north", "south"]
    for name, part in labelled.groupby("region"):
        values = result.segments[name]
        assert values["labelled_rows"] == len(part)
        assert {k: v for k, v in values.items() if k != "labelled_rows"} == pytest.approx(
            expected(part), rel=1e-12
        )
    assert result.reference == {"mae": 0.8, "rmse": 0.9}  # exact name wins over test_mae
    flat = result.metrics_flat()
    assert flat["rmse.north"] == result.segments["north"]["rmse"]
    assert flat["labelled_rows"] == 350.0


def test_binary_classification_with_probabilities_equals_sklearn():
    rng = np.random.default_rng(2)
    n = 300
    y = rng.integers(0, 2, n)
    p1 = np.clip(y * 0.6 + rng.uniform(0, 0.4, n), 0.01, 0.99)
    pred = (p1 > 0.5).astype(int)
    labels = pd.Series(y, dtype=float)
    labels[:20] = np.nan  # from a joined log: unlabelled rows make the labels float
    seg = pd.Series(rng.choice(["a", "b"], n), name="plan")
    result = model_quality(labels, pred, proba=p1, segments=seg)
    yl, pl, ql = y[20:], pred[20:], p1[20:]
    assert result.task == "classification"
    assert result.labelled_rows == n - 20
    assert result.metrics == pytest.approx(
        {
            "accuracy": skm.accuracy_score(yl, pl),
            "precision": skm.precision_score(yl, pl),
            "recall": skm.recall_score(yl, pl),
            "f1": skm.f1_score(yl, pl),
            "roc_auc": skm.roc_auc_score(yl, ql),
            "log_loss": skm.log_loss(yl, ql),
        },
        rel=1e-12,
    )
    mask = seg.to_numpy()[20:] == "b"
    assert result.segments["b"]["f1"] == pytest.approx(skm.f1_score(yl[mask], pl[mask]))
    assert result.segments["b"]["roc_auc"] == pytest.approx(skm.roc_auc_score(yl[mask], ql[mask]))
    # two probability columns named by class give the same numbers
    both = pd.DataFrame({1: p1, 0: 1 - p1})
    again = model_quality(labels, pred, proba=both)
    assert again.metrics == pytest.approx(result.metrics, rel=1e-12)


def test_multiclass_string_labels_macro_and_probabilities():
    rng = np.random.default_rng(3)
    classes = ["cat", "dog", "eel"]
    n = 240
    y = rng.choice(classes, n)
    raw = rng.uniform(0.1, 1, (n, 3)) + (y[:, None] == np.array(classes)) * 1.5
    proba = raw / raw.sum(axis=1, keepdims=True)
    pred = np.array(classes)[proba.argmax(axis=1)]
    truth = pd.Series(y, dtype=object)
    truth[::10] = None
    keep = truth.notna().to_numpy()
    # columns in another order than sorted: matched by name
    frame = pd.DataFrame(proba, columns=classes)[["eel", "cat", "dog"]]
    result = model_quality(truth, pred, proba=frame)
    yk, pk, qk = y[keep], pred[keep], proba[keep]
    assert result.metrics == pytest.approx(
        {
            "accuracy": skm.accuracy_score(yk, pk),
            "precision": skm.precision_score(yk, pk, average="macro"),
            "recall": skm.recall_score(yk, pk, average="macro"),
            "f1": skm.f1_score(yk, pk, average="macro"),
            "roc_auc": skm.roc_auc_score(yk, qk, multi_class="ovr", labels=classes),
            "log_loss": skm.log_loss(yk, qk, labels=classes),
        },
        rel=1e-12,
    )
    unnamed = model_quality(truth, pred, proba=proba)  # array columns in sorted class order
    assert unnamed.metrics == pytest.approx(result.metrics, rel=1e-12)


def test_task_inference_and_explicit_task():
    assert model_quality([1, 0, 1], [1, 1, 1]).task == "classification"
    assert model_quality(["y", "n"], ["y", "y"]).task == "classification"
    assert model_quality([1.5, 2.0, 3.1], [1.0, 2.0, 3.0]).task == "regression"
    result = model_quality([1, 2, 3], [1, 2, 4], task="regression")
    assert result.metrics["mae"] == pytest.approx(1 / 3)
    with pytest.raises(ValidationError, match="task must be"):
        model_quality([1], [1], task="ranking")  # type: ignore[arg-type]


def test_no_labels_gives_empty_metrics_without_warnings():
    result = model_quality(
        pd.Series([np.nan, np.nan]),
        pd.Series([1.0, 2.5]),
        segments=pd.Series(["a", "b"]),
        reference_metrics={"rmse": 1.0},
    )
    assert (result.metrics, result.labelled_rows, result.segments) == ({}, 0, {})
    assert result.reference == {"rmse": 1.0}
    empty = model_quality([], [], task="classification")
    assert (empty.metrics, empty.labelled_rows) == ({}, 0)
    one = model_quality([2.0], [1.0], task="regression")  # r2 undefined for one row: left out
    assert one.metrics == {"mae": 1.0, "rmse": 1.0, "mape": 0.5}


def test_single_class_window_does_not_crash():
    result = model_quality([1, 1, 1], [1, 0, 1], proba=[0.9, 0.2, 0.8])
    assert result.metrics["accuracy"] == pytest.approx(2 / 3)
    assert "roc_auc" not in result.metrics  # undefined with one class present
    assert result.metrics["log_loss"] == pytest.approx(
        skm.log_loss([1, 1, 1], [0.9, 0.2, 0.8], labels=[0, 1])
    )


def test_missing_segment_values_form_their_own_segment():
    result = model_quality(
        [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0], segments=["a", None, "a", None]
    )
    assert sorted(result.segments) == ["(missing)", "a"]
    assert result.segments["(missing)"]["mae"] == pytest.approx(0.5)
    assert result.segment_column == "segment"


def test_length_mismatch_is_a_clear_error():
    with pytest.raises(ValidationError, match="y_true has 2 rows but y_pred has 1"):
        model_quality([1, 2], [1])
    with pytest.raises(ValidationError, match="segments has 1 rows"):
        model_quality([1, 2], [1, 2], segments=["a"])


def test_service_health_matches_numpy():
    rng = np.random.default_rng(4)
    n = 1000
    start = pd.Timestamp("2024-05-01", tz="UTC")
    log = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "timestamp": start + pd.to_timedelta(np.sort(rng.uniform(0, 200, n)), unit="s"),
            "latency_ms": rng.gamma(2.0, 10.0, n),
            "status": np.where(rng.uniform(size=n) < 0.07, 500, 200).astype(np.int32),
        }
    )
    health = service_health(log)
    p50, p95, p99 = np.percentile(log["latency_ms"], [50, 95, 99])
    assert health.requests == n
    assert health.error_share == pytest.approx((log["status"] >= 400).mean())
    assert (health.latency_p50_ms, health.latency_p95_ms, health.latency_p99_ms) == (p50, p95, p99)
    span = (log["timestamp"].max() - log["timestamp"].min()).total_seconds()
    assert health.throughput_per_s == pytest.approx(n / span)
    assert service_health(log, window_s=500).throughput_per_s == pytest.approx(n / 500)
    # timestamp_ms works too, and an error column counts as errors
    raw = log.assign(timestamp_ms=(log["timestamp"].astype("int64") // 10**6)).drop(
        columns=["timestamp", "status"]
    )
    raw["error"] = [None] * (n - 3) + ["boom", "timeout", ""]
    other = service_health(raw)
    assert other.error_share == pytest.approx(2 / n)
    assert other.throughput_per_s == pytest.approx(n / span, rel=1e-3)


def test_service_health_of_an_empty_or_single_log():
    empty = service_health(pd.DataFrame(columns=["timestamp", "latency_ms", "status"]))
    assert (empty.requests, empty.throughput_per_s, empty.error_share) == (0, 0.0, 0.0)
    assert np.isnan(empty.latency_p99_ms)
    assert empty.to_dict()["latency_p99_ms"] is None
    one = service_health(pd.DataFrame({"timestamp_ms": [5], "latency_ms": [3.0], "status": [200]}))
    assert one.latency_p50_ms == 3.0
    assert np.isnan(one.throughput_per_s)
