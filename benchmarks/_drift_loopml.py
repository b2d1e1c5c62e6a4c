"""loopml side of the drift benchmark; runs inside .venv.

    .venv/bin/python benchmarks/_drift_loopml.py DATA_DIR

Loads DATA_DIR/reference.parquet and current.parquet (not timed), calls
``detect_drift`` with the numerical and categorical columns of DATA_DIR/spec.json (timed)
and prints the same JSON record as ``_drift_evidently.py``.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from importlib.metadata import version
from pathlib import Path


def rss_mib() -> float:
    """Current resident set size."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(data: Path) -> dict:
    """Run detect_drift on the scenario in data and return the result record."""
    import pandas as pd

    from loopml.monitoring._drift import detect_drift

    spec = json.loads((data / "spec.json").read_text())
    reference = pd.read_parquet(data / "reference.parquet")
    current = pd.read_parquet(data / "current.parquet")
    gc.collect()
    loaded = rss_mib()

    start = time.perf_counter()
    result = detect_drift(
        reference, current, numerical=spec["numerical"], categorical=spec["categorical"]
    )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    columns = {
        c.column: {
            "method": c.method,
            "method_label": c.method,
            "score": float(c.score),
            "statistic": float(c.statistic),
            "threshold": float(c.threshold),
            "drifted": bool(c.drifted),
        }
        for c in result.columns
    }
    return {
        "library": "loopml",
        "version": version("loopml"),
        "pandas": pd.__version__,
        "seconds": seconds,
        "peak_rss_mib": peak,
        "loaded_rss_mib": loaded,
        "drift_share": float(result.drift_share),
        "drifted_columns": int(result.drifted_count),
        "dataset_drift": bool(result.dataset_drift),
        "columns": columns,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
