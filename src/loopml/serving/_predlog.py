"""Asynchronous prediction log: requests are buffered and written as Parquet partitions.

Layout under the log root: ``deployment=<name>/date=<YYYY-MM-DD>/part-<uuid>.parquet``.
Logging never blocks a request: a full buffer drops the entry and counts it; ``close``
flushes everything.
"""

from __future__ import annotations

import io
import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from loopml.store.artifacts import open_artifact_store

log = logging.getLogger(__name__)


@dataclass
class PredictionRecord:
    """One answered row."""

    request_id: str
    timestamp_ms: int
    model_name: str
    model_version: str
    route: str
    latency_ms: float
    inputs: dict[str, Any]
    output: Any
    status: int = 200


@dataclass
class _Request:
    """A queued request, expanded to one record per row by the writer thread."""

    ids: list[str]
    frame: Any
    predictions: list[Any]
    timestamp_ms: int
    model_name: str
    model_version: str
    route: str
    latency_ms: float

    def expand(self) -> list[PredictionRecord]:
        rows = self.frame.to_dict(orient="records")
        per_row = self.latency_ms / max(len(self.ids), 1)
        return [
            PredictionRecord(
                rid,
                self.timestamp_ms,
                self.model_name,
                self.model_version,
                self.route,
                per_row,
                row,
                out,
            )
            for rid, row, out in zip(self.ids, rows, self.predictions, strict=True)
        ]


@dataclass
class PredictionLogger:
    """Buffers records and writes a Parquet file per flush from one background thread."""

    root: str
    deployment: str
    capacity: int = 100_000
    flush_interval: float = 1.0
    flush_rows: int = 5_000
    dropped: int = 0
    written: int = 0
    _queue: queue.Queue[PredictionRecord | None] = field(init=False)
    _thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self._queue = queue.Queue(maxsize=self.capacity)
        self._store = open_artifact_store(self.root)
        self._thread = threading.Thread(target=self._loop, name="loopml-predlog", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Records waiting to be written."""
        return self._queue.qsize()

    def log(self, record: PredictionRecord) -> None:
        """Queue a record; when the buffer is full the record is dropped and counted."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def log_request(
        self,
        ids: list[str],
        frame: Any,
        predictions: list[Any],
        timestamp_ms: int,
        model_name: str,
        model_version: str,
        route: str,
        latency_ms: float,
    ) -> None:
        """Queue a whole answered request; rows are expanded on the writer thread, so the
        request pays only for one queue put."""
        try:
            self._queue.put_nowait(
                _Request(
                    ids,
                    frame,
                    predictions,
                    timestamp_ms,
                    model_name,
                    model_version,
                    route,
                    latency_ms,
                )  # type: ignore[arg-type]
            )
        except queue.Full:
            self.dropped += len(ids)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued and stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        batch: list[PredictionRecord] = []
        last = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=self.flush_interval)
            except queue.Empty:
                item = ...  # type: ignore[assignment]
            if item is None:
                self._write(batch)
                return
            if isinstance(item, _Request):
                batch.extend(item.expand())
            elif item is not ...:
                batch.append(item)
            if batch and (
                len(batch) >= self.flush_rows or time.monotonic() - last >= self.flush_interval
            ):
                self._write(batch)
                batch = []
                last = time.monotonic()

    def _write(self, batch: list[PredictionRecord]) -> None:
        if not batch:
            return
        by_date: dict[str, list[PredictionRecord]] = {}
        for r in batch:
            day = datetime.fromtimestamp(r.timestamp_ms / 1000, tz=UTC).strftime("%Y-%m-%d")
            by_date.setdefault(day, []).append(r)
        for day, rows in by_date.items():
            table = pa.table(
                {
                    "request_id": [r.request_id for r in rows],
                    "timestamp_ms": pa.array([r.timestamp_ms for r in rows], pa.int64()),
                    "model_name": [r.model_name for r in rows],
                    "model_version": [r.model_version for r in rows],
                    "route": [r.route for r in rows],
                    "latency_ms": pa.array([r.latency_ms for r in rows], pa.float64()),
                    "status": pa.array([r.status for r in rows], pa.int32()),
                    "inputs": [json.dumps(r.inputs, default=str) for r in rows],
                    "output": [json.dumps(r.output, default=str) for r in rows],
                }
            )
            sink = io.BytesIO()
            pq.write_table(table, sink)
            path = f"deployment={self.deployment}/date={day}/part-{uuid.uuid4().hex}.parquet"
            try:
                self._store.write_bytes(path, sink.getvalue())
                self.written += len(rows)
            except Exception:  # logging must never take the server down
                log.exception("writing %d prediction records failed", len(rows))
                self.dropped += len(rows)
