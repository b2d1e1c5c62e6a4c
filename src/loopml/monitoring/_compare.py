"""Drift between two Parquet datasets of any size, as a report.

Small inputs are loaded and compared exactly (``detect_drift``); inputs whose uncompressed
size exceeds ``memory_limit`` (or when ``chunk_rows`` is given) are streamed in chunks into
mergeable sketches (``sketch_parquet``), so memory stays bounded whatever the row count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from loopml.errors import ValidationError
from loopml.monitoring._results import WindowReport

MEMORY_LIMIT = 1 << 30  # bytes of uncompressed Parquet data loaded whole


def _parquet_files(path: str | Path) -> list[Path]:
    p = Path(path)
    files = sorted(p.rglob("*.parquet")) if p.is_dir() else [p]
    if not files or not all(f.is_file() for f in files):
        raise ValidationError(
            f"no Parquet data at {str(path)!r}; pass a .parquet file or a folder of them"
        )
    return files


def uncompressed_bytes(path: str | Path) -> int:
    """Uncompressed size of the Parquet data at ``path`` (file or folder), from metadata."""
    total = 0
    for f in _parquet_files(path):
        meta = pq.ParquetFile(f).metadata
        total += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return total


def compare_parquet(
    reference: str | Path,
    current: str | Path,
    *,
    columns: Sequence[str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    share_threshold: float = 0.5,
    chunk_rows: int | None = None,
    executor: Any = None,
    memory_limit: int = MEMORY_LIMIT,
) -> tuple[WindowReport, bool]:
    """Drift of ``current`` against ``reference``; returns (report, streamed?)."""
    from loopml.monitoring._drift import detect_drift
    from loopml.monitoring._sketch import drift_from_sketches, sketch_parquet

    options: dict[str, Any] = {
        "columns": columns,
        "methods": methods,
        "thresholds": thresholds,
        "share_threshold": share_threshold,
        "executor": executor,
    }
    columns = list(columns) if columns else None
    size = uncompressed_bytes(reference) + uncompressed_bytes(current)
    streamed = chunk_rows is not None or size > memory_limit
    title = f"Drift of {Path(current).name} against {Path(reference).name}"
    if streamed:
        chunk = chunk_rows or 1_000_000
        ref = sketch_parquet(reference, columns, chunk_rows=chunk, executor=executor)
        cur = sketch_parquet(current, columns, chunk_rows=chunk, executor=executor)
        drift = drift_from_sketches(ref, cur, **options)
    else:
        ref_frame = pq.read_table(str(reference), columns=columns).to_pandas()
        cur_frame = pq.read_table(str(current), columns=columns).to_pandas()
        drift = detect_drift(ref_frame, cur_frame, **options)
    return WindowReport(title=title, drift=drift), streamed
