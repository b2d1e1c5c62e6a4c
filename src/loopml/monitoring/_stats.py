"""Two-sample drift statistics on numpy arrays: vectorised, and equal to SciPy's.

Inputs are 1-D float arrays without NaN (callers drop missing values first). Each sample
is sorted once; the ECDF statistics (Kolmogorov-Smirnov, Wasserstein, Anderson-Darling,
Cramér-von Mises) share one merge of the two sorted samples (``merge_sorted``), so a
column costs two sorts plus a few linear passes. P-values follow SciPy's choices exactly
(``ks_2samp(method="auto")``, ``anderson_ksamp`` midrank, ``cramervonmises_2samp``),
using ``scipy.stats`` distributions and ``scipy.special`` functions.

The binned statistics (PSI, Jensen-Shannon, chi-square) take counts or shares; how a
column becomes bins (Evidently's rules) lives in ``_drift``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special, stats

KS_EXACT_MAX_N = 10_000  # scipy's ks_2samp(method="auto") is exact up to this sample size
CVM_EXACT_MAX_N = 20  # scipy's cramervonmises_2samp(method="auto") is exact up to this size
WASSERSTEIN_MIN_NORM = 0.001  # Evidently's floor for the reference standard deviation


class Stat(NamedTuple):
    """A test statistic and its p-value (None for distances)."""

    statistic: float
    p_value: float | None = None


class Merged(NamedTuple):
    """Two sorted samples merged at their distinct pooled values.

    ``count_a[i]``/``count_b[i]`` are how many values of each sample are ``<= values[i]``;
    ``ties[i]`` is how many pooled values equal ``values[i]``.
    """

    values: np.ndarray
    count_a: np.ndarray
    count_b: np.ndarray
    ties: np.ndarray
    n_a: int
    n_b: int


def _as_sorted(x: np.ndarray, assume_sorted: bool) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D array, got shape {x.shape}")
    return x if assume_sorted else np.sort(x)


def merge_sorted(a: np.ndarray, b: np.ndarray) -> Merged:
    """Merge two sorted, non-empty samples (linear merge, no re-sort of the pool)."""
    n, m = a.size, b.size
    if n == 0 or m == 0:
        raise ValueError("both samples must be non-empty")
    pooled = np.concatenate((a, b))
    order = np.argsort(pooled, kind="stable")  # two sorted runs: timsort merges them in O(n)
    z = pooled[order]
    is_b = order >= n
    last = np.empty(n + m, dtype=bool)
    np.not_equal(z[1:], z[:-1], out=last[:-1])
    last[-1] = True
    ends = np.flatnonzero(last)
    count_b = np.cumsum(is_b)[ends]
    count_a = ends + 1 - count_b
    ties = np.diff(ends, prepend=-1)
    return Merged(z[ends], count_a, count_b, ties, n, m)


# --- Kolmogorov-Smirnov ---------------------------------------------------------------------


def ks_statistic(merged: Merged) -> float:
    """Largest absolute difference of the two ECDFs (two-sided D)."""
    diff = merged.count_a / merged.n_a - merged.count_b / merged.n_b
    low = min(max(-float(diff.min()), 0.0), 1.0)
    return max(float(diff.max()), low)


def _ks_prob_outside_square(n: int, h: int) -> float:
    """P(D_{n,n} >= h/n) by the alternating binomial series (Horner form)."""
    p = 0.0
    j = np.arange(h, dtype=np.float64)
    for k in range(n // h, -1, -1):
        p1 = float(np.prod((n - k * h - j) / (n + k * h + j + 1)))
        p = p1 * (1.0 - p)
    return 2 * p


def _ks_outer_prob_inside(m: int, n: int, g: int, h: int) -> float:
    """P(D_{m,n} >= h/lcm): 1 - share of lattice paths staying inside |x/m - y/n| < h/lcm.

    Hodges' inside method in Viehmann's "1 - p" form, each cell computed with the same
    arithmetic as SciPy; cells are filled one anti-diagonal at a time (vectorised).
    """
    if m < n:
        m, n = n, m
    mg, ng = m // g, n // g
    x = np.arange(m + 1, dtype=np.int64)
    lo = np.zeros(m + 1, dtype=np.int64)
    hi = np.empty(m + 1, dtype=np.int64)
    hi[0] = min(math.ceil(h / mg), n + 1)
    lo[1:] = np.minimum(np.maximum(np.floor((ng * x[1:] - h) / mg).astype(np.int64) + 1, 0), n)
    hi[1:] = np.minimum(np.ceil((ng * x[1:] + h) / mg).astype(np.int64), n + 1)
    if np.any(hi[1:] <= lo[1:]):
        return 1.0
    diagonals = np.arange(m + n + 1)
    first = np.searchsorted(hi + x, diagonals, side="right")  # first x with y < hi(x)
    last = np.searchsorted(lo + x, diagonals, side="right") - 1  # last x with y >= lo(x)
    # value buffers indexed by x + 1; cells outside the band hold 1 (the path has left)
    buffers = [np.ones(m + 2), np.ones(m + 2)]
    bands = [(1, 0), (1, 0)]
    for s in diagonals.tolist():
        prev, cur = buffers[(s + 1) % 2], buffers[s % 2]
        old_a, old_b = bands[s % 2]
        cur[old_a + 1 : old_b + 2] = 1.0
        xa, xb = int(first[s]), int(last[s])
        bands[s % 2] = (xa, xb)
        if xa > xb:
            continue
        xs = np.arange(xa, xb + 1)
        ys = s - xs
        left = prev[xa : xb + 1]  # cell (x - 1, y)
        down = prev[xa + 1 : xb + 2]  # cell (x, y - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            vals = (left * xs + down * ys) / (xs + ys)
        if xa == 0:
            vals[0] = 0.0
        cur[xa + 1 : xb + 2] = vals
    return float(buffers[(m + n) % 2][m + 1])


def ks_pvalue(d: float, n1: int, n2: int) -> tuple[float, float]:
    """(statistic, p-value) of the two-sided two-sample KS test as SciPy's method="auto".

    Exact (the statistic rounded to the lattice, as SciPy does) when both samples have at
    most 10,000 values, else Smirnov's asymptotic distribution ``kstwo``.
    """
    if max(n1, n2) <= KS_EXACT_MAX_N:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        h = int(np.round(d * lcm))
        exact_d = h * 1.0 / lcm
        if h == 0:
            return exact_d, 1.0
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if n1 == n2:
                prob = _ks_prob_outside_square(n1, h)
            else:
                prob = _ks_outer_prob_inside(n1, n2, g, h)
        if math.isfinite(prob) and 0.0 <= prob <= 1.0:
            return exact_d, prob
        d = exact_d  # exact computation failed numerically: fall back as SciPy does
    big, small = sorted([float(n1), float(n2)], reverse=True)
    en = big * small / (big + small)
    prob = float(stats.kstwo.sf(d, np.round(en)))
    return d, min(max(prob, 0.0), 1.0)


def ks_2samp(a: np.ndarray, b: np.ndarray, *, assume_sorted: bool = False) -> Stat:
    """Two-sided two-sample Kolmogorov-Smirnov test (= scipy.stats.ks_2samp, method="auto")."""
    merged = merge_sorted(_as_sorted(a, assume_sorted), _as_sorted(b, assume_sorted))
    return Stat(*ks_pvalue(ks_statistic(merged), merged.n_a, merged.n_b))


# --- Wasserstein ----------------------------------------------------------------------------


def wasserstein_from_merged(merged: Merged) -> float:
    """First Wasserstein distance: the area between the two ECDFs."""
    if merged.values.size < 2:
        return 0.0
    diff = merged.count_a[:-1] / merged.n_a - merged.count_b[:-1] / merged.n_b
    return float(np.dot(np.abs(diff), np.diff(merged.values)))


def wasserstein_sorted(a: np.ndarray, b: np.ndarray) -> float:
    """First Wasserstein distance of two sorted samples, as the area between their
    quantile functions (no merge of the values; for equal sizes mean |a_i - b_i|).

    With n >= m, the quantile step (i/n, (i+1)/n] of the larger sample overlaps at most two
    steps of the smaller one, j = floor(i*m/n) and j + 1; the overlaps are exact integers
    on the grid 1/(n*m).
    """
    if a.size < b.size:
        a, b = b, a
    n, m = a.size, b.size
    if m == 0:
        raise ValueError("both samples must be non-empty")
    if n == m:
        return float(np.mean(np.abs(a - b)))
    start = np.arange(n, dtype=np.int64) * m  # step i of a covers [i*m, (i+1)*m)
    j = start // n
    second = np.maximum(start + m - (j + 1) * n, 0)  # part of the step beyond b's step j
    first = m - second
    near = np.abs(a - b[j])
    far = np.abs(a - b[np.minimum(j + 1, m - 1)])
    return float((np.dot(first, near) + np.dot(second, far)) / (n * m))


def wasserstein_distance(a: np.ndarray, b: np.ndarray, *, assume_sorted: bool = False) -> float:
    """First Wasserstein distance (= scipy.stats.wasserstein_distance)."""
    return wasserstein_sorted(_as_sorted(a, assume_sorted), _as_sorted(b, assume_sorted))


def wasserstein_norm(distance: float, reference_std: float) -> float:
    """Wasserstein distance divided by the reference's std (ddof 0), floored at 0.001."""
    return distance / max(float(reference_std), WASSERSTEIN_MIN_NORM)


