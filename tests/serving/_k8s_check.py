"""A strict schema check of Kubernetes manifests with the official client's typed models.

The ``kubernetes`` models drop unknown keys without a word, so a misspelled field would
pass a plain deserialization. :func:`validate_manifest` therefore deserializes a manifest
into its typed model, serializes it back and fails when any key or value of the original
did not survive the round trip (an unknown field, a wrong type coerced, a misplaced key).

KServe's InferenceService is a CRD the client has no model for; its known structure is
checked key by key, and the pod part of its predictor goes through ``V1PodSpec``.
"""

from __future__ import annotations

import json
from typing import Any

import kubernetes.client as k8s

#: ComponentExtensionSpec fields of a KServe v1beta1 component (predictor, transformer, …).
_KSERVE_COMPONENT = {
    "minReplicas": int,
    "maxReplicas": int,
    "scaleTarget": int,
    "scaleMetric": str,
    "scaleMetricType": str,
    "containerConcurrency": int,
    "timeout": int,
    "canaryTrafficPercent": int,
    "logger": dict,
    "batcher": dict,
    "labels": dict,
    "annotations": dict,
    "deploymentStrategy": dict,
    "autoScaling": dict,
}
_KSERVE_FRAMEWORKS = {
    "model",
    "sklearn",
    "xgboost",
    "lightgbm",
    "tensorflow",
    "pytorch",
    "triton",
    "onnx",
    "pmml",
    "paddle",
    "huggingface",
    "workerSpec",
}
_KSERVE_SCALE_METRICS = {"cpu", "memory", "concurrency", "rps"}


class ManifestError(ValueError):
    """A manifest does not fit its schema; the message lists every offending path."""


def _lost(original: Any, back: Any, path: str) -> list[str]:
    """Paths where ``original`` has something ``back`` lacks or holds differently."""
    if isinstance(original, dict):
        if not isinstance(back, dict):
            return [f"{path} (expected an object)"]
        problems = []
        for key, value in original.items():
            if key not in back:
                problems.append(f"{path}.{key} (unknown field)")
            else:
                problems += _lost(value, back[key], f"{path}.{key}")
        return problems
    if isinstance(original, list):
        if not isinstance(back, list) or len(back) != len(original):
            return [f"{path} (expected a list of {len(original)})"]
        return [p for i, v in enumerate(original) for p in _lost(v, back[i], f"{path}[{i}]")]
    if type(original) is not type(back) or original != back:
        return [f"{path} ({original!r} became {back!r})"]
    return []


def _round_trip(data: dict[str, Any], class_name: str, where: str) -> None:
    api = k8s.ApiClient()
    try:
        typed = api.deserialize(json.dumps(data), class_name, None)
    except Exception as exc:  # pydantic's ValidationError, ValueError, TypeError
        errors = getattr(exc, "errors", None)
        if callable(errors):  # pydantic: one "field: problem (got value)" per error
            detail = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']} (got {e.get('input')!r})"
                for e in errors()
            )
        else:
            detail = str(exc)
        raise ManifestError(f"{where} is not a valid {class_name}: {detail}") from exc
    problems = _lost(data, api.sanitize_for_serialization(typed), where)
    if problems:
        raise ManifestError(f"{where} does not fit {class_name}: " + "; ".join(problems))


def model_class(api_version: str, kind: str) -> str:
    """The client's class name for an apiVersion and kind: apps/v1 Deployment → V1Deployment."""
    version = api_version.rsplit("/", 1)[-1]
    name = version[:1].upper() + version[1:] + kind
    if not hasattr(k8s, name):
        raise ManifestError(f"no kubernetes model for apiVersion {api_version!r} kind {kind!r}")
    return name


def _validate_inference_service(doc: dict[str, Any]) -> None:
    where = "InferenceService"
    extra = set(doc) - {"apiVersion", "kind", "metadata", "spec"}
    if extra:
        raise ManifestError(f"{where} has unknown top-level field(s) {sorted(extra)}")
    _round_trip(doc.get("metadata") or {}, "V1ObjectMeta", f"{where}.metadata")
    spec = doc.get("spec")
    if not isinstance(spec, dict) or "predictor" not in spec:
        raise ManifestError(f"{where}.spec needs a predictor")
    extra = set(spec) - {"predictor", "transformer", "explainer"}
    if extra:
        raise ManifestError(f"{where}.spec has unknown field(s) {sorted(extra)}")
    pod_fields = set(k8s.V1PodSpec.attribute_map.values())
    for component, body in spec.items():
        path = f"{where}.spec.{component}"
        if not isinstance(body, dict):
            raise ManifestError(f"{path} must be an object")
        unknown = set(body) - set(_KSERVE_COMPONENT) - _KSERVE_FRAMEWORKS - pod_fields
        if unknown:
            raise ManifestError(f"{path} has unknown field(s) {sorted(unknown)}")
        for key, kind in _KSERVE_COMPONENT.items():
            if key in body and (type(body[key]) is not kind):
                raise ManifestError(f"{path}.{key} must be {kind.__name__}, not {body[key]!r}")
        if "scaleMetric" in body and body["scaleMetric"] not in _KSERVE_SCALE_METRICS:
            raise ManifestError(f"{path}.scaleMetric {body['scaleMetric']!r} is not known")
        pod = {key: value for key, value in body.items() if key in pod_fields}
        if pod:
            _round_trip(pod, "V1PodSpec", path)
        elif not set(body) & _KSERVE_FRAMEWORKS:
            raise ManifestError(f"{path} needs containers or a model framework")


def validate_manifest(doc: dict[str, Any]) -> None:
    """Raise :class:`ManifestError` unless ``doc`` fits its kind's schema exactly."""
    if not isinstance(doc, dict):
        raise ManifestError(f"a manifest must be an object, not {type(doc).__name__}")
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        raise ManifestError("a manifest needs string apiVersion and kind")
    if api_version == "serving.kserve.io/v1beta1" and kind == "InferenceService":
        _validate_inference_service(doc)
        return
    _round_trip(doc, model_class(api_version, kind), kind)
