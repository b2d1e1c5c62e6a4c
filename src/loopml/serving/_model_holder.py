"""The served model, swapped atomically when the alias it follows moves (hot reload)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from loopml.models import LoadedModel
from loopml.registry import RegistryClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    """One loaded model and its identity; replaced whole, never mutated."""

    model: LoadedModel
    name: str
    version: str


class ModelHolder:
    """Loads a model URI and, for ``models:/name@alias``, follows the alias."""

    def __init__(self, model_uri: str, registry: RegistryClient, reload_interval: float = 2.0):
        self.model_uri = model_uri
        self.registry = registry
        self.reload_interval = reload_interval
        self.current: Served | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> Served:
        """Load (or reload) the model the URI names now."""
        uri = self.model_uri
        if uri.startswith("models:/"):
            version = self.registry.resolve(uri)
            model = self.registry.load_model(f"models:/{version.name}/{version.version}")
            served = Served(model, version.name, str(version.version))
        else:
            model = self.registry.load_model(uri)
            name = uri.rstrip("/").rsplit("/", 1)[-1]
            served = Served(model, name, model.manifest.run_id or "local")
        self.current = served  # one reference assignment: requests see old or new, whole
        return served

    def start_following(self) -> None:
        """Poll the alias and swap in a new version in the background when it moves."""
        if "@" not in self.model_uri or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._follow, name="loopml-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following the alias."""
        self._stop.set()

    def _follow(self) -> None:
        while not self._stop.wait(self.reload_interval):
            try:
                target = str(self.registry.resolve(self.model_uri).version)
                if self.current is None or target != self.current.version:
                    old = self.current.version if self.current else None
                    self.load()
                    log.info("reloaded %s: version %s → %s", self.model_uri, old, target)
            except Exception as exc:  # keep serving the old model
                log.warning("checking %s for a new version failed: %s", self.model_uri, exc)

    def pick(self, frame: Any, headers: dict[str, str]) -> tuple[Served, str]:
        """A single model answers everything."""
        assert self.current is not None
        return self.current, "primary"

    def shadow(self) -> Served | None:
        """No shadow route."""
        return None

    def record(
        self,
        route: str,
        ok: bool,
        latency_ms: float,
        predictions: Any = None,
        request_ids: Any = None,
    ) -> None:
        """Nothing to track without a rollout."""

    def observe_labels(self, request_ids: list[str], labels: list[Any]) -> int:
        """Nothing to score without a rollout."""
        return 0

    def metadata(self) -> dict[str, Any]:
        """Name, version, flavor and signature of the served model."""
        served = self.current
        if served is None:
            return {"model_uri": self.model_uri, "ready": False}
        sig = served.model.signature
        return {
            "model_uri": self.model_uri,
            "name": served.name,
            "version": served.version,
            "flavor": served.model.flavor,
            "signature": sig.to_dict() if sig else None,
            "ready": True,
        }
