"""Batch scoring: stream a Parquet or CSV file through a model into a Parquet file.

The input is read in chunks of ``chunk_rows`` rows, so memory stays bounded whatever the
file size. Each chunk is validated against the model signature, predicted and appended to
one Parquet file: ``request_id`` (``<batch id>-<row number>``), the input columns, then the
prediction column(s). The output appears under its name only when every chunk succeeded
(it is written to a hidden temporary name and renamed), and only then is the batch
published to the prediction log, as one Parquet file with the server's schema under
``predictions/deployment=<name>/date=<YYYY-MM-DD>/part-<batch id>.parquet`` (route
``batch``, every row stamped with the batch's start time). Running a batch id again the
same day replaces its log file, so a rerun never duplicates request ids.

Parquet chunks never span row groups (a chunk can be shorter at a row-group boundary);
CSV chunks are exact. With ``executor="dask"`` or ``"dask://HOST:PORT"`` the chunks are
scored on a Dask cluster: for Parquet each task reads its own row-group slice from the
file (workers share the filesystem); a CSV file has no random access, so the driver reads
it and ships the chunks. Workers load the model once each; the driver writes results in
chunk order with a bounded number of tasks in flight, so the output is the same as local.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sklearn

from loopml.errors import LoopmlError, ValidationError
from loopml.models import LoadedModel, Signature, load_package
from loopml.registry import RegistryClient
from loopml.serving._logs import PREDICTIONS, _check_deployment, log_root
from loopml.store.artifacts import open_artifact_store
from loopml.tracking import Client, get_tracking_uri

log = logging.getLogger(__name__)

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv",)
#: Chunks one Dask task scores (all from one row group of a Parquet file).
CHUNKS_PER_TASK = 4
#: Width of the zero-padded row number in request ids, so ids sort in row order.
ROW_DIGITS = 10

_ARROW_TYPES = {
    "float": pa.float64(),
    "integer": pa.int64(),
    "boolean": pa.bool_(),
    "string": pa.string(),
}
_LOG_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("timestamp_ms", pa.int64()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("route", pa.string()),
        ("latency_ms", pa.float64()),
        ("status", pa.int32()),
        ("inputs", pa.string()),
        ("output", pa.string()),
    ]
)


@dataclass(frozen=True)
class BatchProgress:
    """How far a batch is: rows written, and bytes read when the row total is unknown (CSV)."""

    rows_done: int
    rows_total: int | None
    bytes_done: int | None = None
    bytes_total: int | None = None


@dataclass(frozen=True)
class BatchResult:
    """What a batch scored and where it went."""

    batch_id: str
    model_name: str
    model_version: str
    rows: int
    chunks: int
    seconds: float
    output: Path
    executor: str
    deployment: str | None  # None when the batch was not logged
    log_location: str | None  # the prediction log file of the batch

    @property
    def rows_per_second(self) -> float:
        """Throughput over the whole call."""
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


# -- the model ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pinned:
    """A model URI pinned to one version, so every worker loads the same model."""

    uri: str
    name: str
    version: str
    tracking_uri: str

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


def _load(tracking_uri: str, uri: str) -> LoadedModel:
    """Load ``models:/name/N``, ``runs:/id/path`` or a folder from the given store."""
    if uri.startswith("runs:/"):
        run_id, _, path = uri.removeprefix("runs:/").strip("/").partition("/")
        if not run_id or not path:
            raise ValidationError(
                f"model URI {uri!r} is not valid; use runs:/<run_id>/<artifact path>"
            )
        local = tempfile.mkdtemp(prefix="loopml-model-")
        return load_package(Client(tracking_uri).download_artifacts(run_id, path, local))
    return RegistryClient(tracking_uri).load_model(uri)


@functools.lru_cache(maxsize=4)
def _worker_model(tracking_uri: str, uri: str) -> LoadedModel:
    """The model of a Dask worker: loaded on the worker's first task, then reused."""
    return _load(tracking_uri, uri)


