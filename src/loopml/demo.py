"""``make demo``: train regressors on scikit-learn's diabetes data, track, rank and register.

The best candidate is registered as ``diabetes``, gets the ``champion`` alias, and its
model card and lineage are printed. Then the champion is served on a local port, a few
hundred requests and their labels are sent, and latencies and log locations are printed.
Finally four later weeks of traffic are replayed with drift injected from week 3; a weekly
monitor runs over them, alerts fire, and the HTML report's path is printed.

Run with ``python -m loopml.demo [--tracking-uri PATH]``. Uses the embedded store
(``./.loopml`` unless ``LOOPML_HOME``/``LOOPML_TRACKING_URI`` say otherwise).
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time

import httpx
import numpy as np
import uvicorn
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Lasso, Ridge
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.monitoring import MonitorClient, WindowOutcome
from loopml.registry import lineage, model_card_markdown
from loopml.serving import PredictionLogger, build_app, joined_log, write_feedback
from loopml.serving._logs import PREDICTIONS, log_root

EXPERIMENT = "diabetes-demo"
REGISTERED_MODEL = "diabetes"
DEPLOYMENT = "diabetes-demo"
REPLAY = "diabetes-replay"
MONITOR = "diabetes-weekly"
DRIFTED = ("bmi", "bp", "s3", "s4", "s5", "s6")  # an older, heavier population from week 3
DAY_MS = 86_400_000
LIMITATIONS = (
    "Trained on 442 patients of one study (scikit-learn's diabetes data); not validated on "
    "other populations. Predicts a disease-progression score, not a diagnosis."
)

CANDIDATES = {
    "ridge": lambda: make_pipeline(StandardScaler(), Ridge(alpha=1.0)),
    "lasso": lambda: make_pipeline(StandardScaler(), Lasso(alpha=0.5)),
    "knn": lambda: make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=15)),
    "random_forest": lambda: RandomForestRegressor(n_estimators=200, random_state=0, n_jobs=1),
    "gradient_boosting": lambda: GradientBoostingRegressor(random_state=0),
}


def train_all(console: Console) -> str:
    """Train every candidate as a tracked run; returns the experiment id."""
    data = load_diabetes(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=42
    )
    exp = loopml.set_experiment(EXPERIMENT)
    with loopml.start_run(run_name=f"sweep-{time.strftime('%H%M%S')}") as parent:
        loopml.log_input(data.frame, context="source", name="sklearn-diabetes", source="sklearn")
        for name, build in CANDIDATES.items():
            with loopml.start_run(run_name=name, nested=True):
                model = build()
                estimator = model.steps[-1][1] if hasattr(model, "steps") else model
                loopml.log_param("model", name)
                loopml.log_params(
                    {k: v for k, v in estimator.get_params().items() if np.isscalar(v)}
                )
                loopml.log_input(X_train.assign(target=y_train), context="train", name="diabetes")
                loopml.log_input(X_test.assign(target=y_test), context="test", name="diabetes")
                start = time.perf_counter()
                model.fit(X_train, y_train)
                loopml.log_metric("fit_seconds", time.perf_counter() - start)
                loopml.log_model(
                    model,
                    "model",
                    training_data=X_train,
                    training_labels=y_train,
                    input_example=X_test.head(3),
                )
                pred = model.predict(X_test)
                loopml.log_metrics(
                    {
                        "rmse": float(np.sqrt(mean_squared_error(y_test, pred))),
                        "mae": float(mean_absolute_error(y_test, pred)),
                        "r2": float(r2_score(y_test, pred)),
                    }
                )
                console.print(f"  trained [bold]{name}[/bold]")
    console.print(f"parent run {parent.info.run_id}")
    return exp.experiment_id


def latest_sweep(experiment_id: str) -> list:  # type: ignore[type-arg]
    """The latest sweep's candidate runs, best test RMSE first."""
    runs = loopml.search_runs(
        experiment_ids=[experiment_id],
        filter_string="params.model != ''",
        order_by=["attributes.start_time DESC"],
        max_results=len(CANDIDATES),
        output_format="list",
    )
    return sorted(runs, key=lambda r: r.data.metrics["rmse"])


