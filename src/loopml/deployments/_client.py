"""``DeploymentClient``: create deployments and roll versions out safely.

State of a deployment (JSON, versioned by a revision counter servers poll)::

    {"strategy": "single" | "canary" | "shadow" | "ab" | "blue_green",
     "alias": "champion",              # the alias promotion moves
     "primary": 3,                     # version answering requests
     "candidate": 4 | null,            # version under test (canary/shadow/ab)
     "weight": 0.1,                    # canary share
     "split": 0.5, "key": "customer_id",   # A/B share and sticky key (field or header)
     "standby": 2 | null,              # blue-green: previous version, for instant rollback
     "guards": {...}, "started_ms": ..., "status": "stable" | "rolling_out" | ...}
"""

from __future__ import annotations

import time
from typing import Any

from loopml.deployments._guards import Guards
from loopml.entities import Event, ModelVersionStatus
from loopml.errors import ConflictError, ValidationError
from loopml.registry import RegistryClient, parse_model_uri
from loopml.store.metadata import DeploymentRecord, SqlDeploymentStore
from loopml.tracking import Client
from loopml.tracking._context import current_user


class DeploymentClient:
    """Deployments of the store a tracking URI names."""

    def __init__(self, tracking_uri: str | None = None, client: Client | None = None) -> None:
        self.tracking = client or Client(tracking_uri)
        self.registry = RegistryClient(client=self.tracking)
        self.store = SqlDeploymentStore(self.tracking.store)

    def _version(self, model_name: str, model_uri: str) -> int:
        version = self.registry.resolve(model_uri)
        if version.name != model_name:
            raise ValidationError(
                f"{model_uri} is a version of {version.name!r}, but this deployment serves "
                f"{model_name!r}"
            )
        if version.status != ModelVersionStatus.READY:
            raise ConflictError(f"{version.name}/{version.version} is {version.status}, not READY")
        return version.version

    def create(self, name: str, model_uri: str, reason: str | None = None) -> DeploymentRecord:
        """Create a deployment serving ``models:/name@alias`` (or a fixed version)."""
        ref = parse_model_uri(model_uri)
        version = self._version(ref.name, model_uri)
        state = {
            "strategy": "single",
            "alias": ref.alias or "champion",
            "primary": version,
            "candidate": None,
            "standby": None,
            "status": "stable",
        }
        return self.store.create(name, ref.name, state, current_user(), reason)

    def get(self, name: str) -> DeploymentRecord:
        """A deployment's current state."""
        return self.store.get(name)

    def list(self) -> list[DeploymentRecord]:
        """All deployments."""
        return self.store.list()

    def history(self, name: str) -> list[Event]:
        """Every change of a deployment (who, when, what, why)."""
        self.store.get(name)
        return self.store.history(name)

    def _start(
        self,
        name: str,
        strategy: str,
        candidate_uri: str,
        extra: dict[str, Any],
        guards: Guards | None,
        reason: str | None,
    ) -> DeploymentRecord:
        record = self.store.get(name)
        version = self._version(record.model_name, candidate_uri)
        if version == record.state["primary"]:
            raise ValidationError(f"version {version} is already the primary of {name!r}")
        if record.state.get("candidate") is not None:
            raise ConflictError(
                f"{name!r} already tests version {record.state['candidate']} "
                f"({record.state['strategy']}); promote or roll it back first"
            )

        def change(state: dict[str, Any]) -> dict[str, Any]:
            state.update(
                strategy=strategy,
                candidate=version,
                guards=(guards or Guards()).to_dict(),
                started_ms=int(time.time() * 1000),
                status="rolling_out",
                **extra,
            )
            return state

        return self.store.change(name, change, strategy, current_user(), reason)

    def canary(
        self,
        name: str,
        candidate_uri: str,
        weight: float = 0.1,
        guards: Guards | None = None,
        reason: str | None = None,
    ) -> DeploymentRecord:
        """Send a weighted random share of traffic to the candidate, watched by guards."""
        if not 0 < weight < 1:
            raise ValidationError(f"canary weight {weight} must be between 0 and 1, e.g. 0.1")
        return self._start(name, "canary", candidate_uri, {"weight": weight}, guards, reason)

    def shadow(
        self,
        name: str,
        candidate_uri: str,
        guards: Guards | None = None,
        reason: str | None = None,
    ) -> DeploymentRecord:
        """Mirror every request to the candidate; only the primary answers."""
        return self._start(name, "shadow", candidate_uri, {}, guards, reason)

    def ab(
        self,
        name: str,
        candidate_uri: str,
        split: float = 0.5,
        key: str = "user_id",
        reason: str | None = None,
    ) -> DeploymentRecord:
        """A/B test: sticky assignment by hashing a request field or header ``key``."""
        if not 0 < split < 1:
            raise ValidationError(f"A/B split {split} must be between 0 and 1, e.g. 0.5")
        no_auto = Guards(auto_promote=False, max_divergence=1.0)
        return self._start(name, "ab", candidate_uri, {"split": split, "key": key}, no_auto, reason)

    def switch(self, name: str, model_uri: str, reason: str | None = None) -> DeploymentRecord:
        """Blue-green: make another version primary at once; the old one stays on standby."""
        record = self.store.get(name)
        version = self._version(record.model_name, model_uri)

        def change(state: dict[str, Any]) -> dict[str, Any]:
            state.update(
                strategy="blue_green",
                standby=state["primary"],
                primary=version,
                candidate=None,
                status="switched",
            )
            return state

        return self.store.change(
            name,
            change,
            "switch",
            current_user(),
            reason,
            alias_move=(record.state["alias"], version),
        )

    def promote(self, name: str, reason: str | None = None) -> DeploymentRecord:
        """Make the candidate the primary and move the alias to it."""
        record = self.store.get(name)
        candidate = record.state.get("candidate")
        if candidate is None:
            raise ConflictError(f"{name!r} has no candidate to promote")

        def change(state: dict[str, Any]) -> dict[str, Any]:
            state.update(
                strategy="single",
                standby=state["primary"],
                primary=candidate,
                candidate=None,
                status="promoted",
            )
            return state

        return self.store.change(
            name,
            change,
            "promote",
            current_user(),
            reason,
            alias_move=(record.state["alias"], candidate),
        )

    def rollback(self, name: str, reason: str | None = None) -> DeploymentRecord:
        """Drop the candidate; after a blue-green switch, go back to the standby version."""
        record = self.store.get(name)
        state = record.state
        if state.get("candidate") is not None:

            def drop(s: dict[str, Any]) -> dict[str, Any]:
                s.update(strategy="single", candidate=None, status="rolled_back")
                return s

            return self.store.change(name, drop, "rollback", current_user(), reason)
        if state.get("standby") is not None:
            previous = state["standby"]

            def back(s: dict[str, Any]) -> dict[str, Any]:
                s.update(
                    strategy="single", primary=previous, standby=s["primary"], status="rolled_back"
                )
                return s

            return self.store.change(
                name,
                back,
                "rollback",
                current_user(),
                reason,
                alias_move=(state["alias"], previous),
            )
        raise ConflictError(f"{name!r} has nothing to roll back to")
