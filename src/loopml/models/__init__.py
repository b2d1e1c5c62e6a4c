"""Model packages: save, log and load models with signatures, profiles and checksums."""

from loopml.models._flavors import FLAVORS, Flavor, flavor_for
from loopml.models._logging import ModelInfo, load_model, log_model
from loopml.models._mlflow_import import import_mlflow_model
from loopml.models._package import (
    LibraryVersionWarning,
    LoadedModel,
    Manifest,
    load_package,
    save_model,
)
from loopml.models._profile import profile_frame
from loopml.models._signature import ColumnSpec, Signature, infer_signature

__all__ = [
    "FLAVORS",
    "ColumnSpec",
    "Flavor",
    "LibraryVersionWarning",
    "LoadedModel",
    "Manifest",
    "ModelInfo",
    "Signature",
    "flavor_for",
    "import_mlflow_model",
    "infer_signature",
    "load_model",
    "load_package",
    "log_model",
    "profile_frame",
    "save_model",
]
