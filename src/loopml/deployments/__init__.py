"""Deployments and safe rollouts: canary, shadow, A/B, blue-green, guards."""

from loopml.deployments._client import DeploymentClient
from loopml.deployments._guards import (
    Guards,
    RouteStats,
    Verdict,
    evaluate,
    js_distance,
    label_error,
)

__all__ = [
    "DeploymentClient",
    "Guards",
    "RouteStats",
    "Verdict",
    "evaluate",
    "js_distance",
    "label_error",
]
