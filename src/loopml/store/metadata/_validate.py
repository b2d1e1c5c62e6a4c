"""Input checks for what gets written to the tracking tables (MLflow's limits and rules)."""

from __future__ import annotations

import math
import numbers
import re

from loopml.errors import ValidationError

MAX_KEY_LENGTH = 250
MAX_VALUE_LENGTH = 8000
MAX_NAME_LENGTH = 250
_KEY_RE = re.compile(r"^[\w\-./ :]+$")


def check_key(kind: str, key: object) -> str:
    """Validate a metric/param/tag key: non-empty, ≤250 chars, no '..', safe characters."""
    if not isinstance(key, str) or not key:
        raise ValidationError(f"{kind} key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationError(
            f"{kind} key {key[:40]!r}... is {len(key)} characters long; "
            f"the limit is {MAX_KEY_LENGTH}, use a shorter key"
        )
    if not _KEY_RE.match(key) or ".." in key or key.startswith("/"):
        raise ValidationError(
            f"{kind} key {key!r} has characters that are not allowed; use letters, digits, "
            "underscores, dashes, periods, spaces, colons and slashes (no '..', no leading '/')"
        )
    return key


def check_value(kind: str, key: str, value: object) -> str:
    """Turn a param/tag value into a string of at most 8000 characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise ValidationError(
            f"{kind} {key!r} has a value of {len(text)} characters; the limit is "
            f"{MAX_VALUE_LENGTH}: log long text as an artifact with log_text instead"
        )
    return text


def check_metric_value(key: str, value: object) -> float:
    """Turn a metric value into a float; NaN and ±inf are kept, non-numbers are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(
            f"metric {key!r} got value {value!r} of type {type(value).__name__}; "
            "metric values must be numbers (log text as a param or tag instead)"
        )
    result = float(value)
    if math.isnan(result):
        return math.nan
    return result


def check_step(key: str, step: object) -> int:
    """Metric steps are integers."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise ValidationError(f"metric {key!r} got step {step!r}; steps must be integers")
    return int(step)


def check_run_name(name: str) -> str:
    """Run names are non-empty strings of at most 250 characters."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"run name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"run name {name[:40]!r}... is {len(name)} characters; limit {MAX_NAME_LENGTH}"
        )
    return name
