"""Build what runs a model elsewhere: a Docker build context and Kubernetes manifests.

``build_docker`` writes a context that serves one model version from inside the image::

    DIR/Dockerfile        slim base, pinned requirements, non-root user, HEALTHCHECK, CMD
    DIR/requirements.txt  the package's pinned requirements plus loopml itself
    DIR/model/            the model package, checksums verified after the copy
    DIR/.dockerignore     an allow-list: only the files above enter the build
    DIR/README.md         how to build, run and call the image

``build_k8s`` writes manifests for a deployment of the store, served by
``loopml serve --deployment NAME`` so that canary, shadow and alias moves apply live::

    DIR/deployment.yaml  DIR/service.yaml  DIR/hpa.yaml  [DIR/inferenceservice.yaml]

Both refuse an existing non-empty ``DIR`` unless ``force``; every file is written to a
staging folder first and moved into place only when all of them are complete.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import uuid
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

import loopml
from loopml.deployments import DeploymentClient
from loopml.entities import ModelVersionStatus
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.models._package import Manifest, read_manifest, verify_package
from loopml.registry import RegistryClient
from loopml.store.artifacts import open_artifact_store
from loopml.store.metadata import DeploymentRecord

log = logging.getLogger(__name__)

#: uid and gid of the non-root user in the image (numeric, so Kubernetes can verify it).
UID = 10001
#: Where the model package lives inside the image.
MODEL_DIR = "/opt/loopml/model"
#: Secret holding the tracking URI (key ``tracking-uri``) for the Kubernetes pods.
SECRET = "loopml-tracking"

DOCKER_FILES = ("Dockerfile", ".dockerignore", "requirements.txt", "README.md", "model", "wheels")
K8S_FILES = ("deployment.yaml", "service.yaml", "hpa.yaml", "inferenceservice.yaml")

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")


# -- output folder ----------------------------------------------------------------------------


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConflictError(f"--out {str(out)!r} is a file; give a folder to write into")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConflictError(
            f"--out folder {str(out)!r} already exists and is not empty; choose a new folder "
            "or pass --force to replace the files this command writes there"
        )


def _write_out(out: Path, force: bool, owned: tuple[str, ...], fill: Callable[[Path], Any]) -> Any:
    """Run ``fill(staging)``, then move its entries into ``out`` (replacing ``owned`` names)."""
    _check_out(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".tmp-{uuid.uuid4().hex}-{out.name}"
    staging.mkdir()
    try:
        result = fill(staging)
        if not out.exists():
            staging.rename(out)
            return result
        for name in owned:  # --force: stale files of an earlier build must not linger
            old = out / name
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            elif old.exists() or old.is_symlink():
                old.unlink()
        for entry in staging.iterdir():
            entry.rename(out / entry.name)
        staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return result


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise ValidationError(f"--port {port} is not a TCP port; use 1-65535, e.g. 8080")


# -- Docker -----------------------------------------------------------------------------------


def _fetch_package(model_uri: str, registry: RegistryClient, dst: Path) -> dict[str, str]:
    """Copy the package ``model_uri`` names into ``dst``; returns image labels describing it."""
    download = dst.parent / f".download-{uuid.uuid4().hex}"
    labels = {"io.loopml.model-uri": model_uri}
    try:
        if model_uri.startswith("models:/"):
            version = registry.resolve(model_uri)
            if version.status != ModelVersionStatus.READY:
                raise ConflictError(
                    f"{version.name}/{version.version} is {version.status}, not READY; build "
                    "a READY version (list them with `loopml models versions "
                    f"{version.name}`)"
                )
            store = open_artifact_store(version.storage_location)
            Path(store.download("", download)).rename(dst)
            labels.update(
                {
                    "io.loopml.model-name": version.name,
                    "io.loopml.model-version": str(version.version),
                }
            )
        elif model_uri.startswith("runs:/"):
            run_id, _, path = model_uri.removeprefix("runs:/").strip("/").partition("/")
            if not run_id or not path:
                raise ValidationError(
                    f"model URI {model_uri!r} is not valid; use runs:/<run_id>/<path>, "
                    "e.g. runs:/3f2a…/model"
                )
            Path(registry.tracking.download_artifacts(run_id, path, download)).rename(dst)
        elif "://" not in model_uri and Path(model_uri).is_dir():
            shutil.copytree(model_uri, dst, symlinks=False)
        else:
            raise ValidationError(
                f"MODEL_URI {model_uri!r} is neither a models:/ or runs:/ URI nor a model "
                "package folder; use models:/NAME@ALIAS, models:/NAME/VERSION, "
                "runs:/<run_id>/model or a folder (e.g. models:/diabetes@champion)"
            )
    finally:
        shutil.rmtree(download, ignore_errors=True)
    manifest = read_manifest(dst)
    verify_package(dst, manifest)  # the copy must match the checksums of the original
    if manifest.run_id:
        labels["io.loopml.run-id"] = manifest.run_id
    labels["io.loopml.flavor"] = manifest.flavor
    return labels


def _requirement_name(line: str) -> str:
    match = _REQUIREMENT_NAME.match(line)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else ""


def _pinned(folder: Path, manifest: Manifest) -> list[str]:
    """The package's requirements, each pinned with ``==`` (loopml itself left out)."""
    file = folder / "requirements.txt"
    if file.is_file():
        lines = [ln.split("#", 1)[0].strip() for ln in file.read_text().splitlines()]
    else:
        lines = [f"{name}=={ver}" for name, ver in sorted(manifest.library_versions.items())]
    pinned = []
    for line in filter(None, lines):
        name = _requirement_name(line)
        if name == "loopml":
            continue
        if "==" not in line:
            match = _REQUIREMENT_NAME.match(line)
            try:
                installed = metadata.version(name)
            except metadata.PackageNotFoundError:
                raise ValidationError(
                    f"requirement {line!r} of the model package is not pinned and {name} is "
                    "not installed here to pin it; pin it (name==version) in the package's "
                    "requirements.txt and log the model again"
                ) from None
            assert match is not None
            _, _, marker = line.partition(";")
            pin = f"{match.group(1)}{match.group(2) or ''}=={installed}"
            log.warning("pinned the model requirement %r to the installed %s", line, pin)
            line = f"{pin}; {marker.strip()}" if marker.strip() else pin
        pinned.append(line)
    return pinned