def wasserstein_normed(reference: np.ndarray, current: np.ndarray) -> float:
    """Evidently's normed Wasserstein distance: W1 / max(std(reference), 0.001)."""
    reference = np.asarray(reference, dtype=np.float64)
    return wasserstein_norm(wasserstein_distance(reference, current), np.std(reference))


# --- Anderson-Darling and Cramér-von Mises ---------------------------------------------------

_AD_B0 = np.array([0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085])
_AD_B1 = np.array([-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615])
_AD_B2 = np.array([-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154])
_AD_SIG = np.array([0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001])


def anderson_from_merged(merged: Merged) -> Stat:
    """k=2 Anderson-Darling test, midrank version (= scipy.stats.anderson_ksamp).

    The p-value is interpolated from Scholz & Stephens' table and capped to
    [0.001, 0.25] as SciPy does (without its warnings). Fewer than two distinct pooled
    values: statistic NaN and p-value 1 (nothing to compare).
    """
    values, ties = merged.values, merged.ties
    n_a, n_b = merged.n_a, merged.n_b
    big_n = n_a + n_b
    if values.size < 2:
        return Stat(math.nan, 1.0)
    below = np.cumsum(ties) - ties  # pooled values strictly below each distinct value
    lj = 1.0 if big_n == values.size else ties
    bj = below + lj / 2.0
    denominator = bj * (big_n - bj) - big_n * lj / 4.0
    total = 0.0
    for count, size in ((merged.count_a, n_a), (merged.count_b, n_b)):
        own = np.diff(count, prepend=0)
        mij = count.astype(np.float64) - own / 2.0
        inner = lj / float(big_n) * (big_n * mij - bj * size) ** 2 / denominator
        total += inner.sum() / size
    a2kn = total * (big_n - 1.0) / big_n
    k = 2
    hh = (1.0 / np.array([n_a, n_b])).sum()
    hs_cs = (1.0 / np.arange(big_n - 1, 1, -1)).cumsum()
    h = hs_cs[-1] + 1
    g = (hs_cs / np.arange(2, big_n)).sum()
    a = (4 * g - 6) * (k - 1) + (10 - 6 * g) * hh
    b = (2 * g - 4) * k**2 + 8 * h * k + (2 * g - 14 * h - 4) * hh - 8 * h + 4 * g - 6
    c = (6 * h + 2 * g - 2) * k**2 + (4 * h - 4 * g + 6) * k + (2 * h - 6) * hh + 4 * h
    d = (2 * h + 6) * k**2 - 4 * h * k
    sigmasq = (a * big_n**3 + b * big_n**2 + c * big_n + d) / (
        (big_n - 1.0) * (big_n - 2.0) * (big_n - 3.0)
    )
    m = k - 1
    a2 = float((a2kn - m) / math.sqrt(sigmasq))
    critical = _AD_B0 + _AD_B1 / math.sqrt(m) + _AD_B2 / m
    if a2 < critical.min():
        p = float(_AD_SIG.max())
    elif a2 > critical.max():
        p = float(_AD_SIG.min())
    else:
        fit = np.polyfit(critical, np.log(_AD_SIG), 2)
        p = math.exp(np.polyval(fit, a2))
    return Stat(a2, p)


