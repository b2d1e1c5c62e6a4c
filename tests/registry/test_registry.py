"""The model registry: versions, READY only when files verify, aliases, stages, approvals."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml
from loopml.entities import ModelVersionStatus, Stage
from loopml.errors import ConflictError, NotFoundError, StoreError, ValidationError
from loopml.models import log_model
from loopml.registry import RegistryClient, parse_model_uri


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    d = load_diabetes(as_frame=True)
    return d.data, d.target


@pytest.fixture
def logged(tracking, data):
    """Two runs with a logged Ridge model each; returns their model URIs."""
    X, y = data
    uris = []
    for alpha in (0.1, 1.0):
        with loopml.start_run():
            model = Ridge(alpha=alpha).fit(X, y)
            loopml.log_metric("rmse", float(np.sqrt(np.mean((model.predict(X) - y) ** 2))))
            uris.append(log_model(model, "model", training_data=X).model_uri)
    return uris


@pytest.fixture
def registry(tracking) -> RegistryClient:
    return RegistryClient(str(tracking))


def test_register_versions_and_load_by_uri(registry, logged, data):
    X, _ = data
    v1 = registry.register_model(logged[0], "diabetes", description="first")
    v2 = registry.register_model(logged[1], "diabetes")
    assert (v1.version, v2.version) == (1, 2)
    assert v1.status == ModelVersionStatus.READY and v1.flavor == "sklearn"
    assert v1.run_id == logged[0].split("/")[1]
    assert "rmse" in v1.metrics
    assert json.loads(v1.signature)["inputs"][0]["name"] == "age"
    assert v1.storage_location.endswith("/models/diabetes/1")
    model = registry.get_registered_model("diabetes")
    assert model.latest_version == 2 and model.description is None
    by_number = registry.load_model("models:/diabetes/1")
    latest = registry.load_model("models:/diabetes/latest")
    assert by_number.predict(X.head(3)).shape == (3,)
    assert not np.allclose(by_number.predict(X.head(3)), latest.predict(X.head(3)))


def test_aliases_move_with_events(registry, logged):
    registry.register_model(logged[0], "m")
    registry.register_model(logged[1], "m")
    registry.set_alias("m", "champion", 1, reason="first good model")
    assert registry.resolve("models:/m@champion").version == 1
    registry.set_alias("m", "champion", 2, reason="better rmse")
    assert registry.resolve("models:/m@champion").version == 2
    assert registry.get_model_version("m", 2).aliases == ("champion",)
    moves = [e for e in registry.events("model_alias") if e.entity_id == "m@champion"]
    assert [(json.loads(e.before), json.loads(e.after), e.reason) for e in moves] == [
        ({"version": None}, {"version": 1}, "first good model"),
        ({"version": 1}, {"version": 2}, "better rmse"),
    ]
    assert all(e.actor for e in moves)
    last = moves[-1].id
    registry.delete_alias("m", "champion")
    new = registry.events(after_id=last)
    assert [e.action for e in new] == ["alias_deleted"]
    with pytest.raises(NotFoundError, match="no alias 'champion'"):
        registry.resolve("models:/m@champion")
    with pytest.raises(ValidationError, match="alias '3'"):
        registry.set_alias("m", "3", 1)


def test_stages_archive_existing(registry, logged):
    registry.register_model(logged[0], "s")
    registry.register_model(logged[1], "s")
    registry.transition_stage("s", 1, "production")
    registry.transition_stage("s", 2, "Production", archive_existing=True, reason="v2 better")
    assert registry.get_model_version("s", 1).stage == Stage.ARCHIVED
    assert registry.get_model_version("s", 2).stage == Stage.PRODUCTION
    actions = [
        (e.entity_id, json.loads(e.after)["stage"])
        for e in registry.events("model_version")
        if e.action == "stage_transition"
    ]
    assert actions == [("s/1", "Production"), ("s/1", "Archived"), ("s/2", "Production")]
    with pytest.raises(ValidationError, match="stage 'live'"):
        registry.transition_stage("s", 1, "live")


def test_approval_policy_gates_champion(registry, logged):
    registry.register_model(logged[0], "gated")
    registry.set_approval_policy("gated", True)
    with pytest.raises(ConflictError, match="requires an approval"):
        registry.set_alias("gated", "champion", 1)
    registry.set_alias("gated", "challenger", 1)  # other aliases are not gated
    with pytest.raises(ValidationError, match="needs a reason"):
        registry.approve("gated", 1, " ")
    approval = registry.approve("gated", 1, "reviewed the segment metrics")
    assert approval.approver and approval.reason == "reviewed the segment metrics"
    registry.set_alias("gated", "champion", 1)
    assert registry.store.list_approvals("gated", 1) == [approval]


def test_delete_refuses_alias_target_and_removes_files(registry, logged, tracking):
    v = registry.register_model(logged[0], "d")
    registry.set_alias("d", "champion", 1)
    with pytest.raises(ConflictError, match="alias"):
        registry.delete_model_version("d", 1)
    from pathlib import Path

    assert Path(v.storage_location).is_dir()
    registry.delete_model_version("d", 1, force=True)
    assert not Path(v.storage_location).exists()
    with pytest.raises(NotFoundError, match="no version 1"):
        registry.get_model_version("d", 1)
    assert [e.action for e in registry.events("model_version") if e.entity_id == "d/1"] == [
        "registered",
        "deleted",
    ]


def test_failed_copy_leaves_failed_version_and_no_files(registry, logged, monkeypatch):
    from loopml.store.artifacts import FsspecArtifactStore

    def broken(self, local, relative):  # type: ignore[no-untyped-def]
        raise StoreError("disk full")

    monkeypatch.setattr(FsspecArtifactStore, "_put", broken)
    with pytest.raises(StoreError, match="disk full"):
        registry.register_model(logged[0], "f")
    monkeypatch.undo()
    v = registry.get_model_version("f", 1)
    assert v.status == ModelVersionStatus.FAILED and "disk full" in v.status_message
    from pathlib import Path

    assert not Path(v.storage_location).exists()
    with pytest.raises(ConflictError, match="not READY"):
        registry.load_model("models:/f/1")
    with pytest.raises(ConflictError, match="only READY"):
        registry.set_alias("f", "champion", 1)


def test_parse_model_uri():
    assert parse_model_uri("models:/taxi@champion").alias == "champion"
    assert parse_model_uri("models:/taxi/3").version == 3
    assert parse_model_uri("models:/taxi/latest").latest
    for bad in ("models:/taxi", "models:/taxi/0", "models:/@x", "models:/t/x/y"):
        with pytest.raises(ValidationError, match="models:/NAME/VERSION"):
            parse_model_uri(bad)


REGISTER = textwrap.dedent(
    """
    import sys
    from loopml.registry import RegistryClient
    client = RegistryClient(sys.argv[1])
    for _ in range(3):
        print(client.register_model(sys.argv[2], "race").version, flush=True)
    """
)


def test_concurrent_registration_gets_distinct_numbers(tracking, logged):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", REGISTER, str(tracking), logged[0]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    numbers = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        numbers += [int(x) for x in out.split()]
    assert sorted(numbers) == [1, 2, 3, 4, 5, 6]
    versions = RegistryClient(str(tracking)).list_versions("race")
    assert [v.version for v in versions] == [6, 5, 4, 3, 2, 1]
    assert all(v.status == ModelVersionStatus.READY for v in versions)


def test_registry_on_postgres_with_concurrent_threads(
    fresh_postgres_url, tmp_path, data, monkeypatch
):
    """Threads racing to register the first versions of a new model on PostgreSQL."""
    monkeypatch.setenv("LOOPML_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    from concurrent.futures import ThreadPoolExecutor

    from loopml.models import save_model
    from loopml.tracking import Client

    X, y = data
    folder = save_model(Ridge().fit(X, y), tmp_path / "pkg", training_data=X)
    client = Client(fresh_postgres_url)
    registry = RegistryClient(client=client)
    with ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda _: registry.register_model(folder, "pg").version, range(8)))
    assert sorted(versions) == list(range(1, 9))
    registry.set_alias("pg", "champion", 8)
    assert registry.load_model("models:/pg@champion").predict(X.head(2)).shape == (2,)
    client.store.dispose()


def test_fluent_log_and_register(tracking, data):
    X, y = data
    with loopml.start_run():
        info = loopml.log_model(Ridge().fit(X, y), "model", registered_model_name="fluent")
    assert info.model_uri.endswith("/model")
    version = loopml.RegistryClient(str(tracking)).get_model_version("fluent", 1)
    assert version.status == ModelVersionStatus.READY
    assert loopml.load_model("models:/fluent/1").predict(X.head(1)).shape == (1,)
    assert loopml.register_model(info.model_uri, "fluent").version == 2


def test_descriptions_and_tags(registry, logged):
    registry.register_model(logged[0], "t")
    registry.update_registered_model("t", "predicts progression")
    registry.set_registered_model_tag("t", "team", "ml")
    registry.set_model_version_tag("t", 1, "limitations", "one cohort only")
    model = registry.get_registered_model("t")
    assert (model.description, model.tags) == ("predicts progression", {"team": "ml"})
    assert registry.get_model_version("t", 1).tags == {"limitations": "one cohort only"}
    with pytest.raises(NotFoundError, match="no version 9"):
        registry.set_model_version_tag("t", 9, "k", "v")
