"""``loopml db …``: the metadata store's schema revision and its migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.text import Text

from loopml.cli._app import JsonOutput, TrackingUri, chosen_uri
from loopml.cli._render import out, print_json
from loopml.errors import LoopmlError, StoreError
from loopml.store import StoreLocation, resolve
from loopml.store.metadata import create_store_engine, current_revision, head_revision, upgrade

app = typer.Typer(
    help=(
        "Inspect and migrate the metadata store's schema. Stores migrate themselves on first "
        "use; run `db upgrade` to do it explicitly, e.g. before starting servers.\n\n"
        "Examples:\n\n"
        "  loopml db current\n\n"
        "  loopml db upgrade --tracking-uri postgresql://ml@db.internal/loopml"
    ),
    no_args_is_help=True,
)


@contextmanager
def _store_errors(what: str) -> Iterator[None]:
    """Wrap driver and file-system errors (unreachable server, bad path) in StoreError."""
    try:
        yield
    except LoopmlError:
        raise
    except Exception as exc:
        raise StoreError(f"{what} failed: {exc}") from exc


def _missing_sqlite_file(location: StoreLocation) -> Path | None:
    """The database file of a SQLite store that does not exist yet (else None)."""
    prefix = "sqlite:///"
    if not location.db_url.startswith(prefix):
        return None
    path = Path(location.db_url.removeprefix(prefix))
    return None if path.exists() else path


def _read_revision(location: StoreLocation) -> str | None:
    if _missing_sqlite_file(location) is not None:
        return None  # reading must not create the file
    with _store_errors("reading the schema revision"):
        engine = create_store_engine(location.db_url)
        try:
            with engine.connect() as conn:
                return current_revision(conn)
        finally:
            engine.dispose()


@app.command("upgrade")
def upgrade_cmd(ctx: typer.Context, tracking_uri: str | None = TrackingUri) -> None:
    """Migrate the store's schema to the newest revision and print from → to.

    Examples:

      loopml db upgrade

      loopml db upgrade -t postgresql://ml@db.internal/loopml
    """
    location = resolve(chosen_uri(ctx, tracking_uri))
    before = _read_revision(location)
    with _store_errors("migrating the store"):
        engine = create_store_engine(location.db_url)
        try:
            after = upgrade(engine)
        finally:
            engine.dispose()
    if before == after:
        out().print(Text(f"Already at the newest revision {after}; nothing to do."))
    else:
        out().print(Text(f"Upgraded the store from revision {before or 'none'} to {after}."))


@app.command("current")
def current(
    ctx: typer.Context, as_json: bool = JsonOutput, tracking_uri: str | None = TrackingUri
) -> None:
    """Print the store's schema revision and the newest one this loopml ships (read-only).

    Examples:

      loopml db current

      loopml db current --json
    """
    found = _read_revision(resolve(chosen_uri(ctx, tracking_uri)))
    head = head_revision()
    if as_json:
        print_json({"current": found, "head": head, "up_to_date": found == head})
        return
    if found == head:
        verdict = "up to date"
    elif found is None:
        verdict = "empty store; `loopml db upgrade` (or first use) creates the tables"
    else:
        verdict = "differs from head; run `loopml db upgrade`"
    out().print(Text(f"current: {found or 'none'}  head: {head}  ({verdict})"))
