"""Feedback labels join predictions by request id; through HTTP, Python and the CLI."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import loopml
from loopml.cli import app
from loopml.errors import ValidationError
from loopml.serving import get_prediction_log, log_feedback, upload_feedback


def test_feedback_over_http_joins_predictions(own_server, data):
    server = own_server
    X, _ = data
    rows = X.head(5).to_dict(orient="records")
    ids = httpx.post(f"{server.url}/predict", json=rows).json()["request_ids"]
    r = httpx.post(f"{server.url}/feedback", json={"request_ids": ids[:3], "labels": [1, 2, 3]})
    assert r.status_code == 200 and r.json() == {"accepted": 3}
    r = httpx.post(f"{server.url}/feedback", json=[{"request_id": ids[3], "label": 4.5}])
    assert r.json() == {"accepted": 1}
    bad = httpx.post(f"{server.url}/feedback", json={"request_ids": ids, "labels": [1]})
    assert bad.status_code == 422 and "one label per id" in bad.json()["error"]
    assert httpx.post(f"{server.url}/feedback", json={"x": 1}).status_code == 422
    server.stop()  # flushes the prediction log
    loopml.set_tracking_uri(server.store)
    log = get_prediction_log("diabetes")
    mine = log[log["request_id"].isin(ids)].set_index("request_id").loc[ids]
    assert list(mine["label"].iloc[:4]) == [1, 2, 3, 4.5]
    assert np.isnan(mine["label"].iloc[4])
    assert list(mine["bmi"]) == pytest.approx(list(X["bmi"].head(5)))
    assert set(mine["model_version"]) == {"1"}


def test_labels_from_file_cli_and_latest_wins(server_store_with_log, tmp_path):
    store, ids = server_store_with_log
    loopml.set_tracking_uri(store)
    log_feedback("diabetes", ids[:2], [10, 20])
    pd.DataFrame({"request_id": ids[:2], "label": [11, 21]}).to_csv(tmp_path / "l.csv", index=False)
    assert upload_feedback("diabetes", tmp_path / "l.csv") == 2
    res = CliRunner().invoke(
        app, ["feedback", "upload", str(tmp_path / "l.csv"), "-d", "diabetes", "-t", store]
    )
    assert res.exit_code == 0 and "stored 2 label(s)" in res.stdout
    log = get_prediction_log("diabetes").set_index("request_id")
    assert list(log.loc[ids[:2], "label"]) == [11, 21]
    shown = CliRunner().invoke(app, ["feedback", "log", "-d", "diabetes", "--json", "-t", store])
    assert shown.exit_code == 0 and '"labelled": 2' in shown.stdout
    (tmp_path / "bad.csv").write_text("id,y\n1,2\n")
    with pytest.raises(ValidationError, match="request_id and label"):
        upload_feedback("diabetes", tmp_path / "bad.csv")
    with pytest.raises(ValidationError, match="deployment name"):
        log_feedback("a/b", ["x"], [1])


def test_time_window(server_store_with_log):
    store, _ = server_store_with_log
    loopml.set_tracking_uri(store)
    full = get_prediction_log("diabetes")
    cut = int(full["timestamp_ms"].max()) + 1
    assert len(get_prediction_log("diabetes", start=cut)) == 0
    assert len(get_prediction_log("diabetes", end=cut)) == len(full)
    assert get_prediction_log("nothing-here").empty
