"""``loopml experiments …``: list, create, delete and restore experiments."""

from __future__ import annotations

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
from loopml.cli._render import experiment_json, fmt_time, out, print_json, table

app = typer.Typer(
    help=(
        "Create, list, delete and restore experiments (named groups of runs).\n\n"
        "Examples:\n\n"
        "  loopml experiments create churn --tag team=growth\n\n"
        "  loopml experiments list --all\n\n"
        "  loopml experiments delete churn"
    ),
    no_args_is_help=True,
)


@app.command("list")
def list_experiments(
    ctx: typer.Context,
    all_: bool = AllOption,
    deleted: bool = DeletedOption,
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """List experiments (active ones unless --all or --deleted).

    Examples:

      loopml experiments list

      loopml experiments list --deleted --json
    """
    view = view_type(all_, deleted)
    exps = open_client(ctx, tracking_uri).search_experiments(view)
    if as_json:
        print_json([experiment_json(e) for e in exps])
        return
    result = table(f"{len(exps)} experiment(s)", "id", "name", "stage", "created", "artifacts")
    for e in exps:
        stage = Text(e.lifecycle_stage.value, style="red" if e.lifecycle_stage == "deleted" else "")
        result.add_row(
            Text(e.experiment_id),
            Text(e.name),
            stage,
            Text(fmt_time(e.creation_time)),
            Text(e.artifact_location),
        )
    out().print(result)


def _parse_tags(pairs: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(
                f"{pair!r} is not key=value; write e.g. --tag team=growth", param_hint="'--tag'"
            )
        tags[key.strip()] = value
    return tags


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="Unique experiment name."),
    tag: list[str] = typer.Option([], "--tag", metavar="KEY=VALUE", help="Tag (repeatable)."),
    description: str | None = typer.Option(None, "--description", help="Free text."),
    artifact_location: str | None = typer.Option(
        None,
        "--artifact-location",
        metavar="URI",
        help="Where its runs keep artifacts, e.g. s3://bucket/prefix (default: the store's).",
    ),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Create an experiment and print its id (only the id, for scripts).

    Examples:

      loopml experiments create churn --tag team=growth --description "Q3 churn model"

      EXP=$(loopml experiments create churn)
    """
    tags = _parse_tags(tag)
    exp_id = open_client(ctx, tracking_uri).create_experiment(
        name, artifact_location=artifact_location, tags=tags, description=description
    )
    typer.echo(exp_id)


@app.command("delete")
def delete(
    ctx: typer.Context,
    experiment: str = typer.Argument(..., metavar="ID_OR_NAME", help="Experiment id or name."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Soft-delete an experiment and its runs (`restore` brings them back).

    Examples:

      loopml experiments delete churn

      loopml experiments delete 3
    """
    client = open_client(ctx, tracking_uri)
    exp_id = experiment_id(client, experiment)
    client.delete_experiment(exp_id)
    out().print(Text(f"Deleted experiment {exp_id} ({experiment}) and its runs."))


@app.command("restore")
def restore(
    ctx: typer.Context,
    experiment: str = typer.Argument(..., metavar="ID_OR_NAME", help="Experiment id or name."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Restore a deleted experiment and its runs.

    Examples:

      loopml experiments restore churn

      loopml experiments restore 3
    """
    client = open_client(ctx, tracking_uri)
    exp_id = experiment_id(client, experiment)
    client.restore_experiment(exp_id)
    out().print(Text(f"Restored experiment {exp_id} ({experiment}) and its runs."))
