"""The lean SQLite metric path writes exactly what the general path writes."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from loopml.entities import Metric
from loopml.store.metadata import SqlTrackingStore
from loopml.store.metadata import _schema as t
from loopml.store.metadata._engine import write_transaction
from loopml.store.metadata._sqlite_fast import SqliteMetricWriter
from loopml.store.metadata._writes import write_metrics

metric = st.builds(
    Metric,
    key=st.sampled_from(["a", "b"]),
    value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5)),
    timestamp=st.integers(0, 3),
    step=st.integers(0, 3),
)


def _latest(store: SqlTrackingStore, run_id: str) -> dict[str, tuple]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(t.latest_metrics).where(t.latest_metrics.c.run_uuid == run_id)
        ).all()
    return {r.key: (r.value, r.is_nan, r.step, r.timestamp) for r in rows}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(metric, min_size=1, max_size=5), min_size=1, max_size=4))
def test_fast_path_matches_general_path(tmp_path_factory, batches):
    root = tmp_path_factory.mktemp("fast")
    store = SqlTrackingStore(f"sqlite:///{root / 'x.db'}", str(root / "a"))
    fast = store.create_run("0", run_name="fast").info.run_id
    slow = store.create_run("0", run_name="slow").info.run_id
    writer = SqliteMetricWriter(store.engine)
    for batch in batches:
        clean = [Metric(m.key, float(m.value), m.timestamp, m.step) for m in batch]
        writer.write(fast, clean)
        with write_transaction(store.engine) as conn:
            write_metrics(conn, slow, clean)
    a, b = _latest(store, fast), _latest(store, slow)
    assert a.keys() == b.keys()
    for key in a:
        va, vb = a[key], b[key]
        assert va[1:] == vb[1:]
        assert va[0] == vb[0] or (math.isnan(va[0]) and math.isnan(vb[0]))
    writer.close()
    store.dispose()
