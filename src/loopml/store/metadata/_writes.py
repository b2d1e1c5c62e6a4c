"""The write path for run data: one transaction per batch of metrics, params and tags."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from sqlalchemy import Connection, and_, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from loopml.entities import Metric, Param, RunTag
from loopml.errors import ParamConflictError, ValidationError
from loopml.store.metadata import _schema as t
from loopml.store.metadata._validate import (
    check_key,
    check_metric_value,
    check_step,
    check_value,
)


@functools.cache
def _latest_upsert(dialect_name: str):  # type: ignore[no-untyped-def]
    """INSERT … ON CONFLICT that only moves a latest value forward (built once per dialect)."""
    stmt = (sqlite if dialect_name == "sqlite" else postgresql).insert(t.latest_metrics)
    ex, lm = stmt.excluded, t.latest_metrics.c
    return stmt.on_conflict_do_update(
        index_elements=[lm.run_uuid, lm.key],
        set_={"value": ex.value, "is_nan": ex.is_nan, "step": ex.step, "timestamp": ex.timestamp},
        where=or_(
            ex.step > lm.step,
            and_(ex.step == lm.step, ex.timestamp > lm.timestamp),
            and_(ex.step == lm.step, ex.timestamp == lm.timestamp, ex.value > lm.value),
        ),
    )


@functools.cache
def _tag_upsert(dialect_name: str):  # type: ignore[no-untyped-def]
    stmt = (sqlite if dialect_name == "sqlite" else postgresql).insert(t.tags)
    return stmt.on_conflict_do_update(
        index_elements=[t.tags.c.run_uuid, t.tags.c.key], set_={"value": stmt.excluded.value}
    )


_INSERT_METRICS = insert(t.metrics)


def _metric_order(m: Metric) -> tuple[int, int, float]:
    return (m.step, m.timestamp, 0.0 if math.isnan(m.value) else m.value)


def clean_batch(
    metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]
) -> tuple[list[Metric], list[Param], list[RunTag]]:
    """Validate a batch before anything is written; raise on the first bad entry."""
    clean_metrics = [
        Metric(
            key=check_key("metric", m.key),
            value=check_metric_value(m.key, m.value),
            timestamp=check_step(m.key, m.timestamp),
            step=check_step(m.key, m.step),
        )
        for m in metrics
    ]
    seen: dict[str, str] = {}
    clean_params = []
    for p in params:
        key = check_key("param", p.key)
        value = check_value("param", key, p.value)
        if key in seen:
            if seen[key] != value:
                raise ParamConflictError(
                    f"param {key!r} appears twice in one batch with values {seen[key]!r} "
                    f"and {value!r}; params are write-once, log one value"
                )
            continue
        seen[key] = value
        clean_params.append(Param(key, value))
    clean_tags = [RunTag(check_key("tag", g.key), check_value("tag", g.key, g.value)) for g in tags]
    return clean_metrics, clean_params, clean_tags


def newest_per_key(metrics: Sequence[Metric]) -> list[Metric]:
    """The entry of each key that would become its latest value (step, time, value)."""
    newest: dict[str, Metric] = {}
    for m in metrics:
        cur = newest.get(m.key)
        if cur is None or _metric_order(m) > _metric_order(cur):
            newest[m.key] = m
    return list(newest.values())


def _metric_row(run_id: str, m: Metric) -> dict[str, object]:
    nan = math.isnan(m.value)
    return {
        "run_uuid": run_id,
        "key": m.key,
        "value": 0.0 if nan else m.value,
        "is_nan": nan,
        "step": m.step,
        "timestamp": m.timestamp,
    }


def write_metrics(conn: Connection, run_id: str, metrics: Sequence[Metric]) -> None:
    """Append metric history rows and move each key's latest value forward."""
    if not metrics:
        return
    conn.execute(_INSERT_METRICS, [_metric_row(run_id, m) for m in metrics])
    conn.execute(
        _latest_upsert(conn.dialect.name),
        [_metric_row(run_id, m) for m in newest_per_key(metrics)],
    )


def write_params(conn: Connection, run_id: str, params: Sequence[Param]) -> None:
    """Insert params; re-logging an equal value is fine, a different one is refused."""
    if not params:
        return
    keys = [p.key for p in params]
    existing = dict(
        conn.execute(
            select(t.params.c.key, t.params.c.value).where(
                t.params.c.run_uuid == run_id, t.params.c.key.in_(keys)
            )
        ).all()
    )
    conflicts = [p for p in params if p.key in existing and existing[p.key] != p.value]
    if conflicts:
        detail = "; ".join(
            f"{p.key!r}: logged {existing[p.key]!r}, now {p.value!r}" for p in conflicts
        )
        raise ParamConflictError(
            f"params of run {run_id} are write-once and cannot change ({detail}); "
            "log the new value under another key or start a new run"
        )
    new = [p for p in params if p.key not in existing]
    if new:
        conn.execute(
            insert(t.params), [{"run_uuid": run_id, "key": p.key, "value": p.value} for p in new]
        )


def write_tags(conn: Connection, run_id: str, tags: Sequence[RunTag]) -> None:
    """Insert or overwrite tags (tags are mutable; the last value wins)."""
    if not tags:
        return
    last = {g.key: g.value for g in tags}
    conn.execute(
        _tag_upsert(conn.dialect.name),
        [{"run_uuid": run_id, "key": k, "value": v} for k, v in last.items()],
    )


def require_sequence(name: str, value: object) -> None:
    """Refuse a bare string or mapping where a list of entities is expected."""
    if isinstance(value, str | bytes | dict):
        raise ValidationError(f"{name} must be a list of entities, got {type(value).__name__}")
