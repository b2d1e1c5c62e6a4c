"""The ``loopml`` command line (Typer + Rich): it parses input, calls a service, renders output.

Commands: ``experiments``, ``runs`` and ``db`` groups plus ``version``; the root app, the
global ``--tracking-uri`` and error handling are in :mod:`loopml.cli._app`.
"""

from __future__ import annotations

from loopml.cli import (
    build,
    db,
    deploy,
    experiments,
    feedback,
    models,
    monitor,
    predict,
    runs,
    serve,
)
from loopml.cli._app import app

app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(db.app, name="db")
app.command("serve")(serve.serve)
app.add_typer(feedback.app, name="feedback")
app.add_typer(deploy.app, name="deploy")
app.command("predict")(predict.predict)
app.add_typer(build.app, name="build")
app.add_typer(monitor.app, name="monitor")


def main() -> None:
    """Console-script entry point (``loopml``)."""
    app()


__all__ = ["app", "main"]
