"""Shared CLI plumbing: the store option, error handling, JSON and duration parsing."""

from __future__ import annotations

import functools
import json
import math
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import typer
from rich.console import Console

from loopml.errors import LoopmlError, ValidationError
from loopml.tracking import Client

F = TypeVar("F", bound=Callable[..., Any])

# Piped output is not cut to 80 columns: tables stay readable in logs and CI.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

TrackingUri = typer.Option(
    None,
    "--tracking-uri",
    "-t",
    envvar="LOOPML_TRACKING_URI",
    help="Store to use: a folder, sqlite:///x.db or postgresql://… (default ./.loopml).",
    show_default=False,
)
JsonOutput = typer.Option(False, "--json", help="Print machine-readable JSON instead of a table.")


def cli_errors(fn: F) -> F:
    """Turn loopml errors into one red line on stderr and exit code 1 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LoopmlError as exc:
            err_console.print(f"[red]Error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def client(tracking_uri: str | None) -> Client:
    """A client for the chosen store."""
    return Client(tracking_uri)


def json_value(value: Any) -> Any:
    """JSON has no NaN or infinity: they are written as the strings 'NaN', 'Infinity'."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """Print data as indented JSON on stdout (plain, no colour)."""
    typer.echo(json.dumps(json_value(data), indent=2, sort_keys=False))


def fmt_time(ms: int | None) -> str:
    """Milliseconds since the epoch as a UTC timestamp (or '-')."""
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(start: int | None, end: int | None) -> str:
    """A short human duration between two ms timestamps."""
    if not start or not end:
        return "-"
    seconds = max(0.0, (end - start) / 1000)
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def fmt_number(value: float) -> str:
    """Compact rendering of a metric value."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.6g}"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration_ms(text: str) -> int:
    """'30s', '15m', '2h', '1d', '1w' as milliseconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValidationError(
            f"duration {text!r} is not valid; use a number and a unit, e.g. 30s, 15m, 2h, 1d"
        )
    return int(float(match.group(1)) * _UNIT_MS[match.group(2)])


def resolve_experiment(c: Client, id_or_name: str) -> str:
    """An experiment id from an id or a name."""
    exp = c.get_experiment_by_name(id_or_name)
    if exp is not None:
        return exp.experiment_id
    if id_or_name.isdigit():
        return c.get_experiment(id_or_name).experiment_id
    raise ValidationError(
        f"experiment {id_or_name!r} does not exist; list them with `loopml experiments list`"
    )
