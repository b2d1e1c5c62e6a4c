"""``loopml runs …``: list, show, compare, delete, restore and kill runs."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

import typer
from rich.text import Text

from loopml.cli._app import (
    AllOption,
    DeletedOption,
    JsonOutput,
    TrackingUri,
    experiment_id,
    open_client,
    view_type,
)
from loopml.cli._compare import LEGEND, comparison_json, comparison_table
from loopml.cli._render import files_json, out, print_json, print_note, run_json
from loopml.cli._run_views import DEFAULT_KEY_COLUMNS, print_run, referenced_keys, runs_table
from loopml.entities import FileInfo, RunStatus, ViewType
from loopml.errors import ConflictError, LoopmlError
from loopml.tracking import Client

app = typer.Typer(
    help=(
        "List, inspect, compare and clean up runs.\n\n"
        "Examples:\n\n"
        "  loopml runs list -e churn --filter \"metrics.rmse < 5 and params.model = 'rf'\"\n\n"
        "  loopml runs show 3f2a9c0e8b7d4c1a9e6f5d4c3b2a1908\n\n"
        "  loopml runs compare RUN_ID RUN_ID\n\n"
        "  loopml runs kill --older-than 2h"
    ),
    no_args_is_help=True,
)


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- list -------------------------------------------------------------------------------


def _default_experiments(client: Client, view: ViewType) -> list[str]:
    """Every active experiment; with --all/--deleted every experiment (deleted runs live
    in deleted experiments too)."""
    exp_view = ViewType.ACTIVE_ONLY if view == ViewType.ACTIVE_ONLY else ViewType.ALL
    return [e.experiment_id for e in client.search_experiments(exp_view)]


@app.command("list")
def list_runs(
    ctx: typer.Context,
    experiment: list[str] = typer.Option(
        [],
        "--experiment",
        "-e",
        metavar="ID_OR_NAME",
        help="Experiment id or name (repeatable). Default: every active experiment.",
    ),
    filter_string: str | None = typer.Option(
        None,
        "--filter",
        "-f",
        metavar="FILTER",
        help="MLflow filter syntax: metrics.rmse < 5 and params.model = 'rf' and "
        "attributes.status = 'FINISHED' and tags.team LIKE 'gr%'.",
    ),
    order_by: list[str] = typer.Option(
        [],
        "--order-by",
        "-o",
        metavar="CLAUSE",
        help="Sort, e.g. 'metrics.rmse ASC' or 'attributes.start_time DESC' (repeatable). "
        "Default: newest first.",
    ),
    max_results: int = typer.Option(100, "--max", "-n", min=1, help="Most runs to show."),
    all_: bool = AllOption,
    deleted: bool = DeletedOption,
    wide: bool = typer.Option(
        False, "--wide", "-w", help=f"Show every metric and param (default: {DEFAULT_KEY_COLUMNS})."
    ),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """List runs as a table: id, name, status, start, duration, metrics and params.

    Without --wide the table shows the metrics and params your --filter/--order-by name,
    then the most common ones, up to 4 of each. --json always has everything.

    Examples:

      loopml runs list

      loopml runs list -e churn -f "metrics.rmse < 5 and params.model = 'rf'" -o "metrics.rmse"

      loopml runs list --deleted --json
    """
    view = view_type(all_, deleted)
    client = open_client(ctx, tracking_uri)
    if experiment:
        ids = [experiment_id(client, e) for e in experiment]
    else:
        ids = _default_experiments(client, view)
    page = client.search_runs(ids, filter_string, view, max_results, order_by or None)
    runs = page.items
    if page.next_page_token is not None:
        print_note(f"Showing the first {len(runs)} matching runs; raise --max to see more.")
    if as_json:
        print_json([run_json(r) for r in runs])
        return
    named = referenced_keys([filter_string or "", *order_by])
    result, hidden = runs_table(runs, named, wide, _now_ms())
    out().print(result)
    if hidden:
        print_note(f"{hidden} more metric/param column(s) hidden; --wide shows them.")


# -- show -------------------------------------------------------------------------------


def _artifacts(client: Client, run_id: str) -> tuple[list[FileInfo] | None, str | None]:
    """The top level of a run's artifacts, or None and why they could not be listed."""
    try:
        return client.list_artifacts(run_id), None
    except (LoopmlError, OSError) as exc:
        return None, str(exc)


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., metavar="RUN_ID", help="Run id (32 hex characters)."),
    system: bool = typer.Option(False, "--system", help="Also show loopml.* system tags."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Show one run: info, params, latest metrics, tags, datasets and top-level artifacts.

    --json always includes every tag, and an "artifacts_error" when they could not be listed.

    Examples:

      loopml runs show 3f2a9c0e8b7d4c1a9e6f5d4c3b2a1908

      loopml runs show 3f2a9c0e8b7d4c1a9e6f5d4c3b2a1908 --system --json
    """
    client = open_client(ctx, tracking_uri)
    run = client.get_run(run_id)
    files, problem = _artifacts(client, run_id)
    if as_json:
        data = run_json(run)
        data["artifacts"] = files_json(files) if files is not None else None
        data["artifacts_error"] = problem
        print_json(data)
        return
    print_run(run, files, problem, system, _now_ms())


# -- compare ----------------------------------------------------------------------------


@app.command("compare")
def compare(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(..., metavar="RUN_ID", help="Two or more run ids."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Compare runs side by side: metrics with the best value in green, differing params
    in yellow.

    Lower is better for metrics whose name contains loss, error, rmse, mae, mse or mape;
    higher is better for the rest. NaN is never best.

    Examples:

      loopml runs compare 3f2a9c0e8b7d4c1a9e6f5d4c3b2a1908 9b8a7c6d5e4f30211203f4e5d6c7b8a9

      loopml runs compare RUN_A RUN_B RUN_C --json
    """
    if len(run_ids) < 2:
        raise typer.BadParameter("give at least two run ids to compare", param_hint="RUN_ID")
    client = open_client(ctx, tracking_uri)
    runs = [client.get_run(r) for r in run_ids]
    if as_json:
        print_json(comparison_json(runs))
    else:
        out().print(comparison_table(runs, _now_ms()))
        print_note(LEGEND)


# -- delete, restore, kill --------------------------------------------------------------


@app.command("delete")
def delete(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(..., metavar="RUN_ID", help="Run ids."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Soft-delete runs (`loopml runs restore` brings them back).

    Every id is checked first; nothing is deleted if one does not exist.

    Example: loopml runs delete 3f2a9c0e8b7d4c1a9e6f5d4c3b2a1908
    """
    client = open_client(ctx, tracking_uri)
    for run_id in run_ids:
        client.get_run(run_id)
    for run_id in run_ids:
        client.delete_run(run_id)
        out().print(Text(f"Deleted run {run_id}."))


@app.command("restore")
def restore(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(..., metavar="RUN_ID", help="Run ids."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Restore deleted runs.

    Example: loopml runs restore 3f2a9c0e8b7d4c1a9e6f5d4c3b2a1908
    """
    client = open_client(ctx, tracking_uri)
    for run_id in run_ids:
        client.get_run(run_id)
    for run_id in run_ids:
        client.restore_run(run_id)
        out().print(Text(f"Restored run {run_id}."))


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration_ms(text: str) -> int:
    """``30s``, ``15m``, ``2h``, ``1d``, ``1w`` (or ``1.5h``) in milliseconds."""
    match = _DURATION.match(text)
    if not match:
        raise typer.BadParameter(
            f"duration {text!r} is not valid; use a number and a unit s/m/h/d/w, "
            "e.g. 30s, 15m, 2h, 1d",
            param_hint="'--older-than'",
        )
    return int(float(match.group(1)) * _UNIT_MS[match.group(2).lower()])


@app.command("kill")
def kill(
    ctx: typer.Context,
    run_ids: list[str] | None = typer.Argument(
        None, metavar="RUN_ID", help="RUNNING runs to mark KILLED."
    ),
    older_than: str | None = typer.Option(
        None,
        "--older-than",
        metavar="DURATION",
        help="Instead of ids: kill every RUNNING run started longer ago than this "
        "(30s, 15m, 2h, 1d, 1w).",
    ),
    experiment: list[str] = typer.Option(
        [],
        "--experiment",
        "-e",
        metavar="ID_OR_NAME",
        help="With --older-than: only in these experiments (repeatable; default: all active).",
    ),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Mark runs left RUNNING (by a crashed or killed process) as KILLED.

    With ids, every run must exist and be RUNNING, or nothing is changed.

    Examples:

      loopml runs kill 3f2a9c0e8b7d4c1a9e6f5d4c3b2a1908

      loopml runs kill --older-than 2h -e churn
    """
    if bool(run_ids) == (older_than is not None):
        raise typer.BadParameter("give run ids or --older-than (one of them)", param_hint="RUN_ID")
    if experiment and older_than is None:
        raise typer.BadParameter("--experiment only works with --older-than", param_hint="'-e'")
    client = open_client(ctx, tracking_uri)
    if older_than is not None:
        ms = parse_duration_ms(older_than)
        ids = [experiment_id(client, e) for e in experiment] or None
        killed = client.kill_stale_runs(ms, ids)
        out().print(
            Text(f"Killed {len(killed)} RUNNING run(s) started more than {older_than} ago.")
        )
        for run_id in killed:
            out().print(Text(f"  {run_id}"))
        return
    _kill_runs(client, run_ids or [])


def _kill_runs(client: Client, run_ids: Sequence[str]) -> None:
    runs = [client.get_run(run_id) for run_id in run_ids]
    finished = [r for r in runs if r.info.status != RunStatus.RUNNING]
    if finished:
        states = ", ".join(f"{r.info.run_id} is {r.info.status.value}" for r in finished)
        raise ConflictError(
            f"only RUNNING runs can be killed, but {states}; nothing was changed "
            "(find running runs with: loopml runs list -f \"attributes.status = 'RUNNING'\")"
        )
    for r in runs:
        if client.kill_run(r.info.run_id):
            out().print(Text(f"Killed run {r.info.run_id}."))
        else:
            out().print(Text(f"Run {r.info.run_id} ended on its own meanwhile; left as is."))
