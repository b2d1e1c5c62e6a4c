"""Lineage, model cards and version comparison."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml
from loopml.registry import (
    RegistryClient,
    compare_versions,
    lineage,
    model_card_html,
    model_card_markdown,
)


@pytest.fixture
def two_versions(tracking):
    d = load_diabetes(as_frame=True)
    X, y = d.data, d.target
    registry = RegistryClient(str(tracking))
    for alpha, extra in ((0.1, None), (1.0, "bonus")):
        frame = X.assign(bonus=1.0) if extra else X
        with loopml.start_run(run_name=f"ridge-{alpha}"):
            loopml.log_params({"alpha": alpha})
            loopml.log_input(frame.assign(target=y), context="train", name="diabetes")
            model = Ridge(alpha=alpha).fit(frame, y)
            loopml.log_metric("rmse", 50.0 + alpha)
            loopml.log_model(model, "model", training_data=frame, registered_model_name="dia")
    registry.set_alias("dia", "champion", 2)
    return registry, X


def test_lineage_goes_from_dataset_to_aliases(two_versions):
    registry, X = two_versions
    lin = lineage(registry, "dia", 2)
    data = lin.to_dict()
    assert data["model_version"] == {"name": "dia", "version": 2, "status": "READY"}
    assert data["run"]["run_name"] == "ridge-1.0"
    assert [(d["name"], d["context"], d["num_rows"]) for d in data["datasets"]] == [
        ("diabetes", "train", len(X))
    ]
    assert data["downstream"] == {"aliases": ["champion"], "stage": "None"}
    text = lin.render()
    assert "dataset diabetes (train)" in text and "model dia/2 [READY]" in text
    assert "aliases: champion" in text


def test_model_card(two_versions):
    registry, _ = two_versions
    md = model_card_markdown(registry, "dia", 2)
    assert md.startswith("# Model card: dia version 2")
    assert "| alpha | 1.0 |" in md
    assert "| rmse | 51 |" in md
    assert "| bonus | float | False |" in md
    assert "aliases: champion" in md
    html = model_card_html(registry, "dia", 2)
    assert html.startswith("<!doctype html>") and "<h2>Signature</h2>" in html
    assert "<td>alpha</td><td>1.0</td>" in html


def test_compare_versions(two_versions):
    registry, _ = two_versions
    diff = compare_versions(registry, ("dia", 1), ("dia", 2))
    assert diff["metrics"]["rmse"] == pytest.approx({"a": 50.1, "b": 51.0, "delta": 0.9})
    assert diff["params"] == {"alpha": {"a": "0.1", "b": "1.0"}}
    assert diff["signature"] == {"added": ["bonus"], "removed": [], "changed": {}}
    assert isinstance(pd.DataFrame(diff["metrics"]).T, pd.DataFrame)
