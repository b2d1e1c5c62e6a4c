"""Routing requests of a deployment: primary, canary, A/B, shadow; guards in the loop.

The route table is rebuilt whole when the deployment's revision changes and swapped in by
one assignment, so a request sees either the old or the new table, never a mix. A
background thread polls the store, and during canary/shadow rollouts evaluates the
guards, rolling back or promoting through :class:`DeploymentClient` (audited).
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from loopml.deployments import DeploymentClient, Guards, RouteStats, evaluate, label_error
from loopml.serving._model_holder import Served

log = logging.getLogger(__name__)

WINDOW = 5_000
ANSWERS = 50_000  # recent answers kept for scoring labels that arrive later


@dataclass
class _Stats:
    requests: int = 0
    errors: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    predictions: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    label_errors: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))

    def snapshot(self) -> RouteStats:
        return RouteStats(
            self.requests,
            self.errors,
            list(self.latencies),
            list(self.predictions),
            list(self.label_errors),
        )


@dataclass(frozen=True)
class _Table:
    revision: int
    strategy: str
    primary: Served
    candidate: Served | None
    state: dict[str, Any]


class DeploymentRouter:
    """Serves every route of one deployment from one process."""

    def __init__(self, client: DeploymentClient, name: str, poll_interval: float = 2.0) -> None:
        self.client = client
        self.name = name
        self.poll_interval = poll_interval
        self._models: dict[int, Served] = {}
        self._table: _Table | None = None
        self._stats: dict[str, _Stats] = {}
        # request id -> [(stats key, prediction)] of recent answers, to score labels later
        self._answers: OrderedDict[str, list[tuple[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    # -- state ------------------------------------------------------------------------
    def _served(self, model_name: str, version: int) -> Served:
        if version not in self._models:
            model = self.client.registry.load_model(f"models:/{model_name}/{version}")
            self._models[version] = Served(model, model_name, str(version))
        return self._models[version]

    def refresh(self) -> None:
        """Reload the route table if the deployment changed."""
        record = self.client.get(self.name)
        if self._table is not None and record.revision == self._table.revision:
            return
        state = record.state
        primary = self._served(record.model_name, state["primary"])
        candidate = (
            self._served(record.model_name, state["candidate"])
            if state.get("candidate") is not None
            else None
        )
        old = self._table
        with self._lock:
            if old is None or (old.candidate and old.candidate.version) != (
                candidate and candidate.version
            ):
                self._stats = {"primary": _Stats(), "candidate": _Stats()}
                self._answers.clear()
            self._table = _Table(record.revision, record.strategy, primary, candidate, state)
        log.info("deployment %s at revision %s: %s", self.name, record.revision, state)

    @property
    def current(self) -> Served | None:
        """The primary version."""
        return self._table.primary if self._table else None

    @property
    def table(self) -> _Table:
        """The route table in force."""
        assert self._table is not None
        return self._table

    # -- routing ----------------------------------------------------------------------
    def pick(self, frame: pd.DataFrame, headers: dict[str, str]) -> tuple[Served, str]:
        """The version (and route name) that answers this request."""
        table = self.table
        if table.candidate is None:
            return table.primary, "primary"
        if table.strategy == "canary" and random.random() < table.state["weight"]:
            return table.candidate, "canary"
        if table.strategy == "ab":
            key = table.state.get("key", "user_id")
            value = headers.get(key.lower()) or (
                str(frame[key].iloc[0]) if key in frame.columns and len(frame) else ""
            )
            bucket = int(hashlib.sha256(value.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            if bucket < table.state["split"]:
                return table.candidate, "b"
            return table.primary, "a"
        return table.primary, "primary"

    def shadow(self) -> Served | None:
        """The candidate receiving mirrored copies during a shadow rollout."""
        table = self.table
        return table.candidate if table.strategy == "shadow" else None

    def record(
        self,
        route: str,
        ok: bool,
        latency_ms: float,
        predictions: list[Any] | None = None,
        request_ids: list[str] | None = None,
    ) -> None:
        """Count one answered (or failed) request of a route; ``request_ids`` (one per
        prediction) let labels sent later to /feedback score the route's quality."""
        key = "primary" if route in ("primary", "a") else "candidate"
        with self._lock:
            stats = self._stats.setdefault(key, _Stats())
            stats.requests += 1
            stats.errors += 0 if ok else 1
            stats.latencies.append(latency_ms)
            for p in predictions or ():
                if isinstance(p, int | float):
                    stats.predictions.append(float(p))
            if request_ids and predictions and self.table.candidate is not None:
                for rid, p in zip(request_ids, predictions, strict=False):
                    self._answers.setdefault(rid, []).append((key, p))
                    self._answers.move_to_end(rid)
                while len(self._answers) > ANSWERS:
                    self._answers.popitem(last=False)

    def observe_labels(self, request_ids: list[str], labels: list[Any]) -> int:
        """Score remembered answers against ground truth; returns how many were scored."""
        scored = 0
        with self._lock:
            for rid, label in zip(request_ids, labels, strict=False):
                for key, prediction in self._answers.pop(rid, ()):
                    error = label_error(prediction, label)
                    if error is not None:
                        self._stats.setdefault(key, _Stats()).label_errors.append(error)
                        scored += 1
        return scored

    # -- guards -----------------------------------------------------------------------
    def check_guards(self) -> str | None:
        """Evaluate guards once; returns the action taken, if any."""
        table = self.table
        if table.candidate is None or table.strategy not in ("canary", "shadow"):
            return None
        with self._lock:
            primary = self._stats["primary"].snapshot()
            candidate = self._stats["candidate"].snapshot()
        minutes = (time.time() * 1000 - table.state.get("started_ms", 0)) / 60_000
        verdict = evaluate(Guards.from_dict(table.state.get("guards")), primary, candidate, minutes)
        if verdict.action == "rollback":
            self.client.rollback(self.name, reason=f"guard: {verdict.reason}")
        elif verdict.action == "promote":
            self.client.promote(self.name, reason=f"guard: {verdict.reason}")
        else:
            return None
        self.refresh()
        return verdict.action

    def start(self) -> None:
        """Poll the deployment and evaluate guards in the background."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="loopml-router", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.refresh()
                self.check_guards()
            except Exception as exc:  # keep serving the current table
                log.warning("deployment %s: refresh/guards failed: %s", self.name, exc)

    def metadata(self) -> dict[str, Any]:
        """Routes and versions, for GET /model."""
        table = self.table
        primary = table.primary
        sig = primary.model.signature
        return {
            "deployment": self.name,
            "name": primary.name,
            "version": primary.version,
            "strategy": table.strategy,
            "candidate": table.candidate.version if table.candidate else None,
            "flavor": primary.model.flavor,
            "signature": sig.to_dict() if sig else None,
            "ready": True,
        }
