"""``loopml predict``: score a Parquet or CSV file in chunks, with a progress bar."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from loopml.cli._app import TrackingUri, chosen_uri
from loopml.cli._render import err, out


def predict(
    ctx: typer.Context,
    model_uri: str = typer.Argument(
        ...,
        help="models:/name@alias, models:/name/3, runs:/<run_id>/model or a model folder.",
    ),
    input: Path = typer.Option(
        ..., "--input", "-i", help="Rows to score: a .parquet or .csv file (any size)."
    ),
    output: Path = typer.Option(
        ...,
        "--output",
        "-o",
        help="Parquet file to write: request_id, the input columns, then the predictions. "
        "It appears only when every row was scored.",
    ),
    chunk_rows: int = typer.Option(
        50_000, "--chunk-rows", help="Rows read, validated and predicted at a time."
    ),
    executor: str = typer.Option(
        "local",
        "--executor",
        "-x",
        help="local (this process), dask (a 2-worker local Dask cluster) or dask://HOST:PORT "
        "(an existing Dask scheduler; workers must see the input file).",
    ),
    deployment: str = typer.Option(
        "batch", "--deployment", help="Prediction log partition the batch is recorded under."
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Do not record the batch."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Score a file with a model in bounded memory and record the batch in the prediction log.

    Each chunk is checked against the model signature. Rows get request ids
    (<batch id>-<row number>) that feedback labels can refer to.

    Example: loopml predict models:/diabetes@champion -i patients.parquet -o preds.parquet
    """
    from loopml.serving._batch import BatchProgress, predict_batch

    columns = [
        TextColumn("[bold]scoring"),
        BarColumn(),
        MofNCompleteColumn() if input.suffix.lower() != ".csv" else DownloadColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    console = err()
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as bar:
        task: TaskID | None = None

        def show(p: BatchProgress) -> None:
            nonlocal task
            if p.rows_total is not None:
                done, total = p.rows_done, p.rows_total
            else:
                done, total = p.bytes_done or 0, p.bytes_total or 0
            if task is None:
                task = bar.add_task("scoring", total=total)
            bar.update(task, completed=done, total=total)

        result = predict_batch(
            model_uri,
            input,
            output,
            tracking_uri=chosen_uri(ctx, tracking_uri),
            chunk_rows=chunk_rows,
            executor=executor,
            deployment=deployment,
            log=not no_log,
            on_progress=show,
        )
    logged = (
        f"logged as deployment {result.deployment!r} (batch {result.batch_id}) in "
        f"{result.log_location}"
        if result.log_location
        else "not logged"
    )
    out().print(
        f"Scored {result.rows:,} rows in {result.seconds:.1f}s "
        f"({result.rows_per_second:,.0f} rows/s) with {result.model_name}/"
        f"{result.model_version} → {result.output}; {logged}",
        soft_wrap=True,
        markup=False,
    )
