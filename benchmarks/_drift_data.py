"""Deterministic data for the drift benchmark: reference.parquet and current.parquet.

Each column is built to land at a chosen *population* score of Evidently's default rule
(normed Wasserstein for numerical columns with more than 5 distinct values, Jensen-Shannon
distance, natural log, for categorical and low-cardinality numerical columns; both with the
threshold 0.1). Some columns are far from the threshold, drifted or not, and some sit close
to it on either side (0.9x-1.1x), so that a different binning, normalisation, log base,
NaN/inf handling or method choice flips a verdict. The sample scores differ from the
population ones by sampling noise; both libraries see the same sample.

    python benchmarks/_drift_data.py SCENARIO ROWS OUT_DIR     # writes the files + spec.json

Scenarios: ``wide25`` (20 numerical + 5 categorical, hand-designed) and ``cols100``
(80 numerical + 20 categorical, drawn from the same templates with a seeded generator).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20261128
VERSION = 3  # bump when the designs change: the driver caches data by (scenario, rows, version)
THRESHOLD = 0.1
E_ABS_NORMAL = math.sqrt(2 / math.pi)  # E|Z| for Z ~ N(0, 1)

# A column: name -> (kind, intent, builder(rng, n, side) -> values); side 0 = reference.
Builder = Callable[[np.random.Generator, int, int], np.ndarray]
Column = tuple[str, str, str, Builder]


# ---------------------------------------------------------------- population scores


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance with the natural log, as scipy computes it by default."""
    p = np.asarray(p, float) / np.sum(p)
    q = np.asarray(q, float) / np.sum(q)
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log(a[mask] / m[mask])))

    return math.sqrt(max((kl(p) + kl(q)) / 2, 0.0))


def mix_for_js(p: np.ndarray, r: np.ndarray, target: float) -> np.ndarray:
    """q = (1 - w) p + w r with JS(p, q) == target (bisection on w; JS grows with w)."""
    lo, hi = 0.0, 1.0
    if js_distance(p, r) < target:  # too close to p: aim at the least likely value instead
        r = np.eye(len(p))[int(np.argmin(p))]
    for _ in range(80):
        w = (lo + hi) / 2
        if js_distance(p, (1 - w) * p + w * r) < target:
            lo = w
        else:
            hi = w
    w = (lo + hi) / 2
    return (1 - w) * p + w * r


# ---------------------------------------------------------------- column templates


def normal_shift(mean: float, std: float, score: float, nan_share=(0.0, 0.0)) -> Builder:
    """N(mean, std) vs the same shifted by score*std: normed Wasserstein == score."""

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        x = rng.normal(mean + side * score * std, std, n)
        return _holes(rng, x, nan_share[side])

    return build


def normal_scale(std: float, score: float) -> Builder:
    """N(0, std) vs N(0, s*std) with |s - 1| E|Z| == score."""
    s = 1 + score / E_ABS_NORMAL

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        return rng.normal(0.0, std * (s if side else 1.0), n)

    return build


def lognormal_shift(sigma: float, score: float) -> Builder:
    """Skewed: lognormal vs the same shifted by score * its std."""
    std = math.sqrt((math.exp(sigma**2) - 1) * math.exp(sigma**2))

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        return rng.lognormal(0.0, sigma, n) + side * score * std

    return build


def exponential_scale(score: float) -> Builder:
    """Exp(1) vs Exp(1 + score): W1 == score (stochastically ordered), std(ref) == 1."""

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        return rng.exponential(1.0 + side * score, n)

    return build


def uniform_shift(width: float, score: float) -> Builder:
    """U(0, width) vs the same shifted by score * width/sqrt(12)."""

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        return rng.uniform(0.0, width, n) + side * score * width / math.sqrt(12)

    return build


def poisson_shift(lam: float, score: float) -> Builder:
    """Integer counts with many distinct values: W1 == |lam1 - lam0|, std == sqrt(lam0)."""

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        return rng.poisson(lam + side * score * math.sqrt(lam), n).astype(np.int64)

    return build


def bimodal_weight(score: float) -> Builder:
    """Mixture 0.5 N(-2, 1) + 0.5 N(2, 1) vs weight 0.5 + dw: W1 = 4 dw, std = sqrt(5)."""
    dw = score * math.sqrt(5) / 4

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        hi = rng.random(n) < 0.5 + side * dw
        return rng.normal(np.where(hi, 2.0, -2.0), 1.0)

    return build


def integer_age(score: float) -> Builder:
    """Integers 18-90 (73 distinct values); current shifted by score*std, clipped."""

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        x = rng.normal(45 + side * score * 14, 14, n)
        return np.clip(np.round(x), 18, 90).astype(np.int64)

    return build


