"""Where a tracking URI puts metadata and artifacts.

=================================  ===========================  ============================
tracking URI                       metadata                     artifacts (default root)
=================================  ===========================  ============================
(none)                             ``$LOOPML_HOME/loopml.db``   ``$LOOPML_HOME/artifacts``
a folder path                      ``<folder>/loopml.db``       ``<folder>/artifacts``
``sqlite:///path/x.db`` / ``x.db`` that file                    ``artifacts`` beside it
``postgresql://…``                 that database                ``$LOOPML_ARTIFACT_ROOT``
=================================  ===========================  ============================

``LOOPML_HOME`` defaults to ``./.loopml``; ``LOOPML_ARTIFACT_ROOT`` overrides the artifact
root for every kind (for example ``s3://bucket/loopml``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loopml.errors import ValidationError

DEFAULT_HOME = ".loopml"


@dataclass(frozen=True, slots=True)
class StoreLocation:
    """The resolved database URL and default artifact root of a tracking URI."""

    tracking_uri: str
    db_url: str
    artifact_root: str


def default_tracking_uri() -> str:
    """``$LOOPML_TRACKING_URI``, else the folder ``$LOOPML_HOME`` (default ``./.loopml``)."""
    env = os.environ.get("LOOPML_TRACKING_URI")
    if env:
        return env
    return str(Path(os.environ.get("LOOPML_HOME", DEFAULT_HOME)).expanduser().absolute())


def resolve(uri: str | None = None) -> StoreLocation:
    """Resolve a tracking URI (or the default) into a StoreLocation."""
    uri = uri or default_tracking_uri()
    override = os.environ.get("LOOPML_ARTIFACT_ROOT")
    if uri.startswith(("http://", "https://")):
        raise ValidationError(
            f"tracking URI {uri!r} points at a loopml server; the REST client arrives with "
            "`loopml server`. For now use a folder path, sqlite:///… or postgresql://…"
        )
    if uri.startswith("sqlite:"):
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if not path or path == ":memory:":
            raise ValidationError(
                f"tracking URI {uri!r} has no database file; use sqlite:///path/to/loopml.db"
            )
        db_path = Path(path).expanduser().absolute()
        root = override or str(db_path.parent / "artifacts")
        return StoreLocation(uri, f"sqlite:///{db_path}", root)
    if uri.startswith(("postgresql:", "postgres:", "postgresql+")):
        root = override or str(
            (Path(os.environ.get("LOOPML_HOME", DEFAULT_HOME)) / "artifacts").absolute()
        )
        return StoreLocation(uri, uri, root)
    if "://" in uri and not uri.startswith("file://"):
        raise ValidationError(
            f"tracking URI {uri!r} is not supported; use a folder path, "
            "sqlite:///path/to/loopml.db or postgresql://user@host:5432/db"
        )
    path = Path(uri.removeprefix("file://")).expanduser().absolute()
    if path.suffix == ".db":
        return StoreLocation(uri, f"sqlite:///{path}", override or str(path.parent / "artifacts"))
    return StoreLocation(
        uri, f"sqlite:///{path / 'loopml.db'}", override or str(path / "artifacts")
    )
