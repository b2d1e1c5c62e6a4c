"""Serving benchmark: `loopml serve` vs `mlflow models serve`, same model, same machine, same run.

    make bench-serving                      # needs `make bench-setup` for MLflow's venv
    python benchmarks/serving.py --quick    # 3 s per measurement instead of 10 s

One fitted scikit-learn Pipeline(StandardScaler, Ridge) on the diabetes data is logged to a
temporary loopml store (registered, alias ``champion``) and saved as an MLflow model folder
by MLflow's own interpreter, both with a signature so both servers validate input. Both
servers run at once on loopback with one worker each; loopml logs every prediction (the
default). One load generator drives both, as a separate process: ``wrk`` (installed with
apt when missing and we are root), else ``benchmarks/_serving_load.py``. Each request is
one record, the same row, in each server's native JSON: loopml ``POST /predict`` with one
record, MLflow ``POST /invocations`` with ``dataframe_split``, and loopml's
``/invocations`` with the same ``dataframe_split`` body for a like-for-like row.

Targets (from the issue): loopml's requests/s at least 3x MLflow's at concurrency 8 and 32,
with prediction logging on, and loopml's p99 at or below MLflow's p50. Also reported: the
share of a request's time spent outside ``model.predict``, and the number of rows in the
prediction log against the number of answered requests.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
LOOPML_BIN = ROOT / ".venv" / "bin"
MLFLOW_BIN = ROOT / ".venv-bench" / "bin"
CONCURRENCY = (1, 8, 32)
RPS_TARGET = 3.0  # loopml rps / MLflow rps at concurrency 8 and 32
RPS_TARGET_AT = (8, 32)
MODEL_NAME = "bench-diabetes"

# What the load generator sends to (server, path).
TARGETS = {
    "loopml /predict": ("loopml", "/predict", "record"),
    "mlflow /invocations": ("mlflow", "/invocations", "split"),
    "loopml /invocations": ("loopml", "/invocations", "split"),
}
MAIN = "loopml /predict"
PEER = "mlflow /invocations"


@dataclass
class Result:
    """One load test: requests answered, errors, throughput and latency (ms).

    ``grid_ms`` holds the latency at every 0.1 % quantile (0.1 % … 99.9 %), so that the
    slices of one measurement can be merged into one distribution.
    """

    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    grid_ms: list[float] = field(default_factory=list, repr=False)


def merge(slices: list[Result]) -> Result:
    """One result from interleaved slices: totals, and quantiles of the mixture of their
    latency distributions (each slice weighted by its request count)."""
    requests = sum(r.requests for r in slices)
    seconds = sum(r.seconds for r in slices)
    points = sorted(
        (v, r.requests / len(r.grid_ms)) for r in slices if r.grid_ms for v in r.grid_ms
    )
    total = sum(w for _, w in points)

    def quantile(q: float) -> float:
        seen = 0.0
        for value, weight in points:
            seen += weight
            if seen >= q * total:
                return value
        return points[-1][0] if points else float("nan")

    return Result(
        requests=requests,
        errors=sum(r.errors for r in slices),
        seconds=seconds,
        rps=requests / seconds if seconds else 0.0,
        p50_ms=quantile(0.50),
        p99_ms=quantile(0.99),
        mean_ms=sum(r.mean_ms * r.requests for r in slices) / max(requests, 1),
        max_ms=max(r.max_ms for r in slices),
    )


# --------------------------------------------------------------------------- the model


def build_models(tmp: Path) -> dict[str, Any]:
    """Fit one estimator; log it to a loopml store and save it as an MLflow model folder."""
    import logging
    import warnings

    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import loopml
    from loopml.registry import RegistryClient

    warnings.filterwarnings("ignore")
    logging.getLogger("loopml").setLevel(logging.WARNING)
    data = load_diabetes(as_frame=True)
    X, y = data.data, data.target
    estimator = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X, y)

    store = str(tmp / "store")
    loopml.set_tracking_uri(store)
    loopml.set_experiment("serving-bench")
    with loopml.start_run():
        loopml.log_model(estimator, "model", training_data=X, registered_model_name=MODEL_NAME)
    RegistryClient(store).set_alias(MODEL_NAME, "champion", 1)

    pickled = tmp / "estimator.pkl"
    pickled.write_bytes(pickle.dumps((estimator, X.head(50))))
    mlflow_dir = tmp / "mlflow-model"
    done = subprocess.run(
        [
            str(MLFLOW_BIN / "python"),
            str(HERE / "_serving_mlflow_model.py"),
            str(pickled),
            str(mlflow_dir),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"saving the MLflow model failed:\n{done.stderr[-4000:]}")
    row = {k: float(v) for k, v in X.iloc[7].items()}
    return {
        "store": store,
        "model_uri": f"models:/{MODEL_NAME}@champion",
        "mlflow_dir": str(mlflow_dir),
        "mlflow_version": done.stdout.strip().splitlines()[-1],
        "row": row,
        "bodies": {
            "record": json.dumps(row).encode(),
            "split": json.dumps(
                {"dataframe_split": {"columns": list(row), "data": [list(row.values())]}}
            ).encode(),
        },
    }


def predict_time_ms(model_uri: str, row: dict[str, float], calls: int) -> dict[str, float]:
    """Median in-process time of the served estimator's ``predict`` on the one-row frame,
    called as the server calls it (validated frame, same scikit-learn config)."""
    import pandas as pd
    import sklearn

    import loopml

    loaded = loopml.load_model(model_uri)
    frame = pd.DataFrame.from_records([row])
    clean = loaded.signature.validate(frame) if loaded.signature else frame
    predict = loaded.model.predict

    def median(fast: bool) -> float:
        times = []
        for _ in range(calls):
            if fast:
                with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
                    start = time.perf_counter()
                    predict(clean)
                    times.append(time.perf_counter() - start)
            else:
                start = time.perf_counter()
                predict(clean)
                times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    median(True)  # warm caches
    return {"server_config": median(True), "plain": median(False)}


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


class Server:
    """A server subprocess in its own session, stopped with SIGINT (graceful) then SIGKILL."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], port: int, health: str):
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - open while the server runs
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{name} server died:\n{self.output()}")
            try:
                if _get(self.url + health, timeout=1)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"{name} server did not become healthy:\n{self.output()}")

    def output(self) -> str:
        """What the server printed."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self, timeout: float = 60) -> None:
        """Interrupt the server's process group and wait for it to exit."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_loopml(store: str, model_uri: str) -> Server:
    """``loopml serve models:/…@champion`` with prediction logging on (the default)."""
    port = free_port()
    cmd = [
        str(LOOPML_BIN / "loopml"),
        "serve",
        model_uri,
        "--port",
        str(port),
        "--workers",
        "1",
        "-t",
        store,
    ]
    return Server("loopml", cmd, {**os.environ}, port, "/ready")