def anderson_ksamp(a: np.ndarray, b: np.ndarray, *, assume_sorted: bool = False) -> Stat:
    """Two-sample Anderson-Darling test (= scipy.stats.anderson_ksamp, midrank)."""
    return anderson_from_merged(
        merge_sorted(_as_sorted(a, assume_sorted), _as_sorted(b, assume_sorted))
    )


def _cvm_cdf_inf(x: float) -> float:
    """CDF of the limiting Cramér-von Mises distribution (Csörgő & Faraway 1996, eq. 1.2)."""
    x_arr = np.float64(x)
    total, k = np.float64(0.0), 0
    while True:
        u = math.exp(special.gammaln(k + 0.5) - special.gammaln(k + 1)) / (
            np.pi**1.5 * np.sqrt(x_arr)
        )
        y = 4 * k + 1
        q = y**2 / (16 * x_arr)
        term = u * math.sqrt(y) * np.exp(-q) * special.kv(0.25, q)
        total = total + term
        if abs(term) < 1e-7:
            return float(total)
        k += 1


def _cvm_exact_sf(u: float, m: int, n: int) -> float:
    """P(U >= u) over all arrangements of samples of sizes m and n (Xiao et al. 2006).

    The statistic is tracked on the integer scale zeta = sum over the lattice path of
    (a*v - b*w)^2, a = lcm/m, b = lcm/n; distributions are sparse (value, count) arrays.
    """
    lcm = math.lcm(m, n)
    a, b = lcm // m, lcm // n
    mn = m * n
    zeta = lcm**2 * (m + n) * (6 * u - mn * (4 * mn - 1)) // (6 * mn**2)
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0))
    row: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(1, dtype=np.int64), np.ones(1))]
    row += [empty] * m
    for w in range(n + 1):
        new_row = []
        carry = empty
        for v in range(m + 1):
            vals = np.concatenate((carry[0], row[v][0]))
            counts = np.concatenate((carry[1], row[v][1]))
            uniq, inverse = np.unique(vals, return_inverse=True)
            carry = (uniq + (a * v - b * w) ** 2, np.bincount(inverse, weights=counts))
            new_row.append(carry)
        row = new_row
    values, freq = row[m]
    return float(freq[values >= zeta].sum() / math.comb(m + n, m))


