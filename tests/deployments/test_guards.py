"""Guard verdicts and the divergence measure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from loopml.deployments import Guards, RouteStats, evaluate, js_distance
from loopml.errors import ValidationError


def stats(requests=300, errors=0, latency=1.0, preds=None):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    return RouteStats(
        requests,
        errors,
        [latency] * requests,
        list(preds if preds is not None else rng.normal(100, 10, requests)),
    )


def test_js_distance_matches_scipy_on_histograms():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 2000).tolist(), rng.normal(0.5, 1, 2000).tolist()
    edges = np.linspace(min(a + b), max(a + b), 21)
    p, q = np.histogram(a, edges)[0], np.histogram(b, edges)[0]
    assert js_distance(a, b, bins=20) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-6)
    assert js_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_verdicts():
    g = Guards(min_requests=100)
    primary = stats()
    assert evaluate(g, primary, stats(requests=50), 1).action == "wait"
    broken = evaluate(g, primary, stats(errors=30), 1)
    assert broken.action == "rollback" and "error rate 0.100" in broken.reason
    slow = evaluate(g, primary, stats(latency=5.0), 1)
    assert slow.action == "rollback" and "5.0x" in slow.reason
    shifted = evaluate(g, primary, stats(preds=np.full(300, 1e6)), 1)
    assert shifted.action == "rollback" and "Jensen-Shannon" in shifted.reason
    assert evaluate(g, primary, stats(), 1).action == "promote"
    assert evaluate(Guards(min_requests=100, min_minutes=5), primary, stats(), 1).action == "wait"
    assert (
        evaluate(Guards(min_requests=100, auto_promote=False), primary, stats(), 9).action == "wait"
    )


def test_same_distribution_samples_of_default_size_do_not_diverge():
    rng = np.random.default_rng(3)
    distances = [
        js_distance(rng.normal(0, 1, 200).tolist(), rng.normal(0, 1, 200).tolist())
        for _ in range(50)
    ]
    assert max(distances) < 0.2  # the default min_requests (200) keeps the noise below 0.2


def test_bad_guards_listed_together():
    with pytest.raises(ValidationError, match=r"min_requests=0.*max_divergence=2"):
        Guards(min_requests=0, max_divergence=2)