def _dockerfile(
    base_image: str, port: int, labels: dict[str, str], wheel: bool, version: str
) -> str:
    health = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=4)"
    )
    label_lines = " \\\n      ".join(f"{k}={json.dumps(v)}" for k, v in labels.items())
    cmd = ["loopml", "serve", MODEL_DIR, "--host", "0.0.0.0", "--port", str(port)]
    copy_wheels = "COPY wheels/ ./wheels/\n" if wheel else ""
    uri = json.dumps(labels["io.loopml.model-uri"])
    return f"""\
# syntax=docker/dockerfile:1
# Generated by `loopml build docker` (loopml {version}); serves {uri}.
FROM {base_image}

LABEL org.opencontainers.image.title="loopml model server" \\
      {label_lines}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    LOOPML_HOME=/home/loopml/.loopml

WORKDIR /opt/loopml

# Dependencies first: this layer is reused while only the model changes.
COPY requirements.txt ./
{copy_wheels}RUN pip install --no-cache-dir -r requirements.txt

RUN groupadd --system --gid {UID} loopml \\
 && useradd --system --uid {UID} --gid {UID} --create-home --home-dir /home/loopml loopml

COPY --chown={UID}:{UID} model/ {MODEL_DIR}/

USER {UID}:{UID}

EXPOSE {port}

# python:*-slim has no curl: probe /health with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \\
  CMD {json.dumps(["python", "-c", health])}

CMD {json.dumps(cmd)}
"""


