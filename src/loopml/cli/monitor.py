"""``loopml monitor …``: drift, quality and alert monitors over deployments' logs."""

from __future__ import annotations

import threading
from dataclasses import asdict
from datetime import UTC, datetime

import typer
from rich.text import Text

from loopml.cli._app import JsonOutput, TrackingUri, chosen_uri
from loopml.cli._render import fmt_number, fmt_time, out, print_json, print_note, table
from loopml.errors import ValidationError

app = typer.Typer(
    help="Monitor deployments: drift, data quality, model quality and service health per "
    "window of the prediction log, HTML/JSON reports, alert rules and channels, Prometheus "
    "exporter and Grafana dashboard.",
    no_args_is_help=True,
)


def _client(ctx: typer.Context, tracking_uri: str | None):  # type: ignore[no-untyped-def]
    from loopml.monitoring import MonitorClient

    return MonitorClient(chosen_uri(ctx, tracking_uri))


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{option} {text!r} is not a date-time; write ISO 8601, e.g. 2026-11-28T12:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _kv(items: list[str], option: str, number: bool) -> dict:  # type: ignore[type-arg]
    found: dict = {}  # type: ignore[type-arg]
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValidationError(f"{option} {item!r} is not COLUMN=VALUE (use * for all columns)")
        if number:
            try:
                found[key] = float(value)
            except ValueError:
                raise ValidationError(f"{option} {item!r}: {value!r} is not a number") from None
        else:
            found[key] = value
    return found


