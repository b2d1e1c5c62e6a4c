"""``loopml runs …``: list, show, compare, delete, restore and kill runs."""

from __future__ import annotations

import math
from collections import Counter

import typer
from rich.table import Table

from loopml.cli._common import (
    JsonOutput,
    TrackingUri,
    cli_errors,
    client,
    console,
    fmt_duration,
    fmt_number,
    fmt_time,
    parse_duration_ms,
    print_json,
    resolve_experiment,
)
from loopml.entities import Run, RunStatus, ViewType
from loopml.errors import ConflictError, LoopmlError
from loopml.tracking import Client

app = typer.Typer(help="List, inspect, compare and clean up runs.", no_args_is_help=True)

SYSTEM_PREFIX = "loopml."
LOWER_IS_BETTER = ("loss", "error", "rmse", "mae", "mse", "mape", "time", "seconds")


def run_json(run: Run) -> dict[str, object]:
    """A run as plain JSON-ready data."""
    info = run.info
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": info.status.value,
        "lifecycle_stage": info.lifecycle_stage.value,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "artifact_uri": info.artifact_uri,
        "user_id": info.user_id,
        "parent_run_id": info.parent_run_id,
        "metrics": run.data.metrics,
        "params": run.data.params,
        "tags": run.data.tags,
        "inputs": [
            {
                "name": i.dataset.name,
                "digest": i.dataset.digest,
                "context": i.context,
                "source": i.dataset.source,
                "num_rows": i.dataset.num_rows,
            }
            for i in run.inputs
        ],
    }


def _experiment_ids(c: Client, experiments: list[str]) -> list[str]:
    if experiments:
        return [resolve_experiment(c, e) for e in experiments]
    return [e.experiment_id for e in c.search_experiments()]