def _docker_readme(model_uri: str, labels: dict[str, str], port: int, example: str) -> str:
    name = labels.get("io.loopml.model-name", "model")
    what = (
        f"{name} version {labels['io.loopml.model-version']}"
        if "io.loopml.model-version" in labels
        else "the model package"
    )
    tag = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.") or "model"
    ver = labels.get("io.loopml.model-version", "latest")
    return f"""\
# Docker build context for `{model_uri}`

Generated by `loopml build docker`. It serves {what} (flavor `{labels["io.loopml.flavor"]}`);
an alias was resolved when this context was built, so the image keeps serving that
version. The package in `model/` was verified against its sha256 checksums.

```sh
docker build -t {tag}:{ver} .
docker run --rm -p {port}:{port} {tag}:{ver}
curl -s http://localhost:{port}/health
curl -s http://localhost:{port}/predict -H 'content-type: application/json' -d '{example}'
```

- Endpoints: `/predict`, `/invocations` (MLflow), `/v2/models/…` (Open Inference Protocol),
  `/metrics` (Prometheus), `/health` (liveness) and `/ready` (readiness), on port {port}.
- Runs as the non-root user `loopml` (uid {UID}); `requirements.txt` pins every library.
- Predictions are logged inside the container (`$LOOPML_HOME`); set `LOOPML_TRACKING_URI`
  (e.g. `postgresql://…`, with `LOOPML_ARTIFACT_ROOT=s3://…`) to log them to your store.
- The same image can serve a whole deployment on Kubernetes: see `loopml build k8s --help`.
"""


def _example_body(folder: Path, manifest: Manifest) -> str:
    if manifest.input_example:
        try:
            data = json.loads((folder / manifest.input_example).read_text())
            return json.dumps([dict(zip(data["columns"], data["data"][0], strict=True))])
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            pass
    if manifest.signature is not None and manifest.signature.inputs:
        zero = {"integer": 0, "float": 0.0, "boolean": False}
        return json.dumps([{c.name: zero.get(c.type, "") for c in manifest.signature.inputs}])
    return '[{"feature": 1.0}]'