def cramervonmises_from_merged(merged: Merged) -> Stat:
    """Two-sample Cramér-von Mises test (= scipy.stats.cramervonmises_2samp, method="auto")."""
    nx, ny = merged.n_a, merged.n_b
    if nx < 2 or ny < 2:
        raise ValueError("the Cramér-von Mises test needs at least two values in each sample")
    below = np.cumsum(merged.ties) - merged.ties
    midrank = below + (merged.ties + 1) / 2.0
    u = 0.0
    for count, size in ((merged.count_a, nx), (merged.count_b, ny)):
        ranks = np.repeat(midrank, np.diff(count, prepend=0))
        u += size * np.sum((ranks - np.arange(1, size + 1, dtype=np.float64)) ** 2)
    k, big_n = nx * ny, nx + ny
    t = float(u / (k * big_n) - (4 * k - 1) / (6 * big_n))
    if max(nx, ny) <= CVM_EXACT_MAX_N:
        return Stat(t, _cvm_exact_sf(float(u), nx, ny))
    et = (1 + 1 / big_n) / 6
    vt = (big_n + 1) * (4 * k * big_n - 3 * (nx**2 + ny**2) - 2 * k)
    vt = vt / (45 * big_n**2 * 4 * k)
    tn = 1 / 6 + (t - et) / math.sqrt(45 * vt)
    p = 1.0 if tn < 0.003 else max(1.0 - _cvm_cdf_inf(tn), 0.0)
    return Stat(t, p)


