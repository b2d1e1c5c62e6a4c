"""The artifact store interface and the factory that picks an implementation by URI."""

from __future__ import annotations

import os
import posixpath
from abc import ABC, abstractmethod

from loopml.entities import FileInfo
from loopml.errors import StoreError, ValidationError


class ArtifactStore(ABC):
    """Files of one run (or model) under a root URI; every write is atomic."""

    root: str

    @abstractmethod
    def log_file(self, local_path: str | os.PathLike, artifact_path: str | None = None) -> str:
        """Copy a local file under ``artifact_path``; returns its relative path."""

    @abstractmethod
    def log_dir(self, local_dir: str | os.PathLike, artifact_path: str | None = None) -> list[str]:
        """Copy a folder's files; on failure none of this call's files remain."""

    @abstractmethod
    def write_bytes(self, relative_path: str, data: bytes) -> None:
        """Write ``data`` to a file atomically."""

    @abstractmethod
    def read_bytes(self, relative_path: str) -> bytes:
        """Read a whole file."""

    @abstractmethod
    def list(self, path: str | None = None) -> list[FileInfo]:
        """One level of entries under ``path`` (relative to the root), sorted by path."""

    @abstractmethod
    def download(self, path: str, dst_dir: str | os.PathLike) -> str:
        """Copy a file or folder into ``dst_dir``; returns the local path."""

    @abstractmethod
    def delete(self, path: str | None = None) -> None:
        """Remove a file or folder (everything when ``path`` is None)."""


def clean_relative(path: str | None, what: str = "artifact_path") -> str:
    """Normalise a relative artifact path; refuse absolute paths and '..' escapes."""
    if path is None or path in ("", "."):
        return ""
    text = str(path).replace("\\", "/")
    norm = posixpath.normpath(text)
    if text.startswith("/") or norm == ".." or norm.startswith("../"):
        raise ValidationError(
            f"{what} {path!r} leaves the artifact root; use a relative path such as "
            "'plots' or 'model/weights.bin'"
        )
    return "" if norm == "." else norm


def open_artifact_store(uri: str) -> ArtifactStore:
    """An artifact store rooted at ``uri``: a local path, ``file://`` or ``s3://…``."""
    from loopml.store.artifacts._fs import FsspecArtifactStore

    if uri.startswith("s3://"):
        try:
            import s3fs  # noqa: F401
        except ImportError as exc:
            raise StoreError(
                f"artifact root {uri!r} needs S3 support: pip install 'loopml[s3]'"
            ) from exc
    return FsspecArtifactStore(uri)
