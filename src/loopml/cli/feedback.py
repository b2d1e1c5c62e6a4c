"""``loopml feedback …``: upload ground-truth labels; ``loopml logs``-style window reads."""

from __future__ import annotations

from pathlib import Path

import typer

from loopml.cli._app import JsonOutput, TrackingUri, chosen_uri
from loopml.cli._render import out, print_json
from loopml.serving._logs import joined_log, read_feedback_file, write_feedback
from loopml.tracking import Client

app = typer.Typer(
    help="Send ground-truth labels and read joined prediction logs.", no_args_is_help=True
)


@app.command("upload")
def upload(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV or Parquet with columns request_id, label."),
    deployment: str = typer.Option(..., "--deployment", "-d", help="Deployment name."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Upload labels for earlier predictions (joined by request id).

    Example: loopml feedback upload labels.csv --deployment diabetes
    """
    ids, labels = read_feedback_file(file)
    count = write_feedback(Client(chosen_uri(ctx, tracking_uri)), deployment, ids, labels)
    out().print(f"stored {count} label(s) for {deployment}")


@app.command("log")
def log(
    ctx: typer.Context,
    deployment: str = typer.Option(..., "--deployment", "-d", help="Deployment name."),
    limit: int = typer.Option(20, "--limit", help="Rows to show (newest last)."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Show a deployment's predictions joined with their labels."""
    frame = joined_log(Client(chosen_uri(ctx, tracking_uri)), deployment)
    shown = frame.tail(limit)
    labelled = int(frame["label"].notna().sum()) if len(frame) else 0
    if as_json:
        print_json(
            {
                "rows": len(frame),
                "labelled": labelled,
                "tail": shown.drop(columns=["timestamp"], errors="ignore").to_dict("records"),
            }
        )
        return
    out().print(f"{len(frame)} prediction(s), {labelled} labelled")
    if len(frame):
        out().print(shown[["request_id", "model_version", "prediction", "label"]].to_string())
