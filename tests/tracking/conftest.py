"""Fixtures for tracking tests: a fresh embedded store for the fluent API per test."""

from __future__ import annotations

import pytest

import loopml
from loopml.tracking import _fluent


@pytest.fixture
def tracking(tmp_path, monkeypatch):
    """Point the fluent API at an empty folder store; end leftover runs afterwards."""
    monkeypatch.delenv("LOOPML_TRACKING_URI", raising=False)
    monkeypatch.delenv("LOOPML_EXPERIMENT_NAME", raising=False)
    loopml.set_tracking_uri(tmp_path / "store")
    yield tmp_path / "store"
    while loopml.active_run() is not None:
        loopml.end_run()
    loopml.enable_async_logging(False)
    _fluent._async_default = False
    loopml.set_tracking_uri(tmp_path / "unused")
