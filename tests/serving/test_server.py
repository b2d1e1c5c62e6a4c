"""The scoring server as a user runs it: `loopml serve` in its own process, HTTP on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import Ridge

from _servers import free_port
from loopml.registry import RegistryClient


def test_predict_records_and_columns(server, data):
    X, y = data
    expected = Ridge(alpha=0.1).fit(X, y).predict(X.head(3))
    records = X.head(3).to_dict(orient="records")
    r = httpx.post(f"{server.url}/predict", json=records)
    assert r.status_code == 200, r.text
    body = r.json()
    np.testing.assert_allclose(body["predictions"], expected)
    assert (body["model_name"], body["model_version"]) == ("diabetes", "1")
    assert len(set(body["request_ids"])) == 3
    one = httpx.post(f"{server.url}/predict", json=records[0]).json()
    assert one["predictions"] == pytest.approx([expected[0]])
    cols = httpx.post(f"{server.url}/predict", json={"columns": X.head(2).to_dict(orient="list")})
    assert cols.json()["predictions"] == pytest.approx(list(expected[:2]))


def test_mlflow_invocations_formats(server, data):
    X, y = data
    expected = Ridge(alpha=0.1).fit(X, y).predict(X.head(2))
    split = json.loads(X.head(2).to_json(orient="split", index=False))
    for body in (
        {"dataframe_split": split},
        {"dataframe_records": X.head(2).to_dict(orient="records")},
        {"inputs": X.head(2).to_dict(orient="list")},
        {"instances": X.head(2).to_dict(orient="records")},
    ):
        r = httpx.post(f"{server.url}/invocations", json=body)
        assert r.status_code == 200, (body.keys(), r.text)
        assert r.json()["predictions"] == pytest.approx(list(expected))


def test_open_inference_protocol(server, data):
    X, y = data
    expected = Ridge(alpha=0.1).fit(X, y).predict(X.head(2))
    assert httpx.get(f"{server.url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{server.url}/v2/health/ready").status_code == 200
    meta = httpx.get(f"{server.url}/v2/models/diabetes").json()
    assert meta["versions"] == ["1"] and meta["inputs"][0] == {
        "name": "age",
        "datatype": "FP64",
        "shape": [-1],
    }
    assert httpx.get(f"{server.url}/v2/models/diabetes/ready").status_code == 200
    assert httpx.get(f"{server.url}/v2/models/other/ready").status_code == 404
    named = {
        "inputs": [
            {"name": c, "shape": [2], "datatype": "FP64", "data": X[c].head(2).tolist()}
            for c in X.columns
        ]
    }
    r = httpx.post(f"{server.url}/v2/models/diabetes/infer", json=named)
    assert r.status_code == 200, r.text
    out = r.json()["outputs"][0]
    assert out["shape"] == [2] and out["data"] == pytest.approx(list(expected))
    tensor = {
        "inputs": [
            {
                "name": "input-0",
                "shape": [2, 10],
                "datatype": "FP64",
                "data": X.head(2).to_numpy().ravel().tolist(),
            }
        ]
    }
    r = httpx.post(f"{server.url}/v2/models/diabetes/versions/1/infer", json=tensor)
    assert r.json()["outputs"][0]["data"] == pytest.approx(list(expected))
    assert (
        httpx.post(f"{server.url}/v2/models/diabetes/versions/9/infer", json=tensor).status_code
        == 404
    )


def test_bad_input_gets_clear_4xx_never_500(server, data):
    X, _ = data
    row = X.head(1).to_dict(orient="records")[0]
    bad = {**row, "bmi": "fat"}
    del bad["age"]
    r = httpx.post(f"{server.url}/predict", json=bad)
    assert r.status_code == 422
    problems = r.json()["problems"]
    assert "age: missing column (expected float)" in problems
    assert any(p.startswith("bmi: expected float, got string") for p in problems)
    r = httpx.post(
        f"{server.url}/predict", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    big = b"[" + b"0," * 6_000_000 + b"0]"
    assert httpx.post(f"{server.url}/predict", content=big).status_code == 413
    assert httpx.post(f"{server.url}/invocations", json={"nope": 1}).status_code == 422
    assert httpx.post(f"{server.url}/predict", json="text").status_code == 422
    # the worker survived all of it
    assert httpx.post(f"{server.url}/predict", json=row).status_code == 200


def test_metadata_and_metrics(server):
    httpx.post(f"{server.url}/predict", json={"nope": 1})
    meta = httpx.get(f"{server.url}/model").json()
    assert meta["name"] == "diabetes" and meta["version"] == "1"
    assert meta["signature"]["inputs"][2]["name"] == "bmi"
    text = httpx.get(f"{server.url}/metrics").text
    assert 'loopml_requests_total{endpoint="/predict",status="422"}' in text
    assert "loopml_request_latency_seconds_bucket" in text
    assert "loopml_log_queue_depth" in text and "loopml_in_flight_requests" in text


def test_hot_reload_without_errors_and_logs_flushed(own_server, store, data):
    server = own_server
    X, _ = data
    row = X.head(1).to_dict(orient="records")[0]
    statuses: list[int] = []
    versions: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                r = client.post(f"{server.url}/predict", json=row)
                statuses.append(r.status_code)
                versions.add(r.json().get("model_version", "?"))

    worker = threading.Thread(target=hammer)
    worker.start()
    time.sleep(0.5)
    RegistryClient(store).set_alias("diabetes", "champion", 2, reason="test reload")
    deadline = time.monotonic() + 30
    while httpx.get(f"{server.url}/model").json()["version"] != "2":
        assert time.monotonic() < deadline, "the server never picked up version 2"
        time.sleep(0.1)
    time.sleep(0.3)
    stop.set()
    worker.join()
    assert set(statuses) == {200} and versions == {"1", "2"}
    server.stop()
    files = list(Path(store).glob("artifacts/predictions/deployment=diabetes/date=*/*.parquet"))
    assert files, "no prediction log written"
    table = pq.read_table(files[0].parent)
    assert table.num_rows == len(statuses)
    assert set(table.column("model_version").to_pylist()) == {"1", "2"}
    first = json.loads(table.column("inputs")[0].as_py())
    assert set(first) == set(X.columns)


def test_async_jobs_and_openapi_schema(server, data):
    X, y = data
    row = X.head(1).to_dict(orient="records")[0]
    r = httpx.post(f"{server.url}/predict/async", json=[row, row])
    assert r.status_code == 202 and r.json()["status"] == "queued"
    job_id = r.json()["job_id"]
    deadline = time.monotonic() + 30
    while (job := httpx.get(f"{server.url}/jobs/{job_id}").json())["status"] != "done":
        assert job["status"] in ("queued", "running") and time.monotonic() < deadline
        time.sleep(0.05)
    expected = Ridge(alpha=0.1).fit(X, y).predict(X.head(1))[0]
    assert job["result"]["predictions"] == pytest.approx([expected, expected])
    assert httpx.post(f"{server.url}/predict/async", json={"bmi": "x"}).status_code == 422
    assert httpx.get(f"{server.url}/jobs/nope").status_code == 404
    spec = httpx.get(f"{server.url}/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    record = body["schema"]["oneOf"][0]
    assert record["properties"]["bmi"] == {"type": "number"} and "age" in record["required"]
    assert httpx.get(f"{server.url}/docs").status_code == 200


def test_multiple_workers(store, data):
    X, _ = data
    port = free_port()
    exe = Path(sys.executable).parent / "loopml"
    proc = subprocess.Popen(
        [
            str(exe),
            "serve",
            "models:/diabetes@champion",
            "--port",
            str(port),
            "--workers",
            "2",
            "-t",
            store,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None and time.monotonic() < deadline
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        row = X.head(1).to_dict(orient="records")[0]
        codes = {httpx.post(f"{url}/predict", json=row).status_code for _ in range(20)}
        assert codes == {200}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
