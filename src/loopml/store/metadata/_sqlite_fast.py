"""A lean write path for metric-only batches on SQLite (the ``log_metric`` hot path).

SQLAlchemy's per-statement overhead dominates a one-metric transaction; this path sends
the same statements as :mod:`._writes` straight to the pooled sqlite3 connection. Results
are identical; a test checks both paths against each other.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence

from sqlalchemy import Engine

from loopml.entities import LifecycleStage, Metric
from loopml.errors import ConflictError, NotFoundError

_RUN_STAGE = "SELECT lifecycle_stage FROM runs WHERE run_uuid = ?"
_INSERT = (
    "INSERT INTO metrics (run_uuid, key, value, is_nan, step, timestamp) VALUES (?, ?, ?, ?, ?, ?)"
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


def write_metrics_sqlite(engine: Engine, run_id: str, metrics: Sequence[Metric]) -> None:
    """Write validated metrics of one run in one ``BEGIN IMMEDIATE`` transaction."""
    newest: dict[str, Metric] = {}
    for m in metrics:
        cur = newest.get(m.key)
        if cur is None or (m.step, m.timestamp, _v(m)) > (cur.step, cur.timestamp, _v(cur)):
            newest[m.key] = m
    raw = engine.raw_connection()
    try:
        conn: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = conn.execute(_RUN_STAGE, (run_id,)).fetchone()
            if found is None:
                raise NotFoundError(
                    f"run {run_id!r} does not exist; find run ids with `loopml runs list`"
                )
            if found[0] != LifecycleStage.ACTIVE:
                raise ConflictError(
                    f"run {run_id} is deleted; restore it with `loopml runs restore {run_id}` "
                    "before logging to it"
                )
            if len(metrics) == 1:
                conn.execute(_INSERT, _row(run_id, metrics[0]))
                conn.execute(_UPSERT_LATEST, _row(run_id, metrics[0]))
            else:
                conn.executemany(_INSERT, [_row(run_id, m) for m in metrics])
                conn.executemany(_UPSERT_LATEST, [_row(run_id, m) for m in newest.values()])
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        raw.close()


def _v(m: Metric) -> float:
    return 0.0 if math.isnan(m.value) else m.value