def ranked_table(ranked: list) -> Table:  # type: ignore[type-arg]
    """The candidates ranked by test RMSE."""
    table = Table(title="diabetes: candidates ranked by test RMSE (lower is better)")
    for col in ("rank", "model", "rmse", "mae", "r2", "fit s", "run id"):
        table.add_column(col, justify="right" if col not in ("model", "run id") else "left")
    for i, run in enumerate(ranked, 1):
        m = run.data.metrics
        table.add_row(
            str(i),
            run.data.params["model"],
            f"{m['rmse']:.2f}",
            f"{m['mae']:.2f}",
            f"{m['r2']:.3f}",
            f"{m['fit_seconds']:.3f}",
            run.info.run_id,
        )
    return table


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m loopml.demo``."""
    parser = argparse.ArgumentParser(prog="python -m loopml.demo", description=__doc__)
    parser.add_argument("--tracking-uri", help="store to use (default ./.loopml)")
    args = parser.parse_args(argv)
    if args.tracking_uri:
        loopml.set_tracking_uri(args.tracking_uri)
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(f"[bold]loopml demo[/bold] — store: {loopml.get_tracking_uri()}")
    experiment_id = train_all(console)
    ranked = latest_sweep(experiment_id)
    console.print(ranked_table(ranked))
    best = ranked[0]
    version = promote(best.info.run_id, best.data.params["model"])
    registry = loopml.RegistryClient(loopml.get_tracking_uri())
    console.print(Markdown(model_card_markdown(registry, REGISTERED_MODEL, version)))
    console.print("[bold]Lineage[/bold]")
    console.print(lineage(registry, REGISTERED_MODEL, version).render(), highlight=False)
    serve_and_feed(console)
    monitor_month(console)
    console.print(
        f"Next: [cyan]loopml models versions {REGISTERED_MODEL}[/cyan] · "
        f"[cyan]loopml serve models:/{REGISTERED_MODEL}@champion[/cyan] · "
        f"[cyan]loopml monitor reports {MONITOR}[/cyan] · "
        f"[cyan]loopml monitor alerts[/cyan]"
    )


def serve_and_feed(console: Console, requests: int = 300) -> dict[str, float]:
    """Serve the champion on a local port, send requests and labels, report latencies."""
    data = load_diabetes(as_frame=True)
    X, y = data.data, data.target
    app = build_app(f"models:/{REGISTERED_MODEL}@champion", loopml.get_tracking_uri(), DEPLOYMENT)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    latencies, ids, labels = [], [], []
    with httpx.Client(timeout=10) as http:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the demo server did not start")
            time.sleep(0.05)
        for i in range(requests):
            row = X.iloc[i % len(X)].to_dict()
            start = time.perf_counter()
            answer = http.post(f"{url}/predict", json=row).raise_for_status().json()
            latencies.append((time.perf_counter() - start) * 1000)
            ids += answer["request_ids"]
            labels.append(float(y.iloc[i % len(y)]))
        http.post(f"{url}/feedback", json={"request_ids": ids, "labels": labels})
    server.should_exit = True
    thread.join(30)  # shutdown flushes the prediction log
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    joined = joined_log(loopml.tracking.get_client(), DEPLOYMENT)
    labelled = joined.dropna(subset=["label"])
    rmse = float(np.sqrt(np.mean((labelled["prediction"] - labelled["label"]) ** 2)))
    root = loopml.tracking.get_client().store.default_artifact_root
    console.print(
        f"[bold]Serving[/bold] {requests} requests to {url}: latency p50 {p50:.2f} ms, "
        f"p95 {p95:.2f} ms, p99 {p99:.2f} ms"
    )
    console.print(
        f"prediction log: {len(joined)} rows, {len(labelled)} labelled (live RMSE {rmse:.2f}) "
        f"under {root}/predictions/deployment={DEPLOYMENT} and {root}/feedback/"
    )
    return {"p50": float(p50), "p99": float(p99), "rows": len(joined), "labelled": len(labelled)}


def replay_month(weeks: int = 4, per_day: int = 100) -> int:
    """Write ``weeks`` of simulated traffic with labels into the prediction log of REPLAY.

    The clock starts at the next UTC midnight; from week 3 six features drift upwards and
    the true progression grows with them. Returns the replay's start (ms).
    """
    data = load_diabetes(as_frame=True)
    X, y = data.data, data.target
    model = loopml.load_model(f"models:/{REGISTERED_MODEL}@champion")
    version = loopml.RegistryClient(loopml.get_tracking_uri()).resolve(
        f"models:/{REGISTERED_MODEL}@champion"
    )
    client = loopml.tracking.get_client()
    logger = PredictionLogger(log_root(client, PREDICTIONS), REPLAY, flush_interval=0.1)
    start = (int(time.time() * 1000) // DAY_MS + 1) * DAY_MS
    rng = np.random.default_rng(7)
    ids: list[str] = []
    labels: list[float] = []
    for day in range(7 * weeks):
        pick = rng.integers(0, len(X), per_day)
        rows, truth = X.iloc[pick].reset_index(drop=True), y.iloc[pick].to_numpy()
        if day >= 14:
            for col in DRIFTED:
                rows[col] = rows[col] + 1.5 * X[col].std()
            truth = truth * 1.35
        preds = model.predict(rows)
        day_ids = [f"replay-{day}-{i}" for i in range(per_day)]
        latency = float(rng.uniform(2, 6) * per_day)
        stamp = start + day * DAY_MS + 12 * 3_600_000
        logger.log_request(
            day_ids,
            rows,
            [float(p) for p in preds],
            stamp,
            REGISTERED_MODEL,
            str(version.version),
            "primary",
            latency,
        )
        ids += day_ids
        labels += (truth + rng.normal(0, 20, per_day)).tolist()
    logger.close()
    write_feedback(client, REPLAY, ids, labels)
    return start


def monitor_month(console: Console, weeks: int = 4) -> list[WindowOutcome]:
    """Replay later weeks with drift, run a weekly monitor over them, show alerts and report."""
    start = replay_month(weeks)
    monitors = MonitorClient(loopml.get_tracking_uri())
    if MONITOR in {m.name for m in monitors.list()}:
        monitors.delete(MONITOR)
    monitors.create(
        REPLAY,
        name=MONITOR,
        window="7d",
        every="0 6 * * 1",
        alerts=["drift_share >= 0.5", "critical: rmse > 70 for 2 windows"],
        channels=["log"],
    )
    grid = Table(title=f"Monitor {MONITOR}: {weeks} replayed weeks of {REPLAY}")
    for column in ("week", "rows", "drift share", "drifted columns", "RMSE", "alerts"):
        grid.add_column(column)
    outcomes = []
    for week in range(weeks):
        outcome = monitors.run(MONITOR, end=start + (week + 1) * 7 * DAY_MS)
        outcomes.append(outcome)
        m = outcome.window.metrics
        drifted = [
            k.split(".", 1)[1] for k, v in m.items() if k.startswith("drift_detected.") and v
        ]
        changes = [f"fired: {a.rule}" for a in outcome.fired]
        changes += [f"resolved: {a.rule}" for a in outcome.resolved]
        grid.add_row(
            str(week + 1),
            str(outcome.window.rows),
            f"{m.get('drift_share', 0):.2f}",
            ", ".join(drifted) or "-",
            f"{m['rmse']:.1f}" if "rmse" in m else "-",
            "\n".join(changes) or "-",
        )
    console.print(grid)
    for alert in monitors.alerts(MONITOR, "firing"):
        console.print(
            f"[bold red]ALERT[/bold red] {escape(f'[{alert.severity}] {alert.rule}')}: "
            f"{escape(alert.message)}"
        )
    console.print(f"drift report (HTML): {outcomes[-1].html_path}", soft_wrap=True)
    return outcomes


def promote(run_id: str, model_name: str) -> int:
    """Register the best run's model and point ``champion`` at it; returns the version."""
    registry = loopml.RegistryClient(loopml.get_tracking_uri())
    version = registry.register_model(f"runs:/{run_id}/model", REGISTERED_MODEL)
    registry.store.set_model_tag(REGISTERED_MODEL, "limitations", LIMITATIONS)
    registry.set_alias(
        REGISTERED_MODEL, "champion", version.version, reason=f"best test RMSE ({model_name})"
    )
    loaded = loopml.load_model(f"models:/{REGISTERED_MODEL}@champion")
    sample = loaded.input_example()
    assert sample is not None and len(loaded.predict(sample)) == len(sample)
    return version.version


if __name__ == "__main__":
    main()
