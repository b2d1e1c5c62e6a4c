"""``loopml experiments …``: list, create, delete and restore experiments."""

from __future__ import annotations

import typer
from rich.table import Table

from loopml.cli._common import (
    JsonOutput,
    TrackingUri,
    cli_errors,
    client,
    console,
    fmt_time,
    print_json,
    resolve_experiment,
)
from loopml.entities import ViewType
from loopml.errors import ValidationError

app = typer.Typer(help="Create, list, delete and restore experiments.", no_args_is_help=True)


@app.command("list")
@cli_errors
def list_experiments(
    all_: bool = typer.Option(False, "--all", help="Include deleted experiments."),
    deleted: bool = typer.Option(False, "--deleted", help="Only deleted experiments."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """List experiments.

    Example: loopml experiments list --all
    """
    view = ViewType.ALL if all_ else ViewType.DELETED_ONLY if deleted else ViewType.ACTIVE_ONLY
    exps = client(tracking_uri).search_experiments(view)
    if as_json:
        print_json(
            [
                {
                    "experiment_id": e.experiment_id,
                    "name": e.name,
                    "lifecycle_stage": e.lifecycle_stage.value,
                    "artifact_location": e.artifact_location,
                    "description": e.description,
                    "tags": e.tags,
                    "creation_time": e.creation_time,
                }
                for e in exps
            ]
        )
        return
    table = Table(title=f"{len(exps)} experiment(s)")
    for col in ("id", "name", "stage", "created", "artifact location"):
        table.add_column(col)
    for e in exps:
        table.add_row(
            e.experiment_id,
            e.name,
            e.lifecycle_stage.value,
            fmt_time(e.creation_time),
            e.artifact_location,
        )
    console.print(table)


def _tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValidationError(f"--tag {pair!r} must look like key=value")
        key, value = pair.split("=", 1)
        tags[key] = value
    return tags


@app.command("create")
@cli_errors
def create(
    name: str = typer.Argument(..., help="Unique experiment name."),
    tag: list[str] = typer.Option([], "--tag", help="Tag as key=value (repeatable)."),
    description: str | None = typer.Option(None, "--description", help="Free text."),
    artifact_location: str | None = typer.Option(
        None, "--artifact-location", help="Where its runs store artifacts (e.g. s3://…)."
    ),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Create an experiment and print its id.

    Example: loopml experiments create churn --tag team=growth
    """
    exp_id = client(tracking_uri).create_experiment(
        name, artifact_location=artifact_location, tags=_tags(tag), description=description
    )
    typer.echo(exp_id)


@app.command("delete")
@cli_errors
def delete(
    experiment: str = typer.Argument(..., help="Experiment id or name."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Soft-delete an experiment and its runs (restore brings them back)."""
    c = client(tracking_uri)
    exp_id = resolve_experiment(c, experiment)
    c.delete_experiment(exp_id)
    console.print(f"deleted experiment {exp_id}")


@app.command("restore")
@cli_errors
def restore(
    experiment: str = typer.Argument(..., help="Experiment id or name."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Restore a deleted experiment and its runs."""
    c = client(tracking_uri)
    exp_id = resolve_experiment(c, experiment)
    c.restore_experiment(exp_id)
    console.print(f"restored experiment {exp_id}")
