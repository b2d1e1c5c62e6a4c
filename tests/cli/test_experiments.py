"""``loopml experiments …`` against a real folder store."""

from __future__ import annotations

import json


def test_create_prints_only_the_id_and_stores_tags(store, cli):
    res = cli(
        "experiments",
        "create",
        "churn",
        "--tag",
        "team=growth",
        "--tag",
        "q=3=4",
        "--description",
        "Q3 model",
    )
    assert res.exit_code == 0, res.text
    exp_id = res.stdout.strip()
    exp = store.client.get_experiment(exp_id)
    assert exp.name == "churn"
    assert exp.tags == {"team": "growth", "q": "3=4"}
    assert exp.description == "Q3 model"


def test_list_json_and_table(store, cli):
    res = cli("experiments", "list", "--json")
    assert res.exit_code == 0, res.text
    listed = json.loads(res.stdout)
    assert [(e["experiment_id"], e["name"]) for e in listed] == [
        ("0", "Default"),
        (store.experiment_id, "demo"),
    ]
    assert set(listed[1]) >= {"lifecycle_stage", "artifact_location", "tags", "creation_time"}
    assert listed[1]["lifecycle_stage"] == "active"
    table = cli("experiments", "list")
    assert table.exit_code == 0
    assert "Default" in table.stdout and "demo" in table.stdout and "2 experiment(s)" in table.text


def test_delete_and_restore_by_name_or_id(store, cli):
    deleted = cli("experiments", "delete", "demo")
    assert deleted.exit_code == 0, deleted.text
    assert f"Deleted experiment {store.experiment_id}" in deleted.text
    active = [e["name"] for e in json.loads(cli("experiments", "list", "--json").stdout)]
    assert active == ["Default"]
    gone = json.loads(cli("experiments", "list", "--deleted", "--json").stdout)
    assert [e["name"] for e in gone] == ["demo"]
    every = json.loads(cli("experiments", "list", "--all", "--json").stdout)
    assert [e["name"] for e in every] == ["Default", "demo"]
    # runs follow their experiment
    assert store.client.get_run(store.ids["a"]).info.lifecycle_stage == "deleted"
    assert cli("experiments", "restore", store.experiment_id).exit_code == 0
    assert store.client.get_experiment(store.experiment_id).lifecycle_stage == "active"
    assert store.client.get_run(store.ids["a"]).info.lifecycle_stage == "active"


def test_errors_are_one_red_line_with_exit_code_1(cli):
    dup = cli("experiments", "create", "demo")
    assert dup.exit_code == 1
    assert dup.stderr.startswith("Error: ") and "already exists" in dup.stderr
    assert "Traceback" not in dup.text
    unknown = cli("experiments", "delete", "nope")
    assert unknown.exit_code == 1
    assert "experiment 'nope' does not exist" in unknown.text
    default = cli("experiments", "delete", "0")
    assert default.exit_code == 1 and "cannot be deleted" in default.text
    again = cli("experiments", "restore", "demo")
    assert again.exit_code == 1 and "already active" in again.text


def test_usage_errors_exit_2(cli):
    bad_tag = cli("experiments", "create", "x", "--tag", "novalue")
    assert bad_tag.exit_code == 2
    assert "'novalue' is not key=value" in bad_tag.text
    both = cli("experiments", "list", "--all", "--deleted")
    assert both.exit_code == 2 and "not both" in both.text


def test_names_are_shown_verbatim_not_as_markup(store, cli):
    store.client.create_experiment("x[bold]y")
    table = cli("experiments", "list")
    assert "x[bold]y" in table.stdout


def test_store_from_global_option_and_env(store, raw_cli, tmp_path):
    other = str(tmp_path / "other")
    names = lambda res: [e["name"] for e in json.loads(res.stdout)]  # noqa: E731
    by_global = raw_cli(["--tracking-uri", store.uri, "experiments", "list", "--json"])
    assert names(by_global) == ["Default", "demo"]
    by_env = raw_cli(["experiments", "list", "--json"], env={"LOOPML_TRACKING_URI": store.uri})
    assert names(by_env) == ["Default", "demo"]
    # the command's own option wins over the global one and the environment
    local = raw_cli(
        ["-t", store.uri, "experiments", "list", "--json", "-t", other],
        env={"LOOPML_TRACKING_URI": store.uri},
    )
    assert names(local) == ["Default"]
