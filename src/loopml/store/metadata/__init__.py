"""Metadata store on SQLAlchemy: SQLite (embedded default) or PostgreSQL."""

from loopml.store.metadata._deployments import DeploymentRecord, SqlDeploymentStore
from loopml.store.metadata._engine import create_store_engine, normalize_db_url
from loopml.store.metadata._migrate import current_revision, head_revision, upgrade
from loopml.store.metadata._monitors import SqlMonitorStore
from loopml.store.metadata._registry import SqlRegistryStore
from loopml.store.metadata._store import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    SqlTrackingStore,
    now_ms,
)

__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "DeploymentRecord",
    "SqlDeploymentStore",
    "SqlMonitorStore",
    "SqlRegistryStore",
    "SqlTrackingStore",
    "create_store_engine",
    "current_revision",
    "head_revision",
    "normalize_db_url",
    "now_ms",
    "upgrade",
]
