"""Background flusher: ``log_metric`` returns at once, a thread writes batches.

Entries are kept in order and written one transaction per run per drain. ``flush()`` waits
until everything queued before the call is written and raises the first write error, so
nothing is lost silently. The flusher flushes at ``end_run`` and at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence

from loopml.entities import Metric, Param, RunTag
from loopml.errors import LoopmlError, StoreError

log = logging.getLogger(__name__)

Entry = tuple[str, Metric | Param | RunTag]
WriteBatch = Callable[[str, Sequence[Metric], Sequence[Param], Sequence[RunTag]], None]

MAX_BATCH = 5_000


class AsyncBatchLogger:
    """Queue run data in memory and write it in batches from one daemon thread."""

    def __init__(self, write_batch: WriteBatch, interval: float = 0.1) -> None:
        self._write_batch = write_batch
        self._interval = interval
        self._pending: list[Entry] = []
        self._cond = threading.Condition()
        self._queued = 0
        self._written = 0
        self._errors: list[LoopmlError] = []
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="loopml-flusher", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def add(self, run_id: str, item: Metric | Param | RunTag) -> None:
        """Queue one metric, param or tag for a run."""
        self.add_many(run_id, [item])

    def add_many(self, run_id: str, items: Sequence[Metric | Param | RunTag]) -> None:
        """Queue several entries for a run, keeping their order."""
        with self._cond:
            if self._closed:
                raise StoreError("the background flusher is closed; log synchronously instead")
            self._pending.extend((run_id, item) for item in items)
            self._queued += len(items)
            if len(self._pending) >= MAX_BATCH:
                self._cond.notify_all()

    def flush(self) -> None:
        """Wait until everything queued so far is written; raise the first write error."""
        with self._cond:
            target = self._queued
            self._cond.notify_all()
            while self._written < target and self._thread.is_alive():
                self._cond.wait(0.05)
            errors, self._errors = self._errors, []
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Flush and stop the thread (registered with atexit)."""
        try:
            self.flush()
        except LoopmlError as exc:
            log.error("loopml could not write queued run data at exit: %s", exc)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait(self._interval)
                if not self._pending and self._closed:
                    return
                batch, self._pending = self._pending, []
            self._write(batch)
            with self._cond:
                self._written += len(batch)
                self._cond.notify_all()

    def _write(self, batch: list[Entry]) -> None:
        by_run: dict[str, tuple[list[Metric], list[Param], list[RunTag]]] = defaultdict(
            lambda: ([], [], [])
        )
        for run_id, item in batch:
            group = by_run[run_id]
            if isinstance(item, Metric):
                group[0].append(item)
            elif isinstance(item, Param):
                group[1].append(item)
            else:
                group[2].append(item)
        for run_id, (metrics, params, tags) in by_run.items():
            try:
                self._write_batch(run_id, metrics, params, tags)
            except LoopmlError as exc:
                log.warning("background write to run %s failed: %s", run_id, exc)
                with self._cond:
                    self._errors.append(exc)
            except Exception as exc:  # never let the flusher thread die silently
                log.exception("background write to run %s failed", run_id)
                with self._cond:
                    self._errors.append(StoreError(f"writing to run {run_id} failed: {exc}"))
