"""Client: explicit ids, artifacts, lifecycle helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopml.entities import Metric, Param, RunStatus, RunTag
from loopml.errors import ConflictError, ValidationError
from loopml.tracking import Client


@pytest.fixture
def client(tmp_path) -> Client:
    return Client(str(tmp_path / "store"))


def test_cheap_constructor_touches_nothing(tmp_path):
    Client(str(tmp_path / "lazy"))
    assert not (tmp_path / "lazy").exists()


def test_store_location_for_uris(tmp_path):
    assert Client(str(tmp_path / "a")).store.db_url == f"sqlite:///{tmp_path / 'a' / 'loopml.db'}"
    c = Client(f"sqlite:///{tmp_path / 'b.db'}")
    assert c.store.default_artifact_root == str(tmp_path / "artifacts")
    with pytest.raises(ValidationError, match="not supported"):
        Client("ftp://example/x")
    with pytest.raises(ValidationError, match="loopml server"):
        Client("http://127.0.0.1:5000")


def test_log_batch_and_terminate(client):
    run = client.create_run("0", run_name="b")
    rid = run.info.run_id
    client.log_batch(
        rid,
        metrics=[Metric("a", 1.0, 10, 0), Metric("a", 2.0, 11, 1)],
        params=[Param("x", "1")],
        tags=[RunTag("t", "v")],
    )
    got = client.get_run(rid)
    assert got.data.metrics == {"a": 2.0}
    assert got.data.tags["loopml.runName"] == "b"
    client.set_terminated(rid, "failed")
    assert client.get_run(rid).info.status == RunStatus.FAILED
    with pytest.raises(ValidationError, match="does not end a run"):
        client.set_terminated(rid, "RUNNING")
    with pytest.raises(ValidationError, match="not valid"):
        client.set_terminated(rid, "DONE")


def test_artifacts_roundtrip(client, tmp_path):
    rid = client.create_run("0").info.run_id
    src = tmp_path / "model.txt"
    src.write_text("weights")
    client.log_artifact(rid, src)
    client.log_artifact(rid, src, "nested/dir")
    client.log_text(rid, "hello", "notes/readme.md")
    client.log_dict(rid, {"a": 1}, "config.json")
    listing = {f.path: f.is_dir for f in client.list_artifacts(rid)}
    assert listing == {"model.txt": False, "nested": True, "notes": True, "config.json": False}
    out = client.download_artifacts(rid, "config.json", tmp_path / "dl")
    assert json.loads(Path(out).read_text()) == {"a": 1}
    client.delete_run(rid)
    with pytest.raises(ConflictError, match="deleted"):
        client.log_text(rid, "x", "y.txt")


def test_log_figure(client, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rid = client.create_run("0").info.run_id
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    client.log_figure(rid, fig, "plots/curve.png")
    plt.close(fig)
    assert [f.path for f in client.list_artifacts(rid, "plots")] == ["plots/curve.png"]
    with pytest.raises(ValidationError, match="matplotlib Figure"):
        client.log_figure(rid, object(), "x.png")


def test_postgres_metadata_with_s3_artifacts(fresh_postgres_url, s3_root, monkeypatch, tmp_path):
    """The team setup: PostgreSQL for metadata, S3 for artifacts."""
    monkeypatch.setenv("LOOPML_ARTIFACT_ROOT", s3_root)
    client = Client(fresh_postgres_url)
    exp = client.create_experiment("team")
    run = client.create_run(exp, run_name="remote")
    assert run.info.artifact_uri == f"{s3_root}/{exp}/{run.info.run_id}/artifacts"
    client.log_text(run.info.run_id, "remote text", "notes/a.txt")
    client.log_metric(run.info.run_id, "rmse", 3.5)
    assert [f.path for f in client.list_artifacts(run.info.run_id, "notes")] == ["notes/a.txt"]
    local = client.download_artifacts(run.info.run_id, "notes/a.txt", tmp_path)
    assert Path(local).read_text() == "remote text"
    found = client.search_runs([exp], "metrics.rmse < 4")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    client.store.dispose()


def test_kill_run_only_changes_running_runs(client):
    rid = client.create_run("0").info.run_id
    client.set_terminated(rid, "FINISHED")
    assert client.kill_run(rid) is False
    assert client.get_run(rid).info.status == RunStatus.FINISHED
    live = client.create_run("0").info.run_id
    assert client.kill_run(live) is True
    assert client.get_run(live).info.status == RunStatus.KILLED


def test_unusable_store_gives_a_clear_error(tmp_path):
    from loopml.errors import StoreError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the store folder"):
        Client(str(blocker / "store")).search_experiments()
    with pytest.raises(StoreError, match="cannot open the metadata store"):
        Client("postgresql://nobody@127.0.0.1:1/db").search_experiments()