def low_cardinality(values, p, score: float, r=None, dtype=np.float64, nan_share=0.0) -> Builder:
    """Few distinct numbers with probabilities p vs a mix towards r at JS == score."""
    values = np.asarray(values, dtype=dtype)
    p = np.asarray(p, float) / np.sum(p)
    r = np.asarray(r if r is not None else p[::-1], float)
    q = mix_for_js(p, r / r.sum(), score) if score > 0 else p

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        x = rng.choice(values, n, p=q if side else p)
        return _holes(rng, x, nan_share)

    return build


def categories(k: int, score: float, *, zipf=1.1, new=0, nan_share=(0.0, 0.0), codes=False):
    """k categories, Zipf-like shares; current mixes towards a reversed ranking at JS == score.

    ``new`` extra categories exist only in current (folded into the mix target).
    ``codes`` stores integer codes instead of strings (declared categorical all the same).
    """
    p = 1 / np.arange(1, k + 1) ** zipf
    p = np.append(p / p.sum(), np.zeros(new))
    r = np.append(p[:k][::-1], np.full(new, 0.02) if new else [])
    q = mix_for_js(p, r / r.sum(), score) if score > 0 else p
    names = (
        np.arange(k + new, dtype=np.int64)
        if codes
        else np.array([f"cat_{i:03d}" for i in range(k + new)], dtype=object)
    )

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        x = rng.choice(names, n, p=q if side else p)
        if nan_share[side]:
            x = x.astype(object)
            x[rng.random(n) < nan_share[side]] = None
        return x

    return build


def _holes(rng: np.random.Generator, x: np.ndarray, share: float) -> np.ndarray:
    """Turn a share of the values into NaN."""
    if share:
        x = x.astype(np.float64)
        hole = rng.random(len(x)) < share
        x[hole] = np.nan
    return x


def with_infinities(inner: Builder, share: float) -> Builder:
    """Some +inf and -inf among the values (Evidently drops them like NaN)."""

    def build(rng: np.random.Generator, n: int, side: int) -> np.ndarray:
        x = inner(rng, n, side).astype(np.float64)
        u = rng.random(n)
        x[u < share / 2] = np.inf
        x[(u >= share / 2) & (u < share)] = -np.inf
        return x

    return build


# ---------------------------------------------------------------- scenarios

T = THRESHOLD


def wide25() -> list[Column]:
    """20 numerical + 5 categorical columns, hand-designed."""
    num: list[Column] = [
        ("n_normal_stable", "num", "N(0,1), no drift", normal_shift(0, 1, 0.0)),
        ("n_lognormal_stable", "num", "lognormal, no drift", lognormal_shift(1.0, 0.0)),
        ("n_shift_big", "num", "mean +0.5 sd", normal_shift(0, 1, 0.5)),
        ("n_shift_below", "num", "mean +0.094 sd (W 0.94x thr)", normal_shift(10, 2, 0.94 * T)),
        ("n_shift_above", "num", "mean +0.106 sd (W 1.06x thr)", normal_shift(-5, 3, 1.06 * T)),
        ("n_shift_edge", "num", "mean +0.0985 sd (W 0.985x thr)", normal_shift(0, 1, 0.985 * T)),
        ("n_scale_big", "num", "sd x1.5", normal_scale(1, 0.4)),
        ("n_scale_below", "num", "sd x1.11 (W 0.9x thr)", normal_scale(5, 0.9 * T)),
        ("n_scale_above", "num", "sd x1.14 (W 1.1x thr)", normal_scale(5, 1.1 * T)),
        ("n_lognormal_above", "num", "skewed, shift W 1.08x thr", lognormal_shift(0.8, 1.08 * T)),
        ("n_exp_below", "num", "Exp scale x1.09 (W 0.9x thr)", exponential_scale(0.9 * T)),
        ("n_uniform_stable", "num", "U(0,100), no drift", uniform_shift(100, 0.0)),
        ("n_age_int", "num", "ints 18-90, shift W 1.1x thr", integer_age(1.1 * T)),
        ("n_poisson_below", "num", "Poisson(4) counts, W 0.92x thr", poisson_shift(4, 0.92 * T)),
        ("n_bimodal_above", "num", "mixture weight, W 1.1x thr", bimodal_weight(1.1 * T)),
        (
            "n_nan_stable",
            "num",
            "5% NaN ref, 25% NaN cur, no drift",
            normal_shift(0, 1, 0.0, nan_share=(0.05, 0.25)),
        ),
        (
            "n_inf_shift_below",
            "num",
            "0.2% +-inf, shift W 0.93x thr",
            with_infinities(normal_shift(3, 1, 0.93 * T), 0.002),
        ),
        (
            "n_binary_below",
            "num",
            "0/1 (JS; base-2 log would be ~1.08x thr)",
            low_cardinality([0, 1], [0.7, 0.3], 0.09, dtype=np.int64),
        ),
        (
            "n_card5_above",
            "num",
            "5 distinct floats -> JS 1.1x thr",
            low_cardinality(
                [0.5, 1.5, 2.5, 3.5, 4.5],
                [0.1, 0.2, 0.4, 0.2, 0.1],
                1.1 * T,
                r=[0.3, 0.1, 0.2, 0.1, 0.3],
            ),
        ),
        (
            "n_card6_wass",
            "num",
            "6 distinct ints -> Wasserstein; JS would drift, W does not",
            low_cardinality(
                range(6),
                [0.3, 0.05, 0.15, 0.15, 0.05, 0.3],
                0.15,
                r=[0.05, 0.3, 0.15, 0.15, 0.3, 0.05],
                dtype=np.int64,
            ),
        ),
    ]
    cat: list[Column] = [
        ("c_stable", "cat", "10 categories, no drift", categories(10, 0.0)),
        (
            "c_codes_big",
            "cat",
            "int codes, 6 categories, JS 3x thr",
            categories(6, 0.3, codes=True),
        ),
        ("c_below", "cat", "20 categories, JS 0.92x thr", categories(20, 0.92 * T)),
        ("c_above", "cat", "4 categories, JS 1.06x thr", categories(4, 1.06 * T, zipf=0.6)),
        (
            "c_new_nan",
            "cat",
            "200 categories + 5 new in current, 2%/6% missing, JS 0.95x thr",
            categories(200, 0.95 * T, new=5, nan_share=(0.02, 0.06)),
        ),
    ]
    return num + cat


