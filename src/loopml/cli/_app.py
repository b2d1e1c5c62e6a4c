"""The root ``loopml`` app: the global ``--tracking-uri``, shared options and error handling.

Error handling lives in one place, :class:`LoopmlGroup`: a :class:`~loopml.errors.LoopmlError`
raised by any command becomes ``Error: <message>`` on stderr and exit code 1, never a
traceback. Usage errors (bad options) are Click's: exit code 2.

The store is chosen, first match wins, by the command's ``--tracking-uri``, the global
``loopml --tracking-uri``, ``$LOOPML_TRACKING_URI``, then ``$LOOPML_HOME`` (default
``./.loopml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

import click
import typer
from typer.core import TyperGroup

from loopml.cli._render import print_error
from loopml.entities import ViewType
from loopml.errors import LoopmlError, NotFoundError
from loopml.tracking import Client

_URI_HELP = (
    "Store to use: a folder, sqlite:///path/loopml.db or postgresql://user@host/db. "
    "Default: $LOOPML_TRACKING_URI, else ./.loopml (or $LOOPML_HOME)."
)

#: ``--tracking-uri`` of a command; overrides the global one given before the command.
TrackingUri: Any = typer.Option(
    None, "--tracking-uri", "-t", metavar="URI", show_default=False, help=_URI_HELP
)
#: ``--json`` of a listing or show command.
JsonOutput: Any = typer.Option(
    False,
    "--json",
    help="Print JSON instead of tables. NaN and infinities are the strings "
    "'NaN', 'Infinity' and '-Infinity'; times are ms since the epoch.",
)
AllOption: Any = typer.Option(False, "--all", help="Include deleted ones.")
DeletedOption: Any = typer.Option(False, "--deleted", help="Only deleted ones.")


class LoopmlGroup(TyperGroup):
    """Root command group: the one place where loopml errors become CLI errors."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; a LoopmlError prints one red message and exits with 1."""
        try:
            return super().invoke(ctx)
        except LoopmlError as exc:
            print_error(str(exc))
            raise typer.Exit(1) from None


@dataclass(frozen=True, slots=True)
class Settings:
    """Options given before the command, shared with every subcommand via ``ctx.obj``."""

    tracking_uri: str | None = None


app = typer.Typer(
    name="loopml",
    cls=LoopmlGroup,
    help=(
        "loopml: track experiments, register models, serve, monitor and retrain, "
        "in one closed loop.\n\n"
        "Examples:\n\n"
        "  loopml experiments list\n\n"
        "  loopml runs list -e churn --filter \"metrics.rmse < 5\" --order-by 'metrics.rmse'\n\n"
        "  loopml --tracking-uri ./mlstore runs show 3f2a9c...\n\n"
        "  LOOPML_TRACKING_URI=postgresql://ml@db/loopml loopml db upgrade"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    tracking_uri: str | None = typer.Option(
        None,
        "--tracking-uri",
        "-t",
        envvar="LOOPML_TRACKING_URI",
        metavar="URI",
        show_default=False,
        help=_URI_HELP,
    ),
) -> None:
    """Remember the global options for the subcommands."""
    ctx.obj = Settings(tracking_uri=tracking_uri)


@app.command("version")
def version() -> None:
    """Print loopml's version.

    Example: loopml version
    """
    typer.echo(metadata.version("loopml"))


def chosen_uri(ctx: typer.Context, tracking_uri: str | None) -> str | None:
    """The command's own --tracking-uri, else the global one (None: the default store)."""
    settings = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    return tracking_uri or settings.tracking_uri


def open_client(ctx: typer.Context, tracking_uri: str | None) -> Client:
    """A client for the command's store; nothing connects until the first call."""
    return Client(chosen_uri(ctx, tracking_uri))


def view_type(all_: bool, deleted: bool) -> ViewType:
    """The lifecycle view chosen by ``--all`` / ``--deleted`` (not both)."""
    if all_ and deleted:
        raise typer.BadParameter("use either --all or --deleted, not both", param_hint="'--all'")
    if all_:
        return ViewType.ALL
    return ViewType.DELETED_ONLY if deleted else ViewType.ACTIVE_ONLY


def experiment_id(client: Client, id_or_name: str) -> str:
    """The id of an experiment given by id (tried first when all digits) or by name."""
    if id_or_name.isdigit():
        try:
            return client.get_experiment(id_or_name).experiment_id
        except NotFoundError:
            pass
    found = client.get_experiment_by_name(id_or_name)
    if found is None:
        raise NotFoundError(
            f"experiment {id_or_name!r} does not exist as an id or a name; "
            "list experiments with `loopml experiments list --all`"
        )
    return found.experiment_id
