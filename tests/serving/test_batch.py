"""Batch scoring: chunked Parquet/CSV in, Parquet out, the prediction log, Dask, the CLI."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import LocalCluster
from typer.testing import CliRunner

from loopml.cli import app
from loopml.errors import ValidationError
from loopml.registry import RegistryClient
from loopml.serving import get_prediction_log, joined_log, write_feedback
from loopml.serving._batch import BatchProgress, predict_batch
from loopml.tracking import Client

CHAMPION = "models:/diabetes@champion"


@pytest.fixture
def files(tmp_path, data):
    """The diabetes frame as Parquet (row groups of 200 rows) and as CSV."""
    X, _ = data
    parquet, csv = tmp_path / "in.parquet", tmp_path / "in.csv"
    pq.write_table(pa.Table.from_pandas(X, preserve_index=False), parquet, row_group_size=200)
    X.to_csv(csv, index=False)
    return parquet, csv


def _model(store: str, version: int = 1):  # type: ignore[no-untyped-def]
    return RegistryClient(store).load_model(f"models:/diabetes/{version}").model


def _ids(batch: str, n: int) -> list[str]:
    return [f"{batch}-{i:010d}" for i in range(n)]


def test_parquet_in_chunks_gives_model_predictions_in_row_order(store, files, data, tmp_path):
    X, _ = data
    seen: list[BatchProgress] = []
    out = tmp_path / "out" / "preds.parquet"
    result = predict_batch(
        CHAMPION, files[0], out, tracking_uri=store, chunk_rows=75, on_progress=seen.append
    )
    # row groups of 200, 200, 42 rows cut into chunks of at most 75: 3 + 3 + 1
    assert (result.rows, result.chunks) == (442, 7)
    assert (result.model_name, result.model_version) == ("diabetes", "1")
    assert result.output == out and result.deployment == "batch"
    table = pq.read_table(out)
    assert table.column_names == ["request_id", *X.columns, "prediction"]
    assert table.column("request_id").to_pylist() == _ids(result.batch_id, 442)
    pd.testing.assert_frame_equal(table.select(list(X.columns)).to_pandas(), X)
    np.testing.assert_allclose(
        table.column("prediction").to_numpy(), _model(store).predict(X), rtol=1e-12
    )
    done = [p.rows_done for p in seen]
    assert done == [0, 75, 150, 200, 275, 350, 400, 442]
    assert {p.rows_total for p in seen} == {442}
    assert [p.name for p in out.parent.iterdir()] == ["preds.parquet"]  # no temporary left


def test_csv_in_exact_chunks_with_byte_progress(store, files, data, tmp_path):
    X, _ = data
    seen: list[BatchProgress] = []
    out = tmp_path / "preds.parquet"
    result = predict_batch(
        "models:/diabetes/2",
        files[1],
        out,
        tracking_uri=store,
        chunk_rows=128,
        on_progress=seen.append,
        batch_id="csv-1",
    )
    assert (result.rows, result.chunks, result.model_version) == (442, 4, "2")
    frame = pd.read_parquet(out)
    assert list(frame["request_id"]) == _ids("csv-1", 442)
    np.testing.assert_allclose(frame[list(X.columns)].to_numpy(), X.to_numpy(), rtol=1e-15)
    np.testing.assert_allclose(frame["prediction"], _model(store, 2).predict(X), rtol=1e-12)
    assert [p.rows_done for p in seen] == [0, 128, 256, 384, 442]
    assert seen[-1].rows_total is None
    assert seen[-1].bytes_done == seen[-1].bytes_total == files[1].stat().st_size


def test_batch_is_in_the_prediction_log_and_joins_feedback(store, files, data, tmp_path):
    X, _ = data
    result = predict_batch(CHAMPION, files[0], tmp_path / "p.parquet", chunk_rows=100)
    assert result.log_location is not None and result.log_location.endswith(
        f"deployment=batch/date={pd.Timestamp.now(tz='UTC'):%Y-%m-%d}/part-{result.batch_id}.parquet"
    )
    ids = _ids(result.batch_id, 442)
    write_feedback(Client(store), "batch", ids[:2], [10.0, 20.0])
    log = get_prediction_log("batch").set_index("request_id").loc[ids]
    assert set(log["route"]) == {"batch"} and set(log["status"]) == {200}
    assert set(log["model_name"]) == {"diabetes"} and set(log["model_version"]) == {"1"}
    np.testing.assert_allclose(log[list(X.columns)].to_numpy(), X.to_numpy(), rtol=1e-15)
    output = pd.read_parquet(tmp_path / "p.parquet").set_index("request_id")
    np.testing.assert_array_equal(log["prediction"].to_numpy(float), output["prediction"])
    assert list(log["label"].iloc[:2]) == [10.0, 20.0] and log["label"].iloc[2:].isna().all()
    # same schema as the server's own records
    server_columns = {"request_id", "timestamp_ms", "model_name", "model_version", "route"}
    assert server_columns | {"latency_ms", "status", "inputs", "output"} == set(
        pq.read_schema(result.log_location).names
    )
    # a batch scored without logging leaves the log as it was
    predict_batch(CHAMPION, files[0], tmp_path / "q.parquet", log=False)
    assert len(joined_log(Client(store), "batch")) == 442


def test_runs_uri_and_empty_input(store, data, tmp_path):
    X, _ = data
    source = RegistryClient(store).get_model_version("diabetes", 1).source
    empty = tmp_path / "empty.parquet"
    pq.write_table(pa.Table.from_pandas(X.head(0), preserve_index=False), empty)
    result = predict_batch(source, empty, tmp_path / "e.parquet", tracking_uri=store)
    assert (result.rows, result.chunks, result.log_location) == (0, 0, None)
    table = pq.read_table(tmp_path / "e.parquet")
    assert table.num_rows == 0
    assert table.column_names == ["request_id", *X.columns, "prediction"]
    assert table.schema.field("prediction").type == pa.float64()


def test_bad_chunk_names_rows_and_columns_and_writes_nothing(store, data, tmp_path):
    X, _ = data
    bad = X.copy()
    bad.loc[250:260, "bmi"] = np.nan
    folder = tmp_path / "job"
    folder.mkdir()
    source = folder / "bad.parquet"
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), source, row_group_size=200)
    out = folder / "out.parquet"
    out.write_bytes(b"previous")
    with pytest.raises(ValidationError) as err:
        predict_batch(CHAMPION, source, out, tracking_uri=store, chunk_rows=100)
    message = str(err.value)
    assert "rows 200-299 (chunk 3)" in message
    assert "bmi: 11 missing value(s)" in message and "diabetes/1" in message
    assert out.read_bytes() == b"previous"
    assert sorted(p.name for p in folder.iterdir()) == ["bad.parquet", "out.parquet"]
    assert joined_log(Client(store), "batch").empty

    with pytest.raises(ValidationError, match=r"lacks column\(s\) s5, s6 that diabetes/1 needs"):
        predict_batch(CHAMPION, _parquet(tmp_path, X.drop(columns=["s5", "s6"])), out)


def _parquet(folder: Path, frame: pd.DataFrame, name: str = "x.parquet") -> Path:
    path = folder / name
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


@pytest.fixture(scope="module")
def cluster():
    """A real two-process Dask cluster, shared by the tests that connect to a scheduler."""
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,  # a task that fails on purpose logs an error
    ) as running:
        yield running


def _same(a: Path, b: Path) -> None:
    left, right = pq.read_table(a), pq.read_table(b)
    assert left.equals(right, check_metadata=True)


def test_dask_scheduler_gives_the_local_output(store, files, tmp_path, cluster):
    address = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
    for source in files:
        options = {"tracking_uri": store, "chunk_rows": 60, "batch_id": "b7"}
        local = predict_batch(CHAMPION, source, tmp_path / "local.parquet", **options)
        remote = predict_batch(
            CHAMPION, source, tmp_path / "dask.parquet", executor=address, **options
        )
        assert (remote.rows, remote.chunks) == (local.rows, local.chunks)
        assert remote.executor == address
        _same(tmp_path / "local.parquet", tmp_path / "dask.parquet")
    # a batch id's log file is replaced when the batch is run again: no duplicate ids
    log = joined_log(Client(store), "batch")
    assert list(log["request_id"]) == _ids("b7", 442)


def test_dask_scheduler_reports_bad_rows(store, data, tmp_path, cluster):
    X, _ = data
    bad = X.copy()
    bad.loc[410:411, "bp"] = np.nan  # in the second task (4 chunks a task)
    address = "dask://" + cluster.scheduler_address.removeprefix("tcp://")
    with pytest.raises(ValidationError, match=r"rows 400-441 \(chunk 5\)[^$]*bp: 2 missing"):
        predict_batch(
            CHAMPION,
            _parquet(tmp_path, bad),
            tmp_path / "o.parquet",
            executor=address,
            chunk_rows=100,
        )
    assert not (tmp_path / "o.parquet").exists()


def test_dask_executor_starts_its_own_cluster(store, files, tmp_path):
    options = {"tracking_uri": store, "chunk_rows": 100, "batch_id": "own", "log": False}
    predict_batch(CHAMPION, files[0], tmp_path / "local.parquet", **options)
    result = predict_batch(
        CHAMPION, files[0], tmp_path / "dask.parquet", executor="dask", **options
    )
    assert (result.rows, result.chunks, result.executor) == (442, 5, "dask")
    _same(tmp_path / "local.parquet", tmp_path / "dask.parquet")


# -- the CLI -----------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"loopml {args} crashed") from result.exception
    return result.exit_code, " ".join((result.stdout + result.stderr).split())


def test_cli_scores_and_summarises(store, files, tmp_path):
    out = tmp_path / "preds.parquet"
    code, text = _cli("predict", CHAMPION, "-i", str(files[1]), "-o", str(out), "-t", store)
    assert code == 0, text
    assert text.startswith("Scored 442 rows in ") and "rows/s) with diabetes/1" in text
    assert f"→ {out};" in text and "logged as deployment 'batch'" in text
    assert pq.read_table(out).num_rows == 442


@pytest.mark.parametrize(
    ("model", "args", "expected"),
    [
        (CHAMPION, ["-i", "{tmp}/missing.parquet"], "--input {tmp}/missing.parquet: no such file"),
        (CHAMPION, ["-i", "{tmp}/rows.json"], "unknown file type '.json'; give a .parquet or"),
        (CHAMPION, ["-i", "{tmp}/rows.csv"], "lacks column(s) age, sex, bmi"),
        (CHAMPION, ["-x", "spark"], "--executor 'spark' is not valid; use local, dask"),
        (CHAMPION, ["-x", "dask://host"], "--executor 'dask://host' is not valid"),
        (CHAMPION, ["--chunk-rows", "0"], "--chunk-rows 0 is not valid; give a whole number"),
        (CHAMPION, ["-o", "{tmp}/preds.csv"], "the output is Parquet; name it with a .parquet"),
        (CHAMPION, ["--deployment", "a/b"], "deployment name 'a/b' is not valid"),
        ("models:/nope@champion", [], "registered model 'nope' does not exist"),
        ("runs:/abc", [], "model URI 'runs:/abc' is not valid; use runs:/<run_id>/"),
    ],
)
def test_cli_errors_are_one_clear_line(store, files, tmp_path, model, args, expected):
    (tmp_path / "rows.json").write_text("{}")
    (tmp_path / "rows.csv").write_text("a,b\n1,2\n")
    options = {"-i": str(files[0]), "-o": str(tmp_path / "o.parquet")}
    options.update(zip(args[::2], [a.format(tmp=tmp_path) for a in args[1::2]], strict=True))
    code, text = _cli("predict", model, *[x for kv in options.items() for x in kv], "-t", store)
    assert code == 1
    assert text.startswith("Error: ") and expected.format(tmp=tmp_path) in text
    assert "Traceback" not in text
    assert not (tmp_path / "o.parquet").exists()


# -- bounded memory ----------------------------------------------------------------------

_PEAK = """
import resource, sys
from loopml.cli import app
try:
    app(sys.argv[1:], prog_name="loopml")
