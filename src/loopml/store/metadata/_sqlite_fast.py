"""A lean write path for metric-only batches on SQLite (the ``log_metric`` hot path).

SQLAlchemy's per-statement overhead dominates a one-metric transaction, so this path
keeps one sqlite3 connection per thread (outside the engine's pool, with the same
settings) and sends the same statements as
:mod:`._writes` straight to it. The run check is folded into the INSERT. Results are
identical to the general path; a property test checks both against each other.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from collections.abc import Sequence

from sqlalchemy import Engine

from loopml.entities import Metric
from loopml.errors import ConflictError, NotFoundError
from loopml.store.metadata._engine import SQLITE_BUSY_TIMEOUT_MS, apply_sqlite_settings
from loopml.store.metadata._writes import newest_per_key

_INSERT = (
    "INSERT INTO metrics (run_uuid, key, value, is_nan, step, timestamp) "
    "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS "
    "(SELECT 1 FROM runs WHERE run_uuid = ? AND lifecycle_stage = 'active')"
)
_UPSERT_LATEST = (
    "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, step, timestamp) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_uuid, key) DO UPDATE SET "
    "value = excluded.value, is_nan = excluded.is_nan, step = excluded.step, "
    "timestamp = excluded.timestamp WHERE excluded.step > latest_metrics.step OR "
    "(excluded.step = latest_metrics.step AND excluded.timestamp > latest_metrics.timestamp) OR "
    "(excluded.step = latest_metrics.step AND excluded.timestamp = latest_metrics.timestamp "
    "AND excluded.value > latest_metrics.value)"
)


def _row(run_id: str, m: Metric) -> tuple[str, str, float, int, int, int]:
    nan = math.isnan(m.value)
    return (run_id, m.key, 0.0 if nan else m.value, int(nan), m.step, m.timestamp)


class SqliteMetricWriter:
    """Writes validated metric batches with one ``BEGIN IMMEDIATE`` transaction each."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._local = threading.local()
        self._held: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        held = getattr(self._local, "held", None)
        if held is None or held[0] != os.getpid():
            database = self._engine.url.database or ""
            conn = sqlite3.connect(
                database, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            apply_sqlite_settings(conn, database)
            with self._lock:
                self._held.append(conn)
            held = (os.getpid(), conn)
            self._local.held = held
        return held[1]

    def close(self) -> None:
        """Close every connection this writer opened."""
        with self._lock:
            held, self._held = self._held, []
        self._local = threading.local()
        for conn in held:
            conn.close()

    def write(self, run_id: str, metrics: Sequence[Metric]) -> None:
        """Append history rows and move latest values forward, or raise and write nothing."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if len(metrics) == 1:
                row = _row(run_id, metrics[0])
                inserted = conn.execute(_INSERT, (*row, run_id)).rowcount
                if inserted:
                    conn.execute(_UPSERT_LATEST, row)
            else:
                cur = conn.executemany(_INSERT, [(*_row(run_id, m), run_id) for m in metrics])
                inserted = cur.rowcount
                if inserted:
                    latest = [_row(run_id, m) for m in newest_per_key(metrics)]
                    conn.executemany(_UPSERT_LATEST, latest)
            if not inserted:
                self._raise_missing(conn, run_id)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _raise_missing(conn: sqlite3.Connection, run_id: str) -> None:
        found = conn.execute("SELECT 1 FROM runs WHERE run_uuid = ?", (run_id,)).fetchone()
        if found is None:
            raise NotFoundError(
                f"run {run_id!r} does not exist; find run ids with `loopml runs list`"
            )
        raise ConflictError(
            f"run {run_id} is deleted; restore it with `loopml runs restore {run_id}` "
            "before logging to it"
        )
