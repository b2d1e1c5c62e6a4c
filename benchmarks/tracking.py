"""Tracking benchmark: loopml vs MLflow, same machine, same SQLite backend, same run.

    make bench            # full sizes (needs `make bench-setup` for MLflow's venv)
    python benchmarks/tracking.py --quick

Scenarios (from the foundation issue):
  (a) 10,000 log_metric calls in one run, one call at a time (sync, and async logging);
  (b) 100 runs x 10 params x 5 metrics x 100 steps through the fluent API;
  (c) search_runs over 10,000 runs, one metric and one param filter, ordered by a metric.
Each library runs in its own process and venv, on a fresh SQLite file in a temp folder.
Prints times, throughputs and loopml/MLflow ratios; --json saves them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = Path(__file__).with_name("_tracking_workload.py")
PYTHONS = {
    "loopml": ROOT / ".venv" / "bin" / "python",
    "mlflow": ROOT / ".venv-bench" / "bin" / "python",
}
# scenario: (full size, quick size, target speed-up or None, what the target means)
SCENARIOS = {
    "a_sync": (10_000, 2_000, 50.0, "(a) 10k log_metric, sync"),
    "a_async": (10_000, 2_000, 50.0, "(a) 10k log_metric, async logging"),
    "b": (100, 10, 1.0, "(b) 100 runs x 10 params x 5 metrics x 100 steps"),
    "c": (10_000, 1_000, 10.0, "(c) search_runs over 10k runs"),
}


def run_one(library: str, scenario: str, size: int) -> dict[str, float]:
    """Run a scenario in the library's own venv and return its JSON result."""
    python = PYTHONS[library]
    if not python.exists():
        raise SystemExit(f"{python} is missing: run `make bench-setup` first")
    with tempfile.TemporaryDirectory(prefix=f"bench-{library}-") as tmp:
        env = {
            **os.environ,
            "PYTHONWARNINGS": "ignore",
            "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false",
        }
        done = subprocess.run(
            [str(python), str(WORKLOAD), library, scenario, tmp, str(size)],
            capture_output=True,
            text=True,
            cwd=tmp,
            env=env,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"{library} {scenario} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict[str, str]:
    """Facts about this machine for the record."""
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    """Run every scenario for both libraries and print the comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append", help="scenario(s)")
    args = parser.parse_args()

    info = machine()
    print(f"machine: {info['cores']} cores, {info['memory']}, Python {info['python']}")
    results = []
    for scenario in args.only or SCENARIOS:
        full, quick, target, label = SCENARIOS[scenario]
        size = quick if args.quick else full
        ours = run_one("loopml", scenario, size)
        peer = run_one("mlflow", scenario, size)
        if scenario == "c" and ours["found"] != peer["found"]:
            raise SystemExit(
                f"search results differ: loopml {ours['found']}, mlflow {peer['found']}"
            )
        ratio = peer["seconds"] / ours["seconds"]
        results.append(
            {
                "scenario": scenario,
                "label": label,
                "size": size,
                "loopml_seconds": ours["seconds"],
                "mlflow_seconds": peer["seconds"],
                "loopml_per_second": ours["per_second"],
                "mlflow_per_second": peer["per_second"],
                "speedup": ratio,
                "target": target,
                "met": ratio >= target if target else None,
                "loopml_version": ours["version"],
                "mlflow_version": peer["version"],
                **({"found": ours["found"]} if scenario == "c" else {}),
            }
        )
        verdict = "met" if ratio >= target else "NOT met"
        print(
            f"{label:<55} loopml {ours['seconds']:8.3f}s  mlflow {peer['seconds']:8.3f}s  "
            f"speed-up {ratio:7.1f}x  (target {target:g}x: {verdict})",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