except SystemExit as exc:
    assert not exc.code, exc.code
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kb(store: str, source: Path, out: Path) -> int:
    args = ["predict", CHAMPION, "-i", str(source), "-o", str(out), "-t", store, "--no-log"]
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split("PEAK_KB")[-1])


def test_memory_stays_bounded_on_four_times_the_rows(store, data, tmp_path):
    X, _ = data
    n = 1_250_000  # 10 float columns: 100 MB in memory; 4n rows: 300 MB more
    rng = np.random.default_rng(7)
    block = pa.table({c: rng.normal(0, 0.05, n // 5) for c in X.columns})
    sizes = {}
    for name, blocks in (("n", 5), ("4n", 20)):
        path = tmp_path / f"{name}.parquet"
        with pq.ParquetWriter(path, block.schema, use_dictionary=False) as writer:
            for _ in range(blocks):
                writer.write_table(block, row_group_size=125_000)
        out = tmp_path / f"{name}-out.parquet"
        sizes[name] = _peak_kb(store, path, out)
        assert pq.ParquetFile(out).metadata.num_rows == n * blocks // 5
        path.unlink()  # hundreds of MB each: free the disk at once
        out.unlink()
    frame_growth_kb = 3 * n * len(X.columns) * 8 // 1024
    growth_kb = sizes["4n"] - sizes["n"]
    print(f"peak RSS: n={sizes['n']} KB, 4n={sizes['4n']} KB, frame growth {frame_growth_kb} KB")
    assert growth_kb < frame_growth_kb / 4  # loading it all would grow by the whole frame
