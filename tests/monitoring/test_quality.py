"""Data-quality checks on crafted frames: exact counts, shares and examples."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from loopml.models._profile import profile_frame
from loopml.models._signature import infer_signature
from loopml.monitoring._quality import check_quality
from loopml.monitoring._results import DataQualityResult, QualityCheck


def _check(result: DataQualityResult, name: str, column: str | None = None) -> QualityCheck:
    found = [c for c in result.checks if c.name == name and c.column == column]
    assert len(found) == 1, f"{name}/{column}: {found}"
    return found[0]


@pytest.fixture
def reference() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20, 30, 40, 50, 60, 35],
            "income": [1.0, 2.5, np.nan, 4.0, 3.0, 2.0],
            "city": ["paris", "rome", "oslo", "rome", "paris", "oslo"],
            "flag": [True, False, True, True, False, True],
            "gone": [1, 2, 3, 4, 5, 6],
        }
    )


@pytest.fixture
def current() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [25, 10, 70, 10, np.nan, 25, 80, 33],
            "income": [1.0, np.nan, np.nan, np.nan, 2.0, 1.0, 9.0, 2.0],
            "city": ["rome", "lima", "rome", "lima", "kyiv", "rome", None, "<b>"],
            "flag": [True, True, True, True, True, True, True, True],
            "extra": ["a", "a", "b", "c", "d", "a", "e", "f"],
        }
    )


def test_integer_columns_give_integer_examples():
    result = check_quality(pd.DataFrame({"a": [1, 9, 9]}), pd.DataFrame({"a": [1, 2]}))
    assert _check(result, "out_of_range", "a").examples == (9,)
    assert isinstance(_check(result, "out_of_range", "a").examples[0], int)


def test_frame_reference_counts_and_examples(current, reference):
    result = check_quality(current, reference)
    assert result.rows == 8

    missing_cols = _check(result, "missing_columns")
    assert (missing_cols.passed, missing_cols.count, missing_cols.examples) == (False, 1, ("gone",))
    assert missing_cols.share == pytest.approx(1 / 5)
    unexpected = _check(result, "unexpected_columns")
    assert (unexpected.passed, unexpected.count, unexpected.examples) == (False, 1, ("extra",))

    age_missing = _check(result, "missing_values", "age")
    assert (age_missing.passed, age_missing.count, age_missing.share) == (False, 1, 1 / 8)
    # the reference had 1/6 missing incomes; 3/8 exceeds 1/6 + 5 %
    income_missing = _check(result, "missing_values", "income")
    assert (income_missing.passed, income_missing.count) == (False, 3)
    assert _check(result, "missing_values", "flag").passed

    age_range = _check(result, "out_of_range", "age")
    assert (age_range.passed, age_range.count, age_range.share) == (False, 4, 0.5)
    assert age_range.examples == (10, 70, 80)  # distinct, in order of appearance
    income_range = _check(result, "out_of_range", "income")
    assert (income_range.count, income_range.examples) == (1, (9.0,))

    unseen = _check(result, "unseen_categories", "city")
    assert (unseen.passed, unseen.count, unseen.share) == (False, 4, 0.5)
    assert unseen.examples == ("lima", "kyiv", "<b>")
    assert _check(result, "unseen_categories", "flag").passed

    # age is integral in the reference; NaN turned it float but the values stay integral
    assert _check(result, "type_mismatch", "age").passed

    flag_constant = _check(result, "constant_column", "flag")
    assert (flag_constant.passed, flag_constant.count, flag_constant.examples) == (
        False,
        8,
        (True,),
    )
    assert _check(result, "constant_column", "age").passed

    dups = _check(result, "duplicate_rows")  # row 5 repeats row 0
    assert (dups.passed, dups.count) == (False, 1)
    assert dups.examples == (
        {"age": 25.0, "income": 1.0, "city": "rome", "flag": True, "extra": "a"},
    )
    names = {c.name for c in result.failed}
    assert names == {
        "missing_columns",
        "unexpected_columns",
        "missing_values",
        "out_of_range",
        "unseen_categories",
        "constant_column",
        "duplicate_rows",
    }


def test_profile_reference_gives_the_same_findings(current, reference):
    from_frame = check_quality(current, reference)
    from_profile = check_quality(current, profile_frame(reference))
    wanted = ("missing_values", "out_of_range", "unseen_categories", "missing_columns")
    pick = lambda r: {  # noqa: E731
        (c.name, c.column): (c.passed, c.count, c.examples) for c in r.checks if c.name in wanted
    }
    assert pick(from_profile) == pick(from_frame)


def test_profile_with_truncated_categories_skips_unseen():
    profile = profile_frame(pd.DataFrame({"c": [f"v{i}" for i in range(150)]}))
    result = check_quality(pd.DataFrame({"c": ["new", "v1"]}), profile)
    assert not [c for c in result.checks if c.name == "unseen_categories"]


def test_duplicate_rows_exact_count_and_examples():
    frame = pd.DataFrame(
        {
            "a": [1, 2, 1, 3, 1, 2, 1],
            "b": ["x", "y", "x", "z", "x", "y", "q"],
            "c": [0.5, np.nan, 0.5, 1.0, 0.5, np.nan, 0.5],
        }
    )
    check = _check(check_quality(frame), "duplicate_rows")
    assert check.count == 3  # rows 2 and 4 repeat row 0, row 5 repeats row 1 (NaN == NaN)
    assert check.share == pytest.approx(3 / 7)
    assert check.examples == (
        {"a": 1, "b": "x", "c": 0.5},
        {"a": 1, "b": "x", "c": 0.5},
        {"a": 2, "b": "y", "c": None},
    )
    assert check.count == int(frame.duplicated().sum())


def test_duplicates_tell_negative_zero_and_large_ints_apart():
    values = pd.Series([0.0, -0.0, 2**60, 2**60 + 1], dtype=object)
    frame = pd.DataFrame({"a": values, "b": [1, 1, 2, 2]})
    ints = pd.DataFrame({"a": np.array([2**60, 2**60 + 1, 2**60], dtype=np.int64)})
    assert _check(check_quality(frame), "duplicate_rows").count == 1  # 0.0 == -0.0
    assert _check(check_quality(ints), "duplicate_rows").count == 1


def test_type_mismatch_counts_values_of_the_wrong_kind():
    reference = pd.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"], "f": [0.1, 0.2, 0.3]})
    current = pd.DataFrame(
        {
            "n": [1, "2", 3.5, 4, None, "x"],
            "s": [1, 2, 3, 4, 5, 6],
            "f": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
        }
    )
    result = check_quality(current, reference)
    n = _check(result, "type_mismatch", "n")
    assert (n.passed, n.count, n.examples) == (False, 3, ("2", 3.5, "x"))
    s = _check(result, "type_mismatch", "s")
    assert (s.passed, s.count, s.share, s.examples) == (False, 6, 1.0, (1, 2, 3, 4, 5))
    assert _check(result, "type_mismatch", "f").passed


def test_signature_adds_types_categories_ranges_and_nullability():
    train = pd.DataFrame({"x": [1.0, 2.0, None], "k": ["a", "b", "a"], "i": [1, 2, 3]})
    signature = infer_signature(train)
    current = pd.DataFrame({"x": [None, 5.0, 1.5], "k": ["c", "a", "c"], "i": [1.5, 2.0, None]})
    for sig in (signature, signature.to_dict()):
        result = check_quality(current, signature=sig)
        assert _check(result, "missing_values", "x").passed  # nullable in the signature
        assert not _check(result, "missing_values", "i").passed
        assert _check(result, "out_of_range", "x").count == 1
        assert _check(result, "unseen_categories", "k").examples == ("c",)
        assert _check(result, "unseen_categories", "k").count == 2
        mismatch = _check(result, "type_mismatch", "i")
        assert (mismatch.count, mismatch.examples) == (1, (1.5,))
        assert _check(result, "missing_columns").passed
        assert _check(result, "unexpected_columns").passed


def test_without_reference_only_reference_free_checks_run():
    frame = pd.DataFrame({"a": [1, 1, 1], "b": [None, "x", "y"]})
    result = check_quality(frame)
    assert {c.name for c in result.checks} == {
        "missing_values",
        "constant_column",
        "duplicate_rows",
    }
    assert _check(result, "missing_values", "b").count == 1
    assert _check(result, "constant_column", "a").examples == (1,)


def test_constant_in_the_reference_too_passes():
    reference = pd.DataFrame({"v": [3, 3, 3], "w": [1, 2, 3]})
    result = check_quality(pd.DataFrame({"v": [3, 3], "w": [7, 7]}), profile_frame(reference))
    assert _check(result, "constant_column", "v").passed
    assert _check(result, "constant_column", "v").count == 2
    assert not _check(result, "constant_column", "w").passed


def test_empty_window_and_metrics_and_json():
    reference = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    result = check_quality(reference.iloc[:0], reference)
    assert result.rows == 0
    assert not result.failed
    frame = pd.DataFrame({"a": [1, None], "when": pd.to_datetime(["2024-01-01", "2024-01-01"])})
    result = check_quality(frame)
    metrics = result.metrics()
    assert metrics["missing_values.a"] == 1.0
    assert metrics["constant_column.when"] == 2.0
    assert result.to_dict()["checks"][-1]["examples"] == []
    assert _check(result, "constant_column", "when").examples == ("2024-01-01T00:00:00",)


def test_unhashable_values_do_not_break_the_checks():
    frame = pd.DataFrame({"l": [[1, 2], [1, 2], [3]]})
    result = check_quality(frame)
    assert _check(result, "duplicate_rows").count == 1


def test_one_million_rows_by_25_columns_is_fast():
    rng = np.random.default_rng(0)
    n = 1_000_000
    columns: dict[str, np.ndarray] = {}
    for i in range(15):
        columns[f"f{i}"] = rng.normal(size=n)
    for i in range(5):
        columns[f"i{i}"] = rng.integers(0, 100, n)
    for i in range(5):
        columns[f"c{i}"] = rng.choice(np.array(["a", "b", "c", "d", "e"], dtype=object), n)
    current = pd.DataFrame(columns)
    profile = profile_frame(current.iloc[:20_000])
    check_quality(current.iloc[:1000], profile)  # warm up lazy imports
    start = time.perf_counter()
    result = check_quality(current, profile)
    elapsed = time.perf_counter() - start
    assert len(result.checks) == 2 + 25 * 3 + 20 + 5 + 1
    assert _check(result, "duplicate_rows").count == 0
    assert elapsed < 1.5, f"check_quality took {elapsed:.2f}s on 1M x 25"
