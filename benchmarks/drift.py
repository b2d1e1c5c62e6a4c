"""Drift benchmark: loopml ``detect_drift`` vs Evidently 0.7 ``DataDriftPreset``, same run.

    make bench-drift              # full sizes (needs `make bench-drift-setup` for Evidently)
    python benchmarks/drift.py --quick

Scenarios (from the drift issue), each a reference and a current Parquet file written by
``_drift_data.py`` with a fixed seed (cached in a temp folder by scenario, rows and version):
  wide25:  1,000,000 + 1,000,000 rows, 20 numerical + 5 categorical columns;
  cols100: 100,000 + 100,000 rows, 80 numerical + 20 categorical columns.
Columns are drifted or not, many of them close to the thresholds (0.9x-1.1x), with
low-cardinality numbers, integers, NaN, +-inf, unseen categories and integer category codes.
``--quick`` uses 100,000 rows for wide25 and 20,000 for cols100.

Each library runs in its own venv and process (``_drift_evidently.py`` in .venv-evidently,
``_drift_loopml.py`` in .venv), loads the Parquet files (not timed), is told the same
numerical/categorical columns and computes drift once per repetition; the libraries
alternate which goes first. Prints, per scenario, seconds, peak RSS, the Evidently/loopml
ratio against the 50x target, and a per-column table of methods, scores and verdicts.
Exit status 1 when any column's verdict or method, or the dataset verdict, differs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _drift_data import SEED, VERSION, generate

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
LIBRARIES = {
    "evidently": (ROOT / ".venv-evidently" / "bin" / "python", HERE / "_drift_evidently.py"),
    "loopml": (ROOT / ".venv" / "bin" / "python", HERE / "_drift_loopml.py"),
}
LABELS = {"evidently": "Evidently", "loopml": "loopml"}
# scenario: (full rows, quick rows, label)
SCENARIOS = {
    "wide25": (1_000_000, 100_000, "20 numerical + 5 categorical columns"),
    "cols100": (100_000, 20_000, "80 numerical + 20 categorical columns"),
}
TARGET = 50.0
# method names as each library spells them -> one name
ALIASES = {
    "wassersteindistancenormed": "wasserstein",
    "wassersteinnormed": "wasserstein",
    "wassersteindistance": "wasserstein",
    "wasserstein": "wasserstein",
    "jensenshannondistance": "jensenshannon",
    "jensenshannon": "jensenshannon",
    "js": "jensenshannon",
    "ks": "ks",
    "kspvalue": "ks",
    "kolmogorovsmirnov": "ks",
    "chisquare": "chisquare",
    "chisquarepvalue": "chisquare",
    "chi2": "chisquare",
    "z": "z",
    "ztest": "z",
    "ztestpvalue": "z",
    "psi": "psi",
}


def method_key(name: str) -> str:
    """Normalised method name, so 'Jensen-Shannon distance' == 'jensenshannon'."""
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    return ALIASES.get(key, key)


def dataset(scenario: str, rows: int, root: Path) -> Path:
    """The scenario's folder, generated on first use and cached."""
    folder = root / f"{scenario}-{rows}-v{VERSION}-s{SEED}"
    if (folder / "spec.json").exists():
        return folder
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=root))
    try:
        generate(scenario, rows, work)
        work.rename(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def run_one(library: str, data: Path) -> dict:
    """Run one library on one scenario in its own venv and return its JSON record."""
    python, script = LIBRARIES[library]
    if not python.exists():
        setup = "make bench-drift-setup" if library == "evidently" else "make setup"
        raise SystemExit(f"{python} is missing: run `{setup}` first")
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "DO_NOT_TRACK": "1"}
    done = subprocess.run(
        [str(python), str(script), str(data)],
        capture_output=True,
        text=True,
        cwd=data,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        hint = ""
        if "infer_dtype_from_object" in done.stderr:  # Evidently 0.7 imports a pandas 2 helper
            hint = "\nEvidently 0.7 needs pandas 2: .venv-evidently/bin/pip install 'pandas<3'"
        raise SystemExit(f"{library} on {data.name} failed:\n{done.stderr[-4000:]}{hint}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> dict[str, str]:
    """Facts about this machine for the record."""
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def load() -> str:
    """The 1/5/15-minute load averages (other work on the machine skews timings)."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def fmt_score(value: float | None) -> str:
    return "-" if value is None else f"{value:.5f}"


def compare(scenario: str, label: str, rows: int, spec: dict, runs: dict[str, list[dict]]):
    """Print the scenario's tables; return (summary record, number of disagreements)."""
    ev, lm = runs["evidently"][0], runs["loopml"][0]
    secs = {lib: statistics.median(r["seconds"] for r in rs) for lib, rs in runs.items()}
    peak = {lib: max(r["peak_rss_mib"] for r in rs) for lib, rs in runs.items()}
    loaded = {lib: max(r["loaded_rss_mib"] for r in rs) for lib, rs in runs.items()}
    ratio = secs["evidently"] / secs["loopml"]
    met = ratio >= TARGET
    reps = len(runs["loopml"])

    print(f"\n### {scenario}: {rows:,} + {rows:,} rows, {label}\n")
    print(
        "| library | seconds | peak RSS MiB | RSS after loading MiB | drifted columns "
        "| dataset drift |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for lib, rec in (("evidently", ev), ("loopml", lm)):
        print(
            f"| {LABELS[lib]} {rec['version']} | {secs[lib]:.3f} | {peak[lib]:,.0f} | "
            f"{loaded[lib]:,.0f} | {rec['drifted_columns']:g} of {len(rec['columns'])} | "
            f"{'yes' if rec['dataset_drift'] else 'no'} (share {rec['drift_share']:.2f}) |"
        )
    print(
        f"\nspeed-up Evidently/loopml: **{ratio:.1f}x** (target {TARGET:g}x: "
        f"{'PASS' if met else 'FAIL'}); peak RSS Evidently/loopml: "
        f"{peak['evidently'] / peak['loopml']:.1f}x; median of {reps} run(s) each\n"
    )

    print(
        "| column | designed as | Evidently method | Evidently score | Evidently drift | "
        "loopml method | loopml score | loopml drift | agree |"
    )
    print("|---|---|---|---:|---|---|---:|---|---|")
    verdicts = methods = 0
    problems = []
    max_diff = 0.0
    names = spec["numerical"] + spec["categorical"]
    for col in names:
        e, m = ev["columns"].get(col), lm["columns"].get(col)
        if e is None or m is None:
            problems.append(f"{col}: missing from {'Evidently' if e is None else 'loopml'}")
            print(f"| {col} | {spec['intent'][col]} | missing | | | missing | | | **NO** |")
            continue
        same_verdict = e["drifted"] == m["drifted"]
        same_method = method_key(e["method"]) == method_key(m["method"])
        verdicts += same_verdict
        methods += same_method
        if same_method:
            max_diff = max(max_diff, abs(e["score"] - m["score"]))
        if not same_verdict or not same_method:
            problems.append(
                f"{col}: Evidently {e['method']} {e['score']:.6f} (thr {e['threshold']:g}) "
                f"drift={e['drifted']}; loopml {m['method']} {m['score']:.6f} "
                f"(thr {m['threshold']:g}) drift={m['drifted']}"
            )
        agree = (
            "yes"
            if same_verdict and same_method
            else ("**NO** (method)" if same_verdict else "**NO**")
        )
        print(
            f"| {col} | {spec['intent'][col]} | {e['method']} | {fmt_score(e['score'])} | "
            f"{'drift' if e['drifted'] else '-'} | {m['method']} | {fmt_score(m['score'])} | "
            f"{'drift' if m['drifted'] else '-'} | {agree} |"
        )
    same_dataset = ev["dataset_drift"] == lm["dataset_drift"]
    if not same_dataset:
        problems.append(
            f"dataset drift: Evidently {ev['dataset_drift']} ({ev['drift_share']:.3f}), "
            f"loopml {lm['dataset_drift']} ({lm['drift_share']:.3f})"
        )
    for lib, rs in runs.items():  # repetitions must not change a verdict
        for r in rs[1:]:
            for col, c in r["columns"].items():
                if c["drifted"] != rs[0]["columns"][col]["drifted"]:
                    problems.append(f"{col}: {lib} verdict changed between repetitions")
    print(
        f"\nverdicts agree: **{verdicts}/{len(names)}**; methods agree: {methods}/{len(names)}; "
        f"dataset verdict agrees: {'yes' if same_dataset else 'NO'}; "
        f"largest |score difference| (same method): {max_diff:.2e}"
    )
    for p in problems:
        print(f"  DISAGREEMENT {p}")
    record = {
        "scenario": scenario,
        "rows": rows,
        "label": label,
        "seconds": secs,
        "peak_rss_mib": peak,
        "loaded_rss_mib": loaded,
        "speedup": ratio,
        "target": TARGET,
        "met": met,
        "verdicts_agree": verdicts,
        "methods_agree": methods,
        "columns": len(names),
        "dataset_verdict_agrees": same_dataset,
        "max_score_difference": max_diff,
        "problems": problems,
        "versions": {lib: rs[0]["version"] for lib, rs in runs.items()},
        "runs": runs,
    }
    return record, len(problems)


def main() -> int:
    """Run every scenario for both libraries and print the comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--repeat", type=int, default=1, help="runs per library (median)")
    parser.add_argument("--only", choices=sorted(SCENARIOS), action="append", help="scenario(s)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "loopml-bench-drift",
        help="where generated data is cached",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    info = machine()
    print(f"machine: {info['cores']} cores, {info['memory']}, Python {info['python']}")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    results, failures = [], 0
    for index, scenario in enumerate(args.only or SCENARIOS):
        full, quick, label = SCENARIOS[scenario]
        rows = quick if args.quick else full
        data = dataset(scenario, rows, args.data_dir)
        spec = json.loads((data / "spec.json").read_text())
        print(f"\n{scenario}: data in {data}; load average before {load()}", flush=True)
        runs: dict[str, list[dict]] = {"evidently": [], "loopml": []}
        for rep in range(args.repeat):
            order = ["evidently", "loopml"] if (index + rep) % 2 == 0 else ["loopml", "evidently"]
            for lib in order:
                rec = run_one(lib, data)
                runs[lib].append(rec)
                print(f"  {lib:<9} run {rep + 1}: {rec['seconds']:8.3f} s", flush=True)
        print(f"  load average after {load()}")
        record, bad = compare(scenario, label, rows, spec, runs)
        results.append(record)
        failures += bad
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": results}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
