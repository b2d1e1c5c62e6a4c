"""The ``loopml`` command line (Typer + Rich). Interfaces only parse, call and render."""

from __future__ import annotations

import typer

from loopml.cli import db, experiments, runs

app = typer.Typer(
    name="loopml",
    help="loopml: track experiments, version models, serve, monitor and retrain in one loop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(db.app, name="db")


@app.command("version")
def version() -> None:
    """Print loopml's version."""
    from loopml import __version__

    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
