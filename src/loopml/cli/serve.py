"""``loopml serve``: the online scoring server."""

from __future__ import annotations

import typer

from loopml.cli._app import TrackingUri, chosen_uri
from loopml.cli._render import print_note


def serve(
    ctx: typer.Context,
    model_uri: str | None = typer.Argument(
        None,
        help="models:/name@alias, models:/name/3, runs:/<run_id>/model or a folder "
        "(omit with --deployment to serve every route of a deployment).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8080, "--port", "-p", help="Port to listen on."),
    deployment: str | None = typer.Option(
        None,
        "--deployment",
        help="Serve this deployment's routes (canary/shadow/A-B/blue-green); with a model "
        "URI, only names the prediction log partition.",
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Do not log predictions."),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Serve a model over HTTP: /predict, MLflow's /invocations and OIP v2 /v2/models/….

    Following an alias (models:/taxi@champion) hot-reloads the new version when it moves.

    Example: loopml serve models:/diabetes@champion --port 8080
    """
    from loopml.serving import serve as run_server

    uri = chosen_uri(ctx, tracking_uri)
    what = model_uri or f"deployment {deployment}"
    print_note(f"serving {what} on http://{host}:{port} (Ctrl+C to stop)")
    run_server(model_uri, host, port, uri, deployment, not no_log, workers)
