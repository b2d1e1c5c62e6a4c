"""monitors, monitor windows, alerts and alert deliveries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "monitors",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("deployment", sa.String(length=256), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_updated_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_monitors")),
    )
    op.create_table(
        "monitor_windows",
        sa.Column("id", _ID, nullable=False),
        sa.Column("monitor", sa.String(length=256), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("created_time", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("report_uri", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["monitor"],
            ["monitors.name"],
            name=op.f("fk_monitor_windows_monitor_monitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_windows")),
    )
    op.create_index("ix_monitor_windows_monitor_end", "monitor_windows", ["monitor", "window_end"])
    op.create_table(
        "alerts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("monitor", sa.String(length=256), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("fired_time", sa.BigInteger(), nullable=False),
        sa.Column("resolved_time", sa.BigInteger(), nullable=True),
        sa.Column("window_id", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitor"],
            ["monitors.name"],
            name=op.f("fk_alerts_monitor_monitors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_monitor_state", "alerts", ["monitor", "state"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("alert_id", _ID, nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_deliveries_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
    )


def downgrade() -> None:
    op.drop_table("alert_deliveries")
    op.drop_index("ix_alerts_monitor_state", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_monitor_windows_monitor_end", table_name="monitor_windows")
    op.drop_table("monitor_windows")
    op.drop_table("monitors")
