"""The fluent API: runs as context managers, nesting, logging and search."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import loopml
from loopml.entities import RunStatus
from loopml.errors import ParamConflictError, ValidationError


def test_start_run_logs_and_finishes(tracking):
    exp = loopml.set_experiment("diabetes")
    with loopml.start_run(run_name="ridge", tags={"team": "ml"}) as run:
        loopml.log_param("alpha", 0.5)
        loopml.log_params({"solver": "auto", "fit_intercept": True})
        loopml.log_metric("rmse", 54.5)
        loopml.log_metrics({"mae": 44.0, "r2": 0.45}, step=3)
        loopml.set_tag("stage", "dev")
        loopml.set_tags({"owner": "ann"})
    got = loopml.get_run(run.info.run_id)
    assert got.info.status == RunStatus.FINISHED
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time
    assert got.info.experiment_id == exp.experiment_id
    assert got.info.run_name == "ridge"
    assert got.data.params == {"alpha": "0.5", "solver": "auto", "fit_intercept": "True"}
    assert got.data.metrics == {"rmse": 54.5, "mae": 44.0, "r2": 0.45}
    assert got.data.tags["team"] == "ml" and got.data.tags["owner"] == "ann"
    assert got.data.tags["loopml.user"]
    assert got.data.tags["loopml.python_version"].startswith("3.")
    assert "scikit-learn" in got.data.tags["loopml.packages"]


def test_exception_marks_failed_and_keeps_data(tracking):
    with pytest.raises(RuntimeError), loopml.start_run() as run:
        loopml.log_metric("before", 1.0)
        raise RuntimeError("boom")
    got = loopml.get_run(run.info.run_id)
    assert got.info.status == RunStatus.FAILED
    assert got.data.metrics == {"before": 1.0}
    assert loopml.active_run() is None


def test_nested_runs_record_parent(tracking):
    with loopml.start_run() as parent:
        with pytest.raises(ValidationError, match="nested=True"):
            loopml.start_run()
        with loopml.start_run(nested=True) as child:
            assert loopml.active_run().info.run_id == child.info.run_id
        assert loopml.active_run().info.run_id == parent.info.run_id
    got = loopml.get_run(child.info.run_id)
    assert got.info.parent_run_id == parent.info.run_id
    assert got.data.tags["loopml.parentRunId"] == parent.info.run_id


def test_generated_names_and_resume(tracking):
    run = loopml.start_run()
    name = run.info.run_name
    assert len(name.split("-")) == 3
    loopml.end_run()
    resumed = loopml.start_run(run_id=run.info.run_id)
    assert resumed.info.status == RunStatus.RUNNING
    loopml.log_metric("m", 2.0)
    loopml.end_run("KILLED")
    got = loopml.get_run(run.info.run_id)
    assert (got.info.status, got.data.metrics) == (RunStatus.KILLED, {"m": 2.0})


def test_param_conflict_message(tracking):
    with loopml.start_run():
        loopml.log_param("lr", 0.1)
        with pytest.raises(ParamConflictError, match=r"'lr'.*'0.1'.*'0.2'"):
            loopml.log_param("lr", 0.2)


def test_metric_steps_nan_inf(tracking):
    with loopml.start_run() as run:
        for step in range(5):
            loopml.log_metric("loss", 1.0 / (step + 1), step=step)
        loopml.log_metric("nan", math.nan)
        loopml.log_metric("inf", -math.inf)
    client = loopml.tracking.get_client()
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2, 3, 4]
    assert history[-1].value == pytest.approx(0.2)
    metrics = loopml.get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"]) and metrics["inf"] == -math.inf


def test_async_logging_loses_nothing(tracking):
    loopml.enable_async_logging()
    with loopml.start_run() as run:
        for step in range(3000):
            loopml.log_metric("loss", float(step), step=step)
        loopml.log_param("p", 1)
    history = loopml.tracking.get_client().get_metric_history(run.info.run_id, "loss")
    assert len(history) == 3000
    assert loopml.get_run(run.info.run_id).data.metrics["loss"] == 2999.0


def test_async_error_surfaces_at_end_run(tracking):
    loopml.enable_async_logging()
    run = loopml.start_run()
    loopml.log_param("p", 1)
    loopml.log_param("p", 2)
    with pytest.raises(ParamConflictError):
        loopml.end_run()
    assert loopml.get_run(run.info.run_id).info.status == RunStatus.FAILED


def test_search_runs_dataframe(tracking):
    loopml.set_experiment("s")
    for alpha, rmse in [(0.1, 5.0), (0.5, 3.0), (1.0, 4.0)]:
        with loopml.start_run():
            loopml.log_param("alpha", alpha)
            loopml.log_metric("rmse", rmse)
    frame = loopml.search_runs(filter_string="metrics.rmse < 4.5", order_by=["metrics.rmse"])
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["metrics.rmse"]) == [3.0, 4.0]
    assert list(frame["params.alpha"]) == ["0.5", "1.0"]
    assert {"run_id", "status", "start_time", "tags.loopml.user"} <= set(frame.columns)
    runs = loopml.search_runs(experiment_names=["s"], output_format="list")
    assert len(runs) == 3


def test_log_input_records_dataset(tracking):
    frame = pd.DataFrame({"x": [1.0, 2.0, None], "c": ["a", "b", "a"]})
    with loopml.start_run() as run:
        item = loopml.log_input(frame, context="train", name="toy", source="memory")
    got = loopml.get_run(run.info.run_id).inputs
    assert len(got) == 1
    ds = got[0].dataset
    assert (ds.name, ds.num_rows, got[0].context) == ("toy", 3, "train")
    assert ds.digest == item.dataset.digest and len(ds.digest) == 64
    assert '"missing": 1' in ds.profile
    changed = frame.assign(x=[1.0, 2.0, 3.0])
    assert loopml.describe_dataset(changed).digest != ds.digest


def test_set_experiment_requires_one_argument(tracking):
    with pytest.raises(ValidationError, match="exactly one"):
        loopml.set_experiment()
