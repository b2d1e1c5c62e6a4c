"""Typed domain objects shared by every layer (frozen dataclasses, never loose dicts)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class RunStatus(StrEnum):
    """Lifecycle status of a run (MLflow's names)."""

    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        """True for FINISHED, FAILED and KILLED."""
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


class LifecycleStage(StrEnum):
    """Soft-delete state of experiments and runs."""

    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(StrEnum):
    """Which lifecycle stages a search returns."""

    ACTIVE_ONLY = "active_only"
    DELETED_ONLY = "deleted_only"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Experiment:
    """A named group of runs."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric observation. ``value`` may be NaN or +/-inf."""

    key: str
    value: float
    timestamp: int
    step: int = 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metric):
            return NotImplemented
        same_value = self.value == other.value or (
            math.isnan(self.value) and math.isnan(other.value)
        )
        return (
            same_value
            and self.key == other.key
            and self.timestamp == other.timestamp
            and self.step == other.step
        )

    def __hash__(self) -> int:
        return hash((self.key, self.timestamp, self.step))


@dataclass(frozen=True, slots=True)
class Param:
    """A write-once run parameter."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RunTag:
    """A mutable key/value tag on a run."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset version as a run saw it: identified by name and content digest."""

    name: str
    digest: str
    source: str = ""
    source_type: str = "local"
    schema: str | None = None  # JSON text: [{"name":..., "type":...}, ...]
    profile: str | None = None  # JSON text: statistics sketch
    num_rows: int | None = None


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset used by a run, with the context tag (train/validation/test/...)."""

    dataset: Dataset
    context: str | None = None


@dataclass(frozen=True, slots=True)
class RunInfo:
    """Identity and status of a run."""

    run_id: str
    experiment_id: str
    run_name: str
    status: RunStatus
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: LifecycleStage
    user_id: str = ""
    parent_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunData:
    """What a run recorded: latest metrics, params and tags."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Run:
    """A run: its info, its data and its dataset inputs."""

    info: RunInfo
    data: RunData
    inputs: tuple[DatasetInput, ...] = ()


@dataclass(frozen=True, slots=True)
class FileInfo:
    """An entry of an artifact listing; ``path`` is relative to the run's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None = None


@dataclass(frozen=True, slots=True)
class PagedList(Generic[T]):
    """One page of search results and the token for the next page (None when done)."""

    items: list[T]
    next_page_token: str | None = None

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> T:
        return self.items[index]


class ModelVersionStatus(StrEnum):
    """A version is READY only once its files and checksums are in place."""

    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"


class Stage(StrEnum):
    """Classic registry stages (aliases are the primary pointer)."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model with versions, aliases and an optional approval policy."""

    name: str
    description: str | None
    creation_time: int
    last_updated_time: int
    require_approval: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    latest_version: int | None = None


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One registered version of a model and where its package lives."""

    name: str
    version: int
    source: str
    storage_location: str
    status: ModelVersionStatus
    stage: Stage
    creation_time: int
    last_updated_time: int
    run_id: str | None = None
    flavor: str | None = None
    signature: str | None = None  # JSON text
    metrics: dict[str, float] = field(default_factory=dict)
    description: str | None = None
    status_message: str | None = None
    user_id: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the append-only audit log."""

    id: int
    time: int
    actor: str
    entity_type: str
    entity_id: str
    action: str
    before: str | None = None  # JSON text
    after: str | None = None  # JSON text
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Approval:
    """A recorded human approval of a model version."""

    name: str
    version: int
    approver: str
    reason: str
    time: int


@dataclass(frozen=True, slots=True)
class Monitor:
    """A monitor of one deployment: window length, schedule, alert rules and channels.

    ``config`` keys: ``window_ms``, ``schedule`` (cron), ``rules`` (list of rule texts),
    ``channels`` (list of channel specs), ``segment`` (column), ``methods`` /
    ``thresholds`` (per-column drift overrides), ``share_threshold``.
    """

    name: str
    deployment: str
    config: dict
    creation_time: int
    last_updated_time: int


@dataclass(frozen=True, slots=True)
class MonitorWindow:
    """The stored result of one monitor window: its metrics and where the report is."""

    id: int
    monitor: str
    window_start: int
    window_end: int
    created_time: int
    status: str  # ok | empty
    rows: int
    metrics: dict
    run_id: str | None = None
    report_uri: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert of a rule: fires once while its condition holds, resolves when it clears."""

    id: int
    monitor: str
    rule: str
    severity: str
    state: str  # firing | resolved
    value: float | None
    fired_time: int
    resolved_time: int | None
    window_id: int | None
    message: str


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """One delivery of an alert event to a channel, after all its attempts."""

    id: int
    alert_id: int
    channel: str
    event: str  # fired | resolved
    status: str  # delivered | failed
    attempts: int
    time: int
    error: str | None = None
