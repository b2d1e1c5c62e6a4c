"""The drift statistics equal SciPy's on the same inputs (1e-9 relative)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from loopml.monitoring import _stats

REL = 1e-9


def close(ours: float, theirs: float) -> bool:
    """Equal to 1e-9 relative (exactly equal for zeros and infinities)."""
    ours, theirs = float(ours), float(theirs)
    if ours == theirs:
        return True
    return abs(ours - theirs) <= REL * max(abs(ours), abs(theirs))


def samples(seed: int, n1: int, n2: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, n1)
    b = rng.normal(rng.uniform(-0.4, 0.4), rng.uniform(0.6, 1.6), n2)
    if ties:
        a, b = np.round(a * 2) / 2, np.round(b * 2) / 2
    return a, b


def scipy_ks(a: np.ndarray, b: np.ndarray):
    """scipy.stats.ks_2samp; it warns where we fall back silently (exact p-value failed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return stats.ks_2samp(a, b)


SIZES = [(1, 1), (1, 7), (8, 8), (13, 29), (100, 100), (250, 173), (999, 1000), (2000, 1501)]


@pytest.mark.parametrize("n1,n2", SIZES)
@pytest.mark.parametrize("ties", [False, True])
def test_ks_2samp_equals_scipy_exact_and_asymptotic_sizes(n1, n2, ties):
    for seed in range(3):
        a, b = samples(seed, n1, n2, ties)
        ours = _stats.ks_2samp(a, b)
        theirs = scipy_ks(a, b)
        assert close(ours.statistic, theirs.statistic)
        assert close(ours.p_value, theirs.pvalue)


@pytest.mark.parametrize("n1,n2", [(10_000, 9_000), (12_000, 15_000), (30_000, 30_000)])
def test_ks_2samp_equals_scipy_around_the_exact_limit(n1, n2):
    rng = np.random.default_rng(n1)
    a, b = rng.normal(0, 1, n1), rng.normal(0.03, 1, n2)
    ours, theirs = _stats.ks_2samp(a, b), scipy_ks(a, b)
    assert close(ours.statistic, theirs.statistic)
    assert close(ours.p_value, theirs.pvalue)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(-20, 20), min_size=1, max_size=60),
    st.lists(st.integers(-20, 20), min_size=1, max_size=60),
)
def test_ks_2samp_equals_scipy_on_arbitrary_integer_samples(a, b):
    ours = _stats.ks_2samp(np.array(a, float), np.array(b, float))
    theirs = scipy_ks(np.array(a, float), np.array(b, float))
    assert close(ours.statistic, theirs.statistic)
    assert close(ours.p_value, theirs.pvalue)


def test_ks_pvalue_rounds_the_statistic_to_the_lattice_like_scipy():
    theirs = stats.ks_2samp(np.arange(10.0), np.arange(20.0) + 3)
    d, p = _stats.ks_pvalue(theirs.statistic + 1e-12, 10, 20)
    assert d == theirs.statistic
    assert close(p, theirs.pvalue)


@pytest.mark.parametrize("n1,n2", [*SIZES, (50_000, 70_000)])
@pytest.mark.parametrize("ties", [False, True])
def test_wasserstein_equals_scipy(n1, n2, ties):
    a, b = samples(n1 + n2, n1, n2, ties)
    assert close(_stats.wasserstein_distance(a, b), stats.wasserstein_distance(a, b))
    merged = _stats.merge_sorted(np.sort(a), np.sort(b))
    assert close(_stats.wasserstein_from_merged(merged), stats.wasserstein_distance(a, b))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
)
def test_wasserstein_equals_scipy_on_arbitrary_samples(a, b):
    ours = _stats.wasserstein_distance(np.array(a), np.array(b))
    theirs = stats.wasserstein_distance(a, b)
    assert ours == pytest.approx(theirs, rel=REL, abs=1e-9)


def test_wasserstein_normed_divides_by_the_reference_population_std_floored():
    a, b = samples(3, 500, 400, ties=False)
    expected = stats.wasserstein_distance(a, b) / np.std(a)
    assert close(_stats.wasserstein_normed(a, b), expected)
    constant = np.full(50, 2.0)
    assert close(_stats.wasserstein_normed(constant, constant + 1), 1.0 / 0.001)


@pytest.mark.parametrize("n1,n2", [(5, 9), (40, 60), (300, 500), (2000, 1700)])
@pytest.mark.parametrize("ties", [False, True])
def test_anderson_ksamp_equals_scipy_midrank(n1, n2, ties):
    for shift in (0.0, 0.15, 0.6):
        a, b = samples(n1 * 3 + n2, n1, n2, ties)
        b = b + shift
        ours = _stats.anderson_ksamp(a, b)
        with warnings.catch_warnings():  # scipy warns when it caps the p-value
            warnings.simplefilter("ignore", UserWarning)
            theirs = stats.anderson_ksamp([a, b], variant="midrank")
        assert close(ours.statistic, theirs.statistic)
        assert close(ours.p_value, theirs.pvalue)


def test_anderson_ksamp_needs_two_distinct_values():
    result = _stats.anderson_ksamp(np.ones(5), np.ones(3))
    assert math.isnan(result.statistic) and result.p_value == 1.0


