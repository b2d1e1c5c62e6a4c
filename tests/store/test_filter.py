"""Parsing MLflow's search language: values, keys, operators and pointed errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopml.errors import FilterSyntaxError
from loopml.store.metadata._filter import Comparison, OrderBy, parse_filter, parse_order_by


def test_full_mlflow_example():
    got = parse_filter(
        "metrics.rmse < 5 and params.model = 'rf' and tags.team = 'x' "
        "and attributes.status = 'FINISHED'"
    )
    assert [(c.kind, c.key, c.op, c.value) for c in got] == [
        ("metric", "rmse", "<", 5.0),
        ("param", "model", "=", "rf"),
        ("tag", "team", "=", "x"),
        ("attribute", "status", "=", "FINISHED"),
    ]
    assert [c.position for c in got] == [0, 21, 45, 65]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.`my metric` >= -1e-3", ("metric", "my metric", ">=", -0.001)),
        ("tags.\"a b\" LIKE '%x%'", ("tag", "a b", "LIKE", "%x%")),
        ("params.p ILIKE 'R_'", ("param", "p", "ILIKE", "R_")),
        ("attributes.run_id IN ('a', 'b')", ("attribute", "run_id", "IN", ("a", "b"))),
        ("run.run_id NOT IN ('a')", ("attribute", "run_id", "NOT IN", ("a",))),
        ("params.x IS NOT NULL", ("param", "x", "IS NOT NULL", None)),
        ("tags.x is null", ("tag", "x", "IS NULL", None)),
        ("metrics.val.loss < 2", ("metric", "val.loss", "<", 2.0)),
        ("metric.a <> 1", ("metric", "a", "!=", 1.0)),
        ("attribute.start_time > 1700000000000", ("attribute", "start_time", ">", 1.7e12)),
        ("attr.name = 'x'", ("attribute", "run_name", "=", "x")),
        ("params.q = 'it''s'", ("param", "q", "=", "it's")),
        ("datasets.context = 'train'", ("dataset", "context", "=", "train")),
        ('params.model != "rf"', ("param", "model", "!=", "rf")),
        ("tags.t NOT LIKE 'a%'", ("tag", "t", "NOT LIKE", "a%")),
    ],
)
def test_valid_clauses(text, expected):
    (c,) = parse_filter(text)
    assert (c.kind, c.key, c.op, c.value) == expected


def test_blank_filter_is_empty():
    assert parse_filter(None) == [] and parse_filter("   ") == []


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("metrics.rmse < '5'", "compares numbers", 15),
        ("params.a = 5", "quote the value", 11),
        ("metrics.a < 5 or metrics.b < 3", "OR is not supported", 14),
        ("foo.a = 1", "not a known prefix", 0),
        ("attributes.bogus = 'x'", "unknown attribute 'bogus'", 11),
        ("metrics.a LIKE 'x'", "does not apply", 10),
        ("metrics.a <", "ended early", 11),
        ("metrics.a ~ 3", "unexpected character '~'", 10),
        ("metrics.a < 1 metrics.b < 2", "expected AND", 14),
        ("params.a IN 'x'", "parenthesised list", 12),
        ("metrics.a IS NULL", "does not apply", 10),
        ("datasets.size = 'x'", "unknown dataset field", 9),
    ],
)
def test_errors_point_at_the_token(text, message, position):
    with pytest.raises(FilterSyntaxError) as err:
        parse_filter(text)
    assert message in str(err.value)
    assert err.value.position == position
    caret_line = str(err.value).splitlines()[-1]
    assert caret_line.index("^") - 2 == position


def test_order_by():
    assert parse_order_by(["metrics.rmse DESC", "attributes.start_time", "params.`a b` asc"]) == [
        OrderBy("metric", "rmse", False),
        OrderBy("attribute", "start_time", True),
        OrderBy("param", "a b", True),
    ]
    with pytest.raises(FilterSyntaxError, match="ASC or DESC"):
        parse_order_by(["metrics.rmse upward"])
    with pytest.raises(FilterSyntaxError, match="dataset"):
        parse_order_by(["datasets.name"])


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_number_round_trips(x):
    (c,) = parse_filter(f"metrics.m >= {x!r}")
    assert c == Comparison("metric", "m", ">=", x, 0)
