"""The model registry: versions, aliases, stages, approvals and the audit log."""

from loopml.registry._card import model_card_html, model_card_markdown
from loopml.registry._client import RegistryClient
from loopml.registry._compare import compare_versions
from loopml.registry._fluent import load_model, log_model, register_model, registry
from loopml.registry._lineage import Lineage, lineage
from loopml.registry._uris import ModelRef, parse_model_uri

__all__ = [
    "Lineage",
    "ModelRef",
    "RegistryClient",
    "compare_versions",
    "lineage",
    "load_model",
    "log_model",
    "model_card_html",
    "model_card_markdown",
    "parse_model_uri",
    "register_model",
    "registry",
]
