"""The metadata store contract, run against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import inspect

from loopml.entities import (
    Dataset,
    DatasetInput,
    LifecycleStage,
    Metric,
    Param,
    RunStatus,
    RunTag,
    ViewType,
)
from loopml.errors import (
    ConflictError,
    NotFoundError,
    ParamConflictError,
    ValidationError,
)
from loopml.store.metadata import SqlTrackingStore, current_revision, head_revision
from loopml.store.metadata._schema import metadata


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> SqlTrackingStore:
    """A fresh store on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'loopml.db'}"
    else:
        url = request.getfixturevalue("fresh_postgres_url")
    s = SqlTrackingStore(url, str(tmp_path / "artifacts"))
    yield s
    s.dispose()


def _run(store: SqlTrackingStore, name: str = "r", **kw):
    return store.create_run("0", run_name=name, user_id="ann", **kw)


def test_open_migrates_to_head_and_seeds_default(store):
    with store.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
        tables = set(inspect(conn).get_table_names())
    assert set(metadata.tables) <= tables
    default = store.get_experiment("0")
    assert default.name == "Default"
    assert default.artifact_location.endswith("/artifacts/0")


def test_experiment_lifecycle(store):
    exp_id = store.create_experiment("exp-a", tags={"team": "x"}, description="d")
    exp = store.get_experiment(exp_id)
    assert (exp.name, exp.tags, exp.description) == ("exp-a", {"team": "x"}, "d")
    assert exp.artifact_location.endswith(f"/artifacts/{exp_id}")
    with pytest.raises(ConflictError, match="already exists"):
        store.create_experiment("exp-a")
    run = _run(store).info.run_id
    store.delete_experiment(exp_id)
    assert store.get_experiment(exp_id).lifecycle_stage == LifecycleStage.DELETED
    assert [e.name for e in store.search_experiments()] == ["Default"]
    assert [e.name for e in store.search_experiments(ViewType.DELETED_ONLY)] == ["exp-a"]
    with pytest.raises(ConflictError, match="restore it"):
        store.create_experiment("exp-a")
    with pytest.raises(ConflictError, match="deleted"):
        store.create_run(exp_id, run_name="x")
    store.restore_experiment(exp_id)
    assert store.get_experiment(exp_id).lifecycle_stage == LifecycleStage.ACTIVE
    assert store.get_run(run).info.lifecycle_stage == LifecycleStage.ACTIVE
    with pytest.raises(ConflictError, match="already active"):
        store.restore_experiment(exp_id)
    with pytest.raises(ValidationError, match="cannot be deleted"):
        store.delete_experiment("0")
    with pytest.raises(NotFoundError, match="'999'"):
        store.get_experiment("999")
    with pytest.raises(ValidationError, match="not valid"):
        store.get_experiment("abc")


def test_run_create_and_terminate(store):
    run = _run(store, "first", start_time=1_000, tags=[RunTag("a", "1")])
    info = run.info
    assert len(info.run_id) == 32 and int(info.run_id, 16) >= 0
    assert (info.run_name, info.status, info.start_time, info.user_id) == (
        "first",
        RunStatus.RUNNING,
        1_000,
        "ann",
    )
    assert info.artifact_uri.endswith(f"/0/{info.run_id}/artifacts")
    assert run.data.tags == {"a": "1"}
    store.update_run_info(info.run_id, status=RunStatus.FINISHED, end_time=2_000)
    done = store.get_run(info.run_id).info
    assert (done.status, done.end_time) == (RunStatus.FINISHED, 2_000)
    child = _run(store, "child", parent_run_id=info.run_id)
    assert child.info.parent_run_id == info.run_id
    with pytest.raises(NotFoundError):
        _run(store, "orphan", parent_run_id="f" * 32)


def test_params_are_write_once(store):
    rid = _run(store).info.run_id
    store.log_batch(rid, params=[Param("alpha", "0.5"), Param("model", "rf")])
    store.log_batch(rid, params=[Param("alpha", "0.5")])  # same value: fine
    with pytest.raises(ParamConflictError) as err:
        store.log_batch(rid, params=[Param("beta", "1"), Param("alpha", "0.7")])
    assert "'alpha'" in str(err.value) and "'0.5'" in str(err.value) and "'0.7'" in str(err.value)
    # the failed batch wrote nothing (all or nothing)
    assert store.get_run(rid).data.params == {"alpha": "0.5", "model": "rf"}


def test_metrics_history_latest_and_special_values(store):
    rid = _run(store).info.run_id
    store.log_batch(
        rid,
        metrics=[
            Metric("loss", 3.0, 100, 0),
            Metric("loss", 2.0, 101, 1),
            Metric("loss", 9.0, 99, 0),  # older step: history only
            Metric("nan", math.nan, 100, 0),
            Metric("pinf", math.inf, 100, 0),
            Metric("ninf", -math.inf, 100, 0),
        ],
    )
    store.log_batch(rid, metrics=[Metric("loss", 1.5, 50, 1)])  # same step, older time
    data = store.get_run(rid).data.metrics
    assert data["loss"] == 2.0
    assert math.isnan(data["nan"])
    assert data["pinf"] == math.inf and data["ninf"] == -math.inf
    history = store.get_metric_history(rid, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 9.0), (0, 3.0), (1, 1.5), (1, 2.0)]
    nan_hist = store.get_metric_history(rid, "nan")
    assert len(nan_hist) == 1 and math.isnan(nan_hist[0].value)


