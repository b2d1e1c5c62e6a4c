"""The model registry: versions, aliases, stages, approvals and the audit log."""

from loopml.registry._client import RegistryClient
from loopml.registry._fluent import load_model, log_model, register_model, registry
from loopml.registry._uris import ModelRef, parse_model_uri

__all__ = [
    "ModelRef",
    "RegistryClient",
    "load_model",
    "log_model",
    "parse_model_uri",
    "register_model",
    "registry",
]