def _pin(model_uri: str, tracking_uri: str) -> tuple[_Pinned, LoadedModel]:
    if model_uri.startswith("models:/"):
        version = RegistryClient(tracking_uri).resolve(model_uri)
        uri = f"models:/{version.name}/{version.version}"
        model = _load(tracking_uri, uri)
        return _Pinned(uri, version.name, str(version.version), tracking_uri), model
    if model_uri.startswith("runs:/"):
        model = _load(tracking_uri, model_uri)
        name = model_uri.rstrip("/").rsplit("/", 1)[-1]
        run_id = model_uri.removeprefix("runs:/").split("/", 1)[0]
        return _Pinned(model_uri, name, run_id, tracking_uri), model
    if "://" in model_uri:
        raise ValidationError(
            f"model URI {model_uri!r} is not supported; use models:/NAME@ALIAS, "
            "models:/NAME/VERSION, runs:/<run_id>/<path> or a model folder"
        )
    folder = Path(model_uri).expanduser().absolute()
    if not folder.is_dir():
        raise ValidationError(
            f"model {model_uri!r} is not a models:/ or runs:/ URI nor an existing model "
            "folder; give e.g. models:/taxi@champion"
        )
    model = _load(tracking_uri, str(folder))
    version = model.manifest.run_id or "local"
    return _Pinned(str(folder), folder.name, version, tracking_uri), model


def _absolute_store(tracking_uri: str) -> str:
    """The store URI with a relative folder made absolute (workers may run elsewhere)."""
    if "://" in tracking_uri or tracking_uri.startswith("sqlite:"):
        return tracking_uri
    return str(Path(tracking_uri).expanduser().absolute())


# -- reading the input -------------------------------------------------------------------


