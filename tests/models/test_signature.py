"""Signatures: inference from training frames and validation of requests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.errors import ValidationError
from loopml.models import ColumnSpec, Signature, infer_signature


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20, 35, 50],
            "income": [1.5, 2.0, np.nan],
            "city": ["oslo", "rome", "oslo"],
            "member": [True, False, True],
        }
    )


def test_infer_types_nullability_categories_ranges(frame):
    sig = infer_signature(frame, np.array([0.1, 0.2, 0.3]))
    by_name = {c.name: c for c in sig.inputs}
    assert by_name["age"] == ColumnSpec("age", "integer", False, None, 20.0, 50.0)
    assert by_name["income"] == ColumnSpec("income", "float", True, None, 1.5, 2.0)
    assert by_name["city"].type == "string" and by_name["city"].categories == ("oslo", "rome")
    assert by_name["member"].type == "boolean"
    assert sig.outputs == (ColumnSpec("prediction", "float", False),)
    assert Signature.from_dict(sig.to_dict()) == sig


def test_validate_accepts_good_input_in_any_shape(frame):
    sig = infer_signature(frame)
    records = [{"member": True, "city": "rome", "income": None, "age": 40}]
    out = sig.validate(records)
    assert list(out.columns) == ["age", "income", "city", "member"]
    assert sig.validate(
        {"age": [1], "income": [2.0], "city": ["oslo"], "member": [False]}
    ).shape == (1, 4)
    # integers are accepted where floats were trained
    assert sig.validate(frame.assign(income=[1, 2, 3])).shape == (3, 4)


def test_validate_lists_every_offending_column(frame):
    sig = infer_signature(frame)
    bad = pd.DataFrame({"age": [1.5], "city": ["paris"], "member": ["yes"]})
    with pytest.raises(ValidationError) as err:
        sig.validate(bad)
    text = str(err.value)
    assert "4 problems" in text
    assert "income: missing column (expected float)" in text
    assert "age: expected integer, got fractional numbers" in text
    assert "city: unseen category 'paris'" in text
    assert "member: expected boolean, got string" in text


def test_missing_values_in_never_missing_column(frame):
    sig = infer_signature(frame)
    with pytest.raises(ValidationError, match="age: 1 missing value"):
        sig.validate(frame.assign(age=[1.0, None, 3.0]))


def test_array_input_needs_matching_width(frame):
    sig = infer_signature(frame.drop(columns=["city", "member"]))
    assert sig.validate(np.array([[1, 2.0]])).shape == (1, 2)
    with pytest.raises(ValidationError, match="expects 2: age, income"):
        sig.validate(np.array([[1, 2, 3]]))


def test_small_and_large_frames_report_the_same_problems(frame):
    """Small frames are checked in plain Python, large ones with pandas: same verdicts."""
    from loopml.models import _signature

    sig = infer_signature(frame)
    bad = pd.DataFrame(
        {"age": [1.5, 2.0], "income": [None, 1.0], "city": ["paris", "oslo"], "member": ["y", "n"]}
    )
    small = pytest.raises(ValidationError)
    with small as fast:
        sig.validate(bad)
    old = _signature.SMALL_FRAME
    _signature.SMALL_FRAME = 0
    try:
        with pytest.raises(ValidationError) as slow:
            sig.validate(bad)
    finally:
        _signature.SMALL_FRAME = old
    assert str(fast.value) == str(slow.value)
    assert "age: expected integer, got fractional numbers" in str(fast.value)
