"""``loopml runs …`` against a real folder store."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from loopml.cli._compare import lower_is_better
from loopml.cli.runs import parse_duration_ms
from loopml.entities import Dataset, DatasetInput, Metric, Param, RunStatus

HOUR_MS = 3_600_000


# -- list -------------------------------------------------------------------------------


def test_list_filter_order_json(store, cli):
    res = cli(
        "runs",
        "list",
        "-e",
        "demo",
        "-f",
        "params.model = 'rf'",
        "-o",
        "metrics.rmse ASC",
        "--json",
    )
    assert res.exit_code == 0, res.text
    data = json.loads(res.stdout)
    assert [r["run_id"] for r in data] == [store.ids["c"], store.ids["a"]]
    first = data[0]
    assert first["run_name"] == "c" and first["status"] == "FINISHED"
    assert first["metrics"] == {"rmse": 4.0, "r2": 0.25}
    assert first["params"] == {"model": "rf"}
    assert first["experiment_id"] == store.experiment_id
    assert isinstance(first["start_time"], int) and first["end_time"] >= first["start_time"]


def test_list_defaults_to_all_active_experiments(store, cli):
    other = store.client.create_experiment("other")
    extra = store.client.create_run(other, run_name="x").info.run_id
    default = store.client.create_run("0", run_name="d").info.run_id
    ids = {r["run_id"] for r in json.loads(cli("runs", "list", "--json").stdout)}
    assert ids == {*store.ids.values(), extra, default}
    store.client.delete_experiment(other)
    ids = {r["run_id"] for r in json.loads(cli("runs", "list", "--json").stdout)}
    assert ids == {*store.ids.values(), default}
    # --deleted also looks into deleted experiments
    deleted = json.loads(cli("runs", "list", "--deleted", "--json").stdout)
    assert [r["run_id"] for r in deleted] == [extra]
    repeated = json.loads(cli("runs", "list", "-e", "0", "-e", "demo", "--json").stdout)
    assert {r["run_id"] for r in repeated} == {*store.ids.values(), default}


def test_list_table_max_and_note(store, cli):
    res = cli("runs", "list", "-e", "demo", "--max", "2", "-o", "metrics.rmse")
    assert res.exit_code == 0, res.text
    assert store.ids["b"] in res.stdout and store.ids["c"] in res.stdout
    assert store.ids["a"] not in res.stdout
    assert "2 run(s)" in res.stdout and "rmse" in res.stdout and "ridge" in res.stdout
    # the note goes to stderr so that --json output stays parseable
    assert "first 2 matching runs" in res.stderr
    as_json = cli("runs", "list", "--max", "2", "--json")
    assert len(json.loads(as_json.stdout)) == 2
    assert cli("runs", "list", "--max", "0").exit_code == 2


def test_list_columns_named_keys_first_and_wide(store, cli):
    run_id = store.ids["a"]
    store.client.log_batch(
        run_id,
        metrics=[Metric(f"m{i}", float(i), 0, 0) for i in range(6)],
        params=[Param(f"p{i}", f"v{i}") for i in range(6)],
    )
    narrow = cli("runs", "list", "-f", "metrics.m5 > 1", "-o", "params.p4")
    assert narrow.exit_code == 0, narrow.text
    header = next(line for line in narrow.stdout.splitlines() if "run id" in line)
    assert "m5" in header and "p4" in header  # named by the query: shown
    assert "m4" not in header  # not named, not among the 4 most common
    assert "more metric/param column(s) hidden" in narrow.stderr
    wide = cli("runs", "list", "--wide")
    header = next(line for line in wide.stdout.splitlines() if "run id" in line)
    assert all(f"m{i}" in header and f"p{i}" in header for i in range(6))
    assert "hidden" not in wide.stderr


def test_json_non_finite_values_are_strings(store, cli):
    store.client.log_batch(
        store.ids["a"],
        metrics=[
            Metric("nan", float("nan"), 0, 0),
            Metric("up", float("inf"), 0, 0),
            Metric("down", float("-inf"), 0, 0),
        ],
    )
    res = cli("runs", "list", "-f", "params.model = 'rf'", "-o", "metrics.rmse DESC", "--json")
    metrics = json.loads(res.stdout)[0]["metrics"]
    assert metrics["nan"] == "NaN" and metrics["up"] == "Infinity"
    assert metrics["down"] == "-Infinity"
    assert "NaN" in cli("runs", "list", "--wide").stdout


def test_bad_filter_prints_the_caret_message(cli):
    res = cli("runs", "list", "-f", "metrics.rmse < 'x'")
    assert res.exit_code == 1
    assert "Traceback" not in res.text
    lines = res.stderr.splitlines()
    assert lines[0].startswith("Error: ") and "compares numbers" in lines[0]
    text_line = next(i for i, line in enumerate(lines) if "metrics.rmse < 'x'" in line)
    caret = lines[text_line + 1]
    assert caret.strip() == "^"
    assert caret.index("^") == lines[text_line].index("'x'")
    order = cli("runs", "list", "-o", "metrics.rmse SIDEWAYS")
    assert order.exit_code == 1 and order.stderr.startswith("Error: ")


def test_user_text_is_never_read_as_markup(store, cli):
    run = store.client.create_run(store.experiment_id, run_name="a[red]b")
    store.client.log_param(run.info.run_id, "act", "[relu, tanh]")
    store.client.log_metric(run.info.run_id, "rmse", 1.0)
    listing = cli("runs", "list", "-w")
    assert "a[red]b" in listing.stdout and "[relu, tanh]" in listing.stdout
    shown = cli("runs", "show", run.info.run_id)
    assert "a[red]b" in shown.stdout and "[relu, tanh]" in shown.stdout


# -- show -------------------------------------------------------------------------------


def test_show_run(store, cli):
    run_id = store.ids["a"]
    store.client.log_text(run_id, "hi", "notes.txt")
    store.client.log_text(run_id, "plot", "plots/loss.txt")
    store.client.set_tag(run_id, "team", "growth")
    digest = "0123456789abcdef"
    store.client.log_inputs(
        run_id, [DatasetInput(Dataset("diabetes", digest, "/data/d.csv", num_rows=442), "train")]
    )
    res = cli("runs", "show", run_id)
    assert res.exit_code == 0, res.text
    out = res.stdout
    for expected in ("rmse", "0.2", "model", "rf", "team", "growth", "FINISHED"):
        assert expected in out, expected
    assert "diabetes" in out and digest in out and "442" in out and "train" in out
    assert "notes.txt" in out and "plots/" in out
    assert "loopml.runName" not in out
    assert "loopml.runName" in cli("runs", "show", run_id, "--system").stdout


def test_show_json(store, cli):
    run_id = store.ids["b"]
    store.client.log_text(run_id, "hi", "notes.txt")
    data = json.loads(cli("runs", "show", run_id, "--json").stdout)
    assert data["run_id"] == run_id and data["run_name"] == "b"
    assert data["metrics"] == {"rmse": 3.0, "r2": pytest.approx(1 / 3)}
    assert data["tags"]["loopml.runName"] == "b"  # JSON keeps every tag
    assert data["artifacts"] == [{"path": "notes.txt", "is_dir": False, "file_size": 2}]
    assert data["artifacts_error"] is None


def test_show_reports_artifact_store_errors_without_failing(store, cli):
    exp = store.client.create_experiment("odd", artifact_location="nosuchproto://bucket/x")
    run_id = store.client.create_run(exp).info.run_id
    res = cli("runs", "show", run_id)
    assert res.exit_code == 0, res.text
    assert "Artifacts could not be listed" in res.text and "nosuchproto" in res.text
    data = json.loads(cli("runs", "show", run_id, "--json").stdout)
    assert data["artifacts"] is None and "nosuchproto" in data["artifacts_error"]


def test_show_unknown_run(cli):
    res = cli("runs", "show", "f" * 32)
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: ") and "does not exist" in res.stderr
    assert "Traceback" not in res.text


# -- compare ----------------------------------------------------------------------------


def test_compare_json(store, cli):
    a, b, c = store.ids["a"], store.ids["b"], store.ids["c"]
    res = cli("runs", "compare", a, b, c, "--json")
    assert res.exit_code == 0, res.text
    data = json.loads(res.stdout)
    assert [r["run_id"] for r in data["runs"]] == [a, b, c]
    rmse = data["metrics"]["rmse"]
    assert rmse["values"] == [5.0, 3.0, 4.0]
    assert rmse["lower_is_better"] is True
    assert rmse["best"] == 3.0 and rmse["best_runs"] == [b]
    r2 = data["metrics"]["r2"]
    assert r2["lower_is_better"] is False and r2["best_runs"] == [b]
    assert data["params"]["model"] == {"values": ["rf", "ridge", "rf"], "differs": True}


def test_compare_missing_nan_and_ties(store, cli):
    a, b = store.ids["a"], store.ids["b"]
    store.client.log_metric(a, "val_loss", float("nan"))
    store.client.log_metric(b, "val_loss", 0.7)
    store.client.log_metric(a, "accuracy", 0.9)
    store.client.log_metric(b, "accuracy", 0.9)
    store.client.log_param(a, "only_a", "1")
    data = json.loads(cli("runs", "compare", a, b, "--json").stdout)
    assert data["metrics"]["val_loss"]["values"] == ["NaN", 0.7]
    assert data["metrics"]["val_loss"]["best_runs"] == [b]  # NaN never wins
    acc = data["metrics"]["accuracy"]
    assert acc["best_runs"] == [a, b] and acc["differs"] is False
    assert data["params"]["only_a"] == {"values": ["1", None], "differs": True}


def test_compare_table(store, cli):
    a, b = store.ids["a"], store.ids["b"]
    res = cli("runs", "compare", a, b)
    assert res.exit_code == 0, res.text
    rmse_row = next(line for line in res.stdout.splitlines() if "metrics.rmse" in line)
    assert "↓" in rmse_row and "5" in rmse_row and "3" in rmse_row
    assert "↑" in next(line for line in res.stdout.splitlines() if "metrics.r2" in line)
    assert "params.model" in res.stdout and "ridge" in res.stdout
    assert a[:8] in res.stdout and b[:8] in res.stdout
    assert "green: best value" in res.stderr


def test_compare_needs_two_existing_runs(store, cli):
    one = cli("runs", "compare", store.ids["a"])
    assert one.exit_code == 2 and "at least two" in one.text
    unknown = cli("runs", "compare", store.ids["a"], "0" * 32)
    assert unknown.exit_code == 1 and "does not exist" in unknown.stderr


@pytest.mark.parametrize(
    ("key", "lower"),
    [
        ("rmse", True),
        ("val_loss", True),
        ("error_rate", True),
        ("MAE", True),
        ("accuracy", False),
        ("r2", False),
        ("f1", False),
    ],
)
def test_lower_is_better(key, lower):
    assert lower_is_better(key) is lower


# -- delete, restore, kill --------------------------------------------------------------


def test_delete_and_restore(store, cli):
    a, b = store.ids["a"], store.ids["b"]
    res = cli("runs", "delete", a, b)
    assert res.exit_code == 0, res.text
    assert f"Deleted run {a}" in res.text and f"Deleted run {b}" in res.text
    listed = json.loads(cli("runs", "list", "--deleted", "--json").stdout)
    assert {r["run_id"] for r in listed} == {a, b}
    assert cli("runs", "restore", a).exit_code == 0
    assert store.client.get_run(a).info.lifecycle_stage == "active"
    assert store.client.get_run(b).info.lifecycle_stage == "deleted"


def test_delete_checks_every_id_first(store, cli):
    res = cli("runs", "delete", store.ids["a"], "0" * 32)
    assert res.exit_code == 1 and "does not exist" in res.stderr
    assert store.client.get_run(store.ids["a"]).info.lifecycle_stage == "active"


def test_kill_by_id(store, cli):
    running = store.client.create_run(store.experiment_id).info.run_id
    res = cli("runs", "kill", running)
    assert res.exit_code == 0, res.text
    assert f"Killed run {running}" in res.text
    run = store.client.get_run(running)
    assert run.info.status == RunStatus.KILLED and run.info.end_time is not None


def test_kill_refuses_runs_that_are_not_running(store, cli):
    running = store.client.create_run(store.experiment_id).info.run_id
    res = cli("runs", "kill", running, store.ids["a"])
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: ")
    assert f"{store.ids['a']} is FINISHED" in res.text and "nothing was changed" in res.text
    assert store.client.get_run(running).info.status == RunStatus.RUNNING
    assert store.client.get_run(store.ids["a"]).info.status == RunStatus.FINISHED


def test_kill_older_than(store, cli):
    now = int(time.time() * 1000)
    old = store.client.create_run(store.experiment_id, start_time=now - 3 * HOUR_MS).info.run_id
    fresh = store.client.create_run(store.experiment_id).info.run_id
    other = store.client.create_experiment("other")
    old_other = store.client.create_run(other, start_time=now - 3 * HOUR_MS).info.run_id
    scoped = cli("runs", "kill", "--older-than", "2h", "-e", "other")
    assert scoped.exit_code == 0, scoped.text
    assert "Killed 1 RUNNING run(s) started more than 2h ago" in scoped.text
    assert old_other in scoped.stdout and old not in scoped.stdout
    assert store.client.get_run(old).info.status == RunStatus.RUNNING
    everywhere = cli("runs", "kill", "--older-than", "2h")
    assert everywhere.exit_code == 0 and old in everywhere.stdout
    assert store.client.get_run(old).info.status == RunStatus.KILLED
    assert store.client.get_run(fresh).info.status == RunStatus.RUNNING
    assert store.client.get_run(store.ids["a"]).info.status == RunStatus.FINISHED
    none_left = cli("runs", "kill", "--older-than", "1d")
    assert none_left.exit_code == 0 and "Killed 0 RUNNING run(s)" in none_left.text


def test_kill_usage_errors(store, cli):
    bad = cli("runs", "kill", "--older-than", "soon")
    assert bad.exit_code == 2
    assert "duration 'soon' is not valid" in bad.text and "30s, 15m, 2h, 1d" in bad.text
    assert cli("runs", "kill").exit_code == 2
    both = cli("runs", "kill", store.ids["a"], "--older-than", "2h")
    assert both.exit_code == 2 and "one of them" in both.text
    scoped = cli("runs", "kill", store.ids["a"], "-e", "demo")
    assert scoped.exit_code == 2 and "only works with --older-than" in scoped.text
    assert cli("runs", "kill", "0" * 32).exit_code == 1


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30s", 30_000),
        ("15m", 900_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("1w", 604_800_000),
        ("1.5h", 5_400_000),
        (" 2H ", 7_200_000),
        ("0s", 0),
    ],
)
def test_parse_duration(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["2", "h", "-1h", "2 hours", "1h30m", ""])
def test_parse_duration_rejects(text):
    with pytest.raises(typer.BadParameter, match=r"e\.g\. 30s, 15m, 2h, 1d"):
        parse_duration_ms(text)


# -- help and the installed console script ----------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["version"],
        ["experiments"],
        ["experiments", "list"],
        ["experiments", "create"],
        ["experiments", "delete"],
        ["experiments", "restore"],
        ["runs"],
        ["runs", "list"],
        ["runs", "show"],
        ["runs", "compare"],
        ["runs", "delete"],
        ["runs", "restore"],
        ["runs", "kill"],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
    ],
)
def test_every_command_has_help_with_an_example(raw_cli, args):
    res = raw_cli([*args, "--help"])
    assert res.exit_code == 0 and "Usage" in res.stdout, args
    assert "Example" in res.stdout, args


def test_console_script(store):
    exe = Path(sys.executable).parent / "loopml"
    helped = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "experiments" in helped.stdout and "runs" in helped.stdout
    listed = subprocess.run(
        [str(exe), "runs", "list", "--json", "--tracking-uri", store.uri],
        capture_output=True,
        text=True,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert {r["run_id"] for r in json.loads(listed.stdout)} == set(store.ids.values())
    failed = subprocess.run(
        [str(exe), "runs", "show", "f" * 32, "-t", store.uri],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 1 and failed.stderr.startswith("Error: ")
    assert "Traceback" not in failed.stderr


def test_version(raw_cli):
    from importlib import metadata

    res = raw_cli(["version"])
    assert res.exit_code == 0 and res.stdout.strip() == metadata.version("loopml")