def start_mlflow(model_dir: str) -> Server:
    """``mlflow models serve`` on the same estimator, from MLflow's own venv."""
    port = free_port()
    env = {
        **os.environ,
        # MLflow starts `uvicorn` from PATH: make it MLflow's venv's.
        "PATH": f"{MLFLOW_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(MLFLOW_BIN.parent),
        "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false",
        "PYTHONWARNINGS": "ignore",
    }
    cmd = [
        str(MLFLOW_BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        model_dir,
        "--env-manager",
        "local",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "--workers",
        "1",
    ]
    return Server("mlflow", cmd, env, port, "/ping")


def scrape(server: Server) -> dict[str, float]:
    """loopml's Prometheus metrics as {sample name with labels: value}."""
    _, text = _get(server.url + "/metrics")
    out = {}
    for line in text.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


# --------------------------------------------------------------------------- load


# Each connection waits HOLD_MS after connecting before its first request, so that a
# server has set up every connection before the clock starts: a busy event loop takes new
# connections in slowly (a loop turn per step, each turn serving every open connection), and
# that start-up cost would otherwise land in the first request of each connection.
HOLD_MS = 300

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%s]==]
local first = %d
delay = function()
  if first > 0 then
    first = first - 1
    return %d
  end
  return 0
end
done = function(summary, latency, requests)
  local e = summary.errors
  local grid = {}
  for i = 1, 999 do grid[i] = string.format("%%d", latency:percentile(i / 10)) end
  io.write(string.format(
    'WRKJSON {"requests": %%d, "duration_us": %%d, "errors": %%d, "mean_us": %%f, '
    .. '"max_us": %%d, "grid_us": [%%s]}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency.mean, latency.max, table.concat(grid, ",")))
end
"""


def find_wrk(install: bool) -> str | None:
    """``wrk`` on PATH; installed with apt-get when missing, allowed, and we are root."""
    found = shutil.which("wrk")
    if found or not install or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return found
    if shutil.which("apt-get") is None:
        return None
    print("wrk is missing: installing it with apt-get", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
    cmd = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(cmd, **quiet).returncode != 0:  # type: ignore[call-overload]
        subprocess.run(["apt-get", "update", "-qq"], **quiet)  # type: ignore[call-overload]
        subprocess.run(cmd, **quiet)  # type: ignore[call-overload]
    return shutil.which("wrk")


def consistent(r: Result, concurrency: int) -> bool:
    """Whether the latencies fit in the time the connections had: ``concurrency`` closed
    loops cannot be busy for more than ``concurrency x seconds`` in all (wrk on this kind
    of VM now and then reports latencies adding up to several times that)."""
    return r.mean_ms * r.requests / 1000 <= 1.10 * concurrency * r.seconds


class LoadGenerator:
    """Runs one closed-loop load test per call, in a separate process.

    A wrk result whose latencies cannot fit in its run time is a measurement fault: the
    slice is run again (three tries, then once with the asyncio generator); ``faults``
    counts them.
    """

    def __init__(self, wrk: str | None, tmp: Path) -> None:
        self.wrk = wrk
        self.tmp = tmp
        self.name = f"wrk ({wrk})" if wrk else "benchmarks/_serving_load.py (asyncio)"
        self.faults = 0

    def run(self, url: str, body: bytes, concurrency: int, seconds: float) -> Result:
        """Load ``url`` with ``concurrency`` connections for ``seconds`` (rounded to whole
        seconds, the first HOLD_MS of which only set up the connections)."""
        if self.wrk:
            for _ in range(3):
                r = self._wrk(url, body, concurrency, seconds)
                if consistent(r, concurrency):
                    return r
                self.faults += 1
        return self._asyncio(url, body, concurrency, seconds)

    def _asyncio(self, url: str, body: bytes, concurrency: int, seconds: float) -> Result:
        body_file = self.tmp / "body.json"
        body_file.write_bytes(body)
        done = subprocess.run(
            [
                sys.executable,
                str(HERE / "_serving_load.py"),
                url,
                str(body_file),
                str(concurrency),
                str(max(1, round(seconds)) - HOLD_MS / 1000),
                str(HOLD_MS),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"load generator failed:\n{done.stderr[-4000:]}")
        return Result(**json.loads(done.stdout.strip().splitlines()[-1]))

    def _wrk(self, url: str, body: bytes, concurrency: int, seconds: float) -> Result:
        script = self.tmp / "post.lua"
        script.write_text(WRK_SCRIPT % (body.decode(), concurrency, HOLD_MS))
        cmd = [
            self.wrk or "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",  # whole seconds only; the hold is inside
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
        if done.returncode != 0 or line is None:
            raise SystemExit(f"wrk failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        raw = json.loads(line[len("WRKJSON ") :])
        secs = raw["duration_us"] / 1e6 - HOLD_MS / 1000
        grid = [v / 1000 for v in raw["grid_us"]]
        return Result(
            requests=raw["requests"],
            errors=raw["errors"],
            seconds=secs,
            rps=raw["requests"] / secs,
            p50_ms=grid[499],
            p99_ms=grid[989],
            mean_ms=raw["mean_us"] / 1000,
            max_ms=raw["max_us"] / 1000,
            grid_ms=grid,
        )


# --------------------------------------------------------------------------- report


def machine() -> dict[str, str]:
    """Facts about this machine for the record."""
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return {
        "cores": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg": load,
    }


def _mark(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(results: dict[int, dict[str, Result]]) -> tuple[list[str], bool]:
    """Print the table, the ratios and the verdicts; return the verdict lines and overall."""
    print()
    print(
        f"{'target':<22}{'conc':>5}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
        f"{'requests':>10}{'errors':>8}"
    )
    for c, row in results.items():
        for label, r in row.items():
            print(
                f"{label:<22}{c:>5}{r.rps:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
                f"{r.mean_ms:>9.2f}{r.requests:>10}{r.errors:>8}"
            )
    print()
    verdicts = []
    ok_all = True
    for c, row in results.items():
        peer = row[PEER]
        for label in (MAIN, "loopml /invocations"):
            ours = row[label]
            ratio = ours.rps / peer.rps
            tail_ok = ours.p99_ms <= peer.p50_ms
            line = (
                f"c={c:<3} {label:<20} rps {ratio:5.1f}x MLflow"
                + (
                    f" (target >= {RPS_TARGET:g}x: {_mark(ratio >= RPS_TARGET)})"
                    if c in RPS_TARGET_AT
                    else ""
                )
                + f"; p99 {ours.p99_ms:.2f} ms vs MLflow p50 {peer.p50_ms:.2f} ms"
                f" ({_mark(tail_ok)})"
            )
            print(line)
            verdicts.append(line)
            if c in RPS_TARGET_AT:
                ok_all &= ratio >= RPS_TARGET
            ok_all &= tail_ok
            ok_all &= ours.errors == 0
    return verdicts, ok_all


def main() -> int:
    """Set up both servers, load them in turn and print the comparison."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 s per measurement, not 10 s")
    parser.add_argument("--seconds", type=float, help="seconds per measurement")
    parser.add_argument(
        "--rounds",
        type=int,
        help="slices each measurement is cut into, interleaved across the three targets so "
        "that a change in the machine's load hits all of them alike (default 5; quick 3)",
    )
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="auto: wrk when available (apt-get installs it as root), else the asyncio one",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if not (MLFLOW_BIN / "mlflow").exists():
        raise SystemExit(f"{MLFLOW_BIN / 'mlflow'} is missing: run `make bench-setup` first")
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    rounds = args.rounds or (3 if args.quick else 5)
    warmup = 1.0 if args.quick else 3.0

    from loopml import __version__ as loopml_version

    info = machine()
    print(
        f"machine: {info['cores']} cores, {info['memory']}, Python {info['python']}, "
        f"load average {info['loadavg']}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as name:
        tmp = Path(name)
        setup = build_models(tmp)
        print(
            f"loopml {loopml_version}, MLflow {setup['mlflow_version']}; model "
            f"Pipeline(StandardScaler, Ridge) on diabetes, 10 float features"
        )
        predict_ms = predict_time_ms(
            setup["model_uri"], setup["row"], 3000 if args.quick else 10000
        )
        print(
            f"model.predict on the one-row frame, in process (median): "
            f"{predict_ms['server_config'] * 1000:.0f} µs as loopml calls it, "
            f"{predict_ms['plain'] * 1000:.0f} µs with scikit-learn's default config"
        )

        wrk = None if args.loadgen == "python" else find_wrk(install=True)
        if args.loadgen == "wrk" and wrk is None:
            raise SystemExit("wrk is not available")
        load = LoadGenerator(wrk, tmp)
        print(
            f"load generator: {load.name}; {seconds:g} s per measurement in {rounds} "
            f"interleaved slices, after a {warmup:g} s warm-up"
        )

        servers = {
            "loopml": start_loopml(setup["store"], setup["model_uri"]),
            "mlflow": start_mlflow(setup["mlflow_dir"]),
        }
        answered = 0  # loopml requests answered (each should be one logged prediction)
        in_flight = 0  # requests a load generator may have left in flight at its end
        results: dict[int, dict[str, Result]] = {}
        windows: dict[int, list[tuple[int, int]]] = {c: [] for c in CONCURRENCY}
        server_sum = server_count = 0.0
        dropped = 0.0
        key = '{endpoint="/predict"}'
        try:
            answers = {}
            for label, (server, path, body) in TARGETS.items():
                url = servers[server].url + path
                status, answers[label] = _check(url, setup["bodies"][body])
                print(f"{label}: answers {status}")
                if answers[label] != answers[MAIN]:
                    raise SystemExit(f"the servers disagree: {answers}")
                r = load.run(url, setup["bodies"][body], 8, warmup)
                if server == "loopml":
                    answered += 1 + r.requests - r.errors
                    in_flight += 8
            labels = list(TARGETS)
            for c in CONCURRENCY:
                slices: dict[str, list[Result]] = {label: [] for label in labels}
                for k in range(rounds):
                    for label in labels[k % 3 :] + labels[: k % 3]:  # rotate the order
                        server, path, body = TARGETS[label]
                        url = servers[server].url + path
                        before = scrape(servers["loopml"]) if label == MAIN else None
                        start_ms = int(time.time() * 1000)
                        r = load.run(url, setup["bodies"][body], c, seconds / rounds)
                        if before is not None:
                            windows[c].append((start_ms, int(time.time() * 1000)))
                            if c == 1:
                                after = scrape(servers["loopml"])
                                server_sum += (
                                    after["loopml_request_latency_seconds_sum" + key]
                                    - before["loopml_request_latency_seconds_sum" + key]
                                )
                                server_count += (
                                    after["loopml_request_latency_seconds_count" + key]
                                    - before["loopml_request_latency_seconds_count" + key]
                                )
                        if server == "loopml":
                            answered += r.requests - r.errors
                            in_flight += c
                        slices[label].append(r)
                results[c] = {label: merge(slices[label]) for label in labels}
                for label, r in results[c].items():
                    print(
                        f"  c={c:<3} {label:<20} {r.rps:8.0f} req/s  p50 {r.p50_ms:6.2f} ms  "
                        f"p99 {r.p99_ms:6.2f} ms  errors {r.errors}",
                        flush=True,
                    )
            dropped = scrape(servers["loopml"]).get("loopml_log_dropped", 0.0)
        finally:
            for server in servers.values():
                server.stop()

        verdicts, ok = report(results)
        if load.faults:
            print(
                f"({load.faults} wrk slice(s) reported latencies that cannot fit in their run "
                "time and were run again)"
            )

        # Prediction logging happened: one log row per answered loopml request.
        import loopml
        from loopml.serving import get_prediction_log

        loopml.set_tracking_uri(setup["store"])
        logged = get_prediction_log(MODEL_NAME)
        rows = len(logged)
        unique = logged["request_id"].nunique() if rows else 0
        # A load generator stops with up to `concurrency` requests in flight: the server
        # answers (and logs) those, the load generator does not count them.
        log_ok = answered <= rows <= answered + in_flight and unique == rows and dropped == 0
        print()
        print(
            f"prediction log: {rows} rows ({unique} distinct request ids) for {answered} "
            f"answered loopml requests (+ at most {in_flight} cut off in flight); "
            f"dropped {dropped:.0f} ({_mark(log_ok)})"
        )
        ok &= log_ok

        # Share of a request's time spent outside model.predict. The server times each
        # predict call and logs it (latency_ms): take the rows of the /predict slices.
        def predict_in_server(c: int) -> float:
            stamps = logged["timestamp_ms"].to_numpy()
            inside = np.zeros(len(stamps), dtype=bool)
            for lo, hi in windows[c]:
                inside |= (stamps >= lo) & (stamps <= hi)
            return float(logged["latency_ms"].to_numpy()[inside].mean())

        c1, top = results[1][MAIN], results[max(CONCURRENCY)][MAIN]
        p1, ptop = predict_in_server(1), predict_in_server(max(CONCURRENCY))
        server_mean_ms = server_sum / max(server_count, 1) * 1000
        shares = {
            "c1_end_to_end": 1 - p1 / c1.mean_ms,
            "c1_server_side": 1 - p1 / server_mean_ms,
            "saturated": 1 - ptop * top.rps / 1000,
        }
        # MLflow calls the same estimator with scikit-learn's default config: loopml's
        # in-server predict times, scaled by the in-process ratio of the two configs.
        plain = predict_ms["plain"] / predict_ms["server_config"]
        peer_shares = {
            "c1_end_to_end": 1 - p1 * plain / results[1][PEER].mean_ms,
            "saturated": 1 - ptop * plain * results[max(CONCURRENCY)][PEER].rps / 1000,
        }
        print(
            f"time outside model.predict, loopml /predict: at c=1 predict took {p1 * 1000:.0f} µs "
            f"of the {c1.mean_ms * 1000:.0f} µs mean request, so {shares['c1_end_to_end']:.0%} "
            f"was outside it end to end ({shares['c1_server_side']:.0%} of the "
            f"{server_mean_ms * 1000:.0f} µs the server's own latency histogram measured); at "
            f"c={max(CONCURRENCY)} predict took {ptop * 1000:.0f} µs of the "
            f"{1e6 / top.rps:.0f} µs per request (1/throughput): {shares['saturated']:.0%} outside"
        )
        print(
            f"  (MLflow, same estimator: {peer_shares['c1_end_to_end']:.0%} "
            f"outside at c=1, {peer_shares['saturated']:.0%} at c={max(CONCURRENCY)})"
        )
        info["loadavg_after"] = machine()["loadavg"]
        print(f"load average after the run: {info['loadavg_after']}")
        print(f"\noverall: {_mark(ok)}")

        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "machine": info,
                        "versions": {"loopml": loopml_version, "mlflow": setup["mlflow_version"]},
                        "load_generator": load.name,
                        "load_generator_faults_rerun": load.faults,
                        "seconds": seconds,
                        "rounds": rounds,
                        "results": {
                            str(c): {k: vars(v) for k, v in row.items()}
                            for c, row in results.items()
                        },
                        "predict_ms_in_process": predict_ms,
                        "predict_ms_in_server": {"1": p1, str(max(CONCURRENCY)): ptop},
                        "server_mean_ms_c1": server_mean_ms,
                        "share_outside_predict": shares,
                        "mlflow_share_outside_predict": peer_shares,
                        "prediction_log": {
                            "rows": rows,
                            "answered": answered,
                            "in_flight_slack": in_flight,
                            "dropped": dropped,
                        },
                        "verdicts": verdicts,
                        "passed": ok,
                    },
                    indent=2,
                )
            )
    return 0 if ok else 1


def _check(url: str, body: bytes) -> tuple[str, list[Any]]:
    """POST the body once; a short description of the answer and its predictions (fails
    loudly on an error status)."""
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
            return f"{resp.status} {raw[:160].decode()}", json.loads(raw)["predictions"]
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{url} answered {exc.code}: {exc.read()[:2000].decode()}") from None


if __name__ == "__main__":
    sys.exit(main())
