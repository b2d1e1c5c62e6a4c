"""``loopml models …`` against a real store with registered versions."""

from __future__ import annotations

import json

import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from typer.testing import CliRunner

import loopml
from loopml.cli import app
from loopml.registry import RegistryClient

runner = CliRunner()


@pytest.fixture
def store(tracking):
    d = load_diabetes(as_frame=True)
    for alpha in (0.1, 1.0):
        with loopml.start_run():
            loopml.log_param("alpha", alpha)
            loopml.log_metric("rmse", 50 + alpha)
            loopml.log_model(
                Ridge(alpha=alpha).fit(d.data, d.target),
                "model",
                training_data=d.data,
                registered_model_name="dia",
            )
    return str(tracking)


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def test_list_versions_alias_and_events(store):
    res = run("models", "alias", "dia", "champion", "2", "--reason", "lower rmse", "-t", store)
    assert res.exit_code == 0, res.output
    listed = json.loads(run("models", "list", "--json", "-t", store).stdout)
    assert listed[0]["name"] == "dia" and listed[0]["aliases"] == {"champion": 2}
    versions = json.loads(run("models", "versions", "dia", "--json", "-t", store).stdout)
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["aliases"] == ["champion"] and versions[0]["status"] == "READY"
    table = run("models", "versions", "dia", "-t", store)
    assert "champion" in table.stdout and "READY" in table.stdout
    events = RegistryClient(store).events("model_alias")
    assert [e.reason for e in events] == ["lower rmse"]
    assert run("models", "alias", "dia", "champion", "--delete", "-t", store).exit_code == 0
    assert RegistryClient(store).get_registered_model("dia").aliases == {}


def test_transition_approve_and_gated_champion(store):
    assert run("models", "require-approval", "dia", "-t", store).exit_code == 0
    refused = run("models", "alias", "dia", "champion", "1", "-t", store)
    assert refused.exit_code == 1 and "requires an approval" in refused.stderr
    assert run("models", "approve", "dia/1", "--reason", "reviewed", "-t", store).exit_code == 0
    assert run("models", "alias", "dia", "champion", "1", "-t", store).exit_code == 0
    moved = run("models", "transition", "dia/1", "production", "-t", store)
    assert moved.exit_code == 0 and "Production" in moved.stdout


def test_card_lineage_compare(store, tmp_path):
    card = run("models", "card", "dia/2", "--html", str(tmp_path / "card.html"), "-t", store)
    assert card.exit_code == 0, card.output
    assert "# Model card: dia version 2" in card.stdout
    assert (tmp_path / "card.html").read_text().startswith("<!doctype html>")
    lin = json.loads(run("models", "lineage", "dia/2", "--json", "-t", store).stdout)
    assert lin["model_version"]["version"] == 2 and lin["run"]["run_id"]
    cmp = json.loads(run("models", "compare", "dia/1", "dia/2", "--json", "-t", store).stdout)
    assert cmp["params"] == {"alpha": {"a": "0.1", "b": "1.0"}}
    assert cmp["metrics"]["rmse"]["delta"] == pytest.approx(0.9)
    table = run("models", "compare", "dia/1", "dia/2", "-t", store)
    assert "metrics.rmse" in table.stdout and "signature: identical" in table.stdout


def test_errors_and_delete(store):
    bad = run("models", "card", "dia-3", "-t", store)
    assert bad.exit_code == 1 and "NAME/VERSION" in bad.stderr
    missing = run("models", "versions", "nope", "-t", store)
    assert missing.exit_code == 1 and "does not exist" in missing.stderr
    run("models", "alias", "dia", "champion", "2", "-t", store)
    refused = run("models", "delete", "dia/2", "-t", store)
    assert refused.exit_code == 1 and "alias" in refused.stderr
    assert run("models", "delete", "dia/2", "--force", "-t", store).exit_code == 0
    assert [v.version for v in RegistryClient(store).list_versions("dia")] == [1]


def test_register_from_cli(store):
    run_id = RegistryClient(store).get_model_version("dia", 1).run_id
    res = run("models", "register", f"runs:/{run_id}/model", "other", "-t", store)
    assert res.exit_code == 0 and "registered other/1 [READY]" in res.stdout


def test_import_mlflow_folder(store, tmp_path):
    import skops.io as sio

    d = load_diabetes(as_frame=True)
    folder = tmp_path / "mlflow-model"
    folder.mkdir()
    sio.dump(Ridge().fit(d.data, d.target), folder / "model.skops")
    (folder / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.skops\n    serialization_format: skops\n"
    )
    res = run("models", "import-mlflow", str(folder), "imported", "-t", store)
    assert res.exit_code == 0, res.output
    assert "registered imported/1 [READY]" in res.stdout
    loaded = loopml.RegistryClient(store).load_model("models:/imported/1")
    assert loaded.predict(d.data.head(2)).shape == (2,)


def test_events_describe_and_uri_refs(store):
    run("models", "alias", "dia", "champion", "1", "--reason", "first", "-t", store)
    assert run("models", "describe", "dia", "Predicts progression", "-t", store).exit_code == 0
    events = json.loads(run("models", "events", "dia", "--json", "-t", store).stdout)
    actions = [e["action"] for e in events]
    assert actions.count("registered") == 2 and "alias_moved" in actions
    assert actions[-1] == "description_changed"
    newer = json.loads(
        run("models", "events", "--after", str(events[-2]["id"]), "--json", "-t", store).stdout
    )
    assert [e["action"] for e in newer] == ["description_changed"]
    card = run("models", "card", "models:/dia@champion", "-t", store)
    assert card.exit_code == 0 and "# Model card: dia version 1" in card.stdout
    assert "Predicts progression" in card.stdout
    cmp = run("models", "compare", "models:/dia@champion", "models:/dia/2", "--json", "-t", store)
    assert json.loads(cmp.stdout)["a"] == "dia/1"
