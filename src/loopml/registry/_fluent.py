"""Module-level registry calls on the default tracking store (``loopml.register_model`` …)."""

from __future__ import annotations

import os
from typing import Any

from loopml.entities import ModelVersion
from loopml.models import LoadedModel, ModelInfo
from loopml.models import log_model as _log_package
from loopml.models._signature import Signature
from loopml.registry._client import RegistryClient
from loopml.tracking import get_client


def registry() -> RegistryClient:
    """A registry client on the fluent API's current store."""
    return RegistryClient(client=get_client())


def register_model(model_uri: str | os.PathLike, name: str) -> ModelVersion:
    """Register a logged model (``runs:/<id>/model``) as the next version of ``name``."""
    return registry().register_model(model_uri, name)


def load_model(model_uri: str | os.PathLike) -> LoadedModel:
    """Load ``models:/name@alias``, ``models:/name/3``, ``runs:/<id>/path`` or a folder."""
    return registry().load_model(model_uri)


def log_model(
    model: Any,
    name: str = "model",
    *,
    input_example: Any = None,
    training_data: Any = None,
    training_labels: Any = None,
    signature: Signature | None = None,
    flavor: str | None = None,
    serialization: str | None = None,
    code_paths: list[str | os.PathLike] | None = None,
    registered_model_name: str | None = None,
) -> ModelInfo:
    """Log a model package to the active run; register it too when a name is given."""
    info = _log_package(
        model,
        name,
        input_example=input_example,
        training_data=training_data,
        training_labels=training_labels,
        signature=signature,
        flavor=flavor,
        serialization=serialization,
        code_paths=code_paths,
    )
    if registered_model_name:
        registry().register_model(info.model_uri, registered_model_name)
    return info
