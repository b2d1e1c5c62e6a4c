"""Apply Alembic migrations safely: once, under a lock, when a store is first opened.

Concurrent processes opening a new store all call :func:`upgrade`; the first takes the
write lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL) and migrates in
one transaction; the others wait, then find the schema at head and do nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from loopml.errors import StoreError
from loopml.store.metadata._engine import with_retry, write_transaction

log = logging.getLogger(__name__)

_ADVISORY_LOCK_ID = 0x100B_0001
MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this version of loopml."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None  # the package always ships migrations
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at (None for an empty database)."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the schema to head if it is behind; return the revision it is at."""
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return head

    def _run() -> str:
        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
            found = current_revision(conn)
            if found == head:
                return head
            known = {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}
            if found is not None and found not in known:
                raise StoreError(
                    f"the store's schema is at revision {found!r}, newer than this loopml "
                    f"knows (head {head!r}); upgrade loopml: pip install -U loopml"
                )
            log.info("migrating metadata store from %s to %s", found, head)
            cfg = _config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            return head

    return with_retry(engine, _run, "migrating the metadata store")