@pytest.mark.parametrize("n1,n2", [(2, 3), (7, 12), (20, 20), (21, 40), (300, 450), (3000, 2000)])
@pytest.mark.parametrize("ties", [False, True])
def test_cramervonmises_2samp_equals_scipy(n1, n2, ties):
    for shift in (0.0, 0.4, 1.0):
        a, b = samples(n1 + 5 * n2, n1, n2, ties)
        b = b + shift
        ours = _stats.cramervonmises_2samp(a, b)
        theirs = stats.cramervonmises_2samp(a, b)
        assert close(ours.statistic, theirs.statistic)
        assert close(ours.p_value, theirs.pvalue)


def test_cramervonmises_needs_two_values_per_sample():
    with pytest.raises(ValueError, match="at least two"):
        _stats.cramervonmises_2samp(np.array([1.0]), np.array([1.0, 2.0]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e3), st.floats(0, 1e3)), min_size=1, max_size=40))
def test_jensen_shannon_equals_scipy(pairs):
    p = np.array([x for x, _ in pairs])
    q = np.array([y for _, y in pairs])
    if p.sum() == 0 or q.sum() == 0:
        return
    for base in (None, 2):
        with warnings.catch_warnings():  # scipy: sqrt of a divergence rounded below zero
            warnings.simplefilter("ignore", RuntimeWarning)
            theirs = distance.jensenshannon(p, q, base=base)
        ours = _stats.jensen_shannon(p, q, base=base)
        assert ours == (0.0 if np.isnan(theirs) else pytest.approx(theirs, rel=REL, abs=1e-12))


def test_jensen_shannon_uses_the_natural_log_like_evidently():
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    m = (p + q) / 2
    kl = lambda x: float(np.sum(x * np.log(x / m)))  # noqa: E731
    assert close(_stats.jensen_shannon(p, q), math.sqrt((kl(p) + kl(q)) / 2))


@pytest.mark.parametrize("k", [2, 3, 8, 40])
def test_chisquare_equals_scipy_with_evidently_expected_frequencies(k):
    rng = np.random.default_rng(k)
    ref = rng.integers(1, 500, k).astype(float)
    cur = rng.integers(0, 300, k).astype(float)
    cur[0] += 1  # never all zero
    expected = ref * (cur.sum() / ref.sum())  # Evidently: reference counts scaled to current n
    ours = _stats.chisquare(cur, expected)
    theirs = stats.chisquare(cur, expected)
    assert close(ours.statistic, theirs.statistic)
    assert close(ours.p_value, theirs.pvalue)


def test_chisquare_with_a_category_the_reference_never_saw_is_certain_drift():
    assert _stats.chisquare([5, 5, 1], [5.5, 5.5, 0]) == (math.inf, 0.0)
    assert _stats.chisquare([10], [10]) == (0.0, 1.0)


def test_z_test_for_two_proportions():
    # 30 of 100 vs 45 of 120: pooled p = 75/220
    z, p = _stats.z_test_proportions(30, 100, 45, 120)
    pooled = 75 / 220
    expected_z = (0.3 - 0.375) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 120))
    assert close(z, expected_z)
    assert close(p, 2 * stats.norm.sf(abs(expected_z)))
    assert _stats.z_test_proportions(0, 50, 0, 70) == (0.0, 1.0)


def test_psi_fills_empty_bins_like_evidently():
    ref = np.array([0.5, 0.5, 0.0])
    cur = np.array([0.4, 0.4, 0.2])
    filled = np.array([0.5, 0.5, 0.0001])
    expected = float(np.sum((filled - cur) * np.log(filled / cur)))
    assert close(_stats.psi(ref, cur), expected)
    tiny = _stats.fill_zero_shares(np.array([0.00005, 0.0, 0.99995]))
    assert tiny[1] == 0.00005 / 1e6


@pytest.mark.parametrize("integer", [False, True])
@pytest.mark.parametrize("size", [2, 37, 1000, 123_457])
def test_sturges_edges_equal_numpy(size, integer):
    rng = np.random.default_rng(size)
    data = rng.integers(-5, 40, size) if integer else rng.normal(3, 2, size)
    expected = np.histogram_bin_edges(data, "sturges")
    ours = _stats.sturges_edges(data.min(), data.max(), data.size, integer=integer)
    np.testing.assert_array_equal(ours, expected)
    counts = _stats.histogram_sorted(np.sort(data).astype(float), ours)
    np.testing.assert_array_equal(counts, np.histogram(data, expected)[0])


def test_merge_sorted_counts_values_at_or_below_each_distinct_value():
    a = np.array([1.0, 2.0, 2.0, 5.0])
    b = np.array([2.0, 3.0, 5.0, 5.0, 7.0])
    merged = _stats.merge_sorted(a, b)
    np.testing.assert_array_equal(merged.values, [1, 2, 3, 5, 7])
    np.testing.assert_array_equal(merged.count_a, [1, 3, 3, 4, 4])
    np.testing.assert_array_equal(merged.count_b, [0, 1, 2, 4, 5])
    np.testing.assert_array_equal(merged.ties, [1, 3, 1, 3, 1])
