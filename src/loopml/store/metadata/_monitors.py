"""Monitors, their windows, alerts and deliveries in the metadata store.

Alert changes also go to the shared audit log (entity type ``alert``, id
``<monitor>/<alert id>``) so pipelines can subscribe to them like to alias moves.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from loopml.entities import Alert, AlertDelivery, Monitor, MonitorWindow
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.store.metadata import _schema as t
from loopml.store.metadata._registry import _event
from loopml.store.metadata._store import SqlTrackingStore, now_ms

_M = t.monitors.c
_W = t.monitor_windows.c
_A = t.alerts.c
_D = t.alert_deliveries.c


def _monitor(row) -> Monitor:  # type: ignore[no-untyped-def]
    return Monitor(
        row.name, row.deployment, json.loads(row.config), row.creation_time, row.last_updated_time
    )


def _window(row) -> MonitorWindow:  # type: ignore[no-untyped-def]
    return MonitorWindow(
        row.id,
        row.monitor,
        row.window_start,
        row.window_end,
        row.created_time,
        row.status,
        row.rows,
        json.loads(row.metrics),
        row.run_id,
        row.report_uri,
    )


def _alert(row) -> Alert:  # type: ignore[no-untyped-def]
    return Alert(
        row.id,
        row.monitor,
        row.rule,
        row.severity,
        row.state,
        row.value,
        row.fired_time,
        row.resolved_time,
        row.window_id,
        row.message,
    )


class SqlMonitorStore:
    """Monitor rows next to the tracking, registry and deployment tables."""

    def __init__(self, tracking: SqlTrackingStore) -> None:
        self._t = tracking

    # -- monitors ---------------------------------------------------------------------
    def create(self, name: str, deployment: str, config: dict[str, Any], actor: str) -> Monitor:
        """Create a monitor (unique name)."""
        if not name or "/" in name or not name.replace("-", "").replace("_", "").isalnum():
            raise ValidationError(
                f"monitor name {name!r} is not valid; use letters, digits, - or _"
            )

        def _tx(conn: Connection) -> None:
            if conn.execute(select(_M.name).where(_M.name == name)).first() is not None:
                raise ConflictError(
                    f"monitor {name!r} already exists; delete it first or choose another name"
                )
            ts = now_ms()
            conn.execute(
                insert(t.monitors).values(
                    name=name,
                    deployment=deployment,
                    config=json.dumps(config),
                    creation_time=ts,
                    last_updated_time=ts,
                )
            )
            _event(conn, actor, "monitor", name, "created", after=config)

        self._t.write_tx(f"creating monitor {name!r}", _tx)
        return self.get(name)

    def get(self, name: str) -> Monitor:
        """The monitor with this name."""
        row = self._t.read_tx(
            "reading a monitor",
            lambda c: c.execute(select(t.monitors).where(_M.name == name)).first(),
        )
        if row is None:
            raise NotFoundError(
                f"monitor {name!r} does not exist; create it with "
                f"`loopml monitor create DEPLOYMENT --name {name}`"
            )
        return _monitor(row)

    def list(self) -> list[Monitor]:
        """All monitors by name."""
        rows = self._t.read_tx(
            "listing monitors", lambda c: c.execute(select(t.monitors).order_by(_M.name)).all()
        )
        return [_monitor(r) for r in rows]

    def delete(self, name: str, actor: str) -> None:
        """Delete a monitor with its windows and alerts (the audit log keeps the record)."""
        before = self.get(name)

        def _tx(conn: Connection) -> None:
            ids = select(_A.id).where(_A.monitor == name)
            conn.execute(delete(t.alert_deliveries).where(_D.alert_id.in_(ids)))
            conn.execute(delete(t.alerts).where(_A.monitor == name))
            conn.execute(delete(t.monitor_windows).where(_W.monitor == name))
            conn.execute(delete(t.monitors).where(_M.name == name))
            _event(conn, actor, "monitor", name, "deleted", before=before.config)

        self._t.write_tx(f"deleting monitor {name!r}", _tx)

    # -- windows ----------------------------------------------------------------------
    def add_window(
        self,
        monitor: str,
        start: int,
        end: int,
        status: str,
        rows: int,
        metrics: dict[str, float],
        run_id: str | None,
        report_uri: str | None,
    ) -> MonitorWindow:
        """Store one window's result."""

        def _tx(conn: Connection) -> int:
            result = conn.execute(
                insert(t.monitor_windows).values(
                    monitor=monitor,
                    window_start=start,
                    window_end=end,
                    created_time=now_ms(),
                    status=status,
                    rows=rows,
                    metrics=json.dumps(metrics, allow_nan=True),
                    run_id=run_id,
                    report_uri=report_uri,
                )
            )
            conn.execute(
                update(t.monitors).where(_M.name == monitor).values(last_updated_time=now_ms())
            )
            return int(result.inserted_primary_key[0])

        wid = self._t.write_tx(f"storing a window of monitor {monitor!r}", _tx)
        return self.window(wid)

    def window(self, window_id: int) -> MonitorWindow:
        """One stored window."""
        row = self._t.read_tx(
            "reading a monitor window",
            lambda c: c.execute(select(t.monitor_windows).where(_W.id == window_id)).first(),
        )
        if row is None:
            raise NotFoundError(f"monitor window {window_id} does not exist")
        return _window(row)

    def windows(self, monitor: str, limit: int = 100) -> list[MonitorWindow]:
        """The latest ``limit`` windows of a monitor, oldest first."""
        stmt = (
            select(t.monitor_windows)
            .where(_W.monitor == monitor)
            .order_by(_W.window_end.desc(), _W.id.desc())
            .limit(limit)
        )
        rows = self._t.read_tx("listing monitor windows", lambda c: c.execute(stmt).all())
        return [_window(r) for r in reversed(rows)]

    # -- alerts -----------------------------------------------------------------------
    def active_alert(self, monitor: str, rule: str) -> Alert | None:
        """The firing alert of a rule, if any."""
        stmt = select(t.alerts).where(_A.monitor == monitor, _A.rule == rule, _A.state == "firing")
        row = self._t.read_tx("reading alerts", lambda c: c.execute(stmt).first())
        return None if row is None else _alert(row)

    def fire(
        self,
        monitor: str,
        rule: str,
        severity: str,
        value: float | None,
        window_id: int | None,
        message: str,
        actor: str,
    ) -> Alert:
        """Record a new firing alert and its audit event."""

        def _tx(conn: Connection) -> int:
            result = conn.execute(
                insert(t.alerts).values(
                    monitor=monitor,
                    rule=rule,
                    severity=severity,
                    state="firing",
                    value=value,
                    fired_time=now_ms(),
                    window_id=window_id,
                    message=message,
                )
            )
            aid = int(result.inserted_primary_key[0])
            after = {"rule": rule, "severity": severity, "value": value, "window_id": window_id}
            _event(conn, actor, "alert", f"{monitor}/{aid}", "fired", after=after, reason=message)
            return aid

        return self.alert(self._t.write_tx(f"firing an alert of {monitor!r}", _tx))

    def resolve(self, alert_id: int, value: float | None, actor: str) -> Alert:
        """Mark a firing alert resolved and record the audit event."""
        current = self.alert(alert_id)

        def _tx(conn: Connection) -> None:
            conn.execute(
                update(t.alerts)
                .where(_A.id == alert_id)
                .values(state="resolved", resolved_time=now_ms())
            )
            _event(
                conn,
                actor,
                "alert",
                f"{current.monitor}/{alert_id}",
                "resolved",
                before={"value": current.value},
                after={"value": value},
                reason=f"{current.rule} no longer holds",
            )

        self._t.write_tx(f"resolving alert {alert_id}", _tx)
        return self.alert(alert_id)

    def alert(self, alert_id: int) -> Alert:
        """One alert by id."""
        row = self._t.read_tx(
            "reading an alert",
            lambda c: c.execute(select(t.alerts).where(_A.id == alert_id)).first(),
        )
        if row is None:
            raise NotFoundError(f"alert {alert_id} does not exist")
        return _alert(row)

    def alerts(self, monitor: str | None = None, state: str | None = None) -> list[Alert]:
        """Alerts, newest first, optionally of one monitor and state."""
        stmt = select(t.alerts).order_by(_A.id.desc())
        if monitor:
            stmt = stmt.where(_A.monitor == monitor)
        if state:
            stmt = stmt.where(_A.state == state)
        rows = self._t.read_tx("listing alerts", lambda c: c.execute(stmt).all())
        return [_alert(r) for r in rows]

    def add_delivery(
        self, alert_id: int, channel: str, event: str, status: str, attempts: int, error: str | None
    ) -> AlertDelivery:
        """Record a delivery (after its retries)."""

        def _tx(conn: Connection) -> int:
            result = conn.execute(
                insert(t.alert_deliveries).values(
                    alert_id=alert_id,
                    channel=channel,
                    event=event,
                    status=status,
                    attempts=attempts,
                    time=now_ms(),
                    error=error,
                )
            )
            return int(result.inserted_primary_key[0])

        did = self._t.write_tx("recording an alert delivery", _tx)
        return AlertDelivery(did, alert_id, channel, event, status, attempts, now_ms(), error)

    def deliveries(self, alert_id: int | None = None) -> list[AlertDelivery]:
        """Deliveries, oldest first, optionally of one alert."""
        stmt = select(t.alert_deliveries).order_by(_D.id)
        if alert_id is not None:
            stmt = stmt.where(_D.alert_id == alert_id)
        rows = self._t.read_tx("listing deliveries", lambda c: c.execute(stmt).all())
        return [
            AlertDelivery(
                r.id, r.alert_id, r.channel, r.event, r.status, r.attempts, r.time, r.error
            )
            for r in rows
        ]
