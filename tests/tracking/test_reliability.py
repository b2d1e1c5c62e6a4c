"""Many writers on one SQLite store, and processes killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from loopml.entities import RunStatus
from loopml.tracking import Client

WRITER = textwrap.dedent(
    """
    import sys
    from loopml.tracking import Client
    client = Client(sys.argv[1])
    worker = sys.argv[2]
    exp = client.get_experiment_by_name("load")
    run = client.create_run(exp.experiment_id, run_name=f"worker-{worker}")
    rid = run.info.run_id
    for i in range(10):
        client.log_param(rid, f"p{i}", f"{worker}-{i}")
        client.set_tag(rid, f"t{i}", worker)
    for step in range(1000):
        client.log_metric(rid, "m", float(step), step=step)
    client.set_terminated(rid)
    print(rid)
    """
)


@pytest.mark.slow
def test_eight_processes_log_concurrently(tmp_path):
    uri = str(tmp_path / "store")
    Client(uri).create_experiment("load")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, uri, str(w)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err
    client = Client(uri)
    exp = client.get_experiment_by_name("load")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 8
    for run in runs:
        worker = run.info.run_name.split("-")[1]
        assert run.info.status == RunStatus.FINISHED
        assert run.data.params == {f"p{i}": f"{worker}-{i}" for i in range(10)}
        assert run.data.tags[f"t{9}"] == worker
        history = client.get_metric_history(run.info.run_id, "m")
        assert [m.value for m in history] == [float(s) for s in range(1000)]
        assert run.data.metrics["m"] == 999.0


VICTIM = textwrap.dedent(
    """
    import sys, time
    import loopml
    loopml.set_tracking_uri(sys.argv[1])
    loopml.enable_async_logging()
    run = loopml.start_run(run_name="victim")
    loopml.log_param("p", 1)
    loopml.flush()
    print(run.info.run_id, flush=True)
    step = 0
    while True:
        loopml.log_metric("m", float(step), step=step)
        step += 1
        if step % 100 == 0:
            time.sleep(0.001)
    """
)


def test_killed_process_leaves_store_readable_and_run_killable(tmp_path):
    uri = str(tmp_path / "store")
    proc = subprocess.Popen(
        [sys.executable, "-c", VICTIM, uri],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert len(run_id) == 32, proc.stderr.read() if proc.stderr else ""
    time.sleep(1.0)  # let the flusher write a few batches
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)  # reap and close the pipes
    assert proc.returncode == -signal.SIGKILL
    client = Client(uri)
    run = client.get_run(run_id)
    assert run.info.status == RunStatus.RUNNING
    assert run.data.params == {"p": "1"}
    history = client.get_metric_history(run_id, "m")
    assert [m.value for m in history] == [float(s) for s in range(len(history))]
    assert client.kill_stale_runs(older_than_ms=3_600_000) == []
    assert client.kill_stale_runs(older_than_ms=0) == [run_id]
    killed = client.get_run(run_id)
    assert killed.info.status == RunStatus.KILLED and killed.info.end_time is not None


EXITS_WITHOUT_END_RUN = textwrap.dedent(
    """
    import sys
    import loopml
    loopml.set_tracking_uri(sys.argv[1])
    loopml.enable_async_logging()
    run = loopml.start_run(run_name="exits")
    for step in range(5000):
        loopml.log_metric("m", float(step), step=step)
    loopml.log_param("p", "v")
    print(run.info.run_id, flush=True)
    # no end_run, no flush: the exit hooks must write everything and finish the run
    """
)


def test_normal_exit_flushes_queued_writes_and_ends_run(tmp_path):
    uri = str(tmp_path / "store")
    done = subprocess.run(
        [sys.executable, "-c", EXITS_WITHOUT_END_RUN, uri],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    client = Client(uri)
    run = client.get_run(run_id)
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params == {"p": "v"}
    assert len(client.get_metric_history(run_id, "m")) == 5000
