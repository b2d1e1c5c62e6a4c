"""Evidently 0.7 side of the drift benchmark; runs inside .venv-evidently.

    .venv-evidently/bin/python benchmarks/_drift_evidently.py DATA_DIR

Loads DATA_DIR/reference.parquet and current.parquet (not timed), declares the numerical and
categorical columns of DATA_DIR/spec.json through a DataDefinition, runs a Report with a
default ``DataDriftPreset()`` (timed: Dataset.from_pandas + Report.run) and prints one JSON
object: seconds, peak RSS and, per column, the method, score, threshold and Evidently's own
drift verdict (the status of its "Value Drift for column" test: FAIL means drift).
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
import warnings
from pathlib import Path


def rss_mib() -> float:
    """Current resident set size."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(data: Path) -> dict:
    """Run the preset on the scenario in data and return the result record."""
    warnings.filterwarnings("ignore")
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently import __version__ as version
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
    from evidently.presets import DataDriftPreset

    spec = json.loads((data / "spec.json").read_text())
    reference = pd.read_parquet(data / "reference.parquet")
    current = pd.read_parquet(data / "current.parquet")
    gc.collect()
    loaded = rss_mib()

    start = time.perf_counter()
    definition = DataDefinition(
        numerical_columns=spec["numerical"], categorical_columns=spec["categorical"]
    )
    cur = Dataset.from_pandas(current, data_definition=definition)
    ref = Dataset.from_pandas(reference, data_definition=definition)
    snapshot = Report([DataDriftPreset()], include_tests=True).run(cur, ref)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # display name ("Wasserstein distance (normed)") -> registered name ("wasserstein")
    names = {
        t.display_name: name for name, by in _registered_stat_tests.items() for t in by.values()
    }
    result = snapshot.dict()
    verdicts = {}
    for test in result["tests"]:
        params = test["metric_config"]["params"]
        if params.get("type", "").endswith(":ValueDrift"):
            verdicts[params["column"]] = test["status"] == "FAIL"
    columns, share, count = {}, None, None
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            method = config["method"]
            columns[config["column"]] = {
                "method": names.get(method, method),
                "method_label": method,
                "score": float(metric["value"]),
                "threshold": float(config["threshold"]),
                "drifted": verdicts[config["column"]],
            }
        elif config["type"].endswith(":DriftedColumnsCount"):
            share, count = metric["value"]["share"], metric["value"]["count"]
    return {
        "library": "evidently",
        "version": version,
        "pandas": pd.__version__,
        "seconds": seconds,
        "peak_rss_mib": peak,
        "loaded_rss_mib": loaded,
        "drift_share": share,
        "drifted_columns": count,
        "dataset_drift": share is not None and share >= 0.5,
        "columns": columns,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
