"""Model packages: a folder with a manifest, the serialized model and its requirements.

    my-model/
      loopml-model.json       flavor, loader, created time, run id, signature, requirements,
                              library versions and the sha256 of every other file
      model.skops             the model (name depends on flavor and serialization)
      requirements.txt        exact versions of the libraries the model needs
      input_example.json      optional
      reference_profile.json  optional: statistics of the training data

The folder is written under a temporary name and renamed, so a package is never seen
half-written; loading verifies every checksum first.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.models._flavors import FLAVORS, flavor_for
from loopml.models._profile import profile_frame
from loopml.models._signature import Signature, as_frame, infer_signature

MANIFEST = "loopml-model.json"
FORMAT_VERSION = 1


class LibraryVersionWarning(UserWarning):
    """The installed version of a library differs from the one the model was saved with."""


@dataclass(frozen=True)
class Manifest:
    """What a package's ``loopml-model.json`` says."""

    flavor: str
    flavor_section: dict[str, Any]
    created_time: int
    files: dict[str, str]
    library_versions: dict[str, str]
    signature: Signature | None = None
    run_id: str | None = None
    input_example: str | None = None
    reference_profile: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "format_version": FORMAT_VERSION,
            "flavor": self.flavor,
            "loader": f"loopml.models._flavors:{type(FLAVORS[self.flavor]).__name__}",
            self.flavor: self.flavor_section,
            "created_time": self.created_time,
            "run_id": self.run_id,
            "signature": self.signature.to_dict() if self.signature else None,
            "input_example": self.input_example,
            "reference_profile": self.reference_profile,
            "requirements": "requirements.txt",
            "library_versions": self.library_versions,
            "files": self.files,
            **self.extra,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """Parse a manifest; unknown flavors are refused."""
        flavor = data.get("flavor")
        if flavor not in FLAVORS:
            raise ValidationError(f"model package has unknown flavor {flavor!r}")
        sig = data.get("signature")
        return cls(
            flavor=flavor,
            flavor_section=data[flavor],
            created_time=data["created_time"],
            files=data["files"],
            library_versions=data.get("library_versions", {}),
            signature=Signature.from_dict(sig) if sig else None,
            run_id=data.get("run_id"),
            input_example=data.get("input_example"),
            reference_profile=data.get("reference_profile"),
        )


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _versions(packages: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for name in packages:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            # installed under another distribution name (e.g. xgboost-cpu): ask the module
            module = sys.modules.get(name.replace("-", "_"))
            version = getattr(module, "__version__", None)
            if isinstance(version, str):
                found[name] = version
    return found


def save_model(
    model: Any,
    path: str | os.PathLike,
    *,
    input_example: Any = None,
    signature: Signature | None = None,
    training_data: Any = None,
    training_labels: Any = None,
    flavor: str | None = None,
    serialization: str | None = None,
    run_id: str | None = None,
    code_paths: list[str | os.PathLike] | None = None,
) -> Path:
    """Write ``model`` as a package folder at ``path`` (which must not exist yet).

    The signature is inferred from ``training_data`` (or ``input_example``) and the model's
    predictions on it; a reference profile is computed from ``training_data``, the model's
    outputs on it (prediction drift) and ``training_labels`` when given (label drift).
    ``code_paths`` are Python files or packages copied into ``code/`` and put on
    ``sys.path`` when the model is loaded (for custom model classes).
    """
    target = Path(path)
    if target.exists():
        raise ConflictError(f"{target} already exists; choose a new folder for the package")
    chosen = flavor_for(model, flavor)
    sources = [Path(p) for p in code_paths or []]
    missing = [str(p) for p in sources if not p.exists()]
    if missing:
        raise NotFoundError(f"code path(s) {', '.join(missing)} do not exist")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".tmp-{uuid.uuid4().hex}-{target.name}"
    staging.mkdir()
    try:
        for source in sources:
            (staging / "code").mkdir(exist_ok=True)
            if source.is_dir():
                shutil.copytree(
                    source,
                    staging / "code" / source.name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                shutil.copy2(source, staging / "code" / source.name)
        sample = training_data if training_data is not None else input_example
        section = chosen.save(
            model, staging, serialization, None if sample is None else as_frame(sample)
        )
        example_file = profile_file = None
        if signature is None and sample is not None:
            frame = as_frame(sample)
            signature = infer_signature(frame, _predict_sample(model, frame))
        if input_example is not None:
            example = as_frame(input_example).head(5)
            (staging / "input_example.json").write_text(
                example.to_json(orient="split", index=False, date_format="iso")
            )
            example_file = "input_example.json"
        if training_data is not None:
            (staging / "reference_profile.json").write_text(
                json.dumps(_reference_profile(model, training_data, training_labels))
            )
            profile_file = "reference_profile.json"
        versions = _versions(chosen.packages)
        (staging / "requirements.txt").write_text(
            "".join(f"{name}=={version}\n" for name, version in sorted(versions.items()))
        )
        files = {
            p.relative_to(staging).as_posix(): sha256_file(p)
            for p in sorted(staging.rglob("*"))
            if p.is_file()
        }
        manifest = Manifest(
            flavor=chosen.name,
            flavor_section=section,
            created_time=int(time.time() * 1000),
            files=files,
            library_versions=versions,
            signature=signature,
            run_id=run_id,
            input_example=example_file,
            reference_profile=profile_file,
        )
        (staging / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=2))
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


PROFILE_PREDICTION_ROWS = 100_000


def _reference_profile(model: Any, training_data: Any, training_labels: Any) -> dict[str, Any]:
    """Profile of the inputs plus, under ``outputs`` and ``labels``, of predictions and labels."""
    frame = as_frame(training_data)
    profile = profile_frame(frame)
    sample = frame.head(PROFILE_PREDICTION_ROWS)
    try:
        outputs = np.asarray(model.predict(sample))
    except Exception:  # a model that cannot score its own training data has no output profile
        outputs = None
    if outputs is not None and outputs.ndim == 1:
        profile["outputs"] = profile_frame(pd.DataFrame({"prediction": outputs}))
    if training_labels is not None:
        labels = np.asarray(training_labels)
        if labels.ndim == 1:
            profile["labels"] = profile_frame(pd.DataFrame({"label": labels}))
    return profile


def _predict_sample(model: Any, frame: pd.DataFrame) -> Any:
    try:
        return model.predict(frame.head(100))
    except Exception:  # outputs stay unknown when the sample cannot be scored
        return None


def read_manifest(folder: Path) -> Manifest:
    """Read and parse a package's manifest."""
    path = folder / MANIFEST
    if not path.is_file():
        raise NotFoundError(f"{folder} is not a loopml model package (no {MANIFEST})")
    try:
        return Manifest.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, KeyError) as exc:
        raise ValidationError(f"the manifest {path} is damaged: {exc}") from None


