"""Model URIs: ``models:/name/3``, ``models:/name@alias``, ``models:/name/latest``."""

from __future__ import annotations

from dataclasses import dataclass

from loopml.errors import ValidationError


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A parsed ``models:/`` URI: a name and either a version, an alias or 'latest'."""

    name: str
    version: int | None = None
    alias: str | None = None
    latest: bool = False


def parse_model_uri(uri: str) -> ModelRef:
    """Parse ``models:/name/3``, ``models:/name@alias`` or ``models:/name/latest``."""
    if not uri.startswith("models:/"):
        raise ValidationError(f"{uri!r} is not a models:/ URI")
    rest = uri.removeprefix("models:/").strip("/")
    if "@" in rest:
        name, _, alias = rest.partition("@")
        if name and alias and "/" not in alias:
            return ModelRef(name, alias=alias)
    elif "/" in rest:
        name, _, ver = rest.partition("/")
        if ver == "latest":
            return ModelRef(name, latest=True)
        if name and ver.isdigit() and int(ver) > 0:
            return ModelRef(name, version=int(ver))
    raise ValidationError(
        f"model URI {uri!r} is not valid; use models:/NAME/VERSION, models:/NAME@ALIAS "
        "or models:/NAME/latest (e.g. models:/taxi@champion)"
    )
