"""The fluent API: ``loopml.start_run()``, ``loopml.log_metric()``, … (MLflow's shape).

Module state, and only this: the lazily created default :class:`Client` (with its tracking
URI and active experiment) and a per-thread stack of active runs.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

import pandas as pd

from loopml.entities import (
    DatasetInput,
    Experiment,
    Metric,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from loopml.errors import NotFoundError, ValidationError
from loopml.store import default_tracking_uri
from loopml.store.metadata import DEFAULT_EXPERIMENT_ID, now_ms
from loopml.tracking._client import Client
from loopml.tracking._context import PARENT_RUN, context_tags
from loopml.tracking._datasets import describe_dataset
from loopml.tracking._frames import runs_to_frame

log = logging.getLogger(__name__)

_state_lock = threading.RLock()
_client: Client | None = None
_tracking_uri: str | None = None
_experiment_id: str | None = None
_async_default = False
_local = threading.local()


class ActiveRun:
    """A started run; use as a context manager to end it (FAILED if the block raised)."""

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def info(self):  # type: ignore[no-untyped-def]
        """The run's RunInfo at start."""
        return self._run.info

    @property
    def data(self):  # type: ignore[no-untyped-def]
        """The run's RunData at start (use get_run for fresh data)."""
        return self._run.data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        status = RunStatus.FINISHED if exc_type is None else RunStatus.FAILED
        if exc_type is KeyboardInterrupt:
            status = RunStatus.KILLED
        _end_run_id(self._run.info.run_id, status, raise_flush=exc_type is None)

    def __repr__(self) -> str:
        return f"ActiveRun(run_id={self._run.info.run_id!r}, name={self._run.info.run_name!r})"


def _stack() -> list[ActiveRun]:
    if not hasattr(_local, "runs"):
        _local.runs = []
    return _local.runs


def get_tracking_uri() -> str:
    """The tracking URI the fluent API uses."""
    return _tracking_uri or default_tracking_uri()


def set_tracking_uri(uri: str | os.PathLike) -> None:
    """Point the fluent API at another store (folder, sqlite:///…, postgresql://…)."""
    global _client, _tracking_uri, _experiment_id
    with _state_lock:
        if _client is not None:
            _client.flush()
        _tracking_uri = str(uri)
        _client = None
        _experiment_id = None


def get_client() -> Client:
    """The default client (created lazily from the tracking URI)."""
    global _client
    with _state_lock:
        if _client is None:
            _client = Client(get_tracking_uri(), async_logging=_async_default)
        return _client


def enable_async_logging(enabled: bool = True) -> None:
    """Make fluent metric/param/tag calls return at once; writes flush at end_run."""
    global _async_default
    with _state_lock:
        _async_default = enabled
        get_client().enable_async_logging(enabled)


def flush() -> None:
    """Wait for queued background writes."""
    get_client().flush()


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active, creating it by name when it does not exist."""
    global _experiment_id
    if (experiment_name is None) == (experiment_id is None):
        raise ValidationError("set_experiment needs exactly one of experiment_name, experiment_id")
    client = get_client()
    if experiment_id is not None:
        exp = client.get_experiment(str(experiment_id))
    else:
        assert experiment_name is not None
        exp = client.get_experiment_by_name(experiment_name)
        if exp is None:
            client.create_experiment(experiment_name)
            exp = client.get_experiment_by_name(experiment_name)
            assert exp is not None
    if exp.lifecycle_stage != "active":
        raise ValidationError(
            f"experiment {exp.name!r} (id {exp.experiment_id}) is deleted; restore it with "
            f"`loopml experiments restore {exp.experiment_id}` or choose another name"
        )
    with _state_lock:
        _experiment_id = exp.experiment_id
    return exp


def _current_experiment_id() -> str:
    if _experiment_id is not None:
        return _experiment_id
    env_name = os.environ.get("LOOPML_EXPERIMENT_NAME")
    if env_name:
        return set_experiment(env_name).experiment_id
    return os.environ.get("LOOPML_EXPERIMENT_ID", DEFAULT_EXPERIMENT_ID)


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_tags: bool = True,
) -> ActiveRun:
    """Start (or resume, with ``run_id``) a run and make it active.

    Starting a second run while one is active needs ``nested=True``; the new run
    records the active one as its parent.
    """
    client = get_client()
    stack = _stack()
    if stack and not nested:
        raise ValidationError(
            f"run {stack[-1].info.run_id} is already active; end it with loopml.end_run() "
            "or start this one with nested=True"
        )
    if run_id is not None:
        run = client.get_run(run_id)
        if run.info.lifecycle_stage != "active":
            raise ValidationError(f"run {run_id} is deleted; restore it before resuming it")
        client.update_run(run_id, status=RunStatus.RUNNING)
        run = client.get_run(run_id)
    else:
        all_tags: dict[str, Any] = context_tags() if log_system_tags else {}
        all_tags.update(tags or {})
        if description is not None:
            all_tags["loopml.note.content"] = description
        parent = stack[-1].info.run_id if stack else None
        if parent:
            all_tags[PARENT_RUN] = parent
        run = client.create_run(
            experiment_id or _current_experiment_id(),
            tags=all_tags,
            run_name=run_name,
            parent_run_id=parent,
        )
    active = ActiveRun(run)
    stack.append(active)
    return active


def _end_run_id(run_id: str, status: RunStatus, raise_flush: bool = True) -> None:
    stack = _stack()
    client = get_client()
    try:
        client.flush()
    except Exception:
        status = RunStatus.FAILED
        if raise_flush:
            client.set_terminated(run_id, status)
            _pop(stack, run_id)
            raise
        log.exception("queued writes of run %s failed", run_id)
    client.set_terminated(run_id, status, end_time=now_ms())
    _pop(stack, run_id)


def _pop(stack: list[ActiveRun], run_id: str) -> None:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i].info.run_id == run_id:
            del stack[i:]
            return


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    """End the active run (no-op when none is active)."""
    stack = _stack()
    if stack:
        _end_run_id(stack[-1].info.run_id, RunStatus(str(status).upper()))


def active_run() -> ActiveRun | None:
    """The innermost active run of this thread, or None."""
    stack = _stack()
    return stack[-1] if stack else None


def _run_id() -> str:
    stack = _stack()
    if stack:
        return stack[-1].info.run_id
    start_run()
    return _stack()[-1].info.run_id


def log_param(key: str, value: Any) -> Any:
    """Log a write-once param on the active run (starting one if needed)."""
    return get_client().log_param(_run_id(), key, value)


def log_params(params: dict[str, Any]) -> None:
    """Log several params in one transaction."""
    get_client().log_batch(_run_id(), params=[Param(k, str(v)) for k, v in params.items()])


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log a metric value on the active run."""
    get_client().log_metric(_run_id(), key, value, timestamp, step)


