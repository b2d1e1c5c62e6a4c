"""Alert rules: ``[severity:] METRIC OP VALUE [for N windows]``.

Examples: ``drift_share >= 0.5``, ``critical: rmse > 8 for 2 windows``,
``drift_score.bmi >= 0.2``. A rule holds on a window when the metric exists there and
the comparison is true; with ``for N windows`` it must hold on the last N windows.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from loopml.errors import ValidationError

SEVERITIES = ("info", "warning", "critical")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
_RULE = re.compile(
    r"^\s*(?:(?P<severity>[A-Za-z]+)\s*:\s*)?"
    r"(?P<metric>[A-Za-z_][\w.\-]*)\s*"
    r"(?P<op>>=|<=|==|!=|>|<)\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    r"(?:for\s+(?P<windows>\d+)\s+windows?)?\s*$"
)
SYNTAX = "[severity:] METRIC OP VALUE [for N windows], e.g. 'critical: rmse > 8 for 2 windows'"


@dataclass(frozen=True)
class AlertRule:
    """A parsed alert rule; ``text`` is how it was written (its identity)."""

    text: str
    metric: str
    op: str
    value: float
    windows: int = 1
    severity: str = "warning"

    def holds(self, metrics: Mapping[str, float]) -> bool:
        """True when the metric is present, a number, and the comparison is true."""
        got = metrics.get(self.metric)
        if got is None or (isinstance(got, float) and math.isnan(got)):
            return False
        return _OPS[self.op](float(got), self.value)

    def evaluate(self, history: Sequence[Mapping[str, float]]) -> bool:
        """True when the rule holds on each of the last ``windows`` windows (oldest first)."""
        if len(history) < self.windows:
            return False
        return all(self.holds(m) for m in history[-self.windows :])

    def describe(self, value: float | None) -> str:
        """A one-line message for notifications."""
        shown = "missing" if value is None else f"{value:.6g}"
        span = f" for {self.windows} windows" if self.windows > 1 else ""
        return f"{self.metric} = {shown} ({self.op} {self.value:g}{span})"


def parse_rule(text: str) -> AlertRule:
    """Parse a rule; a clear error shows the expected syntax and the allowed severities."""
    match = _RULE.match(text or "")
    if match is None:
        raise ValidationError(f"alert rule {text!r} is not valid; write {SYNTAX}")
    severity = (match["severity"] or "warning").lower()
    if severity not in SEVERITIES:
        raise ValidationError(
            f"alert rule {text!r} has severity {severity!r}; use one of {', '.join(SEVERITIES)}"
        )
    windows = int(match["windows"] or 1)
    if windows < 1:
        raise ValidationError(f"alert rule {text!r}: 'for N windows' needs N >= 1")
    return AlertRule(
        text.strip(), match["metric"], match["op"], float(match["value"]), windows, severity
    )
