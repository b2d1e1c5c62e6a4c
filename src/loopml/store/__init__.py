"""The store layer: metadata (SQLAlchemy), artifacts (fsspec) and where they live."""

from loopml.store._location import StoreLocation, default_tracking_uri, resolve
from loopml.store.metadata import SqlTrackingStore

__all__ = ["SqlTrackingStore", "StoreLocation", "default_tracking_uri", "resolve"]
