"""Drift between two Parquet datasets: in memory, streamed in chunks, and from the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from loopml.cli import app
from loopml.errors import ValidationError
from loopml.monitoring import compare_parquet


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    rng = np.random.default_rng(3)
    folder = tmp_path_factory.mktemp("cmp")
    n = 20_000

    def frame(shift: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "steady": rng.normal(0, 1, n),
                "moved": rng.normal(shift, 1, n),
                "scaled": rng.normal(0, 1 + shift, n),
                "city": rng.choice(
                    ["a", "b", "c"], n, p=[0.5, 0.3, 0.2] if not shift else [0.2, 0.3, 0.5]
                ),
            }
        )

    ref, cur = folder / "ref.parquet", folder / "cur.parquet"
    frame(0.0).to_parquet(ref, row_group_size=5_000)
    frame(1.0).to_parquet(cur, row_group_size=5_000)
    return ref, cur


def test_in_memory_and_streamed_agree(files):
    ref, cur = files
    exact, streamed = compare_parquet(ref, cur)
    assert streamed is False
    chunked, streamed = compare_parquet(ref, cur, chunk_rows=3_000)
    assert streamed is True
    verdict = lambda r: {c.column: c.drifted for c in r.drift.columns}  # noqa: E731
    assert (
        verdict(exact)
        == verdict(chunked)
        == {
            "steady": False,
            "moved": True,
            "scaled": True,
            "city": True,
        }
    )
    assert exact.drift.reference_rows == chunked.drift.reference_rows == 20_000
    moved = lambda r: r.drift.column("moved").score  # noqa: E731
    assert moved(chunked) == pytest.approx(moved(exact), rel=0.02)
    # above the memory limit streaming is chosen automatically
    assert compare_parquet(ref, cur, memory_limit=0)[1] is True


def test_missing_input_is_a_clear_error(tmp_path, files):
    with pytest.raises(ValidationError, match="no Parquet data"):
        compare_parquet(tmp_path / "nope.parquet", files[1])


def test_cli_writes_the_report(tmp_path, files):
    ref, cur = files
    out = tmp_path / "report"
    result = CliRunner().invoke(
        app, ["monitor", "compare", str(ref), str(cur), "--out", str(out), "--chunk-rows", "4000"]
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "3 of 4 columns drifted" in result.stdout and "streamed in chunks" in result.stderr
    saved = json.loads((out / "report.json").read_text())
    assert saved["drift"]["drifted_columns"] == 3
    assert (out / "report.html").stat().st_size > 1_000_000  # plotly.js embedded
    as_json = CliRunner().invoke(app, ["monitor", "compare", str(ref), str(cur), "--json"])
    assert json.loads(as_json.stdout)["dataset_drift"] is True
    bad = CliRunner().invoke(app, ["monitor", "compare", str(ref), str(tmp_path / "x.parquet")])
    assert bad.exit_code != 0 and "no Parquet data" in bad.stdout + bad.stderr
