"""Rollout guards: compare a candidate with the primary and decide rollback or promotion.

Estimator-style: settings live in :class:`Guards`; :func:`evaluate` scores the live
statistics of both routes and returns a verdict with its reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from loopml.errors import ValidationError


@dataclass(frozen=True)
class Guards:
    """Thresholds of a canary or shadow rollout."""

    # candidate requests before any verdict; divergence of histograms is noisy on small
    # samples, so keep this at 200 or more (JS distance of two same-distribution samples of
    # 200 stays below 0.2)
    min_requests: int = 200
    min_minutes: float = 0.0  # and this long since the rollout started (for promotion)
    max_error_rate_increase: float = 0.02  # candidate error rate minus primary's
    max_p95_latency_ratio: float = 2.0  # candidate p95 / primary p95
    max_divergence: float = 0.2  # Jensen-Shannon distance of prediction distributions
    auto_promote: bool = True
    # quality once labels arrive (POST /feedback): mean error on labelled requests (absolute
    # error for numbers, mismatch share otherwise), compared when both routes have min_labels
    min_labels: int = 50
    max_quality_degradation: float = 0.1  # candidate error may exceed the primary's by 10%

    def __post_init__(self) -> None:
        problems = []
        if self.min_requests < 1:
            problems.append(f"min_requests={self.min_requests} must be at least 1")
        if not 0 <= self.max_error_rate_increase <= 1:
            problems.append(f"max_error_rate_increase={self.max_error_rate_increase} is not 0..1")
        if self.max_p95_latency_ratio <= 0:
            problems.append(f"max_p95_latency_ratio={self.max_p95_latency_ratio} must be > 0")
        if not 0 <= self.max_divergence <= 1:
            problems.append(f"max_divergence={self.max_divergence} is not 0..1")
        if self.min_minutes < 0:
            problems.append(f"min_minutes={self.min_minutes} must be >= 0")
        if self.min_labels < 1:
            problems.append(f"min_labels={self.min_labels} must be at least 1")
        if self.max_quality_degradation < 0:
            problems.append(f"max_quality_degradation={self.max_quality_degradation} must be >= 0")
        if problems:
            raise ValidationError("invalid guards: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Guards:
        """Rebuild from :meth:`to_dict`."""
        return cls(**(data or {}))


@dataclass(frozen=True)
class RouteStats:
    """What a route served during the rollout."""

    requests: int
    errors: int
    latencies_ms: list[float]
    predictions: list[float]
    label_errors: list[float] = field(default_factory=list)  # per labelled request

    @property
    def mean_error(self) -> float | None:
        """Mean error on labelled requests (None without labels)."""
        return float(np.mean(self.label_errors)) if self.label_errors else None

    @property
    def error_rate(self) -> float:
        """Share of requests that failed."""
        return self.errors / self.requests if self.requests else 0.0

    @property
    def p95_ms(self) -> float:
        """95th percentile latency."""
        return float(np.percentile(self.latencies_ms, 95)) if self.latencies_ms else 0.0


@dataclass(frozen=True)
class Verdict:
    """``wait``, ``rollback`` or ``promote``, and why."""

    action: str
    reason: str


def js_distance(a: list[float], b: list[float], bins: int | None = None) -> float:
    """Jensen-Shannon distance (base 2, 0..1) between two samples' histograms.

    By default the number of bins grows with the smaller sample (sqrt(n)/2, 4 to 20), so
    small samples from the same distribution do not look different by chance.
    """
    if not a or not b:
        return 0.0
    if bins is None:
        bins = int(min(20, max(4, np.sqrt(min(len(a), len(b))) / 2)))
    lo, hi = min(min(a), min(b)), max(max(a), max(b))
    if hi == lo:
        return 0.0
    edges = np.linspace(lo, hi, bins + 1)
    p = np.histogram(a, edges)[0].astype(float) + 1e-12
    q = np.histogram(b, edges)[0].astype(float) + 1e-12
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    kl = lambda x, y: float(np.sum(x * np.log2(x / y)))  # noqa: E731
    return float(np.sqrt(max(0.0, (kl(p, m) + kl(q, m)) / 2)))


def evaluate(guards: Guards, primary: RouteStats, candidate: RouteStats, minutes: float) -> Verdict:
    """Decide from live statistics; the first breached guard names the reason."""
    if candidate.requests < guards.min_requests:
        return Verdict("wait", f"{candidate.requests}/{guards.min_requests} candidate requests")
    increase = candidate.error_rate - primary.error_rate
    if increase > guards.max_error_rate_increase:
        return Verdict(
            "rollback",
            f"error rate {candidate.error_rate:.3f} vs primary {primary.error_rate:.3f} "
            f"(+{increase:.3f} > {guards.max_error_rate_increase})",
        )
    if primary.p95_ms > 0:
        ratio = candidate.p95_ms / primary.p95_ms
        if ratio > guards.max_p95_latency_ratio:
            return Verdict(
                "rollback",
                f"p95 latency {candidate.p95_ms:.2f} ms is {ratio:.1f}x the primary's "
                f"{primary.p95_ms:.2f} ms (> {guards.max_p95_latency_ratio}x)",
            )
    divergence = js_distance(primary.predictions, candidate.predictions)
    if divergence > guards.max_divergence:
        return Verdict(
            "rollback",
            f"prediction distributions diverge: Jensen-Shannon {divergence:.3f} > "
            f"{guards.max_divergence}",
        )
    quality = _quality_breach(guards, primary, candidate)
    if quality is not None:
        return Verdict("rollback", quality)
    if guards.auto_promote and minutes >= guards.min_minutes:
        return Verdict(
            "promote",
            f"healthy for {candidate.requests} requests and {minutes:.1f} min "
            f"(errors {candidate.error_rate:.3f}, divergence {divergence:.3f})",
        )
    return Verdict("wait", f"healthy so far; {minutes:.1f}/{guards.min_minutes} min")


def label_error(prediction: Any, label: Any) -> float | None:
    """Error of one labelled prediction: absolute difference for numbers, else 0/1 mismatch."""
    if prediction is None or label is None:
        return None
    numbers = (int, float, np.integer, np.floating)
    if isinstance(prediction, numbers) and isinstance(label, numbers):
        if isinstance(prediction, bool) or isinstance(label, bool):
            return float(prediction != label)
        return abs(float(prediction) - float(label))
    return float(str(prediction) != str(label))


def _quality_breach(guards: Guards, primary: RouteStats, candidate: RouteStats) -> str | None:
    n_p, n_c = len(primary.label_errors), len(candidate.label_errors)
    if min(n_p, n_c) < guards.min_labels:
        return None
    p, c = primary.mean_error or 0.0, candidate.mean_error or 0.0
    limit = p * (1 + guards.max_quality_degradation)
    if c > limit and c - p > 1e-12:
        worse = (c / p - 1) * 100 if p > 0 else float("inf")
        return (
            f"quality on labelled requests: candidate mean error {c:.4g} vs primary {p:.4g} "
            f"(+{worse:.1f}% > {guards.max_quality_degradation * 100:.0f}%; "
            f"{n_c} and {n_p} labels)"
        )
    return None
