"""Rendering for the CLI: Rich consoles and tables, value formatting and JSON output.

User data (names, keys, values) always goes into tables as ``rich.text.Text`` so that a
param value such as ``[relu, tanh]`` or a run named ``a[red]`` is shown as typed, never read
as Rich markup.

JSON output (``--json``) is plain JSON: keys in a fixed order, times as milliseconds since
the epoch, and the non-finite floats JSON cannot hold written as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (the spelling JavaScript's ``String()`` and most JSON
libraries' lenient modes use), so every value survives a round trip through ``float()``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from loopml.entities import Experiment, FileInfo, Run, RunStatus

#: Width used when output is piped and $COLUMNS is unset: tables stay whole in logs and CI.
PIPED_WIDTH = 200

STATUS_STYLE = {
    RunStatus.RUNNING: "cyan",
    RunStatus.SCHEDULED: "blue",
    RunStatus.FINISHED: "green",
    RunStatus.FAILED: "red",
    RunStatus.KILLED: "yellow",
}


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    wide = not stream.isatty() and "COLUMNS" not in os.environ
    return Console(stderr=stderr, width=PIPED_WIDTH if wide else None, highlight=False)


def out() -> Console:
    """A console on the current stdout (created per call, so test runners can swap streams)."""
    return _console(stderr=False)


def err() -> Console:
    """A console on the current stderr."""
    return _console(stderr=True)


def print_error(message: str) -> None:
    """Print ``Error: <message>`` in red on stderr; the message is shown verbatim, all lines."""
    err().print(Text.assemble(("Error: ", "bold red"), message), soft_wrap=True)


def print_note(message: str) -> None:
    """Print a dim side note on stderr (never mixed into stdout, so JSON stays parseable)."""
    err().print(Text(message, style="dim"), soft_wrap=True)


# -- values -----------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf floats replaced by 'NaN'/'Infinity'/'-Infinity' (recursively)."""
    if isinstance(value, float) and not math.isfinite(value):
        if math.isnan(value):
            return "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Print ``data`` as indented, strictly valid JSON on stdout (no colour, no wrapping)."""
    typer.echo(json.dumps(json_safe(data), indent=2, allow_nan=False, ensure_ascii=False))


def fmt_time(ms: int | None) -> str:
    """Milliseconds since the epoch as local time, e.g. ``2026-11-24 21:13:26`` (or '-')."""
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(ms: float) -> str:
    """A short duration: ``12.3s``, ``4m 05s``, ``2h 03m``, ``3d 04h``."""
    seconds = max(0.0, ms / 1000)
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600:02d}h"


def run_duration(run: Run, now_ms: int) -> Text:
    """How long a run took; for a RUNNING run, how long it has been running so far."""
    info = run.info
    if info.end_time:
        return Text(fmt_duration(info.end_time - info.start_time))
    if info.status == RunStatus.RUNNING and info.start_time:
        return Text(fmt_duration(now_ms - info.start_time) + " (running)", style="cyan")
    return Text("-")


def fmt_number(value: float) -> str:
    """A metric value in at most 6 significant digits; NaN and infinities spelled out."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"


def status_text(status: RunStatus) -> Text:
    """A run status, coloured."""
    return Text(status.value, style=STATUS_STYLE.get(status, ""))


# -- tables -----------------------------------------------------------------------------


def table(title: str, *columns: str | Text) -> Table:
    """A table with a title and plain (never markup) column headers."""
    result = Table(title=Text(title, style="bold"), title_justify="left")
    for column in columns:
        result.add_column(column if isinstance(column, Text) else Text(column))
    return result


def print_mapping(title: str, data: Mapping[str, str]) -> None:
    """Print a key/value table sorted by key; nothing when ``data`` is empty."""
    if not data:
        return
    result = table(title, "key", "value")
    for key in sorted(data):
        result.add_row(Text(key), Text(str(data[key])))
    out().print(result)


# -- JSON shapes ------------------------------------------------------------------------


def experiment_json(exp: Experiment) -> dict[str, Any]:
    """An experiment as JSON-ready data."""
    return {
        "experiment_id": exp.experiment_id,
        "name": exp.name,
        "lifecycle_stage": exp.lifecycle_stage.value,
        "artifact_location": exp.artifact_location,
        "description": exp.description,
        "tags": dict(exp.tags),
        "creation_time": exp.creation_time,
        "last_update_time": exp.last_update_time,
    }


def run_json(run: Run) -> dict[str, Any]:
    """A run as JSON-ready data: info fields, latest metrics, params, tags and inputs."""
    info = run.info
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": info.status.value,
        "lifecycle_stage": info.lifecycle_stage.value,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "user_id": info.user_id,
        "parent_run_id": info.parent_run_id,
        "artifact_uri": info.artifact_uri,
        "metrics": dict(run.data.metrics),
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
        "inputs": [
            {
                "name": item.dataset.name,
                "digest": item.dataset.digest,
                "context": item.context,
                "source": item.dataset.source,
                "source_type": item.dataset.source_type,
                "num_rows": item.dataset.num_rows,
            }
            for item in run.inputs
        ],
    }


def files_json(files: Iterable[FileInfo]) -> list[dict[str, Any]]:
    """Artifact listing entries as JSON-ready data."""
    return [{"path": f.path, "is_dir": f.is_dir, "file_size": f.file_size} for f in files]