def cramervonmises_2samp(a: np.ndarray, b: np.ndarray, *, assume_sorted: bool = False) -> Stat:
    """Two-sample Cramér-von Mises test (= scipy.stats.cramervonmises_2samp)."""
    return cramervonmises_from_merged(
        merge_sorted(_as_sorted(a, assume_sorted), _as_sorted(b, assume_sorted))
    )


# --- binned statistics -------------------------------------------------------------------------


def sturges_edges(low: float, high: float, size: int, *, integer: bool = False) -> np.ndarray:
    """Bin edges of ``np.histogram_bin_edges(pooled, "sturges")`` from min, max and size.

    ``integer`` says the pooled data has an integer dtype (bins are then at least 1 wide).
    """
    if low == high:
        low, high = low - 0.5, high + 0.5
        bins = 1
    else:
        width = (high - low) / (np.log2(size) + 1.0)
        if integer and width < 1:
            width = 1
        bins = int(np.ceil((high - low) / width)) if width else 1
    return np.linspace(low, high, max(bins, 1) + 1)


def histogram_sorted(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin of sorted data (= np.histogram with these edges; last bin closed)."""
    cum = np.concatenate(
        (
            np.searchsorted(sorted_values, edges[:-1], side="left"),
            np.searchsorted(sorted_values, edges[-1:], side="right"),
        )
    )
    return np.diff(cum)


def fill_zero_shares(shares: np.ndarray) -> np.ndarray:
    """Evidently's zero fill before PSI: empty bins get min(non-zero)/1e6, or 1e-4."""
    shares = np.array(shares, dtype=np.float64)
    nonzero = shares[shares != 0]
    if nonzero.size == 0:
        return shares
    smallest = nonzero.min()
    shares[shares == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return shares


def psi(reference_shares: np.ndarray, current_shares: np.ndarray) -> float:
    """Population stability index of two share vectors (zero bins filled as Evidently)."""
    ref = fill_zero_shares(reference_shares)
    cur = fill_zero_shares(current_shares)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def jensen_shannon(p: np.ndarray, q: np.ndarray, base: float | None = None) -> float:
    """Jensen-Shannon distance (= scipy.spatial.distance.jensenshannon; natural log default,
    0 instead of NaN when rounding makes the divergence of equal inputs slightly negative)."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p = p / np.sum(p)
    q = q / np.sum(q)
    mid = (p + q) / 2.0
    js = np.sum(special.rel_entr(p, mid)) + np.sum(special.rel_entr(q, mid))
    if base is not None:
        js /= np.log(base)
    # rounding can leave identical distributions at -1e-17, where SciPy returns NaN
    return float(np.sqrt(max(js, 0.0) / 2.0))


def chisquare(observed: np.ndarray, expected: np.ndarray) -> Stat:
    """Pearson's chi-square goodness of fit (= scipy.stats.chisquare, ddof 0).

    A category expected 0 times but observed is infinitely surprising (statistic inf,
    p-value 0); one expected and observed 0 times adds nothing. With fewer than two
    categories there is nothing to test: statistic 0, p-value 1.
    """
    obs = np.asarray(observed, dtype=np.float64)
    exp = np.asarray(expected, dtype=np.float64)
    if obs.size < 2:
        return Stat(0.0, 1.0)
    positive = exp > 0
    if np.any(~positive & (obs > 0)):
        return Stat(math.inf, 0.0)
    terms = (obs[positive] - exp[positive]) ** 2 / exp[positive]
    statistic = float(terms.sum())
    return Stat(statistic, float(stats.chi2.sf(statistic, obs.size - 1)))


def z_test_proportions(hits_a: int, n_a: int, hits_b: int, n_b: int) -> Stat:
    """Two-sided z-test for two proportions with the pooled variance.

    Both proportions 0 or both 1 (no variance): z 0, p-value 1.
    """
    p_a, p_b = hits_a / n_a, hits_b / n_b
    pooled = (p_a * n_a + p_b * n_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1.0 / n_a + 1.0 / n_b)
    if variance <= 0:
        return Stat(0.0, 1.0)
    z = (p_a - p_b) / math.sqrt(variance)
    return Stat(z, float(2 * stats.norm.sf(abs(z))))
