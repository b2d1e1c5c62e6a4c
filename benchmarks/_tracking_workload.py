"""The tracking workloads, written once for both libraries (loopml and MLflow).

Run as ``python _tracking_workload.py LIBRARY SCENARIO STORE_DIR SIZE`` with the interpreter
of the venv that has LIBRARY installed; prints one JSON object with timings. The two
libraries share these functions through a small adapter: their fluent APIs have the
same shape, so each scenario is literally the same code for both.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path


def _lib(name: str, store: Path):  # type: ignore[no-untyped-def]
    store.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{store / 'bench.db'}"
    if name == "loopml":
        import loopml as lib
        from loopml import Metric, Param
        from loopml.tracking import Client

        lib.set_tracking_uri(uri)
        client = Client(uri)
        artifact_kw: dict[str, str] = {}
    else:
        import logging

        import mlflow as lib
        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param

        logging.getLogger("mlflow").setLevel(logging.ERROR)
        lib.set_tracking_uri(uri)
        client = MlflowClient(uri)
        artifact_kw = {"artifact_location": (store / "mlruns").as_uri()}
    return lib, client, Metric, Param, artifact_kw


def _experiment(lib, client, name: str, artifact_kw) -> str:  # type: ignore[no-untyped-def]
    exp_id = client.create_experiment(name, **artifact_kw)
    lib.set_experiment(experiment_id=exp_id)
    return exp_id


def metric_calls(lib, client, Metric, Param, artifact_kw, n: int, asynchronous: bool):  # type: ignore[no-untyped-def]
    """(a) n log_metric calls, one at a time, in one run; end_run included."""
    _experiment(lib, client, "a", artifact_kw)
    if asynchronous:
        if hasattr(lib, "enable_async_logging"):
            lib.enable_async_logging(True)
        else:
            lib.config.enable_async_logging(True)
    lib.start_run()
    start = time.perf_counter()
    for i in range(n):
        lib.log_metric("loss", 1.0 / (i + 1), step=i)
    lib.end_run()
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "ops": n, "per_second": n / elapsed}


def many_runs(lib, client, Metric, Param, artifact_kw, runs: int):  # type: ignore[no-untyped-def]
    """(b) runs x 10 params x 5 metrics x 100 steps through the fluent API."""
    _experiment(lib, client, "b", artifact_kw)
    start = time.perf_counter()
    for r in range(runs):
        lib.start_run()
        for p in range(10):
            lib.log_param(f"p{p}", r * p)
        for step in range(100):
            for m in range(5):
                lib.log_metric(f"m{m}", step * 0.1 + m, step=step)
        lib.end_run()
    elapsed = time.perf_counter() - start
    ops = runs * (10 + 5 * 100)
    return {"seconds": elapsed, "ops": ops, "per_second": ops / elapsed}


def search(lib, client, Metric, Param, artifact_kw, runs: int):  # type: ignore[no-untyped-def]
    """(c) search_runs over `runs` runs: one metric filter, one param filter, metric order."""
    exp_id = _experiment(lib, client, "c", artifact_kw)
    rng = random.Random(0)
    start = time.perf_counter()
    for _ in range(runs):
        run = client.create_run(exp_id)
        ts = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[
                Metric("rmse", rng.uniform(0, 100), ts, 0),
                Metric("mae", rng.uniform(0, 80), ts, 0),
                Metric("r2", rng.uniform(0, 1), ts, 0),
            ],
            params=[Param("model", rng.choice(["rf", "gbr", "ridge", "lasso"]))],
        )
        client.set_terminated(run.info.run_id)
    populate = time.perf_counter() - start
    timings = []
    found = 0
    for _ in range(5):
        t0 = time.perf_counter()
        result = client.search_runs(
            experiment_ids=[exp_id],
            filter_string="metrics.rmse < 50 and params.model = 'rf'",
            order_by=["metrics.rmse ASC"],
            max_results=1000,
        )
        timings.append(time.perf_counter() - t0)
        found = len(result)
        values = [r.data.metrics["rmse"] for r in result]
        assert values == sorted(values), "results are not ordered by rmse"
    median = statistics.median(timings)
    return {
        "seconds": median,
        "found": found,
        "populate_seconds": populate,
        "per_second": 1 / median,
    }


def main() -> None:
    """Run one scenario and print its JSON result."""
    library, scenario, store, size = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    parts = _lib(library, store)
    if scenario == "a_sync":
        result = metric_calls(*parts, n=size, asynchronous=False)
    elif scenario == "a_async":
        result = metric_calls(*parts, n=size, asynchronous=True)
    elif scenario == "b":
        result = many_runs(*parts, runs=size)
    elif scenario == "c":
        result = search(*parts, runs=size)
    else:
        raise SystemExit(f"unknown scenario {scenario!r}")
    if library == "loopml":
        from loopml import __version__
    else:
        from mlflow import __version__
    result["version"] = __version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
