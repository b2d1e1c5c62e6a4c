"""``loopml db …``: schema migrations of the metadata store."""

from __future__ import annotations

import typer

from loopml.cli._common import TrackingUri, cli_errors, console
from loopml.store import resolve
from loopml.store.metadata import create_store_engine, current_revision, head_revision, upgrade

app = typer.Typer(help="Inspect and migrate the metadata store's schema.", no_args_is_help=True)


@app.command("upgrade")
@cli_errors
def upgrade_cmd(tracking_uri: str | None = TrackingUri) -> None:
    """Migrate the store to the newest schema (also done automatically on first use)."""
    engine = create_store_engine(resolve(tracking_uri).db_url)
    try:
        with engine.connect() as conn:
            before = current_revision(conn)
        after = upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        console.print(f"already at revision {after}")
    else:
        console.print(f"migrated from {before or 'empty'} to {after}")


@app.command("current")
@cli_errors
def current(tracking_uri: str | None = TrackingUri) -> None:
    """Print the store's schema revision and the newest one this loopml knows."""
    engine = create_store_engine(resolve(tracking_uri).db_url)
    try:
        with engine.connect() as conn:
            found = current_revision(conn)
    finally:
        engine.dispose()
    console.print(f"current: {found or 'empty'}  head: {head_revision()}")