def _rechunk(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Tables of exactly ``rows`` rows (the last one shorter) from batches of any size."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(rows - count, batch.num_rows)
            pending.append(batch.slice(0, take))
            count += take
            batch = batch.slice(take)
            if count == rows:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
    if count:
        yield pa.Table.from_batches(pending)


def _row_group_chunks(
    file: pq.ParquetFile, row_group: int, chunk_rows: int, columns: list[str] | None = None
) -> Iterator[pa.Table]:
    batches = file.iter_batches(batch_size=chunk_rows, row_groups=[row_group], columns=columns)
    return _rechunk(batches, chunk_rows)


@dataclass(frozen=True)
class _ChunkRef:
    """One chunk of a Parquet file: its row group, place in it and global row offset."""

    index: int
    row_group: int
    index_in_group: int
    offset: int
    rows: int


class _Source:
    """An input file read in chunks, in order."""

    def __init__(self, path: Path, chunk_rows: int, signature: Signature | None) -> None:
        self.path = path
        self.chunk_rows = chunk_rows
        self.bytes_total = path.stat().st_size
        self.kind = "parquet" if path.suffix.lower() in PARQUET_SUFFIXES else "csv"
        self._stream: Any = None
        self._csv: Any = None
        try:
            if self.kind == "parquet":
                self._parquet = pq.ParquetFile(path)
                self.schema = self._parquet.schema_arrow
                self.rows_total: int | None = self._parquet.metadata.num_rows
            else:
                self._stream = pa.OSFile(str(path))
                self._csv = pacsv.open_csv(
                    self._stream,
                    convert_options=pacsv.ConvertOptions(column_types=_csv_types(signature)),
                )
                self.schema = self._csv.schema
                self.rows_total = None
        except (pa.ArrowException, OSError) as exc:
            self.close()
            kind = "Parquet" if self.kind == "parquet" else "CSV"
            raise ValidationError(
                f"--input {path}: cannot be read as {kind}: {exc} Check that it is a valid "
                f"{kind} file."
            ) from None

    @property
    def bytes_done(self) -> int | None:
        """Bytes of a CSV file read so far (None for Parquet)."""
        if self._stream is None or self._stream.closed:
            return None
        return self._stream.tell()

    def plan(self) -> list[_ChunkRef]:
        """The chunks of a Parquet file, from its metadata alone."""
        refs: list[_ChunkRef] = []
        offset = 0
        meta = self._parquet.metadata
        for group in range(meta.num_row_groups):
            left = meta.row_group(group).num_rows
            k = 0
            while left > 0:
                rows = min(self.chunk_rows, left)
                refs.append(_ChunkRef(len(refs), group, k, offset, rows))
                offset += rows
                left -= rows
                k += 1
        return refs

    def chunks(self) -> Iterator[pa.Table]:
        """Every chunk of the file, in order."""
        try:
            if self.kind == "parquet":
                for group in range(self._parquet.metadata.num_row_groups):
                    yield from _row_group_chunks(self._parquet, group, self.chunk_rows)
            else:
                yield from _rechunk(self._csv, self.chunk_rows)
        except pa.ArrowException as exc:
            raise ValidationError(
                f"--input {self.path}: reading failed: {exc}; fix the file (for CSV, "
                "every value of a column must have the same type)"
            ) from None

    def close(self) -> None:
        """Release the file."""
        if self._stream is not None and not self._stream.closed:
            self._stream.close()


def _csv_types(signature: Signature | None) -> dict[str, pa.DataType]:
    """Arrow types for the signature's columns, so every CSV chunk parses alike."""
    if signature is None:
        return {}
    return {c.name: _ARROW_TYPES[c.type] for c in signature.inputs if c.type in _ARROW_TYPES}


# -- scoring one chunk -------------------------------------------------------------------


@dataclass(frozen=True)
class _Scored:
    """Predictions of one chunk: columns, their shape kind and the predict time."""

    predictions: pa.Table
    kind: str  # scalar | list | record
    predict_ms: float


def _score(
    model: LoadedModel, table: pa.Table, offset: int, index: int, where: str, label: str
) -> _Scored:
    """Validate one chunk against the signature and predict it."""
    sig = model.signature
    if sig is not None and sig.inputs:
        frame = table.select(sig.input_names).to_pandas()
        try:
            frame = sig.validate(frame)
        except ValidationError as exc:
            problems = str(exc).split("\n", 1)[-1]
            last = offset + table.num_rows - 1
            raise ValidationError(
                f"{where} rows {offset}-{last} (chunk {index + 1}) do not match the signature "
                f"of {label}:\n{problems}\nfix these columns in the input, or score with a "
                "model trained on data like it"
            ) from None
    else:
        frame = table.to_pandas()
    start = time.perf_counter()
    with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
        raw = model.model.predict(frame)
    elapsed = (time.perf_counter() - start) * 1000
    predictions, kind = _prediction_table(raw, sig, table.num_rows)
    return _Scored(predictions, kind, elapsed)


def _prediction_table(raw: Any, sig: Signature | None, rows: int) -> tuple[pa.Table, str]:
    outputs = [c.name for c in sig.outputs] if sig is not None else []
    if isinstance(raw, pd.DataFrame):
        table = pa.Table.from_pandas(raw, preserve_index=False)
        return table.rename_columns([str(c) for c in raw.columns]), "record"
    array = np.asarray(raw)
    if array.ndim == 1:
        name = outputs[0] if len(outputs) == 1 else "prediction"
        table, kind = pa.table({name: array}), "scalar"
    elif array.ndim == 2:
        k = array.shape[1]
        names = outputs if len(outputs) == k else [f"prediction_{i}" for i in range(k)]
        if k == 1 and len(outputs) != 1:
            names = ["prediction"]
        table = pa.table({n: np.ascontiguousarray(array[:, i]) for i, n in enumerate(names)})
        kind = "list"
    else:
        raise LoopmlError(
            f"the model returned predictions of shape {array.shape}; batch scoring needs "
            "one value or one row of values per input row"
        )
    if table.num_rows != rows:
        raise LoopmlError(f"the model returned {table.num_rows} predictions for {rows} rows")
    return table, kind


def _empty_output(inputs: pa.Schema, sig: Signature | None) -> pa.Schema:
    """The output's columns when the input has no rows (prediction types from the signature)."""
    outputs = sig.outputs if sig is not None else ()
    predictions = [pa.field(c.name, _ARROW_TYPES.get(c.type, pa.string())) for c in outputs]
    return pa.schema(
        [
            pa.field("request_id", pa.string()),
            *inputs,
            *(predictions or [pa.field("prediction", pa.float64())]),
        ]
    )


# -- JSON for the prediction log ---------------------------------------------------------

_FAST_JSON = "biuf"  # numpy kinds orjson writes straight from the array


def _json_values(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value of a column as JSON text (NaN and missing values are null)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if len(column) == 0:
        return pa.array([], pa.string())
    kind = column.type
    fast = (pa.types.is_floating(kind) and kind != pa.float16()) or (
        (pa.types.is_integer(kind) or pa.types.is_boolean(kind)) and column.null_count == 0
    )
    if fast:
        values = np.ascontiguousarray(column.to_numpy(zero_copy_only=False))
        if values.dtype.kind in _FAST_JSON:
            raw = orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].decode()
            return pc.split_pattern(pa.array([raw]), ",")[0].values
    texts = [orjson.dumps(v, default=str).decode() for v in column.to_pylist()]
    return pa.array(texts, pa.string())


def _json_records(table: pa.Table) -> pa.Array:
    """Each row of a table as a JSON object, keys in column order."""
    parts: list[Any] = []
    for i, name in enumerate(table.column_names):
        parts.append(("{" if i == 0 else ", ") + orjson.dumps(name).decode() + ": ")
        parts.append(_json_values(table.column(name)))
    if not parts:
        return pa.array(["{}"] * table.num_rows, pa.string())
    return pc.binary_join_element_wise(*parts, "}", "")


def _json_outputs(scored: _Scored) -> pa.Array:
    table = scored.predictions
    if scored.kind == "record":
        return _json_records(table)
    if scored.kind == "scalar":
        return _json_values(table.column(0))
    parts: list[Any] = []
    for i, name in enumerate(table.column_names):
        parts += ["[" if i == 0 else ", ", _json_values(table.column(name))]
    return pc.binary_join_element_wise(*parts, "]", "")


# -- writing -----------------------------------------------------------------------------


class _Sink:
    """The output file and the batch's log file, written chunk by chunk to temporary names."""

    def __init__(
        self,
        output: Path,
        batch_id: str,
        pinned: _Pinned,
        log_columns: list[str] | None,
        started_ms: int,
        empty_schema: pa.Schema,
    ) -> None:
        self.output = output
        self.batch_id = batch_id
        self.pinned = pinned
        self.log_columns = log_columns
        self.started_ms = started_ms
        self.empty_schema = empty_schema
        self.rows = 0
        self.chunks = 0
        self._tmp = output.parent / f".{output.name}.{batch_id}.tmp"
        self._writer: pq.ParquetWriter | None = None
        self._log_dir: Path | None = None
        self._log_writer: pq.ParquetWriter | None = None

    @property
    def log_file(self) -> Path:
        assert self._log_dir is not None
        return self._log_dir / f"part-{self.batch_id}.parquet"

    def _request_ids(self, rows: int) -> pa.Array:
        numbers = pa.array(np.arange(self.rows, self.rows + rows, dtype=np.int64))
        padded = pc.utf8_lpad(pc.cast(numbers, pa.string()), ROW_DIGITS, "0")
        return pc.binary_join_element_wise(f"{self.batch_id}-", padded, "")

    def _open(self, schema: pa.Schema) -> pq.ParquetWriter:
        meta = {
            b"loopml.batch_id": self.batch_id.encode(),
            b"loopml.model": self.pinned.uri.encode(),
            b"loopml.model_version": self.pinned.version.encode(),
        }
        # dictionaries only where values repeat (text); on unique values they cost time
        texts = [
            f.name
            for f in schema
            if f.name != "request_id"
            and (pa.types.is_string(f.type) or pa.types.is_dictionary(f.type))
        ]
        try:
            return pq.ParquetWriter(
                self._tmp, schema.with_metadata(meta), use_dictionary=texts or False
            )
        except OSError as exc:
            raise ValidationError(
                f"--output {self.output}: cannot be written: {exc}; choose a writable folder"
            ) from None

    def write(self, table: pa.Table, scored: _Scored) -> None:
        """Append one chunk and its predictions (and its log rows)."""
        ids = self._request_ids(table.num_rows)
        preds = scored.predictions
        clash = {"request_id", *preds.column_names} & set(table.column_names)
        if clash:
            raise ValidationError(
                f"input column(s) {', '.join(sorted(clash))} clash with the output's "
                "request_id/prediction columns; rename or drop them in the input"
            )
        out = pa.Table.from_arrays(
            [ids, *table.columns, *preds.columns],
            names=["request_id", *table.column_names, *preds.column_names],
        )
        if self._writer is None:
            self._writer = self._open(out.schema)
        out = self._conform(out, self._writer.schema)
        self._writer.write_table(out)
        if self.log_columns is not None:
            self._write_log(ids, table, scored)
        self.rows += table.num_rows
        self.chunks += 1

    def _conform(self, table: pa.Table, schema: pa.Schema) -> pa.Table:
        if table.schema.equals(schema, check_metadata=False):
            return table.replace_schema_metadata(schema.metadata)
        try:
            return table.cast(schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise ValidationError(
                f"rows from {self.rows} on have other column types than the first chunk "
                f"({exc}); give the input one type per column"
            ) from None

    def _write_log(self, ids: pa.Array, table: pa.Table, scored: _Scored) -> None:
        assert self.log_columns is not None
        rows = table.num_rows
        log_table = pa.Table.from_arrays(
            [
                ids,
                pa.array(np.full(rows, self.started_ms, dtype=np.int64)),
                pa.array([self.pinned.name] * rows, pa.string()),
                pa.array([self.pinned.version] * rows, pa.string()),
                pa.array(["batch"] * rows, pa.string()),
                pa.array(np.full(rows, scored.predict_ms / max(rows, 1))),
                pa.array(np.full(rows, 200, dtype=np.int32)),
                _json_records(table.select(self.log_columns)),
                _json_outputs(scored),
            ],
            schema=_LOG_SCHEMA,
        )
        if self._log_writer is None:
            self._log_dir = Path(tempfile.mkdtemp(prefix=".loopml-batch-", dir=self.output.parent))
            self._log_writer = pq.ParquetWriter(
                self.log_file, _LOG_SCHEMA, use_dictionary=["model_name", "model_version", "route"]
            )
        self._log_writer.write_table(log_table)

    def finish(self, client: Client | None, deployment: str | None) -> str | None:
        """Rename the output into place and publish the log; returns the log file's path."""
        if self._writer is None:  # an input without rows: an empty output, nothing logged
            self._writer = self._open(self.empty_schema)
        self._writer.close()
        self._writer = None
        os.replace(self._tmp, self.output)
        if self._log_writer is None or client is None or deployment is None:
            return None
        self._log_writer.close()
        self._log_writer = None
        day = datetime.fromtimestamp(self.started_ms / 1000, tz=UTC).strftime("%Y-%m-%d")
        root = log_root(client, PREDICTIONS)
        relative = open_artifact_store(root).log_file(
            self.log_file, f"deployment={deployment}/date={day}"
        )
        return f"{root}/{relative}"

    def close(self) -> None:
        """Remove whatever is left of the temporary files (after a failure, everything)."""
        for writer in (self._writer, self._log_writer):
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()
        self._tmp.unlink(missing_ok=True)
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)


# -- executors ---------------------------------------------------------------------------

_DASK_ADDRESS = re.compile(r"^dask://(?P<host>[^:/\s]+):(?P<port>\d{1,5})/?$")


def _parse_executor(executor: str | None) -> tuple[str, str | None]:
    """("local", None), ("dask", None) for a new local cluster, or ("dask", "tcp://…")."""
    value = (executor or "local").strip()
    if value in ("local", "dask"):
        return value, None
    match = _DASK_ADDRESS.match(value)
    if match:
        return "dask", f"tcp://{match['host']}:{match['port']}"
    raise ValidationError(
        f"--executor {executor!r} is not valid; use local, dask (a local cluster for this "
        "call) or dask://HOST:PORT (an existing scheduler, e.g. dask://10.0.0.5:8786)"
    )


@contextlib.contextmanager
def _dask_client(address: str | None) -> Iterator[Any]:
    """A Dask client on the scheduler at ``address``, or on a new 2-worker local cluster."""
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    if address is None:
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: never 8787, never a warning
            silence_logs=logging.ERROR,
        )
        client = DaskClient(cluster)
        try:
            yield client
        finally:
            client.close()
            cluster.close()
        return
    try:
        client = DaskClient(address, timeout=10)
    except (OSError, TimeoutError) as exc:
        raise ValidationError(
            f"--executor dask://{address.removeprefix('tcp://')}: no Dask scheduler answered "
            f"({exc}); check the address or start one with `dask scheduler`"
        ) from None
    try:
        client.wait_for_workers(1, timeout=30)
        yield client
    finally:
        client.close()


