"""Drift without raw reference data: stored model profiles and mergeable Parquet sketches."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from loopml.errors import ValidationError
from loopml.models._profile import PROFILE_VERSION, QUANTILES, profile_frame
from loopml.monitoring._drift import detect_drift
from loopml.monitoring._reference import drift_from_profile
from loopml.monitoring._sketch import (
    ColumnSketch,
    drift_from_sketches,
    merge,
    sketch_parquet,
)


def window(n: int, shift: float, seed: int) -> pd.DataFrame:
    """Columns of every shape a model sees: normal, skewed, counts, categories, codes, flags."""
    rng = np.random.default_rng(seed)
    cats = np.array(["north", "south", "east", "west"], dtype=object)
    return pd.DataFrame(
        {
            "normal": rng.normal(50 + 10 * shift, 10, n),
            "skewed": rng.lognormal(0.6 * shift, 1.0, n),
            "counts": rng.poisson(30 + 8 * shift, n).astype(float),
            "region": rng.choice(cats, n, p=[0.4 - shift / 2, 0.3, 0.2, 0.1 + shift / 2]),
            "code": rng.choice([1, 2, 3, 4], n, p=[0.25 + shift / 2, 0.25, 0.25, 0.25 - shift / 2]),
            "flag": rng.random(n) < 0.3 + shift,
        }
    )


def same_verdicts(a, b) -> None:
    for x, y in zip(a.columns, b.columns, strict=True):
        assert (x.column, x.kind, x.method) == (y.column, y.kind, y.method)
        assert x.drifted == y.drifted, (x.column, x.score, y.score)


# --- the stored profile ---------------------------------------------------------------------


def test_profile_version_2_keeps_fine_quantiles_histogram_and_value_counts():
    data = window(5000, 0.0, seed=1)
    profile = json.loads(json.dumps(profile_frame(data)))
    assert profile["version"] == PROFILE_VERSION == 2 and profile["rows"] == 5000
    normal = profile["columns"]["normal"]
    assert len(normal["quantiles"]) == len(QUANTILES) == 109
    assert normal["quantiles"]["0.5"] == pytest.approx(data["normal"].median())
    assert normal["quantiles"]["0.999"] == pytest.approx(np.quantile(data["normal"], 0.999))
    assert len(normal["histogram"]["counts"]) == 50 and sum(normal["histogram"]["counts"]) == 5000
    assert normal["dtype"] == "float64" and normal["finite"] == 5000 and "values" not in normal
    code = profile["columns"]["code"]
    assert (
        code["values"]["values"] == [1.0, 2.0, 3.0, 4.0] and sum(code["values"]["counts"]) == 5000
    )
    assert code["dtype"] == "int64"
    assert profile["columns"]["region"]["kind"] == "categorical"


@pytest.mark.parametrize("n_ref", [800, 40_000])
@pytest.mark.parametrize("shift", [0.0, 0.4])
def test_profile_verdicts_agree_with_raw_data(n_ref, shift):
    reference = window(n_ref, 0.0, seed=3)  # seeds where the raw verdicts are clear
    current = window(3000, shift, seed=5)
    raw = detect_drift(reference, current)
    stored = drift_from_profile(json.loads(json.dumps(profile_frame(reference))), current)
    same_verdicts(raw, stored)
    assert all(c.drifted for c in raw.columns) == (shift > 0)
    assert any(c.drifted for c in raw.columns) == (shift > 0)
    assert stored.reference_rows == n_ref and stored.current_rows == 3000
    for x, y in zip(raw.columns, stored.columns, strict=True):
        if x.kind == "categorical" or x.column == "counts":  # exact counts are stored
            assert y.score == pytest.approx(x.score, rel=1e-9, abs=1e-12)


def test_profile_scores_track_raw_scores_near_the_threshold():
    reference = window(200_000, 0.0, seed=4)
    for shift in (0.05, 0.1, 0.15):
        current = window(50_000, shift, seed=5)
        raw = {c.column: c for c in detect_drift(reference, current).columns}
        stored = {
            c.column: c for c in drift_from_profile(profile_frame(reference), current).columns
        }
        for name in ("normal", "skewed"):
            assert stored[name].score == pytest.approx(raw[name].score, abs=0.004), name


def test_profile_rule_switch_follows_the_profile_row_count():
    small, large = window(1000, 0.0, seed=6), window(1001, 0.0, seed=6)
    current = window(500, 0.0, seed=7)
    methods = lambda r: {c.column: c.method for c in r.columns}  # noqa: E731
    assert methods(drift_from_profile(profile_frame(small), current)) == {
        "normal": "ks",
        "skewed": "ks",
        "counts": "ks",
        "region": "chisquare",
        "code": "chisquare",
        "flag": "z",
    }
    assert set(methods(drift_from_profile(profile_frame(large), current)).values()) == {
        "wasserstein",
        "jensenshannon",
    }


def test_version_1_profiles_still_work():
    reference = window(20_000, 0.0, seed=8)
    v1_quantiles = (0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0)
    profile = profile_frame(reference)
    profile["version"] = 1
    for entry in profile["columns"].values():
        entry.pop("dtype", None)
        entry.pop("finite", None)
        entry.pop("values", None)
        if entry["kind"] == "numeric":
            entry["quantiles"] = {str(q): entry["quantiles"][str(q)] for q in v1_quantiles}
    for shift, drifted in ((0.0, False), (0.5, True)):
        result = drift_from_profile(
            profile, window(5000, shift, seed=9), columns=["normal", "region"]
        )
        assert [c.drifted for c in result.columns] == [drifted, drifted]
        assert "coarse_profile" in {f.code for f in result.columns[0].findings}


def test_profile_findings_and_options():
    reference = window(5000, 0.0, seed=10)
    profile = profile_frame(reference)
    current = window(2000, 0.0, seed=11).drop(columns=["flag"])
    current.loc[:9, "region"] = "atlantis"
    current.loc[:99, "normal"] = np.nan
    result = drift_from_profile(profile, current, methods={"normal": "ks"}, thresholds={"*": 0.2})
    cols = {c.column: c for c in result.columns}
    assert [(f.code, f.column) for f in result.findings] == [("missing_column", "flag")]
    unseen = next(f for f in cols["region"].findings if f.code == "unseen_categories")
    assert unseen.examples == ("atlantis",)
    assert cols["normal"].method == "ks" and cols["normal"].current_missing == 100
    assert all(c.threshold == 0.2 for c in result.columns)
    empty = drift_from_profile(profile, current.iloc[:0])
    assert len(empty.columns) == 6 and empty.findings[0].code == "empty_window"
    assert all(math.isnan(c.score) for c in empty.columns)
    with pytest.raises(ValidationError, match=r"'nope' is not a drift method"):
        drift_from_profile(profile, current, methods={"normal": "nope"})
    with pytest.raises(ValidationError, match=r"must be a dict with 'columns'"):
        drift_from_profile({"rows": 3}, current)


def test_profile_of_model_outputs_is_compared_like_any_column():
    rng = np.random.default_rng(12)
    outputs = profile_frame(pd.DataFrame({"prediction": rng.normal(0, 1, 5000)}))
    drifted = drift_from_profile(outputs, pd.DataFrame({"prediction": rng.normal(0.5, 1, 900)}))
    stable = drift_from_profile(outputs, pd.DataFrame({"prediction": rng.normal(0, 1, 900)}))
    assert drifted.columns[0].drifted and not stable.columns[0].drifted


# --- sketches of Parquet windows ---------------------------------------------------------------


@pytest.fixture(scope="module")
def parquet_windows(tmp_path_factory):
    root = tmp_path_factory.mktemp("windows")
    paths = {}
    for name, n, shift, seed in (("ref", 60_000, 0.0, 20), ("same", 30_000, 0.0, 21)):
        frame = window(n, shift, seed)
        frame.loc[::50, "normal"] = np.nan
        frame.to_parquet(root / f"{name}.parquet", row_group_size=10_000)
        paths[name] = (root / f"{name}.parquet", frame)
    frame = window(30_000, 0.4, seed=22)
    frame.to_parquet(root / "moved.parquet", row_group_size=10_000)
    paths["moved"] = (root / "moved.parquet", frame)
    return paths


@pytest.mark.parametrize("current", ["same", "moved"])
def test_sketch_verdicts_agree_with_in_memory_verdicts(parquet_windows, current):
    ref_path, ref = parquet_windows["ref"]
    cur_path, cur = parquet_windows[current]
    in_memory = detect_drift(ref, cur)
    sketched = drift_from_sketches(
        sketch_parquet(ref_path, chunk_rows=7_000), sketch_parquet(cur_path, chunk_rows=7_000)
    )
    same_verdicts(in_memory, sketched)
    for x, y in zip(in_memory.columns, sketched.columns, strict=True):
        assert y.score == pytest.approx(x.score, rel=0.02, abs=0.002), x.column
        assert (y.reference_count, y.current_missing) == (x.reference_count, x.current_missing)


def test_chunk_size_changes_results_only_within_tolerance(parquet_windows):
    ref_path, _ = parquet_windows["ref"]
    cur_path, _ = parquet_windows["moved"]
    results = []
    for chunk in (1_000, 9_999, 1_000_000):
        ref, cur = (
            sketch_parquet(ref_path, chunk_rows=chunk),
            sketch_parquet(cur_path, chunk_rows=chunk),
        )
        assert ref["normal"].count == 58_800 and ref["normal"].missing == 1_200
        assert ref["region"].categories == sketch_parquet(ref_path)["region"].categories
        results.append(drift_from_sketches(ref, cur))
    for other in results[1:]:
        same_verdicts(results[0], other)
        for x, y in zip(results[0].columns, other.columns, strict=True):
            assert y.score == pytest.approx(x.score, rel=1e-3, abs=1e-4), x.column


def test_sketches_merge_to_the_sketch_of_the_union():
    rng = np.random.default_rng(30)
    values = rng.gamma(2.0, 3.0, 50_000)
    whole = ColumnSketch("numerical").update(values)
    halves = (
        ColumnSketch("numerical")
        .update(values[:20_000])
        .merge(ColumnSketch("numerical").update(values[20_000:]))
    )
    assert halves.count == whole.count == 50_000
    assert halves.mean == pytest.approx(values.mean(), rel=1e-12)
    assert halves.std == pytest.approx(values.std(), rel=1e-12)
    assert (halves.low, halves.high) == (values.min(), values.max())
    probabilities = [0.001, 0.01, 0.5, 0.99, 0.999]
    ranks = np.searchsorted(np.sort(values), halves.quantiles(probabilities)) / values.size
    np.testing.assert_allclose(ranks, probabilities, atol=3e-4)  # rank error of the estimates
    assert whole.means.size <= whole.delta + 1
    sets = merge({"x": whole}, {"x": halves, "y": ColumnSketch("categorical").update(["a", "b"])})
    assert sets["x"].count == 100_000 and sets["y"].categories == {"a": 1, "b": 1}


def test_sketch_round_trips_through_json():
    sketch = ColumnSketch("numerical", integer=True).update(np.array([1, 2, 2, 3, np.nan]))
    again = ColumnSketch.from_dict(json.loads(json.dumps(sketch.to_dict())))
    assert again.values == {1.0: 1, 2.0: 2, 3.0: 1} and again.missing == 1
    assert again.std == pytest.approx(sketch.std)
    cats = ColumnSketch("categorical").update(pd.Series(["a", None, "b", "a"]))
    back = ColumnSketch.from_dict(json.loads(json.dumps(cats.to_dict())))
    assert back.categories == {"a": 2, "b": 1} and back.missing == 1 and back.rows == 4


def test_sketch_findings_empty_window_and_bad_input(parquet_windows, tmp_path):
    ref_path, ref = parquet_windows["ref"]
    ref.iloc[:0].to_parquet(tmp_path / "empty.parquet")
    sketches = sketch_parquet(ref_path)
    empty = drift_from_sketches(sketches, sketch_parquet(tmp_path / "empty.parquet"))
    assert empty.findings[0].code == "empty_window" and len(empty.columns) == 6
    assert not any(c.drifted for c in empty.columns)
    partial = drift_from_sketches(sketches, {k: v for k, v in sketches.items() if k != "flag"})
    assert [(f.code, f.column) for f in partial.findings] == [("missing_column", "flag")]
    with pytest.raises(ValidationError, match="no Parquet file"):
        sketch_parquet(tmp_path / "nothing.parquet")
    with pytest.raises(ValidationError, match=r"chunk_rows = 0"):
        sketch_parquet(ref_path, chunk_rows=0)
    with pytest.raises(ValidationError, match=r"\['ghost'\] not in"):
        sketch_parquet(ref_path, columns=["ghost"])


def test_sketch_parquet_on_dask_matches_in_process(parquet_windows):
    from distributed import Client, LocalCluster

    ref_path, _ = parquet_windows["ref"]
    local = sketch_parquet(ref_path, chunk_rows=10_000)
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        remote = sketch_parquet(ref_path, chunk_rows=10_000, executor=client)
    for name, sketch in local.items():
        assert (remote[name].count, remote[name].missing) == (sketch.count, sketch.missing)
        assert remote[name].categories == sketch.categories
        assert remote[name].values == sketch.values
    np.testing.assert_allclose(
        remote["skewed"].quantiles([0.1, 0.5, 0.9]),
        local["skewed"].quantiles([0.1, 0.5, 0.9]),
        rtol=1e-3,
    )
