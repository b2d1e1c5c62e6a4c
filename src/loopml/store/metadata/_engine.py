"""Database engines for the metadata store: SQLite (WAL) and PostgreSQL.

SQLite is tuned for many writers on one machine: WAL journal, a busy timeout, foreign keys
on, and ``BEGIN IMMEDIATE`` for write transactions so that two writers never deadlock while
upgrading a read lock. Lock errors that still get through are retried with backoff.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from loopml.errors import StoreError, StoreLockedError, ValidationError

log = logging.getLogger(__name__)

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 5_000
LOCK_RETRY_SECONDS = 120.0
_WRITE = "loopml_write"


def normalize_db_url(url: str) -> str:
    """Return a SQLAlchemy URL, choosing the psycopg 3 driver for bare ``postgresql://``."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValidationError(
            f"tracking URI {url!r} is not a database URL; use a folder path, "
            "'sqlite:///path/to/loopml.db' or 'postgresql://user@host:5432/db'"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername not in ("sqlite", "sqlite+pysqlite") and not (
        parsed.drivername.startswith("postgresql+")
    ):
        raise ValidationError(
            f"database {parsed.drivername!r} in tracking URI {url!r} is not supported; "
            "use sqlite:/// or postgresql://"
        )
    return parsed.render_as_string(hide_password=False)


def create_store_engine(url: str) -> Engine:
    """Create an engine for ``url`` with loopml's connection settings; connects lazily."""
    url = normalize_db_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the store folder {str(folder)!r}: {exc.strerror}; "
                    "choose a writable path with --tracking-uri or LOOPML_HOME"
                ) from exc
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        try:
            return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        except ModuleNotFoundError as exc:
            raise StoreError(
                "PostgreSQL needs the psycopg driver: pip install 'loopml[postgres]'"
            ) from exc
    raise ValidationError(f"database {parsed.drivername!r} is not supported")


def apply_sqlite_settings(dbapi_connection: sqlite3.Connection, database: str | None) -> None:
    """Autocommit driver mode (we emit BEGIN), busy timeout, foreign keys, WAL journal."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() != "wal" and database not in (None, "", ":memory:"):
        _set_wal(cursor)
    cursor.close()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        apply_sqlite_settings(dbapi_connection, engine.url.database)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _set_wal(cursor) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except Exception as exc:  # sqlite3.OperationalError: locked while another sets it
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def is_lock_error(exc: BaseException) -> bool:
    """True when ``exc`` is SQLite's 'database is locked/busy' (worth retrying)."""
    if isinstance(exc, OperationalError | sqlite3.OperationalError):
        orig = getattr(exc, "orig", None)
        text = str(orig if orig is not None else exc).lower()
        return "database is locked" in text or "database is busy" in text
    return False


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that takes the write lock up front (``BEGIN IMMEDIATE`` on SQLite)."""
    with engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
        yield conn


def with_retry(engine: Engine, fn: Callable[[], T], what: str) -> T:
    """Run ``fn`` (a whole transaction), retrying SQLite lock errors with jittered backoff."""
    delay = 0.01
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    while True:
        try:
            return fn()
        except (DBAPIError, sqlite3.Error) as exc:
            if not is_lock_error(exc):
                detail = getattr(exc, "orig", None) or exc
                raise StoreError(f"{what} failed on {_safe_url(engine)}: {detail}") from exc
            if time.monotonic() > deadline:
                raise StoreLockedError(
                    f"{what}: the store {_safe_url(engine)} stayed locked by other writers for "
                    f"{LOCK_RETRY_SECONDS:.0f}s; for many concurrent writers use PostgreSQL"
                ) from exc
            log.debug("store locked during %s; retrying in %.3fs", what, delay)
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
