"""SQLAlchemy table definitions of the metadata store (tracking tables).

The Alembic migrations in ``migrations/versions`` create exactly these tables; a test keeps
the two in agreement. Times are integer milliseconds since the epoch.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

metadata = MetaData(naming_convention=NAMING)

KEY = String(250)
VALUE = String(8000)

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("artifact_location", String(1000), nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, default="active"),
    Column("description", Text, nullable=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
)

experiment_tags = Table(
    "experiment_tags",
    metadata,
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", KEY, primary_key=True),
    Column("value", VALUE, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_uuid", String(32), primary_key=True),
    Column(
        "experiment_id",
        Integer,
        ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(250), nullable=False),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("lifecycle_stage", String(32), nullable=False),
    Column("artifact_uri", String(1000), nullable=False),
    Column("user_id", String(256), nullable=False, default=""),
    Column("parent_run_id", String(32), nullable=True),
    Column("deleted_time", BigInteger, nullable=True),
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
    Index("ix_runs_status", "status"),
)

params = Table(
    "params",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", KEY, primary_key=True),
    Column("value", VALUE, nullable=False),
    Index("ix_params_key_value", "key", "value"),
)

tags = Table(
    "tags",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", KEY, primary_key=True),
    Column("value", VALUE, nullable=False),
    Index("ix_tags_key_value", "key", "value"),
)

# Full history. NaN is stored as value 0 with is_nan true (SQLite turns NaN into NULL);
# +/-inf are stored as themselves (both SQLite and PostgreSQL keep them).
metrics = Table(
    "metrics",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("key", KEY, nullable=False),
    Column("value", Float(precision=53), nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("step", BigInteger, nullable=False, default=0),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_metrics_run_key_step", "run_uuid", "key", "step"),
)

# Latest value per (run, key), kept up to date on every write for fast search and ordering.
# "Latest" follows MLflow: the highest step, then the newest timestamp, then the larger value.
latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column("key", KEY, primary_key=True),
    Column("value", Float(precision=53), nullable=False),
    Column("is_nan", Boolean, nullable=False, default=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_latest_metrics_key_value", "key", "value"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("dataset_id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(500), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("source_type", String(36), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text, nullable=True),
    Column("profile", Text, nullable=True),
    Column("num_rows", BigInteger, nullable=True),
    Column("created_time", BigInteger, nullable=False),
    UniqueConstraint("name", "digest"),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column(
        "run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "dataset_id",
        Integer,
        ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("context", String(64), primary_key=True, default=""),
)

# -- model registry -----------------------------------------------------------------------

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("description", Text, nullable=True),
    Column("require_approval", Boolean, nullable=False, default=False),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column(
        "name",
        String(256),
        ForeignKey("registered_models.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", KEY, primary_key=True),
    Column("value", VALUE, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column(
        "name",
        String(256),
        ForeignKey("registered_models.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("source", String(1000), nullable=False),
    Column("storage_location", String(1000), nullable=False),
    Column("run_id", String(32), nullable=True),
    Column("flavor", String(64), nullable=True),
    Column("signature", Text, nullable=True),
    Column("metrics", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("stage", String(16), nullable=False, default="None"),
    Column("description", Text, nullable=True),
    Column("user_id", String(256), nullable=False, default=""),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Index("ix_model_versions_run_id", "run_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", KEY, primary_key=True),
    Column("value", VALUE, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"],
        ["model_versions.name", "model_versions.version"],
        ondelete="CASCADE",
    ),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column(
        "name",
        String(256),
        ForeignKey("registered_models.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("alias", String(256), primary_key=True),
    Column("version", Integer, nullable=False),
)

model_approvals = Table(
    "model_approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False),
    Column("version", Integer, nullable=False),
    Column("approver", String(256), nullable=False),
    Column("reason", Text, nullable=False),
    Column("time", BigInteger, nullable=False),
    Index("ix_model_approvals_name_version", "name", "version"),
)

# The append-only audit log of every state change (alias moves, stage transitions, ...).
events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("time", BigInteger, nullable=False),
    Column("actor", String(256), nullable=False),
    Column("entity_type", String(64), nullable=False),
    Column("entity_id", String(512), nullable=False),
    Column("action", String(64), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Index("ix_events_entity", "entity_type", "entity_id"),
)

# -- deployments ---------------------------------------------------------------------------

deployments = Table(
    "deployments",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("model_name", String(256), nullable=False),
    Column("strategy", String(32), nullable=False),  # single | canary | shadow | ab | blue_green
    Column("state", Text, nullable=False),  # JSON: routes, guards, candidate, timestamps
    Column("revision", Integer, nullable=False),  # bumps on every change; servers poll it
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
)

# -- monitors and alerts --------------------------------------------------------------------

monitors = Table(
    "monitors",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("deployment", String(256), nullable=False),
    Column("config", Text, nullable=False),  # JSON: window, schedule, rules, channels, options
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
)

monitor_windows = Table(
    "monitor_windows",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "monitor",
        String(256),
        ForeignKey("monitors.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("window_start", BigInteger, nullable=False),
    Column("window_end", BigInteger, nullable=False),
    Column("created_time", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # ok | empty
    Column("rows", Integer, nullable=False),
    Column("metrics", Text, nullable=False),  # JSON: every named number of the window
    Column("run_id", String(32), nullable=True),  # tracking run holding the report artifacts
    Column("report_uri", Text, nullable=True),
    Index("ix_monitor_windows_monitor_end", "monitor", "window_end"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "monitor",
        String(256),
        ForeignKey("monitors.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("rule", Text, nullable=False),  # the rule as written, e.g. "rmse > 8 for 2 windows"
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),  # firing | resolved
    Column("value", Float, nullable=True),
    Column("fired_time", BigInteger, nullable=False),
    Column("resolved_time", BigInteger, nullable=True),
    Column("window_id", BigInteger, nullable=True),
    Column("message", Text, nullable=False),
    Index("ix_alerts_monitor_state", "monitor", "state"),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column(
        "alert_id",
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("alerts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", Text, nullable=False),
    Column("event", String(16), nullable=False),  # fired | resolved
    Column("status", String(16), nullable=False),  # delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("error", Text, nullable=True),
)
