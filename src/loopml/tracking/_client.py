"""``Client``: explicit-id access to experiments, runs and artifacts (like MlflowClient)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loopml.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    LifecycleStage,
    Metric,
    PagedList,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from loopml.errors import ConflictError, ValidationError
from loopml.store import SqlTrackingStore, resolve
from loopml.store.artifacts import ArtifactStore, open_artifact_store
from loopml.store.metadata import now_ms
from loopml.tracking._async import AsyncBatchLogger
from loopml.tracking._context import current_user
from loopml.tracking._names import generate_run_name

RUN_NAME_TAG = "loopml.runName"


class Client:
    """Talk to one tracking store by explicit ids.

    ``tracking_uri`` is a folder, ``sqlite:///…`` or ``postgresql://…``; by default
    ``$LOOPML_TRACKING_URI`` or ``./.loopml``. Nothing connects until the first call.
    With ``async_logging=True`` metric/param/tag calls return at once and a background
    thread writes them in batches; call :meth:`flush` (``end_run`` does) to wait.
    """

    def __init__(self, tracking_uri: str | None = None, async_logging: bool = False) -> None:
        self._location = resolve(tracking_uri)
        self.tracking_uri = self._location.tracking_uri
        self.store = SqlTrackingStore(self._location.db_url, self._location.artifact_root)
        self._async: AsyncBatchLogger | None = None
        if async_logging:
            self.enable_async_logging()

    def __repr__(self) -> str:
        return f"Client(tracking_uri={self.tracking_uri!r})"

    # -- async logging ----------------------------------------------------------------
    def enable_async_logging(self, enabled: bool = True) -> None:
        """Switch the background flusher on (or off, after flushing)."""
        if enabled and self._async is None:
            self._async = AsyncBatchLogger(self.store.log_batch)
        elif not enabled and self._async is not None:
            self._async.close()
            self._async = None

    @property
    def async_logging(self) -> bool:
        """True when metric/param/tag writes go through the background flusher."""
        return self._async is not None

    def flush(self) -> None:
        """Wait for queued background writes; raises the first error they hit."""
        if self._async is not None:
            self._async.flush()

    # -- experiments ------------------------------------------------------------------
    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> str:
        """Create an experiment; returns its id."""
        clean = {k: str(v) for k, v in (tags or {}).items()}
        return self.store.create_experiment(name, artifact_location, clean, description)

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id."""
        return self.store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, or None."""
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self, view_type: ViewType | str = ViewType.ACTIVE_ONLY, name_like: str | None = None
    ) -> list[Experiment]:
        """Experiments of a view type, optionally with names LIKE a pattern."""
        return self.store.search_experiments(ViewType(view_type), name_like)

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete an experiment and its runs."""
        self.store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore a deleted experiment and its runs."""
        self.store.restore_experiment(str(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set a tag on an experiment."""
        self.store.set_experiment_tag(str(experiment_id), key, str(value))

    # -- runs -------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        parent_run_id: str | None = None,
    ) -> Run:
        """Start a RUNNING run; a readable name is generated when none is given."""
        tags = dict(tags or {})
        name = run_name or tags.get(RUN_NAME_TAG) or generate_run_name()
        tags[RUN_NAME_TAG] = name
        return self.store.create_run(
            str(experiment_id),
            run_name=str(name),
            user_id=current_user(),
            start_time=start_time,
            tags=[RunTag(k, str(v)) for k, v in tags.items()],
            parent_run_id=parent_run_id,
        )

    def get_run(self, run_id: str) -> Run:
        """The run with this id (flushes queued writes first)."""
        self.flush()
        return self.store.get_run(run_id)

    def set_terminated(
        self, run_id: str, status: RunStatus | str = RunStatus.FINISHED, end_time: int | None = None
    ) -> None:
        """End a run with a terminal status (FINISHED, FAILED or KILLED)."""
        status = _status(status)
        if not status.is_terminal:
            raise ValidationError(
                f"status {status.value!r} does not end a run; use FINISHED, FAILED or KILLED"
            )
        self.flush()
        self.store.update_run_info(run_id, status=status, end_time=end_time or now_ms())

    def update_run(
        self, run_id: str, status: RunStatus | str | None = None, name: str | None = None
    ) -> None:
        """Change a run's status and/or name."""
        new_status = _status(status) if status is not None else None
        self.store.update_run_info(run_id, status=new_status, run_name=name)
        if name is not None:
            self.store.log_batch(run_id, tags=[RunTag(RUN_NAME_TAG, name)])

    def delete_run(self, run_id: str) -> None:
        """Soft-delete a run."""
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        """Restore a deleted run."""
        self.store.restore_run(run_id)

    def kill_stale_runs(
        self, older_than_ms: int, experiment_ids: Sequence[str] | None = None
    ) -> list[str]:
        """Mark RUNNING runs started more than ``older_than_ms`` ago as KILLED; returns ids."""
        if older_than_ms < 0:
            raise ValidationError(f"older_than_ms={older_than_ms} must be zero or positive")
        ids = experiment_ids or [e.experiment_id for e in self.search_experiments()]
        cutoff = now_ms() - older_than_ms
        killed = []
        token = None
        while True:
            page = self.search_runs(
                ids,
                f"attributes.status = 'RUNNING' and attributes.start_time <= {cutoff}",
                max_results=1000,
                page_token=token,
            )
            killed.extend(r.info.run_id for r in page)
            token = page.next_page_token
            if token is None:
                break
        return [run_id for run_id in killed if self.kill_run(run_id)]

    def kill_run(self, run_id: str) -> bool:
        """Mark a run KILLED if it is still RUNNING (atomically); returns whether it was."""
        return self.store.update_run_info(
            run_id, RunStatus.KILLED, end_time=now_ms(), only_if_status=RunStatus.RUNNING
        )

    # -- run data ---------------------------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log a write-once param; returns the value."""
        self.log_batch(run_id, params=[Param(key, _text(value))])
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        """Log one metric value at a step (default 0) and time (default now)."""
        metric = Metric(key, value, timestamp if timestamp is not None else now_ms(), step or 0)
        if self._async is not None:
            self._async.add(run_id, metric)
        else:
            self.store.log_batch(run_id, metrics=[metric])

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Set (or overwrite) a tag."""
        self.log_batch(run_id, tags=[RunTag(key, _text(value))])

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag."""
        self.flush()
        self.store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        """Log many metrics, params and tags at once (one transaction)."""
        if self._async is not None:
            self._async.add_many(run_id, [*params, *tags, *metrics])
        else:
            self.store.log_batch(run_id, metrics, params, tags)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """All values of a metric, by step."""
        self.flush()
        return self.store.get_metric_history(run_id, key)

    def log_inputs(self, run_id: str, inputs: Sequence[DatasetInput]) -> None:
        """Link datasets (with their context) to a run."""
        self.store.log_inputs(run_id, inputs)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        """Runs matching an MLflow-style filter; see docs for the syntax."""
        self.flush()
        if isinstance(experiment_ids, str):
            experiment_ids = [experiment_ids]
        return self.store.search_runs(
            [str(e) for e in experiment_ids],
            filter_string,
            ViewType(run_view_type),
            max_results,
            order_by,
            page_token,
        )

    # -- artifacts --------------------------------------------------------------------
    def artifact_store(self, run_id: str) -> ArtifactStore:
        """The artifact store rooted at this run's artifact URI."""
        return open_artifact_store(self.store.get_run(run_id).info.artifact_uri)

    def _writable_artifacts(self, run_id: str) -> ArtifactStore:
        run = self.store.get_run(run_id)
        if run.info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise ConflictError(f"run {run_id} is deleted; restore it before logging artifacts")
        return open_artifact_store(run.info.artifact_uri)

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike, artifact_path: str | None = None
    ) -> None:
        """Upload one file under the run's artifacts (optionally into a sub-folder)."""
        self._writable_artifacts(run_id).log_file(local_path, artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike, artifact_path: str | None = None
    ) -> None:
        """Upload a folder's contents; a failure leaves none of its files behind."""
        self._writable_artifacts(run_id).log_dir(local_dir, artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Save text as an artifact file such as ``notes/readme.md``."""
        self._writable_artifacts(run_id).write_bytes(artifact_file, text.encode("utf-8"))

    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        """Save a dict as JSON (or YAML when the file ends in .yaml/.yml and PyYAML exists)."""
        if artifact_file.endswith((".yaml", ".yml")):
            try:
                import yaml
            except ImportError as exc:
                raise ValidationError(
                    f"{artifact_file!r} asks for YAML but PyYAML is not installed; "
                    "pip install pyyaml or use a .json file name"
                ) from exc
            text = yaml.safe_dump(dictionary, sort_keys=False)
        else:
            text = json.dumps(dictionary, indent=2, default=str)
        self.log_text(run_id, text, artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib figure (needs ``loopml[plot]``)."""
        if not hasattr(figure, "savefig"):
            raise ValidationError(
                f"log_figure needs a matplotlib Figure, got {type(figure).__name__}; "
                "install matplotlib with pip install 'loopml[plot]'"
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(artifact_file).name
            figure.savefig(path)
            parent = str(Path(artifact_file).parent)
            self.log_artifact(run_id, path, None if parent == "." else parent)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        """One level of the run's artifacts."""
        return self.artifact_store(run_id).list(path)

    def download_artifacts(
        self, run_id: str, path: str, dst_path: str | os.PathLike | None = None
    ) -> str:
        """Download a file or folder of artifacts; returns the local path."""
        dst = str(dst_path) if dst_path is not None else tempfile.mkdtemp(prefix="loopml-")
        return self.artifact_store(run_id).download(path, dst)


def _status(status: RunStatus | str) -> RunStatus:
    try:
        return RunStatus(str(status).upper())
    except ValueError:
        raise ValidationError(
            f"run status {status!r} is not valid; use one of "
            + ", ".join(s.value for s in RunStatus)
        ) from None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
