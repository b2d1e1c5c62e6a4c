"""Alembic environment: always runs on a connection handed over by loopml's migrator."""

from __future__ import annotations

from alembic import context

from loopml.store.metadata._schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic CLI
    raise SystemExit("run migrations with `loopml db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
