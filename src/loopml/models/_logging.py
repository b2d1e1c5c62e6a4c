"""Logging models to runs and loading them back by URI (``runs:/<run_id>/<path>`` or a path)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml.errors import ValidationError
from loopml.models._package import LoadedModel, load_package, save_model
from loopml.models._signature import Signature
from loopml.tracking import Client, active_run, get_client, start_run
from loopml.tracking import end_run as _end_run

LOGGED_MODELS_TAG = "loopml.loggedModels"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Where a logged model went."""

    model_uri: str
    run_id: str
    artifact_path: str
    flavor: str
    signature: Signature | None


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
) -> ModelInfo:
    """Save ``model`` as a package under the active run's artifacts (``runs:/<id>/<name>``).

    Starts (and ends) a run when none is active. ``training_data`` gives the signature
    and the reference profile that monitoring compares against later; ``training_labels``
    adds a label profile for label drift.
    """
    if not name or name.startswith("/") or ".." in name.split("/"):
        raise ValidationError(
            f"model name {name!r} is not a valid artifact path; use a relative name like 'model'"
        )
    started = active_run() is None
    run = active_run() or start_run()
    run_id = run.info.run_id
    client = get_client()
    try:
        with tempfile.TemporaryDirectory(prefix="loopml-model-") as tmp:
            folder = save_model(
                model,
                Path(tmp) / "package",
                input_example=input_example,
                signature=signature,
                training_data=training_data,
                training_labels=training_labels,
                flavor=flavor,
                serialization=serialization,
                run_id=run_id,
                code_paths=code_paths,
            )
            package = load_package(folder)
            client.log_artifacts(run_id, folder, name)
        logged = json.loads(client.get_run(run_id).data.tags.get(LOGGED_MODELS_TAG, "[]"))
        logged.append({"artifact_path": name, "flavor": package.flavor})
        client.set_tag(run_id, LOGGED_MODELS_TAG, json.dumps(logged))
    except BaseException:
        if started:
            _end_run("FAILED")
        raise
    if started:
        _end_run()
    return ModelInfo(f"runs:/{run_id}/{name}", run_id, name, package.flavor, package.signature)


def load_model(
    model_uri: str | os.PathLike,
    dst_path: str | os.PathLike | None = None,
    client: Client | None = None,
) -> LoadedModel:
    """Load a model package from a folder or ``runs:/<run_id>/<path>``; checksums are verified.

    ``client`` picks the store ``runs:/`` URIs are read from (default: the active one).
    """
    uri = str(model_uri)
    if uri.startswith("runs:/"):
        rest = uri.removeprefix("runs:/").strip("/")
        run_id, _, artifact_path = rest.partition("/")
        if not run_id or not artifact_path:
            raise ValidationError(
                f"model URI {uri!r} is not valid; use runs:/<run_id>/<artifact path>, "
                "e.g. runs:/3f2a…/model"
            )
        dst = str(dst_path) if dst_path is not None else tempfile.mkdtemp(prefix="loopml-model-")
        local = (client or get_client()).download_artifacts(run_id, artifact_path, dst)
        return load_package(local)
    if uri.startswith("models:/"):
        raise ValidationError(
            f"model URI {uri!r} names the model registry; load it with loopml.load_model "
            "or RegistryClient.load_model"
        )
    if "://" in uri:
        raise ValidationError(
            f"model URI {uri!r} is not supported; use runs:/<run_id>/<path> or a local folder"
        )
    return load_package(uri)
