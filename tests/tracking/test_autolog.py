"""autolog() for scikit-learn."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.entities import RunStatus


@pytest.fixture
def autologged(tracking):
    loopml.autolog()
    yield
    loopml.autolog(disable=True)


def test_autolog_starts_a_run_and_logs(autologged):
    X, y = load_diabetes(return_X_y=True)
    model = Ridge(alpha=0.3).fit(X, y)
    runs = loopml.search_runs(output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params["alpha"] == "0.3"
    assert run.data.metrics["training_score"] == pytest.approx(model.score(X, y))
    assert run.data.metrics["fit_time_seconds"] > 0
    assert run.data.tags["estimator_name"] == "Ridge"


def test_autolog_pipeline_logs_once_inside_active_run(autologged):
    X, y = load_diabetes(return_X_y=True)
    with loopml.start_run() as run:
        make_pipeline(StandardScaler(), Ridge()).fit(X, y)
    runs = loopml.search_runs(output_format="list")
    assert [r.info.run_id for r in runs] == [run.info.run_id]
    got = runs[0]
    assert got.data.tags["estimator_name"] == "Pipeline"
    assert got.data.params["ridge__alpha"] == "1.0"


def test_autolog_disable_restores_fit(autologged):
    loopml.autolog(disable=True)
    X, y = load_diabetes(return_X_y=True)
    Ridge().fit(X, y)
    assert len(loopml.search_runs(output_format="list")) == 0
