"""``RegistryClient``: register model packages as versions, move aliases and stages."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from loopml.entities import (
    Approval,
    Event,
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    Stage,
)
from loopml.errors import ConflictError, LoopmlError, StoreError, ValidationError
from loopml.models import LoadedModel, load_package
from loopml.models import load_model as _load_package_uri
from loopml.models._package import read_manifest, verify_package
from loopml.registry._uris import parse_model_uri
from loopml.store.artifacts import open_artifact_store
from loopml.store.metadata import SqlRegistryStore
from loopml.tracking import Client
from loopml.tracking._context import current_user


class RegistryClient:
    """The model registry of one store (same tracking URI as :class:`Client`)."""

    def __init__(self, tracking_uri: str | None = None, client: Client | None = None) -> None:
        self.tracking = client or Client(tracking_uri)
        self.store = SqlRegistryStore(self.tracking.store)

    @property
    def storage_root(self) -> str:
        """Where registered packages are copied: ``<artifact root>/models``."""
        return f"{self.tracking.store.default_artifact_root}/models"

    # -- registration -----------------------------------------------------------------
    def register_model(
        self, model_uri: str | os.PathLike, name: str, description: str | None = None
    ) -> ModelVersion:
        """Copy a package (``runs:/…`` or a folder) into the registry as a new version.

        The version is PENDING while files are copied and READY only after the copy's
        checksums verify; a failed copy leaves a FAILED version and no files.
        """
        uri = str(model_uri)
        with tempfile.TemporaryDirectory(prefix="loopml-register-") as tmp:
            local = self._local_package(uri, Path(tmp))
            manifest = read_manifest(local)
            verify_package(local, manifest)
            run_id = manifest.run_id
            if run_id is None and uri.startswith("runs:/"):
                run_id = uri.removeprefix("runs:/").split("/", 1)[0]
            metrics = self.tracking.get_run(run_id).data.metrics if run_id else {}
            signature = json.dumps(manifest.signature.to_dict()) if manifest.signature else None
            version = self.store.create_version(
                name,
                source=uri,
                storage_root=self.storage_root,
                run_id=run_id,
                flavor=manifest.flavor,
                signature=signature,
                metrics=metrics,
                description=description,
                actor=current_user(),
            )
            target = open_artifact_store(version.storage_location)
            try:
                target.log_dir(local)
                with tempfile.TemporaryDirectory(prefix="loopml-verify-") as check:
                    copied = Path(target.download("", check))
                    verify_package(copied, read_manifest(copied))
            except BaseException as exc:
                target.delete()
                message = str(exc) if isinstance(exc, LoopmlError) else repr(exc)
                self.store.set_version_status(
                    name, version.version, ModelVersionStatus.FAILED, message
                )
                raise
            self.store.set_version_status(name, version.version, ModelVersionStatus.READY)
        return self.store.get_version(name, version.version)

    def _local_package(self, uri: str, tmp: Path) -> Path:
        if uri.startswith("runs:/"):
            rest = uri.removeprefix("runs:/").strip("/")
            run_id, _, path = rest.partition("/")
            if not run_id or not path:
                raise ValidationError(f"model URI {uri!r} is not valid; use runs:/<run_id>/<path>")
            return Path(self.tracking.download_artifacts(run_id, path, tmp))
        if uri.startswith("models:/"):
            raise ValidationError(
                f"{uri!r} is already registered; to copy it to another name, load it and "
                "log it again"
            )
        path = Path(uri)
        if not path.is_dir():
            raise ValidationError(f"{uri!r} is neither a runs:/ URI nor a model package folder")
        return path

    # -- reading ----------------------------------------------------------------------
    def get_registered_model(self, name: str) -> RegisteredModel:
        """A registered model with aliases and latest version."""
        return self.store.get_registered_model(name)

    def list_registered_models(self) -> list[RegisteredModel]:
        """All registered models."""
        return self.store.list_registered_models()

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version."""
        return self.store.get_version(name, int(version))

    def list_versions(self, name: str) -> list[ModelVersion]:
        """All versions, newest first."""
        return self.store.list_versions(name)

    def resolve(self, model_uri: str) -> ModelVersion:
        """The version a ``models:/`` URI names."""
        ref = parse_model_uri(model_uri)
        if ref.alias is not None:
            return self.store.get_version(ref.name, self.store.resolve_alias(ref.name, ref.alias))
        if ref.latest:
            ready = [v for v in self.list_versions(ref.name) if v.status == "READY"]
            if not ready:
                raise ConflictError(f"model {ref.name!r} has no READY version yet")
            return ready[0]
        assert ref.version is not None
        return self.store.get_version(ref.name, ref.version)

    def load_model(self, model_uri: str | os.PathLike) -> LoadedModel:
        """Load ``models:/…``, ``runs:/…`` or a folder; checksums are verified."""
        uri = str(model_uri)
        if not uri.startswith("models:/"):
            return _load_package_uri(uri, client=self.tracking)
        version = self.resolve(uri)
        if version.status != ModelVersionStatus.READY:
            raise ConflictError(
                f"{version.name}/{version.version} is {version.status}, not READY; "
                f"{version.status_message or 'registration did not finish'}"
            )
        local = tempfile.mkdtemp(prefix="loopml-model-")
        store = open_artifact_store(version.storage_location)
        return load_package(store.download("", local))

    # -- changes ----------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int, reason: str | None = None) -> None:
        """Point an alias (``champion``, ``challenger``, any) at a READY version."""
        self.store.set_alias(name, alias, int(version), current_user(), reason)

    def delete_alias(self, name: str, alias: str, reason: str | None = None) -> None:
        """Remove an alias."""
        self.store.delete_alias(name, alias, current_user(), reason)

    def transition_stage(
        self,
        name: str,
        version: int,
        stage: Stage | str,
        archive_existing: bool = False,
        reason: str | None = None,
    ) -> ModelVersion:
        """Move a version to None/Staging/Production/Archived."""
        try:
            target = Stage(str(stage).capitalize() if str(stage).lower() != "none" else "None")
        except ValueError:
            raise ValidationError(
                f"stage {stage!r} is not valid; use None, Staging, Production or Archived"
            ) from None
        self.store.transition_stage(
            name, int(version), target, archive_existing, current_user(), reason
        )
        return self.store.get_version(name, int(version))

    def update_registered_model(self, name: str, description: str | None) -> None:
        """Set a model's description (its purpose, shown on model cards)."""
        self.store.update_registered_model(name, description, current_user())

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a tag on a registered model."""
        self.store.set_model_tag(name, key, str(value))

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set a tag on a version (e.g. ``limitations``, shown on its model card)."""
        self.store.set_version_tag(name, int(version), key, str(value))

    def set_approval_policy(self, name: str, require_approval: bool = True) -> None:
        """Require an approval before ``champion`` can move to a version."""
        self.store.set_approval_policy(name, require_approval, current_user())

    def approve(self, name: str, version: int, reason: str) -> Approval:
        """Approve a version for promotion, with a reason."""
        return self.store.approve(name, int(version), current_user(), reason)

    def delete_model_version(self, name: str, version: int, force: bool = False) -> None:
        """Delete a version and its files; refused while an alias points at it unless forced."""
        deleted = self.store.delete_version(name, int(version), force, current_user())
        try:
            open_artifact_store(deleted.storage_location).delete()
        except StoreError as exc:
            raise StoreError(
                f"{name}/{version} was deleted but its files at {deleted.storage_location} "
                f"could not be removed ({exc}); delete them by hand"
            ) from exc

    def events(
        self, entity_type: str | None = None, name: str | None = None, after_id: int = 0
    ) -> list[Event]:
        """Audit events (oldest first); pass the last seen id to get only new ones."""
        return self.store.list_events(entity_type, name, after_id)
