"""Rich views of runs: the ``runs list`` table and the ``runs show`` page."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from rich.table import Table
from rich.text import Text

from loopml.cli._render import (
    fmt_number,
    fmt_time,
    out,
    print_mapping,
    run_duration,
    status_text,
    table,
)
from loopml.entities import FileInfo, LifecycleStage, Run

SYSTEM_TAG_PREFIX = "loopml."
#: Metric and param columns the runs table shows without --wide (each).
DEFAULT_KEY_COLUMNS = 4

_KEY_REF = re.compile(
    r"\b(metrics?|param(?:eter)?s?)\.(?:`([^`]+)`|\"([^\"]+)\"|([\w\-/]+(?:\.[\w\-/]+)*))"
)


def referenced_keys(texts: Iterable[str]) -> dict[str, list[str]]:
    """Metric and param keys a filter or order-by names, in order of appearance."""
    found: dict[str, list[str]] = {"metrics": [], "params": []}
    for text in texts:
        for m in _KEY_REF.finditer(text):
            kind = "metrics" if m.group(1).startswith("metric") else "params"
            key = m.group(2) or m.group(3) or m.group(4)
            if key not in found[kind]:
                found[kind].append(key)
    return found


def _pick_keys(present: Counter[str], named: list[str], wide: bool) -> list[str]:
    """Columns to show: keys the query names first, then the most common ones."""
    first = [k for k in named if k in present]
    keys = first + [k for k, _ in present.most_common() if k not in first]
    return keys if wide else keys[: max(DEFAULT_KEY_COLUMNS, len(first))]


def runs_table(
    runs: Sequence[Run], named: dict[str, list[str]], wide: bool, now_ms: int
) -> tuple[Table, int]:
    """The runs table and how many metric/param columns it left out (``--wide`` shows all)."""
    metric_counts = Counter(k for r in runs for k in r.data.metrics)
    param_counts = Counter(k for r in runs for k in r.data.params)
    metric_keys = _pick_keys(metric_counts, named["metrics"], wide)
    param_keys = _pick_keys(param_counts, named["params"], wide)
    result = table(f"{len(runs)} run(s)", "run id", "name", "status", "started", "duration")
    result.columns[0].no_wrap = True
    for key in metric_keys:
        result.add_column(Text(key, style="cyan"), justify="right")
    for key in param_keys:
        result.add_column(Text(key, style="magenta"))
    for r in runs:
        metrics = r.data.metrics
        result.add_row(
            Text(r.info.run_id),
            Text(r.info.run_name),
            status_text(r.info.status),
            Text(fmt_time(r.info.start_time)),
            run_duration(r, now_ms),
            *[Text(fmt_number(metrics[k]) if k in metrics else "") for k in metric_keys],
            *[Text(r.data.params.get(k, "")) for k in param_keys],
        )
    hidden = len(metric_counts) - len(metric_keys) + len(param_counts) - len(param_keys)
    return result, hidden


def print_run(
    run: Run, files: list[FileInfo] | None, problem: str | None, system: bool, now_ms: int
) -> None:
    """Print a run's facts, params, latest metrics, tags, datasets and artifact listing."""
    info = run.info
    console = out()
    console.print(Text.assemble((info.run_name, "bold"), "  ", info.run_id))
    deleted = info.lifecycle_stage == LifecycleStage.DELETED
    facts = [
        ("status", status_text(info.status)),
        ("experiment", Text(info.experiment_id)),
        ("started", Text(fmt_time(info.start_time))),
        ("ended", Text(fmt_time(info.end_time))),
        ("duration", run_duration(run, now_ms)),
        ("user", Text(info.user_id or "-")),
        ("parent run", Text(info.parent_run_id or "-")),
        ("lifecycle", Text(info.lifecycle_stage.value, style="red" if deleted else "")),
        ("artifact uri", Text(info.artifact_uri)),
    ]
    for label, value in facts:
        console.print(Text.assemble((f"{label:>13}: ", "dim"), value))
    print_mapping("params", run.data.params)
    print_mapping("metrics (latest)", {k: fmt_number(v) for k, v in run.data.metrics.items()})
    tags = run.data.tags
    print_mapping(
        "tags", {k: v for k, v in tags.items() if system or not k.startswith(SYSTEM_TAG_PREFIX)}
    )
    if run.inputs:
        inputs = table("datasets", "name", "context", "rows", "digest", "source")
        for item in run.inputs:
            d = item.dataset
            rows = str(d.num_rows) if d.num_rows is not None else "-"
            inputs.add_row(
                Text(d.name), Text(item.context or "-"), Text(rows), Text(d.digest), Text(d.source)
            )
        console.print(inputs)
    _print_artifacts(files, problem)


def _print_artifacts(files: list[FileInfo] | None, problem: str | None) -> None:
    console = out()
    if problem is not None:
        console.print(Text.assemble(("Artifacts could not be listed: ", "yellow"), problem))
    elif not files:
        console.print(Text("No artifacts.", style="dim"))
    else:
        listing = table("artifacts", "path", "size (bytes)")
        listing.columns[1].justify = "right"
        for f in files:
            size = "" if f.is_dir or f.file_size is None else str(f.file_size)
            listing.add_row(Text(f.path + ("/" if f.is_dir else "")), Text(size))
        console.print(listing)
