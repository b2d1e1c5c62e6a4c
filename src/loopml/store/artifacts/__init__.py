"""Artifact stores on fsspec: local folders and S3 (``loopml[s3]``)."""

from loopml.store.artifacts._api import ArtifactStore, clean_relative, open_artifact_store
from loopml.store.artifacts._fs import FsspecArtifactStore

__all__ = ["ArtifactStore", "FsspecArtifactStore", "clean_relative", "open_artifact_store"]