def verify_package(folder: Path, manifest: Manifest) -> None:
    """Refuse a package whose files are missing or differ from the recorded sha256."""
    bad = []
    for relative, expected in manifest.files.items():
        file = folder / relative
        if not file.is_file():
            bad.append(f"{relative} is missing")
        elif sha256_file(file) != expected:
            bad.append(f"{relative} has changed (sha256 differs)")
    if bad:
        raise ValidationError(
            f"model package {folder} failed its checksum check: {'; '.join(bad)}. "
            "It was modified or copied incompletely; re-download or re-log the model"
        )


def _warn_versions(manifest: Manifest) -> None:
    installed = _versions(tuple(manifest.library_versions))
    for name, saved in manifest.library_versions.items():
        now = installed.get(name)
        if now != saved:
            warnings.warn(
                f"model was saved with {name}=={saved} but {name}=={now or 'not installed'} "
                "is installed; predictions may differ",
                LibraryVersionWarning,
                stacklevel=3,
            )


class LoadedModel:
    """A loaded package: ``predict`` validates input against the signature first."""

    def __init__(self, model: Any, manifest: Manifest, folder: Path) -> None:
        self.model = model
        self.manifest = manifest
        self.folder = folder

    @property
    def signature(self) -> Signature | None:
        """The model's signature (None when it was saved without one)."""
        return self.manifest.signature

    @property
    def flavor(self) -> str:
        """The flavor name."""
        return self.manifest.flavor

    def reference_profile(self) -> dict[str, Any] | None:
        """The training data profile saved with the model."""
        if not self.manifest.reference_profile:
            return None
        return json.loads((self.folder / self.manifest.reference_profile).read_text())

    def input_example(self) -> pd.DataFrame | None:
        """The saved input example, as a frame."""
        if not self.manifest.input_example:
            return None
        data = json.loads((self.folder / self.manifest.input_example).read_text())
        return pd.DataFrame(data["data"], columns=data["columns"])

    def predict(self, data: Any) -> Any:
        """Validate ``data`` against the signature, then call the model's predict."""
        if self.signature is not None and self.signature.inputs:
            frame = self.signature.validate(data)
        else:
            frame = as_frame(data)
        return self.model.predict(frame)

    def __repr__(self) -> str:
        return f"LoadedModel(flavor={self.flavor!r}, folder={str(self.folder)!r})"


def load_package(folder: str | os.PathLike) -> LoadedModel:
    """Verify and load a package folder."""
    path = Path(folder)
    manifest = read_manifest(path)
    verify_package(path, manifest)
    _warn_versions(manifest)
    code = path / "code"
    if code.is_dir() and str(code) not in sys.path:
        sys.path.insert(0, str(code))
    model = FLAVORS[manifest.flavor].load(path, manifest.flavor_section)
    return LoadedModel(model, manifest, path)
