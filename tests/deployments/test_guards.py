"""Guard verdicts and the divergence measure."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon

from loopml.deployments import Guards, RouteStats, evaluate, js_distance, label_error
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


def test_quality_guard_once_labels_arrive():
    g = Guards(min_requests=100, min_labels=50, max_quality_degradation=0.1)
    rng = np.random.default_rng(4)
    good = stats()
    labelled = lambda mean: RouteStats(  # noqa: E731
        300, 0, [1.0] * 300, good.predictions, list(np.abs(rng.normal(mean, 1, 60)))
    )
    worse = evaluate(g, labelled(10.0), labelled(14.0), 1)
    assert worse.action == "rollback" and "quality on labelled requests" in worse.reason
    assert "60 and 60 labels" in worse.reason
    assert evaluate(g, labelled(10.0), labelled(10.2), 1).action == "promote"
    few = RouteStats(300, 0, [1.0] * 300, good.predictions, [50.0] * 10)
    assert evaluate(g, labelled(10.0), few, 1).action == "promote"  # too few labels to judge


def test_label_error():
    assert label_error(3.0, 5) == 2.0
    assert label_error("cat", "dog") == 1.0 and label_error("cat", "cat") == 0.0
    assert label_error(True, 1.0) == 0.0 and label_error(None, 1.0) is None
