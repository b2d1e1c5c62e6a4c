"""The demo trains, tracks and ranks the diabetes candidates."""

from __future__ import annotations

from pathlib import Path

from loopml import demo
from loopml.registry import RegistryClient
from loopml.tracking import Client


def test_demo_tracks_every_candidate(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("LOOPML_TRACKING_URI", raising=False)
    demo.main(["--tracking-uri", str(tmp_path / "store")])
    out = capsys.readouterr().out
    assert "ranked by test RMSE" in out
    client = Client(str(tmp_path / "store"))
    exp = client.get_experiment_by_name(demo.EXPERIMENT)
    runs = client.search_runs([exp.experiment_id], "params.model != ''", order_by=["metrics.rmse"])
    assert sorted(r.data.params["model"] for r in runs) == sorted(demo.CANDIDATES)
    best = runs[0]
    assert 40 < best.data.metrics["rmse"] < 70  # diabetes RMSE of a sane regressor
    assert best.info.parent_run_id is not None
    assert {i.context for i in best.inputs} == {"train", "test"}
    for name in demo.CANDIDATES:
        assert name in out
    registry = RegistryClient(str(tmp_path / "store"))
    champion = registry.resolve("models:/diabetes@champion")
    assert champion.run_id == best.info.run_id and champion.version == 1
    assert "Model card: diabetes version 1" in out and "Limitations" in out
    assert "└─ model diabetes/1 [READY]" in out
    assert "Serving 300 requests" in out and "p99" in out
    assert "prediction log: 300 rows, 300 labelled" in out
    # monitoring: four replayed weeks, drift from week 3, alerts fire, a report is written
    assert "Monitor diabetes-weekly" in out
    assert "fired: drift_share >= 0.5" in out
    assert "ALERT [critical] critical: rmse > 70 for 2 windows" in out
    report = out.split("drift report (HTML): ")[1].split()[0]
    assert report.endswith("report.html") and Path(report).exists()
    from loopml.monitoring import MonitorClient

    windows = MonitorClient(str(tmp_path / "store")).windows(demo.MONITOR)
    assert [w.metrics["dataset_drift"] for w in windows] == [0.0, 0.0, 1.0, 1.0]
    assert [w.rows for w in windows] == [700, 700, 700, 700]