@app.command("list")
@cli_errors
def list_runs(
    experiment: list[str] = typer.Option(
        [], "--experiment", "-e", help="Experiment id or name (repeatable; default: all active)."
    ),
    filter_string: str | None = typer.Option(
        None, "--filter", "-f", help="e.g. \"metrics.rmse < 5 and params.model = 'rf'\""
    ),
    order_by: list[str] = typer.Option(
        [], "--order-by", "-o", help="e.g. 'metrics.rmse ASC' (repeatable)."
    ),
    max_results: int = typer.Option(100, "--max", help="Most runs to show."),
    all_: bool = typer.Option(False, "--all", help="Include deleted runs."),
    deleted: bool = typer.Option(False, "--deleted", help="Only deleted runs."),
    wide: bool = typer.Option(False, "--wide", help="Show every metric and param column."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """List runs, filtered with MLflow's syntax and ordered.

    Example: loopml runs list -e diabetes-demo -f "metrics.rmse < 60" -o "metrics.rmse"
    """
    c = client(tracking_uri)
    view = ViewType.ALL if all_ else ViewType.DELETED_ONLY if deleted else ViewType.ACTIVE_ONLY
    runs = c.search_runs(
        _experiment_ids(c, experiment), filter_string, view, max_results, order_by or None
    ).items
    if as_json:
        print_json([run_json(r) for r in runs])
        return
    limit = None if wide else 4
    metric_keys = [
        k for k, _ in Counter(k for r in runs for k in r.data.metrics).most_common(limit)
    ]
    param_keys = [k for k, _ in Counter(k for r in runs for k in r.data.params).most_common(limit)]
    table = Table(title=f"{len(runs)} run(s)")
    for col in ("run id", "name", "status", "started", "duration"):
        table.add_column(col, no_wrap=col == "run id")
    for key in metric_keys:
        table.add_column(key, justify="right", style="cyan")
    for key in param_keys:
        table.add_column(key, style="magenta")
    for r in runs:
        i = r.info
        table.add_row(
            i.run_id,
            i.run_name,
            i.status.value,
            fmt_time(i.start_time),
            fmt_duration(i.start_time, i.end_time),
            *[fmt_number(r.data.metrics[k]) if k in r.data.metrics else "" for k in metric_keys],
            *[r.data.params.get(k, "") for k in param_keys],
        )
    console.print(table)


@app.command("show")
@cli_errors
def show(
    run_id: str = typer.Argument(..., help="Run id."),
    system: bool = typer.Option(False, "--system", help="Also show loopml.* system tags."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Show a run: info, params, latest metrics, tags, datasets and artifacts."""
    c = client(tracking_uri)
    run = c.get_run(run_id)
    if as_json:
        print_json(run_json(run))
        return
    i = run.info
    console.print(f"[bold]{i.run_name}[/bold]  {i.run_id}")
    console.print(
        f"status {i.status.value} · experiment {i.experiment_id} · "
        f"started {fmt_time(i.start_time)} · duration {fmt_duration(i.start_time, i.end_time)}"
        + (f" · parent {i.parent_run_id}" if i.parent_run_id else "")
        + (" · [red]deleted[/red]" if i.lifecycle_stage.value == "deleted" else "")
    )
    console.print(f"artifacts: {i.artifact_uri}")
    _kv_table("params", run.data.params)
    _kv_table("metrics", {k: fmt_number(v) for k, v in run.data.metrics.items()})
    tags = {k: v for k, v in run.data.tags.items() if system or not k.startswith(SYSTEM_PREFIX)}
    _kv_table("tags", tags)
    if run.inputs:
        table = Table(title="datasets")
        for col in ("name", "context", "rows", "digest", "source"):
            table.add_column(col)
        for item in run.inputs:
            d = item.dataset
            rows = str(d.num_rows) if d.num_rows is not None else "-"
            table.add_row(d.name, item.context or "-", rows, d.digest[:12], d.source)
        console.print(table)
    try:
        files = c.list_artifacts(run_id)
    except LoopmlError as exc:
        console.print(f"[yellow]artifacts could not be listed:[/yellow] {exc}")
        return
    if files:
        table = Table(title="artifacts")
        table.add_column("path")
        table.add_column("size", justify="right")
        for f in files:
            table.add_row(f.path + ("/" if f.is_dir else ""), "" if f.is_dir else str(f.file_size))
        console.print(table)


def _kv_table(title: str, data: dict[str, str]) -> None:
    if not data:
        return
    table = Table(title=title)
    table.add_column("key")
    table.add_column("value")
    for key in sorted(data):
        table.add_row(key, str(data[key]))
    console.print(table)


def _best(key: str, values: list[float]) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return None
    lower = any(word in key.lower() for word in LOWER_IS_BETTER)
    return min(finite) if lower else max(finite)


@app.command("compare")
@cli_errors
def compare(
    run_ids: list[str] = typer.Argument(..., help="Two or more run ids."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Compare runs side by side: params that differ are yellow, the best metric green.

    Lower is better for metrics named like loss/error/rmse/mae/mse/time, higher otherwise.
    """
    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two run ids", param_hint="RUN_IDS")
    c = client(tracking_uri)
    runs = [c.get_run(r) for r in run_ids]
    metric_keys = sorted({k for r in runs for k in r.data.metrics})
    param_keys = sorted({k for r in runs for k in r.data.params})
    if as_json:
        print_json(
            {
                "runs": [r.info.run_id for r in runs],
                "metrics": {
                    k: {
                        "values": [r.data.metrics.get(k) for r in runs],
                        "best": _best(k, [r.data.metrics[k] for r in runs if k in r.data.metrics]),
                    }
                    for k in metric_keys
                },
                "params": {
                    k: {
                        "values": [r.data.params.get(k) for r in runs],
                        "differs": len({r.data.params.get(k) for r in runs}) > 1,
                    }
                    for k in param_keys
                },
            }
        )
        return
    table = Table(title="run comparison")
    table.add_column("")
    for r in runs:
        table.add_column(f"{r.info.run_name}\n{r.info.run_id[:8]}", justify="right")
    for key in metric_keys:
        values = [r.data.metrics.get(key) for r in runs]
        best = _best(key, [v for v in values if v is not None])
        cells = []
        for v in values:
            if v is None:
                cells.append("-")
            elif best is not None and v == best:
                cells.append(f"[green bold]{fmt_number(v)}[/green bold]")
            else:
                cells.append(fmt_number(v))
        table.add_row(f"metrics.{key}", *cells)
    for key in param_keys:
        values = [r.data.params.get(key) for r in runs]
        style = "yellow" if len(set(values)) > 1 else ""
        cells = [
            f"[{style}]{v}[/{style}]" if style and v is not None else (v or "-") for v in values
        ]
        table.add_row(f"params.{key}", *cells)
    console.print(table)


@app.command("delete")
@cli_errors
def delete(
    run_ids: list[str] = typer.Argument(..., help="Run ids."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Soft-delete runs (restore brings them back)."""
    c = client(tracking_uri)
    for run_id in run_ids:
        c.delete_run(run_id)
        console.print(f"deleted run {run_id}")


@app.command("restore")
@cli_errors
def restore(
    run_ids: list[str] = typer.Argument(..., help="Run ids."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Restore deleted runs."""
    c = client(tracking_uri)
    for run_id in run_ids:
        c.restore_run(run_id)
        console.print(f"restored run {run_id}")


@app.command("kill")
@cli_errors
def kill(
    run_ids: list[str] = typer.Argument(None, help="Run ids to mark KILLED."),
    older_than: str | None = typer.Option(
        None, "--older-than", help="Kill every RUNNING run started longer ago, e.g. 2h, 1d."
    ),
    experiment: list[str] = typer.Option(
        [], "--experiment", "-e", help="With --older-than: only these experiments."
    ),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Mark runs left RUNNING (e.g. by a killed process) as KILLED.

    Examples: loopml runs kill 3f2a…  ·  loopml runs kill --older-than 2h
    """
    if not run_ids and older_than is None:
        raise typer.BadParameter("give run ids or --older-than", param_hint="RUN_IDS")
    c = client(tracking_uri)
    if older_than is not None:
        ms = parse_duration_ms(older_than)
        killed = c.kill_stale_runs(ms, _experiment_ids(c, experiment))
        console.print(f"marked {len(killed)} run(s) KILLED")
        for run_id in killed:
            console.print(f"  {run_id}")
    for run_id in run_ids or []:
        status = c.get_run(run_id).info.status
        if status != RunStatus.RUNNING:
            raise ConflictError(
                f"run {run_id} is {status.value}, not RUNNING; only running runs can be killed"
            )
        c.set_terminated(run_id, RunStatus.KILLED)
        console.print(f"killed run {run_id}")
