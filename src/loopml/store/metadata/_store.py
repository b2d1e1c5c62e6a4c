"""The SQL metadata store for experiments and runs (SQLite or PostgreSQL).

Construction is cheap; the engine connects and migrates on first use, once.
Every public method is one transaction, retried when SQLite reports a lock.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from loopml.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from loopml.errors import ConflictError, NotFoundError, StoreError, ValidationError
from loopml.store.metadata import _schema as t
from loopml.store.metadata import _writes
from loopml.store.metadata._engine import create_store_engine, with_retry, write_transaction
from loopml.store.metadata._filter_sql import (
    build_search_statement,
    decode_page_token,
    encode_page_token,
)
from loopml.store.metadata._migrate import upgrade
from loopml.store.metadata._rows import experiment_from, load_runs, metric_from
from loopml.store.metadata._sqlite_fast import SqliteMetricWriter
from loopml.store.metadata._validate import check_key, check_run_name, check_value

_RUN_STATE = select(t.runs.c.lifecycle_stage, t.runs.c.status).where(
    t.runs.c.run_uuid == bindparam("run_id")
)

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
SEARCH_MAX_RESULTS = 50_000


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


def now_ms() -> int:
    """Current time in integer milliseconds since the epoch."""
    return int(time.time() * 1000)


def _experiment_int(experiment_id: str | int) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise ValidationError(
            f"experiment id {experiment_id!r} is not valid; ids are integers like '0' or '12' "
            "(look them up with `loopml experiments list`)"
        ) from None


class SqlTrackingStore:
    """Experiments, runs, params, metrics, tags and dataset inputs in a SQL database."""

    def __init__(self, db_url: str, default_artifact_root: str) -> None:
        self.db_url = db_url
        self.default_artifact_root = default_artifact_root.rstrip("/")
        self._engine: Engine | None = None
        self._metric_writer: SqliteMetricWriter | None = None
        self._lock = threading.Lock()

    # -- connection -------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The engine, created, migrated and seeded with the Default experiment on first use."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = create_store_engine(self.db_url)
                    try:
                        upgrade(engine)
                    except (OSError, SQLAlchemyError) as exc:
                        engine.dispose()
                        raise StoreError(
                            f"cannot open the metadata store {_safe(self.db_url)}: {exc}; "
                            "check the tracking URI, that the server is running and that the "
                            "folder is writable"
                        ) from exc
                    self._ensure_default_experiment(engine)
                    self._engine = engine
        return self._engine

    def dispose(self) -> None:
        """Close pooled connections (call after fork or before deleting the database)."""
        if self._metric_writer is not None:
            self._metric_writer.close()
            self._metric_writer = None
        if self._engine is not None:
            self._engine.dispose()

    def write_tx(self, what: str, fn):  # type: ignore[no-untyped-def]
        """Run fn(conn) in one write transaction (retried when SQLite is locked)."""
        engine = self.engine

        def _tx():  # type: ignore[no-untyped-def]
            with write_transaction(engine) as conn:
                return fn(conn)

        return with_retry(engine, _tx, what)

    def read_tx(self, what: str, fn):  # type: ignore[no-untyped-def]
        """Run fn(conn) in one read transaction."""
        engine = self.engine

        def _tx():  # type: ignore[no-untyped-def]
            with engine.connect() as conn, conn.begin():
                return fn(conn)

        return with_retry(engine, _tx, what)

    def _ensure_default_experiment(self, engine: Engine) -> None:
        def _tx() -> None:
            with write_transaction(engine) as conn:
                found = conn.execute(
                    select(t.experiments.c.experiment_id).where(t.experiments.c.experiment_id == 0)
                ).first()
                if found is None:
                    ts = now_ms()
                    conn.execute(
                        insert(t.experiments).values(
                            experiment_id=0,
                            name=DEFAULT_EXPERIMENT_NAME,
                            artifact_location=f"{self.default_artifact_root}/0",
                            lifecycle_stage=LifecycleStage.ACTIVE.value,
                            creation_time=ts,
                            last_update_time=ts,
                        )
                    )

        try:
            with_retry(engine, _tx, "creating the Default experiment")
        except Exception as exc:  # another process won the race on PostgreSQL
            if not isinstance(exc.__cause__, IntegrityError):
                raise

    # -- experiments ------------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        description: str | None = None,
    ) -> str:
        """Create an experiment and return its id; names are unique among all experiments."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"experiment name must be a non-empty string, got {name!r}")
        clean_tags = {
            check_key("tag", k): check_value("tag", k, v) for k, v in (tags or {}).items()
        }

        def _tx(conn: Connection) -> str:
            existing = conn.execute(
                select(t.experiments.c.experiment_id, t.experiments.c.lifecycle_stage).where(
                    t.experiments.c.name == name
                )
            ).first()
            if existing is not None:
                hint = (
                    f"restore it with `loopml experiments restore {existing.experiment_id}`"
                    if existing.lifecycle_stage == LifecycleStage.DELETED
                    else "use set_experiment to reuse it or pick another name"
                )
                raise ConflictError(
                    f"experiment {name!r} already exists (id {existing.experiment_id}, "
                    f"{existing.lifecycle_stage}); {hint}"
                )
            ts = now_ms()
            exp_id = conn.execute(
                insert(t.experiments)
                .values(
                    name=name,
                    artifact_location=artifact_location or "",
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    description=description,
                    creation_time=ts,
                    last_update_time=ts,
                )
                .returning(t.experiments.c.experiment_id)
            ).scalar_one()
            if not artifact_location:
                conn.execute(
                    update(t.experiments)
                    .where(t.experiments.c.experiment_id == exp_id)
                    .values(artifact_location=f"{self.default_artifact_root}/{exp_id}")
                )
            if clean_tags:
                conn.execute(
                    insert(t.experiment_tags),
                    [
                        {"experiment_id": exp_id, "key": k, "value": v}
                        for k, v in clean_tags.items()
                    ],
                )
            return str(exp_id)

        return self.write_tx(f"creating experiment {name!r}", _tx)

    def _experiment(self, conn: Connection, where) -> Experiment | None:  # type: ignore[no-untyped-def]
        row = conn.execute(select(t.experiments).where(where)).first()
        if row is None:
            return None
        tags = dict(
            conn.execute(
                select(t.experiment_tags.c.key, t.experiment_tags.c.value).where(
                    t.experiment_tags.c.experiment_id == row.experiment_id
                )
            ).all()
        )
        return experiment_from(row, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return the experiment with this id, or raise NotFoundError."""
        exp_int = _experiment_int(experiment_id)
        found = self.read_tx(
            "reading an experiment",
            lambda c: self._experiment(c, t.experiments.c.experiment_id == exp_int),
        )
        if found is None:
            raise NotFoundError(
                f"experiment id {experiment_id!r} does not exist; "
                "list experiments with `loopml experiments list`"
            )
        return found

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """Return the experiment with this name (active or deleted), or None."""
        return self.read_tx(
            "reading an experiment", lambda c: self._experiment(c, t.experiments.c.name == name)
        )

    def search_experiments(
        self, view_type: ViewType = ViewType.ACTIVE_ONLY, name_like: str | None = None
    ) -> list[Experiment]:
        """All experiments of a view type (optionally name LIKE a pattern), by id."""

        def _tx(conn: Connection) -> list[Experiment]:
            stmt = select(t.experiments).order_by(t.experiments.c.experiment_id)
            stmt = stmt.where(*_lifecycle_filter(t.experiments.c.lifecycle_stage, view_type))
            if name_like:
                stmt = stmt.where(t.experiments.c.name.like(name_like))
            rows = conn.execute(stmt).all()
            tags: dict[int, dict[str, str]] = {r.experiment_id: {} for r in rows}
            for tr in conn.execute(select(t.experiment_tags)):
                if tr.experiment_id in tags:
                    tags[tr.experiment_id][tr.key] = tr.value
            return [experiment_from(r, tags[r.experiment_id]) for r in rows]

        return self.read_tx("searching experiments", _tx)

    def _set_experiment_stage(self, experiment_id: str, stage: LifecycleStage) -> None:
        exp_int = _experiment_int(experiment_id)
        other = LifecycleStage.DELETED if stage == LifecycleStage.ACTIVE else LifecycleStage.ACTIVE

        def _tx(conn: Connection) -> None:
            row = conn.execute(
                select(t.experiments.c.lifecycle_stage).where(
                    t.experiments.c.experiment_id == exp_int
                )
            ).first()
            if row is None:
                raise NotFoundError(f"experiment id {experiment_id!r} does not exist")
            if row.lifecycle_stage != other:
                raise ConflictError(
                    f"experiment {experiment_id} is already {row.lifecycle_stage}; "
                    f"only {other} experiments can be made {stage}"
                )
            ts = now_ms()
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.experiment_id == exp_int)
                .values(lifecycle_stage=stage.value, last_update_time=ts)
            )
            # runs follow their experiment, as in MLflow
            conn.execute(
                update(t.runs)
                .where(t.runs.c.experiment_id == exp_int, t.runs.c.lifecycle_stage == other)
                .values(
                    lifecycle_stage=stage.value,
                    deleted_time=ts if stage == LifecycleStage.DELETED else None,
                )
            )

        self.write_tx(f"setting experiment {experiment_id} {stage}", _tx)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its runs (restorable)."""
        if str(experiment_id) == DEFAULT_EXPERIMENT_ID:
            raise ValidationError("the Default experiment (id 0) cannot be deleted")
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        """Bring a deleted experiment and its runs back."""
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag on an experiment."""
        exp_int = _experiment_int(experiment_id)
        check_key("tag", key)
        text = check_value("tag", key, value)
        self.get_experiment(experiment_id)

        def _tx(conn: Connection) -> None:
            conn.execute(
                delete(t.experiment_tags).where(
                    t.experiment_tags.c.experiment_id == exp_int, t.experiment_tags.c.key == key
                )
            )
            conn.execute(
                insert(t.experiment_tags).values(experiment_id=exp_int, key=key, value=text)
            )

        self.write_tx("setting an experiment tag", _tx)

    # -- runs -------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        run_name: str,
        user_id: str = "",
        start_time: int | None = None,
        tags: Sequence[RunTag] = (),
        parent_run_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run in an active experiment and return it."""
        exp_int = _experiment_int(experiment_id)
        check_run_name(run_name)
        _, _, clean_tags = _writes.clean_batch([], [], tags)
        run_id = uuid.uuid4().hex

        def _tx(conn: Connection) -> None:
            exp = conn.execute(
                select(t.experiments.c.artifact_location, t.experiments.c.lifecycle_stage).where(
                    t.experiments.c.experiment_id == exp_int
                )
            ).first()
            if exp is None:
                raise NotFoundError(f"experiment id {experiment_id!r} does not exist")
            if exp.lifecycle_stage != LifecycleStage.ACTIVE:
                raise ConflictError(
                    f"experiment {experiment_id} is deleted; restore it with "
                    f"`loopml experiments restore {experiment_id}` before starting runs in it"
                )
            if parent_run_id is not None:
                self._require_run(conn, parent_run_id)
            conn.execute(
                insert(t.runs).values(
                    run_uuid=run_id,
                    experiment_id=exp_int,
                    name=run_name,
                    status=RunStatus.RUNNING.value,
                    start_time=start_time if start_time is not None else now_ms(),
                    end_time=None,
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    artifact_uri=f"{exp.artifact_location.rstrip('/')}/{run_id}/artifacts",
                    user_id=user_id,
                    parent_run_id=parent_run_id,
                )
            )
            _writes.write_tags(conn, run_id, clean_tags)

        self.write_tx("creating a run", _tx)
        return self.get_run(run_id)

    def _require_run(self, conn: Connection, run_id: str, active: bool = False):  # type: ignore[no-untyped-def]
        row = conn.execute(_RUN_STATE, {"run_id": run_id}).first()
        if row is None:
            raise NotFoundError(
                f"run {run_id!r} does not exist; find run ids with `loopml runs list`"
            )
        if active and row.lifecycle_stage != LifecycleStage.ACTIVE:
            raise ConflictError(
                f"run {run_id} is deleted; restore it with `loopml runs restore {run_id}` "
                "before logging to it"
            )
        return row

    def get_run(self, run_id: str) -> Run:
        """Return the run with this id (info, latest metrics, params, tags, inputs)."""
        runs = self.read_tx("reading a run", lambda c: load_runs(c, [run_id]))
        if not runs:
            raise NotFoundError(
                f"run {run_id!r} does not exist; find run ids with `loopml runs list`"
            )
        return runs[0]

    def update_run_info(
        self,
        run_id: str,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
        only_if_status: RunStatus | None = None,
    ) -> bool:
        """Change a run's status, end time or name.

        With ``only_if_status`` the change happens only while the run still has that status
        (checked in the same statement); returns whether the run was changed.
        """
        values: dict[str, object] = {}
        if status is not None:
            values["status"] = RunStatus(status).value
        if end_time is not None:
            values["end_time"] = end_time
        if run_name is not None:
            values["name"] = check_run_name(run_name)

        def _tx(conn: Connection) -> bool:
            self._require_run(conn, run_id)
            if not values:
                return True
            stmt = update(t.runs).where(t.runs.c.run_uuid == run_id)
            if only_if_status is not None:
                stmt = stmt.where(t.runs.c.status == RunStatus(only_if_status).value)
            return bool(conn.execute(stmt.values(**values)).rowcount)

        return self.write_tx("updating a run", _tx)

    def _set_run_stage(self, run_id: str, stage: LifecycleStage) -> None:
        def _tx(conn: Connection) -> None:
            self._require_run(conn, run_id)
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_uuid == run_id)
                .values(
                    lifecycle_stage=stage.value,
                    deleted_time=now_ms() if stage == LifecycleStage.DELETED else None,
                )
            )

        self.write_tx(f"setting run {run_id} {stage}", _tx)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run (restorable)."""
        self._set_run_stage(run_id, LifecycleStage.DELETED)

    def restore_run(self, run_id: str) -> None:
        """Bring a deleted run back."""
        self._set_run_stage(run_id, LifecycleStage.ACTIVE)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Write metrics, params and tags of one run in one transaction (all or nothing)."""
        for name, value in (("metrics", metrics), ("params", params), ("tags", tags)):
            _writes.require_sequence(name, value)
        clean = _writes.clean_batch(metrics, params, tags)
        if clean[0] and not clean[1] and not clean[2] and self.engine.dialect.name == "sqlite":
            if self._metric_writer is None:
                self._metric_writer = SqliteMetricWriter(self.engine)
            writer = self._metric_writer
            with_retry(
                self.engine, lambda: writer.write(run_id, clean[0]), f"logging to run {run_id}"
            )
            return

        def _tx(conn: Connection) -> None:
            self._require_run(conn, run_id, active=True)
            _writes.write_params(conn, run_id, clean[1])
            _writes.write_metrics(conn, run_id, clean[0])
            _writes.write_tags(conn, run_id, clean[2])

        self.write_tx(f"logging to run {run_id}", _tx)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag from a run."""

        def _tx(conn: Connection) -> None:
            self._require_run(conn, run_id, active=True)
            gone = conn.execute(
                delete(t.tags).where(t.tags.c.run_uuid == run_id, t.tags.c.key == key)
            ).rowcount
            if not gone:
                raise NotFoundError(f"run {run_id} has no tag {key!r}")

        self.write_tx("deleting a tag", _tx)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every logged value of one metric, ordered by step then timestamp."""

        def _tx(conn: Connection) -> list[Metric]:
            self._require_run(conn, run_id)
            m = t.metrics.c
            stmt = (
                select(m.key, m.value, m.is_nan, m.step, m.timestamp)
                .where(m.run_uuid == run_id, m.key == key)
                .order_by(m.step, m.timestamp, m.id)
            )
            return [metric_from(r) for r in conn.execute(stmt)]

        return self.read_tx("reading metric history", _tx)

    def log_inputs(self, run_id: str, inputs: Sequence[DatasetInput]) -> None:
        """Link dataset versions to a run (datasets are shared by name and digest)."""

        def _tx(conn: Connection) -> None:
            self._require_run(conn, run_id, active=True)
            d = t.datasets.c
            for item in inputs:
                ds = item.dataset
                ds_id = conn.execute(
                    select(d.dataset_id).where(d.name == ds.name, d.digest == ds.digest)
                ).scalar()
                if ds_id is None:
                    ds_id = conn.execute(
                        insert(t.datasets)
                        .values(
                            name=ds.name,
                            digest=ds.digest,
                            source_type=ds.source_type,
                            source=ds.source,
                            schema=ds.schema,
                            profile=ds.profile,
                            num_rows=ds.num_rows,
                            created_time=now_ms(),
                        )
                        .returning(d.dataset_id)
                    ).scalar_one()
                ri = t.run_inputs.c
                linked = conn.execute(
                    select(func.count()).where(
                        ri.run_uuid == run_id,
                        ri.dataset_id == ds_id,
                        ri.context == (item.context or ""),
                    )
                ).scalar_one()
                if not linked:
                    conn.execute(
                        insert(t.run_inputs).values(
                            run_uuid=run_id, dataset_id=ds_id, context=item.context or ""
                        )
                    )

        self.write_tx("logging dataset inputs", _tx)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs matching an MLflow-style filter, ordered, one page at a time."""
        if not isinstance(max_results, int) or not 0 < max_results <= SEARCH_MAX_RESULTS:
            raise ValidationError(
                f"max_results={max_results!r} is out of range; use 1 to {SEARCH_MAX_RESULTS} "
                "and page through the rest with page_token"
            )
        exp_ints = [_experiment_int(e) for e in experiment_ids]
        offset = decode_page_token(page_token)
        stmt = build_search_statement(
            exp_ints,
            filter_string,
            ViewType(run_view_type),
            list(order_by or []),
            offset,
            max_results + 1,
            self.engine.dialect.name,
        )

        def _tx(conn: Connection) -> PagedList[Run]:
            ids = list(conn.execute(stmt).scalars())
            more = len(ids) > max_results
            runs = load_runs(conn, ids[:max_results])
            token = encode_page_token(offset + max_results) if more else None
            return PagedList(runs, token)

        return self.read_tx("searching runs", _tx)


def _lifecycle_filter(column, view_type: ViewType) -> list:  # type: ignore[no-untyped-def]
    if view_type == ViewType.ACTIVE_ONLY:
        return [column == LifecycleStage.ACTIVE.value]
    if view_type == ViewType.DELETED_ONLY:
        return [column == LifecycleStage.DELETED.value]
    return []