def log_metrics(
    metrics: dict[str, float], step: int | None = None, timestamp: int | None = None
) -> None:
    """Log several metrics at one step in one transaction."""
    ts = timestamp if timestamp is not None else now_ms()
    entries = [Metric(k, v, ts, step or 0) for k, v in metrics.items()]
    get_client().log_batch(_run_id(), metrics=entries)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    get_client().set_tag(_run_id(), key, value)


def set_tags(tags: dict[str, Any]) -> None:
    """Set several tags in one transaction."""
    get_client().log_batch(_run_id(), tags=[RunTag(k, str(v)) for k, v in tags.items()])


def log_artifact(local_path: str | os.PathLike, artifact_path: str | None = None) -> None:
    """Upload a file to the active run's artifacts."""
    get_client().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str | os.PathLike, artifact_path: str | None = None) -> None:
    """Upload a folder to the active run's artifacts."""
    get_client().log_artifacts(_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    """Save text as an artifact of the active run."""
    get_client().log_text(_run_id(), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str) -> None:
    """Save a dict as JSON/YAML artifact of the active run."""
    get_client().log_dict(_run_id(), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    """Save a matplotlib figure as an artifact of the active run."""
    get_client().log_figure(_run_id(), figure, artifact_file)


def log_input(
    dataset: Any,
    context: str | None = None,
    name: str | None = None,
    source: str | None = None,
) -> DatasetInput:
    """Record a dataset (DataFrame/array) used by the active run, with its context tag."""
    ds = describe_dataset(dataset, name=name, source=source)
    item = DatasetInput(ds, context)
    get_client().log_inputs(_run_id(), [item])
    return item


def get_run(run_id: str) -> Run:
    """Fetch a run by id."""
    return get_client().get_run(run_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """Fetch an experiment by name, or None."""
    return get_client().get_experiment_by_name(name)


def create_experiment(name: str, tags: dict[str, Any] | None = None) -> str:
    """Create an experiment; returns its id."""
    return get_client().create_experiment(name, tags=tags)


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    max_results: int = 1000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    experiment_names: Sequence[str] | None = None,
    page_token: str | None = None,
) -> pd.DataFrame | PagedList[Run]:
    """Search runs (active experiment by default) as a DataFrame or a list of runs."""
    client = get_client()
    ids = list(experiment_ids or [])
    for name in experiment_names or []:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise NotFoundError(f"experiment {name!r} does not exist")
        ids.append(exp.experiment_id)
    if not ids:
        ids = [_current_experiment_id()]
    if output_format not in ("pandas", "list"):
        raise ValidationError(f"output_format={output_format!r}; use 'pandas' or 'list'")
    page = client.search_runs(ids, filter_string, run_view_type, max_results, order_by, page_token)
    return runs_to_frame(page.items) if output_format == "pandas" else page


def _end_runs_at_exit() -> None:
    stack = _stack()
    while stack:
        try:
            _end_run_id(stack[-1].info.run_id, RunStatus.FINISHED, raise_flush=False)
        except Exception:
            log.exception("could not end run at exit")
            stack.pop()


atexit.register(_end_runs_at_exit)