@dataclass(frozen=True)
class _Task:
    """What one Dask task scores: Parquet chunks it reads itself, or a shipped CSV chunk."""

    tracking_uri: str
    model_uri: str
    label: str
    where: str
    chunk_rows: int
    first: _ChunkRef
    count: int
    path: str | None = None  # Parquet: the worker reads chunks first..first+count-1


def _score_task(task: _Task, table: pa.Table | None = None) -> list[_Scored]:
    """Runs on a worker: load the model (once per worker) and score the task's chunks."""
    model = _worker_model(task.tracking_uri, task.model_uri)
    if table is not None:
        tables: Iterable[pa.Table] = [table]
    else:
        assert task.path is not None
        names = model.signature.input_names if model.signature and model.signature.inputs else None
        file = pq.ParquetFile(task.path)
        chunks = _row_group_chunks(file, task.first.row_group, task.chunk_rows, names)
        start = task.first.index_in_group
        tables = itertools.islice(chunks, start, start + task.count)
    results = []
    offset = task.first.offset
    for k, chunk in enumerate(tables):
        results.append(_score(model, chunk, offset, task.first.index + k, task.where, task.label))
        offset += chunk.num_rows
    return results


def _run_dask(
    client: Any,
    source: _Source,
    sink: _Sink,
    pinned: _Pinned,
    progress: Callable[[], None],
) -> None:
    slots = 2 * max(1, sum(client.nthreads().values()))
    where = f"--input {source.path}"
    pending: deque[tuple[Any, list[pa.Table] | None]] = deque()

    def drain(until: int) -> None:
        while len(pending) > until:
            future, shipped = pending.popleft()
            results: list[_Scored] = future.result()
            del future
            tables = shipped if shipped is not None else [next(local) for _ in results]
            for table, scored in zip(tables, results, strict=True):
                sink.write(table, scored)
            progress()

    def task(first: _ChunkRef, count: int, path: str | None) -> _Task:
        return _Task(
            pinned.tracking_uri,
            pinned.uri,
            pinned.label,
            where,
            source.chunk_rows,
            first,
            count,
            path,
        )

    try:
        if source.kind == "parquet":
            local = source.chunks()
            refs = source.plan()
            groups: dict[int, list[_ChunkRef]] = {}
            for ref in refs:
                groups.setdefault(ref.row_group, []).append(ref)
            n = 0
            for members in groups.values():
                for i in range(0, len(members), CHUNKS_PER_TASK):
                    part = members[i : i + CHUNKS_PER_TASK]
                    spec = task(part[0], len(part), str(source.path.absolute()))
                    key = f"loopml-batch-{sink.batch_id}-{n}"
                    pending.append((client.submit(_score_task, spec, key=key), None))
                    n += 1
                    drain(slots - 1)
        else:
            offset = 0
            for index, table in enumerate(source.chunks()):
                ref = _ChunkRef(index, 0, index, offset, table.num_rows)
                key = f"loopml-batch-{sink.batch_id}-{index}"
                future = client.submit(_score_task, task(ref, 1, None), table, key=key)
                pending.append((future, [table]))
                offset += table.num_rows
                drain(slots - 1)
        drain(0)
    finally:
        if pending:
            client.cancel([future for future, _ in pending])
            pending.clear()


