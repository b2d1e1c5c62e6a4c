"""detect_drift: Evidently's default rules, SciPy-equal scores, overrides and findings."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from loopml.errors import ValidationError
from loopml.monitoring._drift import METHODS, detect_drift


def rel(x: float, y: float) -> float:
    return abs(x - y) / max(abs(x), abs(y), 1e-300)


def frames(n_ref: int, n_cur: int, shift: float, seed: int = 0) -> tuple[pd.DataFrame, ...]:
    """Numerical, categorical, binary, low-cardinality and integer-code columns."""
    rng = np.random.default_rng(seed)

    def side(n: int, s: float) -> pd.DataFrame:
        p_cat = np.array([0.4 - s / 2, 0.3, 0.2, 0.1 + s / 2])
        return pd.DataFrame(
            {
                "num": rng.normal(10 + 3 * s, 3, n),
                "cat": rng.choice(np.array(["a", "b", "c", "d"], dtype=object), n, p=p_cat),
                "flag": rng.random(n) < 0.3 + s,
                "low": rng.choice(
                    [0.5, 1.5, 2.5, 3.5], n, p=[0.25 + s / 4, 0.25, 0.25, 0.25 - s / 4]
                ),
                "code": rng.choice(
                    [1, 2, 3, 4, 5, 6],
                    n,
                    p=[0.1 + s / 2, 0.2, 0.2, 0.2, 0.15 - s / 4, 0.15 - s / 4],
                ),
            }
        )

    return side(n_ref, 0.0), side(n_cur, shift)


def by_name(result):
    return {c.column: c for c in result.columns}


# --- Evidently's default rule ----------------------------------------------------------------


def test_small_reference_uses_p_value_tests():
    ref, cur = frames(1000, 800, 0.0)
    cols = by_name(detect_drift(ref, cur))
    assert cols["num"].method == "ks" and cols["num"].kind == "numerical"
    assert cols["cat"].method == "chisquare" and cols["cat"].kind == "categorical"
    assert cols["flag"].method == "z" and cols["flag"].kind == "categorical"
    assert cols["low"].method == "chisquare" and cols["low"].kind == "numerical"
    assert cols["code"].method == "chisquare" and cols["code"].kind == "categorical"
    for c in cols.values():
        assert not c.higher_is_drift and c.threshold == 0.05 and c.p_value == c.score


def test_large_reference_uses_distances():
    ref, cur = frames(1001, 800, 0.0)
    cols = by_name(detect_drift(ref, cur))
    assert cols["num"].method == "wasserstein"
    assert {cols[c].method for c in ("cat", "flag", "low", "code")} == {"jensenshannon"}
    for c in cols.values():
        assert c.higher_is_drift and c.threshold == 0.1 and c.p_value is None


def test_rule_counts_reference_values_after_dropping_missing_ones():
    ref, cur = frames(1100, 500, 0.0)
    ref.loc[:149, "num"] = np.nan  # 950 values left -> still a "small" reference
    ref.loc[:20, "cat"] = None
    cols = by_name(detect_drift(ref, cur))
    assert cols["num"].method == "ks" and cols["num"].reference_count == 950
    assert cols["cat"].method == "jensenshannon" and cols["cat"].reference_count == 1079


def test_five_pooled_values_are_low_cardinality_six_are_not():
    rng = np.random.default_rng(1)
    five = pd.DataFrame({"x": rng.integers(0, 5, 3000).astype(float)})
    six_current = pd.DataFrame({"x": rng.integers(0, 6, 2000).astype(float)})
    assert detect_drift(five, five.iloc[:2000]).columns[0].method == "jensenshannon"
    assert detect_drift(five, six_current).columns[0].method == "wasserstein"
    small = five.iloc[:500]
    assert detect_drift(small, small).columns[0].method == "chisquare"
    assert detect_drift(small, six_current).columns[0].method == "ks"
    binary = pd.DataFrame({"x": rng.integers(0, 2, 500).astype(float)})
    assert detect_drift(binary, binary).columns[0].method == "z"


def test_integer_columns_with_few_current_values_are_categorical_like_evidently():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({"i": rng.integers(0, 30, 2000)})
    few = pd.DataFrame({"i": rng.integers(0, 10, 2000)})
    many = pd.DataFrame({"i": rng.integers(0, 30, 2000)})
    assert detect_drift(ref, few).columns[0].kind == "categorical"
    assert detect_drift(ref, many).columns[0].kind == "numerical"
    declared = detect_drift(ref, few, numerical=["i"]).columns[0]
    assert declared.kind == "numerical" and declared.method == "wasserstein"
    floats = pd.DataFrame({"i": rng.integers(0, 3, 2000).astype(float)})
    assert detect_drift(floats, floats).columns[0].kind == "numerical"


# --- scores equal SciPy on the same inputs ------------------------------------------------


def test_scores_equal_scipy_on_the_cleaned_data():
    ref, cur = frames(900, 700, 0.15, seed=4)
    ref.loc[::17, "num"] = np.nan
    cur.loc[::13, "num"] = np.inf
    cols = by_name(detect_drift(ref, cur))
    r = ref["num"].dropna().to_numpy()
    c = cur["num"].to_numpy()
    c = c[np.isfinite(c)]
    ks = stats.ks_2samp(r, c)
    assert rel(cols["num"].statistic, ks.statistic) < 1e-9
    assert rel(cols["num"].p_value, ks.pvalue) < 1e-9
    keys = sorted(set(ref["cat"]) | set(cur["cat"]))
    ref_counts = ref["cat"].value_counts().reindex(keys, fill_value=0).to_numpy()
    cur_counts = cur["cat"].value_counts().reindex(keys, fill_value=0).to_numpy()
    chi = stats.chisquare(cur_counts, ref_counts * len(cur) / len(ref))
    assert rel(cols["cat"].statistic, chi.statistic) < 1e-9
    assert rel(cols["cat"].p_value, chi.pvalue) < 1e-9
    p1, p2 = ref["flag"].mean(), cur["flag"].mean()
    pooled = (ref["flag"].sum() + cur["flag"].sum()) / (len(ref) + len(cur))
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / len(ref) + 1 / len(cur)))
    assert rel(abs(cols["flag"].statistic), abs(z)) < 1e-9
    assert rel(cols["flag"].p_value, 2 * stats.norm.sf(abs(z))) < 1e-9

    big_ref, big_cur = frames(20_000, 15_000, 0.05, seed=5)
    cols = by_name(detect_drift(big_ref, big_cur))
    r, c = big_ref["num"].to_numpy(), big_cur["num"].to_numpy()
    expected = stats.wasserstein_distance(r, c) / np.std(r)
    assert rel(cols["num"].score, expected) < 1e-9
    assert rel(cols["num"].statistic, stats.wasserstein_distance(r, c)) < 1e-9
    keys = sorted(set(big_ref["cat"]) | set(big_cur["cat"]))
    p = big_ref["cat"].value_counts().reindex(keys).to_numpy() / len(big_ref)
    q = big_cur["cat"].value_counts().reindex(keys).to_numpy() / len(big_cur)
    assert rel(cols["cat"].score, distance.jensenshannon(p, q)) < 1e-9


def evidently_fill(shares: np.ndarray) -> np.ndarray:
    """Empty bins get min(non-zero)/1e6 when that minimum is <= 1e-4, else 1e-4."""
    smallest = shares[shares > 0].min()
    return np.where(shares == 0, smallest / 1e6 if smallest <= 1e-4 else 1e-4, shares)


@pytest.mark.parametrize("method", ["wasserstein", "ks", "anderson"])
def test_discrete_columns_sorted_by_counting_give_the_same_scores(method):
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"age": rng.integers(18, 90, 40_000)})
    cur = pd.DataFrame({"age": np.append(rng.integers(20, 92, 30_001), [-0.0, 0.0])})
    col = detect_drift(ref, cur, numerical=["age"], methods={"age": method}).columns[0]
    r, c = ref["age"].to_numpy(float), cur["age"].to_numpy(float)
    if method == "wasserstein":
        assert rel(col.score, stats.wasserstein_distance(r, c) / np.std(r)) < 1e-9
    elif method == "ks":
        assert rel(col.p_value, stats.ks_2samp(r, c).pvalue) < 1e-9
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            expected = stats.anderson_ksamp([r, c], variant="midrank")
        assert rel(col.statistic, expected.statistic) < 1e-9


def test_psi_and_jensen_shannon_bin_numbers_with_sturges_on_the_pooled_data():
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 5000)})
    cur = pd.DataFrame({"x": rng.normal(0.2, 1.1, 4000)})
    pooled = np.concatenate([ref["x"], cur["x"]])
    edges = np.histogram_bin_edges(pooled, "sturges")
    p = np.histogram(ref["x"], edges)[0] / len(ref)
    q = np.histogram(cur["x"], edges)[0] / len(cur)
    js = detect_drift(ref, cur, methods={"x": "jensenshannon"}).columns[0]
    assert rel(js.score, distance.jensenshannon(p, q)) < 1e-9
    pf, qf = evidently_fill(p), evidently_fill(q)
    psi = detect_drift(ref, cur, methods={"x": "psi"}).columns[0]
    assert rel(psi.score, float(np.sum((pf - qf) * np.log(pf / qf)))) < 1e-9


def test_anderson_and_cramer_von_mises_equal_scipy():
    ref, cur = frames(3000, 2500, 0.05, seed=8)
    ad = detect_drift(ref, cur, columns=["num"], methods={"num": "anderson"}).columns[0]
    cvm = detect_drift(ref, cur, columns=["num"], methods={"num": "cramervonmises"}).columns[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = stats.anderson_ksamp([ref["num"], cur["num"]], variant="midrank")
    assert rel(ad.statistic, expected.statistic) < 1e-9 and rel(ad.score, expected.pvalue) < 1e-9
    expected = stats.cramervonmises_2samp(ref["num"], cur["num"])
    assert rel(cvm.statistic, expected.statistic) < 1e-9
    assert rel(cvm.score, expected.pvalue) < 1e-9
    assert ad.threshold == cvm.threshold == 0.1


# --- verdicts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n_ref,n_cur", [(600, 500), (20_000, 10_000)])
def test_known_drift_and_no_drift(n_ref, n_cur):
    ref, same = frames(n_ref, n_cur, 0.0, seed=10)
    result = detect_drift(ref, same)
    assert not any(c.drifted for c in result.columns), result.to_dict()
    assert not result.dataset_drift and result.drift_share == 0
    ref, shifted = frames(n_ref, n_cur, 0.6, seed=11)
    result = detect_drift(ref, shifted)
    assert all(c.drifted for c in result.columns), result.to_dict()
    assert result.dataset_drift and result.drift_share == 1.0
    assert result.metrics()["drift_share"] == 1.0


def test_dataset_drift_follows_the_share_threshold():
    ref, cur = frames(5000, 5000, 0.0, seed=12)
    cur["num"] = cur["num"] + 3  # 1 of 5 columns drifts
    result = detect_drift(ref, cur)
    assert result.drifted_count == 1 and result.drift_share == 0.2
    assert not result.dataset_drift
    assert detect_drift(ref, cur, share_threshold=0.2).dataset_drift


# --- overrides ----------------------------------------------------------------------------------


def test_methods_and_thresholds_can_be_overridden_per_column_and_for_all():
    ref, cur = frames(5000, 5000, 0.05, seed=13)
    result = detect_drift(
        ref,
        cur,
        methods={"num": "ks", "*": "psi"},
        thresholds={"num": 0.2, "*": 0.001},
    )
    cols = by_name(result)
    assert cols["num"].method == "ks" and cols["num"].threshold == 0.2
    assert {cols[c].method for c in ("cat", "flag", "low", "code")} == {"psi"}
    assert all(cols[c].threshold == 0.001 for c in ("cat", "flag", "low", "code"))
    # numerical-only methods given for "*" apply to the numerical columns only
    cols = by_name(detect_drift(ref, cur, methods={"*": "anderson"}))
    assert cols["num"].method == "anderson" and cols["low"].method == "anderson"
    assert cols["cat"].method == "jensenshannon"


def test_threshold_decides_the_verdict_on_the_same_score():
    ref, cur = frames(5000, 5000, 0.05, seed=14)
    score = detect_drift(ref, cur, columns=["num"]).columns[0].score
    assert detect_drift(ref, cur, columns=["num"], thresholds={"num": score}).columns[0].drifted
    above = np.nextafter(score, 1)
    assert not detect_drift(ref, cur, columns=["num"], thresholds={"num": above}).columns[0].drifted
    small_ref, small_cur = frames(300, 300, 0.1, seed=15)
    p = detect_drift(small_ref, small_cur, columns=["num"]).columns[0].p_value
    # Evidently's KS drifts when p <= threshold
    assert (
        detect_drift(small_ref, small_cur, columns=["num"], thresholds={"num": p})
        .columns[0]
        .drifted
    )
    below = np.nextafter(p, 0)
    verdict = detect_drift(small_ref, small_cur, columns=["num"], thresholds={"num": below})
    assert not verdict.columns[0].drifted


def test_every_method_runs_on_a_numerical_column():
    ref, cur = frames(2000, 1500, 0.5, seed=16)
    for method in METHODS:
        col = detect_drift(ref, cur, columns=["num"], methods={"num": method}).columns[0]
        assert col.method == method
        # the z-test compares the share of the smallest value: meaningless for a continuous column
        assert col.drifted or method == "z", method


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"methods": {"num": "kolmogorov"}}, r"'kolmogorov' is not a drift method.*'chisquare'"),
        ({"methods": {"nope": "ks"}}, r"methods\['nope'\]: no such column.*'num'"),
        ({"thresholds": {"nope": 0.1}}, r"thresholds\['nope'\]: no such column"),
        ({"thresholds": {"num": "high"}}, r"thresholds\['num'\] = 'high' is not a finite number"),
        ({"columns": ["num", "ghost"]}, r"columns: column\(s\) \['ghost'\] not in the reference"),
        ({"numerical": ["ghost"]}, r"numerical: column\(s\) \['ghost'\]"),
        ({"methods": {"cat": "ks"}}, r"methods\['cat'\] = 'ks' needs a numerical column"),
        ({"numerical": ["cat"]}, r"cat is declared numerical but the reference has dtype"),
        ({"share_threshold": 1.5}, r"share_threshold = 1.5 must be a number between 0 and 1"),
        ({"executor": "spark"}, r"executor = 'spark' is not supported"),
    ],
)
def test_bad_options_are_validation_errors_naming_the_value(kwargs, match):
    ref, cur = frames(100, 100, 0.0)
    with pytest.raises(ValidationError, match=match):
        detect_drift(ref, cur, **kwargs)


# --- findings ----------------------------------------------------------------------------------


def codes(column) -> set[str]:
    return {f.code for f in column.findings}


def test_missing_and_infinite_values_are_dropped_and_reported():
    ref, cur = frames(2000, 2000, 0.0, seed=20)
    cur.loc[:99, "num"] = np.nan
    cur.loc[100:149, "num"] = -np.inf
    col = by_name(detect_drift(ref, cur))["num"]
    assert col.current_missing == 150 and col.current_count == 1850
    finding = next(f for f in col.findings if f.code == "missing_values")
    assert finding.count == 150 and "7.5%" in finding.message


def test_constant_and_all_missing_columns_are_findings_not_crashes():
    ref = pd.DataFrame({"const": np.full(3000, 4.0), "gone": np.arange(3000.0), "c": ["x"] * 3000})
    cur = pd.DataFrame({"const": np.full(2000, 4.0), "gone": np.nan, "c": ["x"] * 2000})
    cols = by_name(detect_drift(ref, cur))
    assert "constant_column" in codes(cols["const"]) and not cols["const"].drifted
    assert cols["const"].method == "jensenshannon" and cols["const"].score == 0.0
    assert "all_missing" in codes(cols["gone"])
    assert math.isnan(cols["gone"].score) and not cols["gone"].drifted
    assert cols["gone"].current_count == 0 and cols["gone"].current_missing == 2000
    assert "constant_column" in codes(cols["c"]) and cols["c"].score == 0.0
    json.dumps(detect_drift(ref, cur).to_dict())  # NaN scores serialise as null


def test_empty_window_reports_every_column_without_a_verdict():
    ref, cur = frames(2000, 10, 0.0)
    result = detect_drift(ref, cur.iloc[:0])
    assert [c.column for c in result.columns] == list(ref.columns)
    assert [f.code for f in result.findings] == ["empty_window"]
    assert not any(c.drifted for c in result.columns) and not result.dataset_drift
    assert all(math.isnan(c.score) and c.current_count == 0 for c in result.columns)
    assert result.to_dict()["columns"][0]["score"] is None
    no_columns = detect_drift(ref, pd.DataFrame())
    assert len(no_columns.columns) == 5 and no_columns.findings[0].code == "empty_window"


def test_unseen_categories_are_listed():
    rng = np.random.default_rng(21)
    ref = pd.DataFrame({"c": rng.choice(["a", "b"], 3000)})
    cur = pd.DataFrame(
        {"c": np.concatenate([rng.choice(["a", "b"], 2900), ["new1"] * 70, ["new2"] * 30])}
    )
    col = detect_drift(ref, cur).columns[0]
    finding = next(f for f in col.findings if f.code == "unseen_categories")
    assert finding.examples == ("new1", "new2") and finding.count == 2
    assert "100 rows" in finding.message
    small = detect_drift(ref.iloc[:500], cur).columns[0]  # chi-square: an unseen category is drift
    assert small.method == "chisquare" and small.p_value == 0.0 and small.drifted


def test_missing_unexpected_and_unsupported_columns_are_result_findings():
    ref, cur = frames(2000, 2000, 0.0)
    ref["when"] = pd.Timestamp("2026-01-01")
    cur = cur.drop(columns=["cat"]).assign(extra=1)
    result = detect_drift(ref, cur)
    found = {(f.code, f.column) for f in result.findings}
    assert found == {
        ("missing_column", "cat"),
        ("unexpected_column", "extra"),
        ("unsupported_column", "when"),
    }
    assert "cat" not in by_name(result) and "when" not in by_name(result)


def test_type_mismatch_in_current_is_coerced_and_reported():
    ref = pd.DataFrame({"x": np.arange(2000.0)})
    cur = pd.DataFrame({"x": [str(v) for v in range(1990)] + ["oops"] * 10})
    col = detect_drift(ref, cur).columns[0]
    assert "type_mismatch" in codes(col) and col.current_missing == 10


# --- distributions for reports -------------------------------------------------------------


def test_distributions_share_edges_or_name_categories():
    ref, cur = frames(4000, 3000, 0.1, seed=22)
    cols = by_name(detect_drift(ref, cur))
    num = cols["num"].distribution
    assert len(num.edges) == 31 and num.categories is None
    assert sum(num.reference_counts) == 4000 and sum(num.current_counts) == 3000
    assert num.edges[0] == min(ref["num"].min(), cur["num"].min())
    cat = cols["cat"].distribution
    assert set(cat.categories) == {"a", "b", "c", "d"} and sum(cat.reference_counts) == 4000
    rng = np.random.default_rng(23)
    many = pd.DataFrame({"c": rng.integers(0, 100, 5000).astype(str)})
    dist = detect_drift(many, many).columns[0].distribution
    assert len(dist.categories) == 31 and dist.categories[-1] == "other"
    assert sum(dist.current_counts) == 5000


# --- executors ---------------------------------------------------------------------------------


def test_dask_executor_gives_identical_results():
    from distributed import LocalCluster

    ref, cur = frames(3000, 2000, 0.1, seed=30)
    local = detect_drift(ref, cur)
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None, protocol="tcp"
    ) as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        remote = detect_drift(ref, cur, executor=f"dask://{address}")
    assert remote.to_dict() == local.to_dict()
