"""A store whose model 'diabetes' has three READY versions: two Ridge models and a broken
constant model; deployment 'prod' serves version 1."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

import loopml
from loopml.deployments import DeploymentClient


def constant_model():  # type: ignore[no-untyped-def]
    """A model whose predictions have nothing to do with the primary's.

    Defined inside a function so cloudpickle stores the class by value and a server in
    another process can load it without this test module.
    """

    class Constant:
        def predict(self, frame):  # type: ignore[no-untyped-def]
            return np.full(len(frame), 1e6)

    return Constant()


@pytest.fixture(scope="module")
def data():
    d = load_diabetes(as_frame=True)
    return d.data, d.target


def make_store(root, X, y) -> str:  # type: ignore[no-untyped-def]
    uri = str(root / "store")
    loopml.set_tracking_uri(uri)
    for model in (Ridge(alpha=0.1).fit(X, y), Ridge(alpha=0.2).fit(X, y), constant_model()):
        with loopml.start_run():
            loopml.log_model(model, "model", training_data=X, registered_model_name="diabetes")
    loopml.RegistryClient(uri).set_alias("diabetes", "champion", 1)
    DeploymentClient(uri).create("prod", "models:/diabetes@champion", reason="first release")
    return uri


@pytest.fixture
def store(tmp_path, data):
    return make_store(tmp_path, *data)