# -- the entry point ---------------------------------------------------------------------


def _check_paths(input_path: Path, output_path: Path) -> None:
    if not input_path.is_file():
        raise ValidationError(
            f"--input {input_path}: no such file; give an existing .parquet or .csv file"
        )
    if input_path.suffix.lower() not in PARQUET_SUFFIXES + CSV_SUFFIXES:
        raise ValidationError(
            f"--input {input_path}: unknown file type {input_path.suffix or '(none)'!r}; "
            "give a .parquet or .csv file"
        )
    if output_path.suffix.lower() not in PARQUET_SUFFIXES:
        raise ValidationError(
            f"--output {output_path}: the output is Parquet; name it with a .parquet suffix"
        )
    if output_path.exists() and output_path.resolve() == input_path.resolve():
        raise ValidationError(
            f"--output {output_path} is the input file; write the predictions elsewhere"
        )
    if output_path.is_dir():
        raise ValidationError(f"--output {output_path} is a folder; give a file name in it")


def predict_batch(
    model_uri: str,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    *,
    tracking_uri: str | None = None,
    chunk_rows: int = 50_000,
    executor: str | None = None,
    deployment: str = "batch",
    log: bool = True,
    on_progress: Callable[[BatchProgress], None] | None = None,
    batch_id: str | None = None,
) -> BatchResult:
    """Score a Parquet or CSV file with a model, chunk by chunk, into a Parquet file.

    ``executor``: None or ``"local"`` (in this process), ``"dask"`` (a 2-worker local
    cluster for this call) or ``"dask://HOST:PORT"`` (an existing scheduler). ``batch_id``
    (default: random) prefixes the request ids; pass the same one to reproduce ids.
    """
    started = time.perf_counter()
    started_ms = int(time.time() * 1000)
    source_path, output = Path(input_path), Path(output_path)
    kind, address = _parse_executor(executor)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValidationError(
            f"--chunk-rows {chunk_rows!r} is not valid; give a whole number of rows >= 1"
        )
    if log:
        _check_deployment(deployment)
    batch_id = batch_id or uuid.uuid4().hex[:16]
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", batch_id):
        raise ValidationError(
            f"batch id {batch_id!r} is not valid; use up to 64 letters, digits, '.', '-' or '_'"
        )
    _check_paths(source_path, output)
    store = _absolute_store(tracking_uri or get_tracking_uri())
    pinned, model = _pin(model_uri, store)
    sig = model.signature if model.signature is not None and model.signature.inputs else None
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(
            f"--output {output}: its folder cannot be created ({exc}); choose a writable folder"
        ) from None
    source = _Source(source_path, chunk_rows, sig)
    where = f"--input {source_path}"
    if sig is not None:
        missing = [n for n in sig.input_names if n not in source.schema.names]
        if missing:
            source.close()
            raise ValidationError(
                f"{where} lacks column(s) {', '.join(missing)} that {pinned.label} needs; "
                f"its columns are {', '.join(source.schema.names) or '(none)'}"
            )
    log_columns = None
    if log:
        log_columns = sig.input_names if sig is not None else list(source.schema.names)
    empty = _empty_output(source.schema, sig)
    sink = _Sink(output, batch_id, pinned, log_columns, started_ms, empty)

    def progress() -> None:
        if on_progress is not None:
            on_progress(
                BatchProgress(sink.rows, source.rows_total, source.bytes_done, source.bytes_total)
            )

    try:
        progress()
        if kind == "local":
            offset = 0
            for index, table in enumerate(source.chunks()):
                sink.write(table, _score(model, table, offset, index, where, pinned.label))
                offset += table.num_rows
                progress()
        else:
            with _dask_client(address) as client:
                _run_dask(client, source, sink, pinned, progress)
        source.close()
        location = sink.finish(Client(store) if log else None, deployment if log else None)
    finally:
        source.close()
        sink.close()
    seconds = time.perf_counter() - started
    log_name = deployment if location is not None else None
    return BatchResult(
        batch_id,
        pinned.name,
        pinned.version,
        sink.rows,
        sink.chunks,
        seconds,
        output,
        executor or "local",
        log_name,
        location,
    )
