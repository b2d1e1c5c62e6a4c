"""Deployments in the metadata store: one row of JSON state per deployment, a revision
counter servers poll, and an event per change in the shared audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from loopml.entities import Event
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.store.metadata import _schema as t
from loopml.store.metadata._registry import SqlRegistryStore, _event
from loopml.store.metadata._store import SqlTrackingStore, now_ms

_D = t.deployments.c


@dataclass(frozen=True)
class DeploymentRecord:
    """A deployment's stored state."""

    name: str
    model_name: str
    strategy: str
    state: dict[str, Any]
    revision: int
    creation_time: int
    last_updated_time: int


def _record(row) -> DeploymentRecord:  # type: ignore[no-untyped-def]
    return DeploymentRecord(
        row.name,
        row.model_name,
        row.strategy,
        json.loads(row.state),
        row.revision,
        row.creation_time,
        row.last_updated_time,
    )


class SqlDeploymentStore:
    """Deployment rows next to the tracking and registry tables."""

    def __init__(self, tracking: SqlTrackingStore) -> None:
        self._t = tracking
        self._registry = SqlRegistryStore(tracking)

    def create(
        self, name: str, model_name: str, state: dict[str, Any], actor: str, reason: str | None
    ) -> DeploymentRecord:
        """Create a deployment (unique name)."""
        if not name or "/" in name or "=" in name:
            raise ValidationError(
                f"deployment name {name!r} is not valid; use letters, digits, - or _"
            )

        def _tx(conn: Connection) -> None:
            if conn.execute(select(_D.name).where(_D.name == name)).first() is not None:
                raise ConflictError(f"deployment {name!r} already exists")
            ts = now_ms()
            conn.execute(
                insert(t.deployments).values(
                    name=name,
                    model_name=model_name,
                    strategy=state["strategy"],
                    state=json.dumps(state),
                    revision=1,
                    creation_time=ts,
                    last_updated_time=ts,
                )
            )
            _event(conn, actor, "deployment", name, "created", after=state, reason=reason)

        self._t.write_tx(f"creating deployment {name!r}", _tx)
        return self.get(name)

    def get(self, name: str) -> DeploymentRecord:
        """The deployment with this name."""
        row = self._t.read_tx(
            "reading a deployment",
            lambda c: c.execute(select(t.deployments).where(_D.name == name)).first(),
        )
        if row is None:
            raise NotFoundError(
                f"deployment {name!r} does not exist; create it with "
                f"`loopml deploy create {name} --model models:/NAME@champion`"
            )
        return _record(row)

    def list(self) -> list[DeploymentRecord]:
        """All deployments by name."""
        rows = self._t.read_tx(
            "listing deployments",
            lambda c: c.execute(select(t.deployments).order_by(_D.name)).all(),
        )
        return [_record(r) for r in rows]

    def change(
        self,
        name: str,
        fn: Callable[[dict[str, Any]], dict[str, Any]],
        action: str,
        actor: str,
        reason: str | None,
        alias_move: tuple[str, int] | None = None,
    ) -> DeploymentRecord:
        """Apply ``fn`` to the state in one transaction, bump the revision, record an event.

        ``alias_move`` (alias, version) then moves a registry alias (its own audited event).
        """

        def _tx(conn: Connection) -> None:
            row = conn.execute(select(t.deployments).where(_D.name == name)).first()
            if row is None:
                raise NotFoundError(f"deployment {name!r} does not exist")
            before = json.loads(row.state)
            after = fn(json.loads(row.state))
            conn.execute(
                update(t.deployments)
                .where(_D.name == name)
                .values(
                    state=json.dumps(after),
                    strategy=after["strategy"],
                    revision=row.revision + 1,
                    last_updated_time=now_ms(),
                )
            )
            _event(conn, actor, "deployment", name, action, before, after, reason)

        self._t.write_tx(f"{action} of deployment {name!r}", _tx)
        record = self.get(name)
        if alias_move is not None:
            self._registry.set_alias(record.model_name, alias_move[0], alias_move[1], actor, reason)
        return record

    def history(self, name: str) -> list[Event]:
        """Every change of a deployment, oldest first."""
        return [e for e in self._registry.list_events("deployment", name) if e.entity_id == name]
