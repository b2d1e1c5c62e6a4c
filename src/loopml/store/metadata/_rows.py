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

_CHUNK = 500  # keep IN (...) lists well under SQLite's variable limit


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


def run_info_from(row: Row) -> RunInfo:
    """Build a RunInfo from a ``runs`` row."""
    return RunInfo(
        run_id=row.run_uuid,
        experiment_id=str(row.experiment_id),
        run_name=row.name,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=row.artifact_uri,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        user_id=row.user_id or "",
        parent_run_id=row.parent_run_id,
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
        for row in conn.execute(select(t.runs).where(t.runs.c.run_uuid.in_(chunk))):
            infos[row.run_uuid] = run_info_from(row)
        lm = t.latest_metrics.c
        for row in conn.execute(
            select(lm.run_uuid, lm.key, lm.value, lm.is_nan).where(lm.run_uuid.in_(chunk))
        ):
            metrics[row.run_uuid][row.key] = metric_value(row.value, row.is_nan)
        for row in conn.execute(select(t.params).where(t.params.c.run_uuid.in_(chunk))):
            params[row.run_uuid][row.key] = row.value
        for row in conn.execute(select(t.tags).where(t.tags.c.run_uuid.in_(chunk))):
            tags[row.run_uuid][row.key] = row.value
        joined = t.run_inputs.join(t.datasets, t.run_inputs.c.dataset_id == t.datasets.c.dataset_id)
        stmt = (
            select(t.run_inputs.c.run_uuid, t.run_inputs.c.context, t.datasets)
            .select_from(joined)
            .where(t.run_inputs.c.run_uuid.in_(chunk))
            .order_by(t.datasets.c.dataset_id)
        )
        for row in conn.execute(stmt):
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
