"""The SQL side of the model registry: models, versions, aliases, stages, approvals, events.

Version numbers are allocated inside the write transaction (``BEGIN IMMEDIATE`` on SQLite,
a row lock on PostgreSQL), so concurrent registrations get distinct numbers. Every state
change appends an :class:`~loopml.entities.Event` in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from loopml.entities import (
    Approval,
    Event,
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    Stage,
)
from loopml.errors import ConflictError, NotFoundError, StoreError, ValidationError
from loopml.store.metadata import _schema as t
from loopml.store.metadata._store import SqlTrackingStore, now_ms
from loopml.store.metadata._validate import check_key, check_value

_MV = t.model_versions.c


def _event(
    conn: Connection,
    actor: str,
    entity_type: str,
    entity_id: str,
    action: str,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> None:
    conn.execute(
        insert(t.events).values(
            time=now_ms(),
            actor=actor,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            before=None if before is None else json.dumps(before),
            after=None if after is None else json.dumps(after),
            reason=reason,
        )
    )


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip() or "/" in name or "@" in name:
        raise ValidationError(
            f"model name {name!r} is not valid; use a non-empty name without '/' or '@'"
        )
    return name


class SqlRegistryStore:
    """Registry tables in the same database as the tracking store."""

    def __init__(self, tracking: SqlTrackingStore) -> None:
        self._t = tracking

    # -- models -----------------------------------------------------------------------
    def create_registered_model(
        self, name: str, description: str | None = None, actor: str = ""
    ) -> RegisteredModel:
        """Create a registered model (unique name)."""
        _check_name(name)

        def _tx(conn: Connection) -> None:
            if self._model_row(conn, name) is not None:
                raise ConflictError(f"registered model {name!r} already exists")
            ts = now_ms()
            conn.execute(
                insert(t.registered_models).values(
                    name=name, description=description, creation_time=ts, last_updated_time=ts
                )
            )
            _event(conn, actor, "registered_model", name, "created", after={"name": name})

        self._t.write_tx(f"creating model {name!r}", _tx)
        return self.get_registered_model(name)

    @staticmethod
    def _model_row(conn: Connection, name: str):  # type: ignore[no-untyped-def]
        return conn.execute(
            select(t.registered_models).where(t.registered_models.c.name == name)
        ).first()

    def _require_model(self, conn: Connection, name: str):  # type: ignore[no-untyped-def]
        row = self._model_row(conn, name)
        if row is None:
            raise NotFoundError(
                f"registered model {name!r} does not exist; list models with `loopml models list`"
            )
        return row

    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with its tags, aliases and latest version."""

        def _tx(conn: Connection) -> RegisteredModel:
            row = self._require_model(conn, name)
            tags = dict(
                conn.execute(
                    select(t.registered_model_tags.c.key, t.registered_model_tags.c.value).where(
                        t.registered_model_tags.c.name == name
                    )
                ).all()
            )
            aliases = dict(
                conn.execute(
                    select(t.model_aliases.c.alias, t.model_aliases.c.version).where(
                        t.model_aliases.c.name == name
                    )
                ).all()
            )
            latest = conn.execute(select(func.max(_MV.version)).where(_MV.name == name)).scalar()
            return RegisteredModel(
                name=row.name,
                description=row.description,
                creation_time=row.creation_time,
                last_updated_time=row.last_updated_time,
                require_approval=bool(row.require_approval),
                tags=tags,
                aliases=aliases,
                latest_version=latest,
            )

        return self._t.read_tx("reading a registered model", _tx)

    def list_registered_models(self) -> list[RegisteredModel]:
        """All registered models, by name."""
        names = self._t.read_tx(
            "listing models",
            lambda c: list(
                c.execute(
                    select(t.registered_models.c.name).order_by(t.registered_models.c.name)
                ).scalars()
            ),
        )
        return [self.get_registered_model(n) for n in names]

    def set_approval_policy(self, name: str, require_approval: bool, actor: str = "") -> None:
        """Require (or stop requiring) an approval before ``champion`` moves."""

        def _tx(conn: Connection) -> None:
            row = self._require_model(conn, name)
            conn.execute(
                update(t.registered_models)
                .where(t.registered_models.c.name == name)
                .values(require_approval=require_approval, last_updated_time=now_ms())
            )
            _event(
                conn,
                actor,
                "registered_model",
                name,
                "policy_changed",
                before={"require_approval": bool(row.require_approval)},
                after={"require_approval": require_approval},
            )

        self._t.write_tx("setting approval policy", _tx)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a tag on a registered model."""
        check_key("tag", key)
        text = check_value("tag", key, value)

        def _tx(conn: Connection) -> None:
            self._require_model(conn, name)
            tt = t.registered_model_tags.c
            conn.execute(delete(t.registered_model_tags).where(tt.name == name, tt.key == key))
            conn.execute(insert(t.registered_model_tags).values(name=name, key=key, value=text))

        self._t.write_tx("setting a model tag", _tx)

    def update_registered_model(self, name: str, description: str | None, actor: str = "") -> None:
        """Change a model's description."""

        def _tx(conn: Connection) -> None:
            row = self._require_model(conn, name)
            conn.execute(
                update(t.registered_models)
                .where(t.registered_models.c.name == name)
                .values(description=description, last_updated_time=now_ms())
            )
            _event(
                conn,
                actor,
                "registered_model",
                name,
                "description_changed",
                before={"description": row.description},
                after={"description": description},
            )

        self._t.write_tx("updating a model", _tx)

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set a tag on a model version."""
        check_key("tag", key)
        text = check_value("tag", key, value)

        def _tx(conn: Connection) -> None:
            self._require_version(conn, name, version)
            tg = t.model_version_tags.c
            conn.execute(
                delete(t.model_version_tags).where(
                    tg.name == name, tg.version == version, tg.key == key
                )
            )
            conn.execute(
                insert(t.model_version_tags).values(name=name, version=version, key=key, value=text)
            )

        self._t.write_tx("setting a version tag", _tx)

    # -- versions ---------------------------------------------------------------------
    def create_version(
        self,
        name: str,
        source: str,
        storage_root: str,
        run_id: str | None,
        flavor: str | None,
        signature: str | None,
        metrics: dict[str, float],
        description: str | None = None,
        actor: str = "",
    ) -> ModelVersion:
        """Allocate the next version number (PENDING); creates the model when new."""
        _check_name(name)

        def _tx(conn: Connection) -> int:
            if self._model_row(conn, name) is None:
                ts = now_ms()
                conn.execute(
                    insert(t.registered_models).values(
                        name=name, creation_time=ts, last_updated_time=ts
                    )
                )
                _event(conn, actor, "registered_model", name, "created", after={"name": name})
            elif conn.dialect.name == "postgresql":
                conn.execute(
                    select(t.registered_models.c.name)
                    .where(t.registered_models.c.name == name)
                    .with_for_update()
                )
            version = (
                conn.execute(select(func.max(_MV.version)).where(_MV.name == name)).scalar() or 0
            ) + 1
            ts = now_ms()
            conn.execute(
                insert(t.model_versions).values(
                    name=name,
                    version=version,
                    source=source,
                    storage_location=f"{storage_root.rstrip('/')}/{name}/{version}",
                    run_id=run_id,
                    flavor=flavor,
                    signature=signature,
                    metrics=json.dumps(metrics),
                    status=ModelVersionStatus.PENDING.value,
                    stage=Stage.NONE.value,
                    description=description,
                    user_id=actor,
                    creation_time=ts,
                    last_updated_time=ts,
                )
            )
            _event(
                conn,
                actor,
                "model_version",
                f"{name}/{version}",
                "registered",
                after={"source": source, "run_id": run_id},
            )
            return version

        for attempt in range(5):
            try:
                version = self._t.write_tx(f"registering a version of {name!r}", _tx)
                break
            except StoreError as exc:  # two first registrations raced to create the model
                if not isinstance(exc.__cause__, IntegrityError) or attempt == 4:
                    raise
        return self.get_version(name, version)

    def set_version_status(
        self, name: str, version: int, status: ModelVersionStatus, message: str | None = None
    ) -> None:
        """Move a version to READY or FAILED."""

        def _tx(conn: Connection) -> None:
            self._require_version(conn, name, version)
            conn.execute(
                update(t.model_versions)
                .where(_MV.name == name, _MV.version == version)
                .values(status=status.value, status_message=message, last_updated_time=now_ms())
            )

        self._t.write_tx("updating a version status", _tx)

    def _require_version(self, conn: Connection, name: str, version: int):  # type: ignore[no-untyped-def]
        row = conn.execute(
            select(t.model_versions).where(_MV.name == name, _MV.version == int(version))
        ).first()
        if row is None:
            self._require_model(conn, name)
            raise NotFoundError(
                f"model {name!r} has no version {version}; list them with "
                f"`loopml models versions {name}`"
            )
        return row

    def _version_from(self, conn: Connection, row) -> ModelVersion:  # type: ignore[no-untyped-def]
        tg = t.model_version_tags.c
        tags = dict(
            conn.execute(
                select(tg.key, tg.value).where(tg.name == row.name, tg.version == row.version)
            ).all()
        )
        aliases = tuple(
            conn.execute(
                select(t.model_aliases.c.alias)
                .where(t.model_aliases.c.name == row.name, t.model_aliases.c.version == row.version)
                .order_by(t.model_aliases.c.alias)
            ).scalars()
        )
        return ModelVersion(
            name=row.name,
            version=row.version,
            source=row.source,
            storage_location=row.storage_location,
            status=ModelVersionStatus(row.status),
            stage=Stage(row.stage),
            creation_time=row.creation_time,
            last_updated_time=row.last_updated_time,
            run_id=row.run_id,
            flavor=row.flavor,
            signature=row.signature,
            metrics=json.loads(row.metrics or "{}"),
            description=row.description,
            status_message=row.status_message,
            user_id=row.user_id or "",
            tags=tags,
            aliases=aliases,
        )

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version."""
        return self._t.read_tx(
            "reading a model version",
            lambda c: self._version_from(c, self._require_version(c, name, version)),
        )

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions of a model, newest first."""

        def _tx(conn: Connection) -> list[ModelVersion]:
            self._require_model(conn, name)
            rows = conn.execute(
                select(t.model_versions).where(_MV.name == name).order_by(_MV.version.desc())
            ).all()
            return [self._version_from(conn, r) for r in rows]

        return self._t.read_tx("listing versions", _tx)

    # -- aliases, stages, approvals -----------------------------------------------------
    def set_alias(
        self, name: str, alias: str, version: int, actor: str = "", reason: str | None = None
    ) -> None:
        """Point an alias at a READY version (approval needed for champion when required)."""
        if not alias or not alias.replace("-", "").replace("_", "").isalnum() or alias.isdigit():
            raise ValidationError(
                f"alias {alias!r} is not valid; use letters, digits, '-' or '_' "
                "(not only digits, which would look like a version)"
            )

        def _tx(conn: Connection) -> None:
            model = self._require_model(conn, name)
            row = self._require_version(conn, name, version)
            if row.status != ModelVersionStatus.READY:
                raise ConflictError(
                    f"{name}/{version} is {row.status}; only READY versions can get an alias"
                )
            if alias == "champion" and model.require_approval:
                approved = conn.execute(
                    select(func.count()).where(
                        t.model_approvals.c.name == name, t.model_approvals.c.version == version
                    )
                ).scalar_one()
                if not approved:
                    raise ConflictError(
                        f"model {name!r} requires an approval before champion moves; approve "
                        f"with `loopml models approve {name}/{version} --reason …`"
                    )
            ma = t.model_aliases.c
            before = conn.execute(
                select(ma.version).where(ma.name == name, ma.alias == alias)
            ).scalar()
            conn.execute(delete(t.model_aliases).where(ma.name == name, ma.alias == alias))
            conn.execute(insert(t.model_aliases).values(name=name, alias=alias, version=version))
            _event(
                conn,
                actor,
                "model_alias",
                f"{name}@{alias}",
                "alias_moved",
                before={"version": before},
                after={"version": int(version)},
                reason=reason,
            )

        self._t.write_tx(f"setting alias {alias!r}", _tx)

    def delete_alias(
        self, name: str, alias: str, actor: str = "", reason: str | None = None
    ) -> None:
        """Remove an alias."""

        def _tx(conn: Connection) -> None:
            ma = t.model_aliases.c
            before = conn.execute(
                select(ma.version).where(ma.name == name, ma.alias == alias)
            ).scalar()
            if before is None:
                raise NotFoundError(f"model {name!r} has no alias {alias!r}")
            conn.execute(delete(t.model_aliases).where(ma.name == name, ma.alias == alias))
            _event(
                conn,
                actor,
                "model_alias",
                f"{name}@{alias}",
                "alias_deleted",
                before={"version": before},
                reason=reason,
            )

        self._t.write_tx("deleting an alias", _tx)

    def resolve_alias(self, name: str, alias: str) -> int:
        """The version an alias points at."""

        def _tx(conn: Connection) -> int:
            self._require_model(conn, name)
            ma = t.model_aliases.c
            version = conn.execute(
                select(ma.version).where(ma.name == name, ma.alias == alias)
            ).scalar()
            if version is None:
                raise NotFoundError(
                    f"model {name!r} has no alias {alias!r}; set it with "
                    f"`loopml models alias {name} {alias} VERSION`"
                )
            return int(version)

        return self._t.read_tx("resolving an alias", _tx)

    def transition_stage(
        self,
        name: str,
        version: int,
        stage: Stage,
        archive_existing: bool = False,
        actor: str = "",
        reason: str | None = None,
    ) -> None:
        """Move a version to a stage; optionally archive the others in that stage."""

        def _tx(conn: Connection) -> None:
            row = self._require_version(conn, name, version)
            ts = now_ms()
            if archive_existing and stage in (Stage.STAGING, Stage.PRODUCTION):
                others = (
                    conn.execute(
                        select(_MV.version).where(
                            _MV.name == name, _MV.stage == stage.value, _MV.version != version
                        )
                    )
                    .scalars()
                    .all()
                )
                for other in others:
                    conn.execute(
                        update(t.model_versions)
                        .where(_MV.name == name, _MV.version == other)
                        .values(stage=Stage.ARCHIVED.value, last_updated_time=ts)
                    )
                    _event(
                        conn,
                        actor,
                        "model_version",
                        f"{name}/{other}",
                        "stage_transition",
                        before={"stage": stage.value},
                        after={"stage": Stage.ARCHIVED.value},
                        reason=f"archived by the move of version {version} to {stage.value}",
                    )
            conn.execute(
                update(t.model_versions)
                .where(_MV.name == name, _MV.version == version)
                .values(stage=stage.value, last_updated_time=ts)
            )
            _event(
                conn,
                actor,
                "model_version",
                f"{name}/{version}",
                "stage_transition",
                before={"stage": row.stage},
                after={"stage": stage.value},
                reason=reason,
            )

        self._t.write_tx("transitioning a stage", _tx)

    def approve(self, name: str, version: int, approver: str, reason: str) -> Approval:
        """Record an approval of a version (a reason is required)."""
        if not reason or not reason.strip():
            raise ValidationError("an approval needs a reason: --reason 'why this is safe'")

        def _tx(conn: Connection) -> int:
            self._require_version(conn, name, version)
            ts = now_ms()
            conn.execute(
                insert(t.model_approvals).values(
                    name=name, version=version, approver=approver, reason=reason, time=ts
                )
            )
            _event(conn, approver, "model_version", f"{name}/{version}", "approved", reason=reason)
            return ts

        ts = self._t.write_tx("approving a version", _tx)
        return Approval(name, int(version), approver, reason, ts)

    def list_approvals(self, name: str, version: int) -> list[Approval]:
        """Approvals of a version, oldest first."""
        a = t.model_approvals.c
        rows = self._t.read_tx(
            "listing approvals",
            lambda c: c.execute(
                select(t.model_approvals).where(a.name == name, a.version == version).order_by(a.id)
            ).all(),
        )
        return [Approval(r.name, r.version, r.approver, r.reason, r.time) for r in rows]

    def delete_version(
        self, name: str, version: int, force: bool = False, actor: str = ""
    ) -> ModelVersion:
        """Delete a version's record (refused while an alias points at it, unless forced)."""

        def _tx(conn: Connection) -> ModelVersion:
            row = self._require_version(conn, name, version)
            mv = self._version_from(conn, row)
            if mv.aliases and not force:
                raise ConflictError(
                    f"{name}/{version} is the target of alias(es) {', '.join(mv.aliases)}; "
                    "move them first or pass force=True (--force)"
                )
            ma = t.model_aliases.c
            conn.execute(delete(t.model_aliases).where(ma.name == name, ma.version == version))
            conn.execute(delete(t.model_versions).where(_MV.name == name, _MV.version == version))
            _event(
                conn,
                actor,
                "model_version",
                f"{name}/{version}",
                "deleted",
                before={"source": mv.source, "aliases": list(mv.aliases)},
            )
            return mv

        return self._t.write_tx("deleting a version", _tx)

    # -- events -----------------------------------------------------------------------
    def list_events(
        self,
        entity_type: str | None = None,
        entity_prefix: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[Event]:
        """Events after ``after_id`` (oldest first): poll with the last id to subscribe."""
        e = t.events.c
        stmt = select(t.events).where(e.id > after_id).order_by(e.id).limit(limit)
        if entity_type:
            stmt = stmt.where(e.entity_type == entity_type)
        if entity_prefix:
            stmt = stmt.where(e.entity_id.startswith(entity_prefix, autoescape=True))
        rows = self._t.read_tx("reading events", lambda c: c.execute(stmt).all())
        return [
            Event(
                r.id,
                r.time,
                r.actor,
                r.entity_type,
                r.entity_id,
                r.action,
                r.before,
                r.after,
                r.reason,
            )
            for r in rows
        ]