def test_bad_values_are_refused_without_writing(store):
    rid = _run(store).info.run_id
    with pytest.raises(ValidationError, match="must be numbers"):
        store.log_batch(rid, metrics=[Metric("ok", 1.0, 1, 0), Metric("bad", "x", 1, 0)])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not allowed"):
        store.log_batch(rid, tags=[RunTag("../escape", "v")])
    with pytest.raises(ValidationError, match="limit is 8000"):
        store.log_batch(rid, params=[Param("p", "x" * 9000)])
    assert store.get_run(rid).data.metrics == {}


def test_tags_overwrite_and_delete(store):
    rid = _run(store).info.run_id
    store.log_batch(rid, tags=[RunTag("k", "1")])
    store.log_batch(rid, tags=[RunTag("k", "2"), RunTag("j", "3")])
    assert store.get_run(rid).data.tags == {"k": "2", "j": "3"}
    store.delete_tag(rid, "k")
    assert store.get_run(rid).data.tags == {"j": "3"}
    with pytest.raises(NotFoundError):
        store.delete_tag(rid, "k")


def test_deleted_run_refuses_logging_and_restores(store):
    rid = _run(store).info.run_id
    store.delete_run(rid)
    assert store.get_run(rid).info.lifecycle_stage == LifecycleStage.DELETED
    with pytest.raises(ConflictError, match="restore"):
        store.log_batch(rid, metrics=[Metric("m", 1.0, 1, 0)])
    store.restore_run(rid)
    store.log_batch(rid, metrics=[Metric("m", 1.0, 1, 0)])
    assert store.get_run(rid).data.metrics == {"m": 1.0}


def test_dataset_inputs_are_shared_by_digest(store):
    a = _run(store, "a").info.run_id
    b = _run(store, "b").info.run_id
    ds = Dataset(name="diabetes", digest="d" * 64, source="sklearn", num_rows=442)
    store.log_inputs(a, [DatasetInput(ds, "train"), DatasetInput(ds, "test")])
    store.log_inputs(a, [DatasetInput(ds, "train")])  # idempotent
    store.log_inputs(b, [DatasetInput(ds, "train")])
    inputs = store.get_run(a).inputs
    assert sorted(i.context for i in inputs) == ["test", "train"]
    assert inputs[0].dataset.num_rows == 442
    assert store.get_run(b).inputs[0].dataset.digest == "d" * 64


def test_search_filters_orders_and_pages(store):
    ids = {}
    for i, model in enumerate(["rf", "rf", "ridge", "gbr"]):
        rid = _run(store, f"run-{i}", start_time=1000 + i).info.run_id
        store.log_batch(
            rid,
            metrics=[Metric("rmse", 10.0 - i, 1, 0)],
            params=[Param("model", model)],
            tags=[RunTag("team", "x" if i % 2 else "y")],
        )
        ids[i] = rid
    found = store.search_runs(["0"], "metrics.rmse < 9.5 and params.model = 'rf'")
    assert [r.info.run_id for r in found] == [ids[1]]
    ordered = store.search_runs(["0"], order_by=["metrics.rmse ASC"])
    assert [r.info.run_id for r in ordered] == [ids[3], ids[2], ids[1], ids[0]]
    first = store.search_runs(["0"], max_results=3)
    assert [r.info.run_id for r in first] == [ids[3], ids[2], ids[1]]
    assert first.next_page_token is not None
    rest = store.search_runs(["0"], max_results=3, page_token=first.next_page_token)
    assert [r.info.run_id for r in rest] == [ids[0]] and rest.next_page_token is None
    with pytest.raises(ValidationError, match="max_results"):
        store.search_runs(["0"], max_results=0)


def test_search_string_operators_and_attributes(store):
    made = {}
    for name, tag in [("Alpha", "Team-A"), ("beta", "team-b"), ("gamma", "TEAM-C")]:
        rid = _run(store, name).info.run_id
        store.log_batch(rid, tags=[RunTag("team", tag)], params=[Param("n", name)])
        made[name] = rid
    store.log_batch(made["beta"], metrics=[Metric("m", math.nan, 1, 0)])
    store.update_run_info(made["gamma"], status=RunStatus.FINISHED)

    def ids(flt):
        return {r.info.run_id for r in store.search_runs(["0"], flt)}

    assert ids("tags.team LIKE 'team-%'") == {made["beta"]}  # LIKE is case-sensitive
    assert ids("tags.team ILIKE 'team-%'") == set(made.values())
    assert ids("tags.team NOT LIKE 'team-%'") == {made["Alpha"], made["gamma"]}
    assert ids("attributes.run_name = 'Alpha'") == {made["Alpha"]}
    assert ids("attributes.status = 'FINISHED'") == {made["gamma"]}
    assert ids(f"attributes.run_id IN ('{made['beta']}', 'nope')") == {made["beta"]}
    assert ids("params.n != 'beta'") == {made["Alpha"], made["gamma"]}
    assert ids("params.missing IS NULL") == set(made.values())
    store.log_batch(made["Alpha"], metrics=[Metric("m", 1.0, 1, 0)])
    assert ids("metrics.m < 100 and metrics.m > -100") == {made["Alpha"]}  # NaN never matches
    for direction in ("ASC", "DESC"):  # values, then NaN, then missing, either way
        ordered = store.search_runs(["0"], order_by=[f"metrics.m {direction}"])
        assert [r.info.run_id for r in ordered] == [made["Alpha"], made["beta"], made["gamma"]]
