"""Keep ``__all__`` honest: everything listed exists and is documented."""

from __future__ import annotations

import importlib
import inspect

import pytest

PACKAGES = [
    "loopml",
    "loopml.tracking",
    "loopml.models",
    "loopml.registry",
    "loopml.store",
    "loopml.store.metadata",
    "loopml.store.artifacts",
    "loopml.deployments",
    "loopml.serving",
    "loopml.monitoring",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist_and_have_docstrings(name):
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__), "duplicate names in __all__"
    for attr in module.__all__:
        obj = getattr(module, attr)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert inspect.getdoc(obj), f"{name}.{attr} has no docstring"


def test_top_level_mirrors_mlflow_fluent_names():
    import loopml

    for attr in [
        "set_tracking_uri",
        "set_experiment",
        "start_run",
        "end_run",
        "log_param",
        "log_params",
        "log_metric",
        "log_metrics",
        "set_tag",
        "set_tags",
        "log_artifact",
        "log_artifacts",
        "log_text",
        "log_dict",
        "log_figure",
        "log_input",
        "get_run",
        "search_runs",
        "autolog",
        "Client",
    ]:
        assert callable(getattr(loopml, attr)), attr
