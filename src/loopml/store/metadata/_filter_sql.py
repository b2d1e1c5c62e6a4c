"""Compile parsed run-search filters and order-by clauses to one SQL statement.

Metric, param and tag filters become inner joins (each run has at most one row per key),
so the planner can start from the most selective index; dataset and IS NULL filters become
EXISTS sub-queries;
order keys become outer joins, with missing (and NaN) values last in either direction.
LIKE is case-sensitive and ILIKE case-insensitive on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import binascii
import json

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    select,
)

from loopml.entities import LifecycleStage, ViewType
from loopml.errors import ValidationError
from loopml.store.metadata import _schema as t
from loopml.store.metadata._filter import Comparison, OrderBy, parse_filter, parse_order_by

_ATTRIBUTE_COLUMNS = {
    "run_id": t.runs.c.run_uuid,
    "run_name": t.runs.c.name,
    "status": t.runs.c.status,
    "user_id": t.runs.c.user_id,
    "artifact_uri": t.runs.c.artifact_uri,
    "lifecycle_stage": t.runs.c.lifecycle_stage,
    "start_time": t.runs.c.start_time,
    "end_time": t.runs.c.end_time,
    "experiment_id": t.runs.c.experiment_id,
}


def _like_to_glob(pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    return "".join(out)


def _compare(column, op: str, value, dialect: str) -> ColumnElement[bool]:  # type: ignore[no-untyped-def]
    negate = op.startswith("NOT ")
    base = op.removeprefix("NOT ")
    if base == "LIKE":
        if dialect == "sqlite":  # SQLite's LIKE ignores case; GLOB does not
            expr = column.op("GLOB", is_comparison=True)(_like_to_glob(value))
        else:
            expr = column.like(value)
    elif base == "ILIKE":
        expr = func.lower(column).like(func.lower(literal(value)))
    elif base == "IN":
        expr = column.in_(list(value))
    else:
        expr = {
            "=": column == value,
            "!=": column != value,
            ">": column > value,
            ">=": column >= value,
            "<": column < value,
            "<=": column <= value,
        }[op]
    return not_(expr) if negate else expr


def _condition(c: Comparison, dialect: str) -> ColumnElement[bool]:
    run = t.runs.c.run_uuid
    if c.kind == "attribute":
        column = _ATTRIBUTE_COLUMNS[c.key]
        value = c.value
        if c.key == "experiment_id":
            value = int(value)  # type: ignore[arg-type]
        return _compare(column, c.op, value, dialect)
    if c.kind == "dataset":
        ri, ds = t.run_inputs.c, t.datasets.c
        column = ri.context if c.key == "context" else ds[c.key]
        return exists().where(
            ri.run_uuid == run,
            ri.dataset_id == ds.dataset_id,
            _compare(column, c.op, c.value, dialect),
        )
    table = t.params if c.kind == "param" else t.tags
    present = exists().where(table.c.run_uuid == run, table.c.key == c.key)
    return present if c.op == "IS NOT NULL" else not_(present)


def _joins_filter(c: Comparison) -> bool:
    """Positive metric/param/tag clauses become inner joins (at most one row per run)."""
    return c.kind in ("metric", "param", "tag") and c.op not in ("IS NULL", "IS NOT NULL")


def _join(stmt: Select, c: Comparison, i: int, dialect: str) -> Select:
    table = {"metric": t.latest_metrics, "param": t.params, "tag": t.tags}[c.kind]
    alias = table.alias(f"filter_{i}")
    on = [alias.c.run_uuid == t.runs.c.run_uuid, alias.c.key == c.key]
    if c.kind == "metric":
        on.append(alias.c.is_nan.is_(False))
    on.append(_compare(alias.c.value, c.op, c.value, dialect))
    return stmt.join(alias, and_(*on))


def _order(stmt: Select, clauses: list[OrderBy]) -> Select:
    keys = []
    for i, o in enumerate(clauses):
        if o.kind == "attribute":
            column = _ATTRIBUTE_COLUMNS[o.key]
            missing = column.is_(None)
            value = column
        else:
            table = {"metric": t.latest_metrics, "param": t.params, "tag": t.tags}[o.kind]
            alias = table.alias(f"order_{i}")
            stmt = stmt.outerjoin(
                alias, and_(alias.c.run_uuid == t.runs.c.run_uuid, alias.c.key == o.key)
            )
            value = alias.c.value
            if o.kind == "metric":
                missing = case((alias.c.run_uuid.is_(None), 2), (alias.c.is_nan, 1), else_=0)
            else:
                missing = alias.c.run_uuid.is_(None)
        keys.append(missing)
        keys.append(value.asc() if o.ascending else value.desc())
    keys += [t.runs.c.start_time.desc(), t.runs.c.run_uuid.asc()]
    return stmt.order_by(*keys)


def build_search_statement(
    experiment_ids: list[int],
    filter_string: str | None,
    run_view_type: ViewType,
    order_by: list[str] | None,
    offset: int,
    limit: int,
    dialect: str = "sqlite",
) -> Select:
    """SELECT the ids of matching runs, ordered and paged; parse errors raise first."""
    clauses = parse_filter(filter_string)
    order = parse_order_by(order_by)
    stmt = select(t.runs.c.run_uuid).select_from(t.runs)
    for i, clause in enumerate(clauses):
        if _joins_filter(clause):
            stmt = _join(stmt, clause, i, dialect)
    conditions = [_condition(c, dialect) for c in clauses if not _joins_filter(c)]
    stmt = stmt.where(t.runs.c.experiment_id.in_(experiment_ids), *conditions)
    if run_view_type == ViewType.ACTIVE_ONLY:
        stmt = stmt.where(t.runs.c.lifecycle_stage == LifecycleStage.ACTIVE.value)
    elif run_view_type == ViewType.DELETED_ONLY:
        stmt = stmt.where(t.runs.c.lifecycle_stage == LifecycleStage.DELETED.value)
    return _order(stmt, order).offset(offset).limit(limit)


def encode_page_token(offset: int) -> str:
    """An opaque token for the page starting at ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset inside a page token (0 for None); a bad token is a ValidationError."""
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or offset < 0:
        raise ValidationError(
            f"page_token {token!r} is not valid; pass the next_page_token of a previous search"
        )
    return offset