@app.command("create")
def create(
    ctx: typer.Context,
    deployment: str = typer.Argument(..., help="Deployment (prediction log) to watch."),
    name: str | None = typer.Option(None, "--name", help="Monitor name (default: deployment)."),
    window: str = typer.Option("1h", "--window", help="Window length: 15m, 1h, 1d, 7d …"),
    every: str | None = typer.Option(
        None, "--every", help='Cron schedule for `monitor scheduler`, e.g. "*/15 * * * *".'
    ),
    alert: list[str] = typer.Option(
        [],
        "--alert",
        help='Alert rule, repeatable: "[severity:] METRIC OP VALUE [for N windows]", '
        'e.g. "drift_share >= 0.5" or "critical: rmse > 8 for 2 windows".',
    ),
    channel: list[str] = typer.Option(
        [],
        "--channel",
        help="Where alerts go, repeatable: log (default), webhook=URL, slack=URL, "
        "email=ADDR (SMTP from LOOPML_SMTP_HOST/PORT/FROM).",
    ),
    segment: str | None = typer.Option(
        None, "--segment", help="Column to break model quality down by."
    ),
    method: list[str] = typer.Option(
        [], "--method", help="Drift method override COLUMN=METHOD (ks, wasserstein, psi, …)."
    ),
    threshold: list[str] = typer.Option([], "--threshold", help="Threshold override COLUMN=X."),
    share: float = typer.Option(0.5, "--drift-share", help="Drifted share for dataset drift."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Create a monitor of a deployment's prediction log.

    Example: loopml monitor create taxi-prod --window 1h --every "*/15 * * * *"
    --alert "drift_share >= 0.5" --alert "rmse > 8 for 2 windows"
    """
    monitor = _client(ctx, tracking_uri).create(
        deployment,
        name=name,
        window=window,
        every=every,
        alerts=alert,
        channels=channel,
        segment=segment,
        methods=_kv(method, "--method", False),
        thresholds=_kv(threshold, "--threshold", True),
        share_threshold=share,
    )
    out().print(Text(f"monitor {monitor.name} watches {monitor.deployment} every {window}"))


@app.command("list")
def list_(
    ctx: typer.Context, as_json: bool = JsonOutput, tracking_uri: str | None = TrackingUri
) -> None:
    """List monitors with their last window and firing alerts."""
    client = _client(ctx, tracking_uri)
    monitors = client.list()
    if as_json:
        print_json([asdict(m) for m in monitors])
        return
    grid = table("Monitors", "name", "deployment", "window", "schedule", "rules", "last window")
    for m in monitors:
        last = client.windows(m.name, limit=1)
        grid.add_row(
            m.name,
            m.deployment,
            m.config.get("window", ""),
            m.config.get("schedule") or "-",
            "\n".join(m.config.get("rules", [])) or "-",
            fmt_time(last[-1].window_end) if last else "never",
        )
    out().print(grid)


@app.command("run")
def run(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Monitor name."),
    end: str | None = typer.Option(None, "--end", help="Window end (ISO 8601; default now)."),
    start: str | None = typer.Option(None, "--start", help="Window start (default end-window)."),
    executor: str | None = typer.Option(
        None, "--executor", "-x", help="Spread drift tests over Dask: dask or dask://HOST:PORT."
    ),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Run one window now: compute, store, write the report, evaluate alert rules.

    Example: loopml monitor run taxi-prod
    """
    outcome = _client(ctx, tracking_uri).run(
        name, end=_when(end, "--end"), start=_when(start, "--start"), executor=executor
    )
    w, m = outcome.window, outcome.window.metrics
    if as_json:
        print_json(
            {
                "window": asdict(w),
                "fired": [asdict(a) for a in outcome.fired],
                "resolved": [asdict(a) for a in outcome.resolved],
            }
        )
        return
    print_note(f"window {fmt_time(w.window_start)} → {fmt_time(w.window_end)}: {w.rows} rows")
    if w.status == "empty":
        out().print("no predictions in this window")
    if "drift_share" in m:
        verdict = "DRIFT" if m.get("dataset_drift") else "no dataset drift"
        out().print(
            f"{verdict}: {int(m['drifted_columns'])} drifted column(s), "
            f"share {fmt_number(m['drift_share'])}"
        )
    for key in ("rmse", "mae", "r2", "accuracy", "f1", "latency_p95_ms"):
        if key in m and m[key] is not None:
            out().print(f"{key} = {fmt_number(m[key])}")
    for alert in outcome.fired:
        out().print(Text(f"ALERT fired [{alert.severity}] {alert.rule}: {alert.message}"))
    for alert in outcome.resolved:
        out().print(Text(f"alert resolved: {alert.rule}"))
    if outcome.html_path:
        out().print(Text(f"report: {outcome.html_path}"))
    elif w.report_uri:
        out().print(Text(f"report: {w.report_uri}"))


@app.command("compare")
def compare(
    reference: str = typer.Argument(..., help="Reference Parquet file or folder."),
    current: str = typer.Argument(..., help="Current Parquet file or folder."),
    out_dir: str | None = typer.Option(
        None, "--out", "-o", help="Folder for report.html and report.json."
    ),
    column: list[str] = typer.Option([], "--column", "-c", help="Compare only these columns."),
    method: list[str] = typer.Option([], "--method", help="Method override COLUMN=METHOD."),
    threshold: list[str] = typer.Option([], "--threshold", help="Threshold override COLUMN=X."),
    share: float = typer.Option(0.5, "--drift-share", help="Drifted share for dataset drift."),
    chunk_rows: int | None = typer.Option(
        None, "--chunk-rows", help="Stream in chunks of this many rows (automatic above 1 GiB)."
    ),
    executor: str | None = typer.Option(
        None, "--executor", "-x", help="dask (local cluster) or dask://HOST:PORT."
    ),
    as_json: bool = JsonOutput,
) -> None:
    """Drift between two Parquet datasets of any size, with an HTML/JSON report.

    Example: loopml monitor compare train.parquet last_week.parquet --out drift/
    """
    from loopml.monitoring import compare_parquet, save_report

    report, streamed = compare_parquet(
        reference,
        current,
        columns=column or None,
        methods=_kv(method, "--method", False),
        thresholds=_kv(threshold, "--threshold", True),
        share_threshold=share,
        chunk_rows=chunk_rows,
        executor=executor,
    )
    drift = report.drift
    assert drift is not None
    paths = save_report(report, out_dir) if out_dir else None
    if as_json:
        print_json(drift.to_dict() | {"streamed": streamed, "report": paths and str(paths[0])})
        return
    verdict = "DRIFT" if drift.dataset_drift else "no dataset drift"
    how = "streamed in chunks" if streamed else "in memory"
    print_note(f"{drift.reference_rows} reference rows, {drift.current_rows} current rows ({how})")
    grid = table(verdict, "column", "kind", "method", "score", "threshold", "drift")
    for c in sorted(drift.columns, key=lambda c: (not c.drifted, c.column)):
        grid.add_row(
            c.column,
            c.kind,
            c.method,
            fmt_number(c.score),
            fmt_number(c.threshold),
            "DRIFT" if c.drifted else "ok",
        )
    out().print(grid)
    out().print(f"{drift.drifted_count} of {len(drift.columns)} columns drifted")
    if paths:
        out().print(Text(f"report: {paths[0]}"))


@app.command("reports")
def reports(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Monitor name."),
    limit: int = typer.Option(20, "--max", help="Latest windows to list."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """List a monitor's stored windows with their verdict and report location."""
    windows = _client(ctx, tracking_uri).windows(name, limit)
    if as_json:
        print_json([asdict(w) for w in windows])
        return
    grid = table(f"Reports of {name}", "window end", "rows", "drift share", "verdict", "report")
    for w in windows:
        share = w.metrics.get("drift_share")
        verdict = "-" if share is None else ("DRIFT" if w.metrics.get("dataset_drift") else "ok")
        grid.add_row(
            fmt_time(w.window_end),
            str(w.rows),
            "-" if share is None else fmt_number(share),
            verdict,
            w.report_uri or "-",
        )
    out().print(grid)


@app.command("alerts")
def alerts(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Monitor name (default: all)."),
    state: str | None = typer.Option(None, "--state", help="firing or resolved."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Alert history, newest first, with deliveries."""
    client = _client(ctx, tracking_uri)
    found = client.alerts(name, state)
    if as_json:
        print_json(
            [
                asdict(a) | {"deliveries": [asdict(d) for d in client.deliveries(a.id)]}
                for a in found
            ]
        )
        return
    grid = table("Alerts", "id", "monitor", "severity", "state", "rule", "fired", "deliveries")
    for a in found:
        sent = client.deliveries(a.id)
        grid.add_row(
            str(a.id),
            a.monitor,
            a.severity,
            a.state,
            a.rule,
            fmt_time(a.fired_time),
            ", ".join(f"{d.channel} {d.event} {d.status}" for d in sent) or "-",
        )
    out().print(grid)


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Monitor name."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Delete a monitor with its windows and alerts (the audit log keeps the record)."""
    _client(ctx, tracking_uri).delete(name)
    out().print(f"monitor {name} deleted")


@app.command("scheduler")
def scheduler(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run due monitors once and exit."),
    poll: float = typer.Option(15.0, "--poll", help="Seconds between schedule checks."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Run monitors on their --every cron schedules (Ctrl+C to stop)."""
    client = _client(ctx, tracking_uri)
    if once:
        for outcome in client.run_due():
            out().print(f"ran {outcome.window.monitor}: {outcome.window.rows} rows")
        return
    print_note(f"running due monitors every {poll:g} s (Ctrl+C to stop)")
    stop = threading.Event()
    try:
        client.scheduler(poll, stop)
    except KeyboardInterrupt:
        stop.set()


@app.command("exporter")
def exporter(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(9109, "--port", "-p", help="Port to listen on."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Serve Prometheus metrics of monitors: drift per feature, drift share, quality, alerts.

    Example: loopml monitor exporter --port 9109   (then scrape http://HOST:9109/metrics)
    """
    from loopml.monitoring import start_exporter

    client = _client(ctx, tracking_uri)
    server, thread = start_exporter(client.store, host, port)
    print_note(f"exporting monitor metrics on http://{host}:{port}/metrics (Ctrl+C to stop)")
    try:
        thread.join()
    except KeyboardInterrupt:
        server.shutdown()


@app.command("grafana")
def grafana(
    out_path: str = typer.Option("loopml-dashboard.json", "--out", "-o", help="File to write."),
    title: str = typer.Option("loopml monitoring", "--title", help="Dashboard title."),
) -> None:
    """Write a Grafana dashboard (JSON) for the exporter's metrics; import it in Grafana."""
    from loopml.monitoring import write_grafana_dashboard

    out().print(Text(f"wrote {write_grafana_dashboard(out_path, title)}"))
