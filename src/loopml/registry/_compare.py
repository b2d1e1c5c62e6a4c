"""Compare two model versions: metrics, params and signatures."""

from __future__ import annotations

import json
from typing import Any

from loopml.registry._client import RegistryClient


def compare_versions(
    registry: RegistryClient, a: tuple[str, int], b: tuple[str, int]
) -> dict[str, Any]:
    """Differences between two versions (each given as (name, version))."""
    va, vb = (registry.get_model_version(n, v) for n, v in (a, b))

    def params(mv) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return registry.tracking.get_run(mv.run_id).data.params if mv.run_id else {}

    pa, pb = params(va), params(vb)
    metrics = {
        k: {"a": va.metrics.get(k), "b": vb.metrics.get(k)}
        for k in sorted(set(va.metrics) | set(vb.metrics))
    }
    for value in metrics.values():
        if value["a"] is not None and value["b"] is not None:
            value["delta"] = value["b"] - value["a"]
    param_diff = {
        k: {"a": pa.get(k), "b": pb.get(k)}
        for k in sorted(set(pa) | set(pb))
        if pa.get(k) != pb.get(k)
    }
    sa = {c["name"]: c for c in json.loads(va.signature or '{"inputs": []}')["inputs"]}
    sb = {c["name"]: c for c in json.loads(vb.signature or '{"inputs": []}')["inputs"]}
    signature = {
        "added": sorted(set(sb) - set(sa)),
        "removed": sorted(set(sa) - set(sb)),
        "changed": {
            k: {"a": sa[k]["type"], "b": sb[k]["type"]}
            for k in sorted(set(sa) & set(sb))
            if sa[k]["type"] != sb[k]["type"] or sa[k].get("categories") != sb[k].get("categories")
        },
    }
    return {
        "a": f"{va.name}/{va.version}",
        "b": f"{vb.name}/{vb.version}",
        "metrics": metrics,
        "params": param_diff,
        "signature": signature,
    }