def build_docker(
    model_uri: str,
    out_dir: str | Path,
    *,
    tracking_uri: str | None = None,
    port: int = 8080,
    base_image: str = "python:3.11-slim",
    loopml_requirement: str | None = None,
    force: bool = False,
) -> Path:
    """Write a Docker build context serving ``model_uri`` into ``out_dir``; returns the folder.

    ``loopml_requirement`` replaces the ``loopml==<version>`` line; an existing file (a wheel)
    is copied into ``wheels/`` and installed from there.
    """
    _check_port(port)
    if not base_image.strip() or any(ch.isspace() for ch in base_image):
        raise ValidationError(
            f"--base-image {base_image!r} is not an image name, e.g. python:3.11-slim"
        )
    model_uri = str(model_uri)
    version = loopml.__version__
    registry = RegistryClient(tracking_uri)

    def fill(staging: Path) -> None:
        labels = _fetch_package(model_uri, registry, staging / "model")
        manifest = read_manifest(staging / "model")
        requirements = _pinned(staging / "model", manifest)
        wheel = False
        if loopml_requirement is None:
            requirements.append(f"loopml=={version}")
        elif Path(loopml_requirement).is_file():
            source = Path(loopml_requirement)
            (staging / "wheels").mkdir()
            shutil.copy2(source, staging / "wheels" / source.name)
            requirements.append(f"./wheels/{source.name}")
            wheel = True
        else:
            requirements.append(loopml_requirement.strip())
        (staging / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
        (staging / "Dockerfile").write_text(_dockerfile(base_image, port, labels, wheel, version))
        allowed = ["Dockerfile", "requirements.txt", "model/"] + (["wheels/"] if wheel else [])
        (staging / ".dockerignore").write_text(
            "# Only these enter the build context.\n*\n" + "".join(f"!{p}\n" for p in allowed)
        )
        example = _example_body(staging / "model", manifest)
        (staging / "README.md").write_text(_docker_readme(model_uri, labels, port, example))

    out = Path(out_dir)
    _write_out(out, force, DOCKER_FILES, fill)
    log.info("wrote a Docker context for %s to %s", model_uri, out)
    return out


# -- Kubernetes -------------------------------------------------------------------------------


def _k8s_name(name: str) -> str:
    """A DNS-1035 label (what Service names need) made from a deployment name."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not text or not text[0].isalpha():
        text = f"loopml-{text}".rstrip("-")
    return text[:63].rstrip("-")


def _routes(record: DeploymentRecord) -> str:
    state = record.state
    routes = [f"primary=models:/{record.model_name}/{state['primary']}"]
    if state.get("candidate") is not None:
        routes.append(f"{state['strategy']}=models:/{record.model_name}/{state['candidate']}")
    if state.get("standby") is not None:
        routes.append(f"standby=models:/{record.model_name}/{state['standby']}")
    return ",".join(routes)


def _container(name: str, deployment: str, image: str, port: int, named_port: bool) -> dict:
    probe_port: str | int = "http" if named_port else port
    secret = {"name": SECRET, "key": "tracking-uri"}
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["loopml"],
        "args": ["serve", "--deployment", deployment, "--host", "0.0.0.0", "--port", str(port)],
        "ports": [
            {"name": "http", "containerPort": port, "protocol": "TCP"}
            if named_port
            else {"containerPort": port, "protocol": "TCP"}
        ],
        "env": [
            {"name": "LOOPML_TRACKING_URI", "valueFrom": {"secretKeyRef": secret}},
            {
                "name": "LOOPML_ARTIFACT_ROOT",
                "valueFrom": {
                    "secretKeyRef": {"name": SECRET, "key": "artifact-root", "optional": True}
                },
            },
            {"name": "LOOPML_HOME", "value": "/tmp/loopml"},
        ],
        "resources": {
            "requests": {"cpu": "250m", "memory": "512Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "startupProbe": {
            "httpGet": {"path": "/health", "port": probe_port},
            "periodSeconds": 2,
            "failureThreshold": 90,
        },
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": probe_port},
            "periodSeconds": 5,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": probe_port},
            "periodSeconds": 10,
            "timeoutSeconds": 2,
            "failureThreshold": 3,
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def _pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _scrape(port: int) -> dict[str, str]:
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }


def _check_scaling(replicas: int, min_replicas: int, max_replicas: int, cpu_target: int) -> None:
    if min_replicas < 1 or max_replicas < min_replicas:
        raise ValidationError(
            f"replica bounds min={min_replicas} max={max_replicas} are not valid; use "
            "1 <= min <= max, e.g. min 1 and max 5"
        )
    if not min_replicas <= replicas <= max_replicas:
        raise ValidationError(
            f"--replicas {replicas} is outside the autoscaling range "
            f"{min_replicas}-{max_replicas}; pick a value in it"
        )
    if cpu_target < 1:
        raise ValidationError(
            f"CPU target {cpu_target}% is not valid; use a utilisation percentage such as 70"
        )


def _manifests(
    record: DeploymentRecord,
    *,
    image: str,
    port: int,
    replicas: int,
    min_replicas: int,
    max_replicas: int,
    cpu_target: int,
    kserve: bool,
    namespace: str | None,
) -> dict[str, dict[str, Any]]:
    name = _k8s_name(record.name)
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": name}
    labels = {
        **selector,
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/part-of": "loopml",
        "app.kubernetes.io/managed-by": "loopml",
    }
    about = {
        "loopml.io/deployment": record.name,
        "loopml.io/model": record.model_name,
        "loopml.io/alias": str(record.state.get("alias", "")),
        "loopml.io/routes": _routes(record),
        "loopml.io/revision": str(record.revision),
    }

    def meta(annotations: dict[str, str] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"name": name}
        if namespace:
            data["namespace"] = namespace
        data["labels"] = dict(labels)
        if annotations:
            data["annotations"] = annotations
        return data

    pod_spec = {
        "securityContext": _pod_security(),
        "terminationGracePeriodSeconds": 30,
        "containers": [_container("model-server", record.name, image, port, named_port=True)],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    docs = {
        "deployment.yaml": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta(about),
            "spec": {
                "replicas": replicas,
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
                },
                "template": {
                    "metadata": {"labels": dict(labels), "annotations": _scrape(port)},
                    "spec": pod_spec,
                },
            },
        },
        "service.yaml": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(),
            "spec": {
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        "hpa.yaml": {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": meta(),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": min_replicas,
                "maxReplicas": max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": cpu_target},
                        },
                    }
                ],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            },
        },
    }
    if kserve:
        docs["inferenceservice.yaml"] = {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceService",
            "metadata": meta(
                {
                    **about,
                    "serving.kserve.io/deploymentMode": "RawDeployment",
                    "serving.kserve.io/enable-prometheus-scraping": "true",
                    "prometheus.kserve.io/port": str(port),
                    "prometheus.kserve.io/path": "/metrics",
                    **_scrape(port),
                }
            ),
            "spec": {
                "predictor": {
                    "minReplicas": min_replicas,
                    "maxReplicas": max_replicas,
                    "scaleMetric": "cpu",
                    "scaleTarget": cpu_target,
                    "securityContext": _pod_security(),
                    "containers": [
                        _container("kserve-container", record.name, image, port, named_port=False)
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                }
            },
        }
    return docs


def _header(file: str, record: DeploymentRecord, version: str) -> str:
    lines = [
        f"Generated by `loopml build k8s` (loopml {version}) for deployment {record.name!r}",
        f"(model {record.model_name!r}, revision {record.revision}). The pods follow the",
        "deployment in the store: canaries, shadows and alias moves apply without a redeploy.",
    ]
    if file == "deployment.yaml":
        lines += [
            f"The pods read the store's URI from the Secret {SECRET!r}; create it first:",
            f"  kubectl create secret generic {SECRET} \\",
            "    --from-literal=tracking-uri=postgresql://USER:PASSWORD@HOST/loopml \\",
            "    --from-literal=artifact-root=s3://BUCKET/loopml",
        ]
    return "".join(f"# {line}\n" for line in lines)


def build_k8s(
    deployment: str,
    out_dir: str | Path,
    *,
    tracking_uri: str | None = None,
    image: str | None = None,
    port: int = 8080,
    replicas: int = 2,
    min_replicas: int = 1,
    max_replicas: int = 5,
    cpu_target: int = 70,
    kserve: bool = False,
    namespace: str | None = None,
    force: bool = False,
) -> list[Path]:
    """Write Kubernetes manifests serving ``deployment`` into ``out_dir``; returns the files.

    Deployment, Service and HorizontalPodAutoscaler always; a KServe InferenceService with
    ``kserve``. ``image`` defaults to ``<name>:latest``; build one with ``build_docker``.
    """
    _check_port(port)
    _check_scaling(replicas, min_replicas, max_replicas, cpu_target)
    if namespace is not None and not (_DNS_LABEL.match(namespace) and len(namespace) <= 63):
        raise ValidationError(
            f"--namespace {namespace!r} is not a Kubernetes namespace name; use lowercase "
            "letters, digits and '-', e.g. ml-serving"
        )
    if image is not None and (not image.strip() or any(ch.isspace() for ch in image)):
        raise ValidationError(f"--image {image!r} is not an image reference, e.g. ghcr.io/acme/x:1")
    client = DeploymentClient(tracking_uri)
    try:
        record = client.get(deployment)
    except NotFoundError as exc:
        known = sorted(d.name for d in client.list())
        hint = f" (existing: {', '.join(known)})" if known else ""
        raise NotFoundError(f"{exc}{hint}") from None
    docs = _manifests(
        record,
        image=image or f"{_k8s_name(record.name)}:latest",
        port=port,
        replicas=replicas,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        cpu_target=cpu_target,
        kserve=kserve,
        namespace=namespace,
    )
    version = loopml.__version__

    def fill(staging: Path) -> None:
        for file, doc in docs.items():
            text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
            (staging / file).write_text(_header(file, record, version) + text)

    out = Path(out_dir)
    _write_out(out, force, K8S_FILES, fill)
    log.info("wrote Kubernetes manifests for deployment %s to %s", deployment, out)
    return [out / file for file in docs]


__all__ = ["build_docker", "build_k8s"]
