"""Artifact store on fsspec: local folders, S3 (s3fs) and any other fsspec protocol.

Atomicity: a file is uploaded under a hidden temporary name (``.tmp-<uuid>-name``) and then
renamed; on object stores a single PUT is already atomic, so files go straight to their name.
Hidden temporary names never appear in listings. A folder upload that fails removes the
files it had already written.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import fsspec
from fsspec.core import url_to_fs

from loopml.entities import FileInfo
from loopml.errors import NotFoundError, StoreError, ValidationError
from loopml.store.artifacts._api import ArtifactStore, clean_relative

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"


def _storage_options(uri: str) -> dict[str, object]:
    if uri.startswith("s3://"):
        endpoint = os.environ.get("LOOPML_S3_ENDPOINT_URL")
        if endpoint:
            return {"client_kwargs": {"endpoint_url": endpoint}}
    return {}


class FsspecArtifactStore(ArtifactStore):
    """An :class:`ArtifactStore` on any fsspec filesystem."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self._fs: fsspec.AbstractFileSystem | None = None
        self._base = ""

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        """The filesystem, created on first use."""
        if self._fs is None:
            try:
                fs, base = url_to_fs(self.root, **_storage_options(self.root))
            except (ImportError, ValueError) as exc:
                raise StoreError(f"cannot open artifact root {self.root!r}: {exc}") from exc
            self._fs, self._base = fs, base.rstrip("/")
        return self._fs

    @property
    def _local(self) -> bool:
        return "file" in (
            self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        )

    def _full(self, relative: str) -> str:
        _ = self.fs
        return f"{self._base}/{relative}" if relative else self._base

    def _put(self, local: str, relative: str) -> None:
        target = self._full(relative)
        parent = target.rsplit("/", 1)[0]
        try:
            if self._local:
                self.fs.makedirs(parent, exist_ok=True)
                tmp = f"{parent}/{TMP_PREFIX}{uuid.uuid4().hex}-{target.rsplit('/', 1)[1]}"
                try:
                    self.fs.put_file(local, tmp)
                    os.replace(tmp, target)
                finally:
                    if os.path.exists(tmp):
                        os.remove(tmp)
            else:
                self.fs.put_file(local, target)
        except OSError as exc:
            raise StoreError(
                f"uploading {local!r} to {self.root}/{relative} failed: {exc}"
            ) from exc

    def log_file(self, local_path: str | os.PathLike, artifact_path: str | None = None) -> str:
        """Copy a local file under ``artifact_path``; returns its relative path."""
        src = Path(local_path)
        if not src.is_file():
            raise NotFoundError(f"local file {str(src)!r} does not exist or is not a file")
        prefix = clean_relative(artifact_path)
        relative = f"{prefix}/{src.name}" if prefix else src.name
        self._put(str(src), relative)
        return relative

    def log_dir(self, local_dir: str | os.PathLike, artifact_path: str | None = None) -> list[str]:
        """Copy a folder's files; on failure none of this call's files remain."""
        src = Path(local_dir)
        if not src.is_dir():
            raise NotFoundError(f"local folder {str(src)!r} does not exist or is not a folder")
        prefix = clean_relative(artifact_path)
        written: list[str] = []
        try:
            for file in sorted(p for p in src.rglob("*") if p.is_file()):
                rel = file.relative_to(src).as_posix()
                relative = f"{prefix}/{rel}" if prefix else rel
                self._put(str(file), relative)
                written.append(relative)
        except BaseException:
            for relative in written:
                try:
                    self.fs.rm(self._full(relative))
                except OSError:
                    log.warning("could not remove partial upload %s/%s", self.root, relative)
            raise
        return written

    def write_bytes(self, relative_path: str, data: bytes) -> None:
        """Write ``data`` to a file atomically."""
        relative = clean_relative(relative_path, "artifact_file")
        if not relative:
            raise ValidationError("artifact_file is empty; give a file name such as 'notes.txt'")
        import tempfile

        with tempfile.NamedTemporaryFile(delete=False) as tmp:
            tmp.write(data)
        try:
            self._put(tmp.name, relative)
        finally:
            os.remove(tmp.name)

    def read_bytes(self, relative_path: str) -> bytes:
        """Read a whole file."""
        relative = clean_relative(relative_path)
        try:
            return self.fs.cat_file(self._full(relative))
        except FileNotFoundError:
            raise NotFoundError(f"artifact {relative!r} does not exist under {self.root}") from None
        except OSError as exc:
            raise StoreError(f"reading {self.root}/{relative} failed: {exc}") from exc

    def list(self, path: str | None = None) -> list[FileInfo]:
        """One level of entries under ``path`` (relative to the root), sorted by path."""
        relative = clean_relative(path)
        full = self._full(relative)
        try:
            if not self.fs.exists(full):
                return []
            if self.fs.isfile(full):
                return [FileInfo(relative, False, self.fs.size(full))]
            entries = self.fs.ls(full, detail=True)
        except OSError as exc:
            raise StoreError(f"listing {self.root}/{relative} failed: {exc}") from exc
        out = []
        for entry in entries:
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if name.startswith(TMP_PREFIX) or not name:
                continue
            rel = f"{relative}/{name}" if relative else name
            is_dir = entry.get("type") == "directory"
            out.append(FileInfo(rel, is_dir, None if is_dir else int(entry.get("size") or 0)))
        return sorted(out, key=lambda f: f.path)

    def download(self, path: str, dst_dir: str | os.PathLike) -> str:
        """Copy a file or folder into ``dst_dir``; returns the local path."""
        relative = clean_relative(path)
        full = self._full(relative)
        dst = Path(dst_dir)
        dst.mkdir(parents=True, exist_ok=True)
        try:
            if not self.fs.exists(full):
                raise NotFoundError(f"artifact {relative!r} does not exist under {self.root}")
            target = dst / (relative.rsplit("/", 1)[-1] if relative else "artifacts")
            if self.fs.isdir(full):
                target.mkdir(parents=True, exist_ok=True)
                for entry in self.fs.find(full):
                    rel = entry[len(full) :].lstrip("/")
                    if rel.rsplit("/", 1)[-1].startswith(TMP_PREFIX):
                        continue
                    (target / rel).parent.mkdir(parents=True, exist_ok=True)
                    self.fs.get_file(entry, str(target / rel))
            else:
                self.fs.get_file(full, str(target))
        except OSError as exc:
            raise StoreError(f"downloading {self.root}/{relative} failed: {exc}") from exc
        return str(target)

    def delete(self, path: str | None = None) -> None:
        """Remove a file or folder (everything when ``path`` is None)."""
        relative = clean_relative(path)
        full = self._full(relative)
        try:
            if self.fs.exists(full):
                self.fs.rm(full, recursive=True)
        except OSError as exc:
            raise StoreError(f"deleting {self.root}/{relative} failed: {exc}") from exc
