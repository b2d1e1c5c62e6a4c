"""The loopml command line against a real folder store."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from loopml.cli import app
from loopml.entities import Metric, Param, RunStatus
from loopml.tracking import Client

runner = CliRunner()


@pytest.fixture
def store(tmp_path) -> tuple[str, Client, dict[str, str]]:
    uri = str(tmp_path / "store")
    c = Client(uri)
    exp = c.create_experiment("demo")
    ids = {}
    for name, model, rmse in [("a", "rf", 5.0), ("b", "ridge", 3.0), ("c", "rf", 4.0)]:
        run = c.create_run(exp, run_name=name)
        c.log_batch(
            run.info.run_id,
            metrics=[Metric("rmse", rmse, 1, 0), Metric("r2", 1 / rmse, 1, 0)],
            params=[Param("model", model)],
        )
        c.set_terminated(run.info.run_id)
        ids[name] = run.info.run_id
    return uri, c, ids


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_experiments_commands(store):
    uri, c, _ = store
    res = invoke("experiments", "create", "new", "--tag", "team=x", "-t", uri)
    assert res.exit_code == 0, res.output
    new_id = res.output.strip()
    assert c.get_experiment(new_id).tags == {"team": "x"}
    listed = json.loads(invoke("experiments", "list", "--json", "-t", uri).output)
    assert [e["name"] for e in listed] == ["Default", "demo", "new"]
    assert invoke("experiments", "delete", "new", "-t", uri).exit_code == 0
    active = json.loads(invoke("experiments", "list", "--json", "-t", uri).output)
    assert "new" not in [e["name"] for e in active]
    deleted = json.loads(invoke("experiments", "list", "--deleted", "--json", "-t", uri).output)
    assert [e["name"] for e in deleted] == ["new"]
    assert invoke("experiments", "restore", new_id, "-t", uri).exit_code == 0
    dup = invoke("experiments", "create", "new", "-t", uri)
    assert dup.exit_code == 1 and "already exists" in dup.output
    bad_tag = invoke("experiments", "create", "x", "--tag", "novalue", "-t", uri)
    assert bad_tag.exit_code == 1 and "key=value" in bad_tag.output


def test_runs_list_filter_order_json(store):
    uri, _, ids = store
    res = invoke(
        "runs",
        "list",
        "-e",
        "demo",
        "-f",
        "params.model = 'rf'",
        "-o",
        "metrics.rmse ASC",
        "--json",
        "-t",
        uri,
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert [r["run_id"] for r in data] == [ids["c"], ids["a"]]
    assert data[0]["metrics"]["rmse"] == 4.0 and data[0]["params"] == {"model": "rf"}
    table = invoke("runs", "list", "-e", "demo", "--max", "2", "-o", "metrics.rmse", "-t", uri)
    assert table.exit_code == 0
    assert ids["b"] in table.output and ids["c"] in table.output and ids["a"] not in table.output
    assert "rmse" in table.output


def test_bad_filter_points_at_token(store):
    uri, _, _ = store
    res = invoke("runs", "list", "-f", "metrics.rmse < 'x'", "-t", uri)
    assert res.exit_code == 1
    assert "compares numbers" in res.output and "^" in res.output
    assert "Traceback" not in res.output


def test_show_and_compare(store):
    uri, c, ids = store
    c.log_text(ids["a"], "hi", "notes.txt")
    shown = invoke("runs", "show", ids["a"], "-t", uri)
    assert shown.exit_code == 0, shown.output
    assert "rmse" in shown.output and "notes.txt" in shown.output
    assert "loopml.runName" not in shown.output
    assert "loopml.runName" in invoke("runs", "show", ids["a"], "--system", "-t", uri).output
    missing = invoke("runs", "show", "f" * 32, "-t", uri)
    assert missing.exit_code == 1 and "does not exist" in missing.output
    cmp = json.loads(invoke("runs", "compare", ids["a"], ids["b"], "--json", "-t", uri).output)
    assert cmp["metrics"]["rmse"] == {"values": [5.0, 3.0], "best": 3.0}
    assert cmp["metrics"]["r2"]["best"] == pytest.approx(1 / 3.0)
    assert cmp["params"]["model"]["differs"] is True
    table = invoke("runs", "compare", ids["a"], ids["b"], "-t", uri)
    assert table.exit_code == 0 and "metrics.rmse" in table.output
    assert invoke("runs", "compare", ids["a"], "-t", uri).exit_code == 2


def test_delete_restore(store):
    uri, c, ids = store
    assert invoke("runs", "delete", ids["a"], "-t", uri).exit_code == 0
    assert c.get_run(ids["a"]).info.lifecycle_stage.value == "deleted"
    listed = json.loads(invoke("runs", "list", "--deleted", "--json", "-t", uri).output)
    assert [r["run_id"] for r in listed] == [ids["a"]]
    assert invoke("runs", "restore", ids["a"], "-t", uri).exit_code == 0
    assert c.get_run(ids["a"]).info.lifecycle_stage.value == "active"


def test_kill_by_id_and_age(store):
    uri, c, ids = store
    exp = c.get_experiment_by_name("demo").experiment_id
    old = c.create_run(exp, run_name="old", start_time=int(time.time() * 1000) - 3 * 3600_000)
    fresh = c.create_run(exp, run_name="fresh")
    res = invoke("runs", "kill", "--older-than", "2h", "-t", uri)
    assert res.exit_code == 0, res.output
    assert old.info.run_id in res.output and "1 run(s)" in res.output
    assert c.get_run(old.info.run_id).info.status == RunStatus.KILLED
    assert c.get_run(fresh.info.run_id).info.status == RunStatus.RUNNING
    assert invoke("runs", "kill", fresh.info.run_id, "-t", uri).exit_code == 0
    assert c.get_run(fresh.info.run_id).info.status == RunStatus.KILLED
    again = invoke("runs", "kill", ids["a"], "-t", uri)
    assert again.exit_code == 1 and "not RUNNING" in again.output
    bad = invoke("runs", "kill", "--older-than", "soon", "-t", uri)
    assert bad.exit_code == 1 and "30s, 15m, 2h, 1d" in bad.output


def test_db_commands(tmp_path):
    uri = str(tmp_path / "fresh")
    first = invoke("db", "upgrade", "-t", uri)
    assert first.exit_code == 0 and "migrated from empty to 0001" in first.output
    assert "already at revision 0001" in invoke("db", "upgrade", "-t", uri).output
    assert "current: 0001" in invoke("db", "current", "-t", uri).output


def test_every_command_has_help():
    for args in (
        [],
        ["experiments"],
        ["runs"],
        ["db"],
        ["runs", "list"],
        ["runs", "kill"],
        ["experiments", "create"],
        ["db", "upgrade"],
    ):
        res = invoke(*args, "--help")
        assert res.exit_code == 0 and "Usage" in res.output, args


def test_console_script_end_to_end(store):
    uri, _, ids = store
    exe = Path(sys.executable).parent / "loopml"
    done = subprocess.run(
        [str(exe), "runs", "list", "--json", "-t", uri], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert {r["run_id"] for r in json.loads(done.stdout)} == set(ids.values())