def cols100() -> list[Column]:
    """80 numerical + 20 categorical, templates and scores drawn with a seeded generator."""
    rng = np.random.default_rng([SEED, 100])
    # score multiples of the threshold: 0 (no drift), near either side, or far
    levels = [0.0, 0.0, 0.3, 0.5, 0.9, 0.95, 1.05, 1.1, 2.0, 4.0]
    cols: list[Column] = []
    for i in range(80):
        f = float(rng.choice(levels)) * T
        t = i % 9
        if t == 0:
            b, d = normal_shift(rng.normal(0, 10), rng.uniform(0.5, 5), f), "normal shift"
        elif t == 1:
            b, d = normal_scale(rng.uniform(0.5, 5), f), "normal scale"
        elif t == 2:
            b, d = lognormal_shift(rng.uniform(0.3, 1.2), f), "lognormal shift"
        elif t == 3:
            b, d = uniform_shift(rng.uniform(1, 1000), f), "uniform shift"
        elif t == 4:
            b, d = poisson_shift(rng.uniform(3, 50), f), "poisson shift"
        elif t == 5:
            b, d = integer_age(f), "integer age shift"
        elif t == 6:
            nan = (rng.uniform(0, 0.1), rng.uniform(0, 0.3))
            b, d = normal_shift(0, 1, f, nan_share=nan), "normal shift with NaN"
        elif t == 7:
            k = int(rng.integers(2, 6))  # 2-5 distinct values: JS
            p = rng.dirichlet(np.full(k, 2.0))
            b = low_cardinality(np.arange(k) * 1.5, p, f, r=rng.dirichlet(np.full(k, 0.5)))
            d = f"{k} distinct numbers (JS)"
        else:
            b, d = exponential_scale(f), "exponential scale"
        cols.append((f"n{i:02d}", "num", f"{d}, score {f / T:.2f}x thr", b))
    for i in range(20):
        f = float(rng.choice(levels)) * T
        k = int(rng.choice([2, 3, 5, 10, 30, 100]))
        new = int(rng.integers(0, 3)) if k > 5 else 0
        nan = (0.0, 0.0) if i % 4 else (0.01, 0.03)
        b = categories(k, f, zipf=rng.uniform(0.3, 1.5), new=new, nan_share=nan)
        cols.append((f"c{i:02d}", "cat", f"{k} categories (+{new} new), {f / T:.2f}x thr", b))
    return cols


SCENARIOS: dict[str, Callable[[], list[Column]]] = {"wide25": wide25, "cols100": cols100}


def generate(scenario: str, rows: int, out: Path) -> dict:
    """Write reference.parquet, current.parquet and spec.json into out; return the spec."""
    out.mkdir(parents=True, exist_ok=True)
    columns = SCENARIOS[scenario]()
    for side, name in ((0, "reference"), (1, "current")):
        arrays = {}
        for idx, (col, _kind, _intent, build) in enumerate(columns):
            rng = np.random.default_rng([SEED, rows, idx, side])
            arrays[col] = pa.array(build(rng, rows, side), from_pandas=True)
        pq.write_table(pa.table(arrays), out / f"{name}.parquet")
    spec = {
        "scenario": scenario,
        "rows": rows,
        "version": VERSION,
        "numerical": [c for c, k, _, _ in columns if k == "num"],
        "categorical": [c for c, k, _, _ in columns if k == "cat"],
        "intent": {c: intent for c, _, intent, _ in columns},
    }
    (out / "spec.json").write_text(json.dumps(spec, indent=1))
    return spec


if __name__ == "__main__":
    generate(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
