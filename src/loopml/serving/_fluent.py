"""Module-level calls for logs on the default tracking store."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from loopml.serving._logs import joined_log, read_feedback_file, write_feedback
from loopml.tracking import get_client


def log_feedback(deployment: str, request_ids: Sequence[str], labels: Sequence[Any]) -> int:
    """Store ground-truth labels for predictions of a deployment (any time later)."""
    return write_feedback(get_client(), deployment, request_ids, labels)


def upload_feedback(deployment: str, path: str | os.PathLike) -> int:
    """Store labels from a CSV/Parquet file with columns request_id and label."""
    ids, labels = read_feedback_file(path)
    return write_feedback(get_client(), deployment, ids, labels)


def get_prediction_log(
    deployment: str, start: datetime | int | None = None, end: datetime | int | None = None
) -> pd.DataFrame:
    """A deployment's predictions in [start, end) joined with their labels."""
    return joined_log(get_client(), deployment, start, end)
