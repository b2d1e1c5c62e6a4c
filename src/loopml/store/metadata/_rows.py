"""Turning rows of the tracking tables into entities, loading run data in bulk."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, Row, select

from loopml.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
from loopml.store.metadata import _schema as t

_CHUNK = 900  # keep IN (...) lists well under SQLite's variable limit


def metric_value(value: float, is_nan: bool) -> float:
    """The stored value, with NaN restored from the is_nan flag."""
    return math.nan if is_nan else float(value)


def experiment_from(row: Row, tags: dict[str, str]) -> Experiment:
    """Build an Experiment from an ``experiments`` row and its tags."""
    return Experiment(
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=row.artifact_location,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        description=row.description,
        tags=tags,
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
    )


_STATUS = {s.value: s for s in RunStatus}
_STAGE = {s.value: s for s in LifecycleStage}
_RUN_COLUMNS = (
    t.runs.c.run_uuid,
    t.runs.c.experiment_id,
    t.runs.c.name,
    t.runs.c.status,
    t.runs.c.start_time,
    t.runs.c.end_time,
    t.runs.c.artifact_uri,
    t.runs.c.lifecycle_stage,
    t.runs.c.user_id,
    t.runs.c.parent_run_id,
)


def run_info_from(row: Row) -> RunInfo:
    """Build a RunInfo from a ``runs`` row (selected as ``_RUN_COLUMNS``)."""
    run_id, exp_id, name, status, start, end, uri, stage, user, parent = row
    return RunInfo(
        run_id=run_id,
        experiment_id=str(exp_id),
        run_name=name,
        status=_STATUS[status],
        start_time=start,
        end_time=end,
        artifact_uri=uri,
        lifecycle_stage=_STAGE[stage],
        user_id=user or "",
        parent_run_id=parent,
    )


def metric_from(row: Row) -> Metric:
    """Build a Metric from a ``metrics`` or ``latest_metrics`` row."""
    return Metric(
        key=row.key,
        value=metric_value(row.value, row.is_nan),
        timestamp=row.timestamp,
        step=row.step,
    )


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


def load_runs(conn: Connection, run_ids: Sequence[str]) -> list[Run]:
    """Load full runs (info, latest metrics, params, tags, inputs) in input order."""
    if not run_ids:
        return []
    infos: dict[str, RunInfo] = {}
    metrics: dict[str, dict[str, float]] = defaultdict(dict)
    params: dict[str, dict[str, str]] = defaultdict(dict)
    tags: dict[str, dict[str, str]] = defaultdict(dict)
    inputs: dict[str, list[DatasetInput]] = defaultdict(list)
    for chunk in _chunks(list(run_ids)):
        for row in conn.execute(select(*_RUN_COLUMNS).where(t.runs.c.run_uuid.in_(chunk))).all():
            infos[row[0]] = run_info_from(row)
        lm = t.latest_metrics.c
        for run_id, key, value, is_nan in conn.execute(
            select(lm.run_uuid, lm.key, lm.value, lm.is_nan).where(lm.run_uuid.in_(chunk))
        ).all():
            metrics[run_id][key] = math.nan if is_nan else value
        for table, into in ((t.params, params), (t.tags, tags)):
            for run_id, key, value in conn.execute(
                select(table.c.run_uuid, table.c.key, table.c.value).where(
                    table.c.run_uuid.in_(chunk)
                )
            ).all():
                into[run_id][key] = value
        joined = t.run_inputs.join(t.datasets, t.run_inputs.c.dataset_id == t.datasets.c.dataset_id)
        stmt = (
            select(t.run_inputs.c.run_uuid, t.run_inputs.c.context, t.datasets)
            .select_from(joined)
            .where(t.run_inputs.c.run_uuid.in_(chunk))
            .order_by(t.datasets.c.dataset_id)
        )
        for row in conn.execute(stmt).all():
            inputs[row.run_uuid].append(
                DatasetInput(dataset=dataset_from(row), context=row.context or None)
            )
    return [
        Run(
            info=infos[rid],
            data=RunData(metrics=metrics[rid], params=params[rid], tags=tags[rid]),
            inputs=tuple(inputs[rid]),
        )
        for rid in run_ids
        if rid in infos
    ]


def dataset_from(row: Row) -> Dataset:
    """Build a Dataset from a ``datasets`` row."""
    return Dataset(
        name=row.name,
        digest=row.digest,
        source=row.source,
        source_type=row.source_type,
        schema=row.schema,
        profile=row.profile,
        num_rows=row.num_rows,
    )
