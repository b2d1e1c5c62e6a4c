"""``loopml build docker`` and ``loopml build k8s``: the context, the manifests, the CLI."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

import loopml
from _servers import free_port
from loopml.cli import app
from loopml.deployments import DeploymentClient
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.models import load_package
from loopml.models._package import read_manifest, sha256_file
from loopml.registry import RegistryClient
from loopml.serving._build import build_docker, build_k8s
from serving._k8s_check import ManifestError, validate_manifest

BIN = Path(sys.executable).parent


# -- helpers ----------------------------------------------------------------------------------


def dockerfile(folder: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of a Dockerfile: comments dropped, continuations joined."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for raw in (folder / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        instruction, _, args = (pending + line).strip().partition(" ")
        steps.append((instruction.upper(), " ".join(args.split())))
        pending = ""
    return steps


def only(steps: list[tuple[str, str]], instruction: str) -> list[str]:
    return [args for name, args in steps if name == instruction]


def docs(folder: Path) -> dict[str, dict[str, Any]]:
    """Every YAML file of a folder, by file name (one document each)."""
    found = {}
    for file in sorted(folder.glob("*.yaml")):
        loaded = list(yaml.safe_load_all(file.read_text()))
        assert len(loaded) == 1, file
        found[file.name] = loaded[0]
    return found


def container(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc["spec"]["template"]["spec"] if doc["kind"] == "Deployment" else doc["spec"]
    spec = spec.get("predictor", spec)
    (only_one,) = spec["containers"]
    return only_one


@pytest.fixture
def deployment(store: str) -> str:
    """Deployment 'diabetes-api' serving models:/diabetes@champion (version 1)."""
    DeploymentClient(store).create("diabetes-api", "models:/diabetes@champion")
    return "diabetes-api"


@pytest.fixture
def context(store: str, tmp_path: Path) -> Path:
    return build_docker("models:/diabetes@champion", tmp_path / "ctx", tracking_uri=store)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"loopml {args} crashed") from result.exception
    return result.exit_code, " ".join((result.stdout + "\n" + result.stderr).split())


# -- docker -----------------------------------------------------------------------------------


def test_docker_context_holds_the_build_files(context: Path) -> None:
    names = {p.name for p in context.iterdir()}
    assert names == {"Dockerfile", ".dockerignore", "requirements.txt", "README.md", "model"}
    ignore = context.joinpath(".dockerignore").read_text().splitlines()
    assert ignore[1:] == ["*", "!Dockerfile", "!requirements.txt", "!model/"]
    readme = context.joinpath("README.md").read_text()
    assert "docker build -t diabetes:1 ." in readme
    assert "docker run --rm -p 8080:8080 diabetes:1" in readme
    # no staging folders are left next to the output
    assert [p.name for p in context.parent.iterdir() if p.name.startswith(".")] == []


def test_dockerfile_instructions(context: Path) -> None:
    steps = dockerfile(context)
    assert steps[0] == ("FROM", "python:3.11-slim")
    env = " ".join(only(steps, "ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env and "PYTHONUNBUFFERED=1" in env
    assert ("RUN", "pip install --no-cache-dir -r requirements.txt") in steps
    (user,) = only(steps, "USER")
    assert user == "10001:10001"
    assert user.split(":")[0] not in {"root", "0"}
    assert any("useradd --system --uid 10001" in run for run in only(steps, "RUN"))
    assert only(steps, "COPY") == [
        "requirements.txt ./",
        "--chown=10001:10001 model/ /opt/loopml/model/",
    ]
    assert only(steps, "EXPOSE") == ["8080"]
    labels = " ".join(only(steps, "LABEL"))
    assert 'io.loopml.model-name="diabetes"' in labels
    assert 'io.loopml.model-version="1"' in labels
    (health,) = only(steps, "HEALTHCHECK")
    assert health.startswith("--interval=30s --timeout=5s --start-period=30s --retries=3 CMD [")
    probe = json.loads(health.split(" CMD ", 1)[1])
    assert probe[:2] == ["python", "-c"]
    assert "urllib.request.urlopen('http://127.0.0.1:8080/health'" in probe[2]
    (cmd,) = only(steps, "CMD")
    assert json.loads(cmd) == [
        "loopml", "serve", "/opt/loopml/model", "--host", "0.0.0.0", "--port", "8080",
    ]  # fmt: skip
    order = [name for name, _ in steps]
    # dependencies are installed as root, then the server runs as the user
    assert order.index("RUN") < order.index("USER") < order.index("CMD")
    assert order[-1] == "CMD"


def test_requirements_are_pinned_and_include_loopml(context: Path) -> None:
    lines = context.joinpath("requirements.txt").read_text().splitlines()
    assert lines and all("==" in line for line in lines)
    package = context.joinpath("model", "requirements.txt").read_text().splitlines()
    assert lines == [*package, f"loopml=={loopml.__version__}"]
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in lines


def test_model_files_are_the_registered_version_with_the_same_sha256(
    context: Path, store: str
) -> None:
    folder = context / "model"
    manifest = read_manifest(folder)
    assert manifest.files  # the package records checksums
    for relative, digest in manifest.files.items():
        assert sha256_file(folder / relative) == digest, relative
    copied = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert copied == {*manifest.files, "loopml-model.json"}
    champion = RegistryClient(store).get_model_version("diabetes", 1)
    assert manifest.run_id == champion.run_id


def test_docker_port_base_image_and_wheel(store: str, tmp_path: Path) -> None:
    wheel = tmp_path / "loopml-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    out = build_docker(
        "models:/diabetes/2",
        tmp_path / "ctx",
        tracking_uri=store,
        port=9000,
        base_image="python:3.12-slim",
        loopml_requirement=str(wheel),
    )
    steps = dockerfile(out)
    assert steps[0] == ("FROM", "python:3.12-slim")
    assert only(steps, "EXPOSE") == ["9000"]
    assert json.loads(only(steps, "CMD")[0])[-2:] == ["--port", "9000"]
    assert "http://127.0.0.1:9000/health" in only(steps, "HEALTHCHECK")[0]
    assert "wheels/ ./wheels/" in only(steps, "COPY")
    order = [f"{name} {args}" for name, args in steps]
    assert order.index("COPY wheels/ ./wheels/") < order.index(
        "RUN pip install --no-cache-dir -r requirements.txt"
    )
    assert out.joinpath("wheels", wheel.name).read_bytes() == b"not really a wheel"
    assert out.joinpath("requirements.txt").read_text().splitlines()[-1] == f"./wheels/{wheel.name}"
    assert "!wheels/" in out.joinpath(".dockerignore").read_text().splitlines()
    assert 'io.loopml.model-version="2"' in " ".join(only(steps, "LABEL"))


def test_docker_from_a_run_uri_and_a_folder(store: str, tmp_path: Path) -> None:
    version = RegistryClient(store).get_model_version("diabetes", 2)
    from_run = build_docker(f"runs:/{version.run_id}/model", tmp_path / "a", tracking_uri=store)
    assert read_manifest(from_run / "model").run_id == version.run_id
    from_folder = build_docker(str(from_run / "model"), tmp_path / "b")
    assert read_manifest(from_folder / "model").files == read_manifest(from_run / "model").files
    assert 'io.loopml.run-id="' + version.run_id in from_folder.joinpath("Dockerfile").read_text()


def test_the_dockerfile_cmd_serves_the_model(context: Path, tmp_path: Path, data) -> None:
    """Run the image's CMD and HEALTHCHECK as they are written, with local paths and a port."""
    steps = dockerfile(context)
    port = str(free_port())
    args = json.loads(only(steps, "CMD")[0])
    args[0] = str(BIN / "loopml")
    args = [str(context / "model") if a == "/opt/loopml/model" else a for a in args]
    args[args.index("--port") + 1] = port
    env = {k: v for k, v in os.environ.items() if k != "LOOPML_TRACKING_URI"}
    env["LOOPML_HOME"] = str(tmp_path / "home")  # as the Dockerfile's ENV does
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server died"
            try:
                health = httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        X = data[0]
        row = X.head(1).to_dict(orient="records")
        answer = httpx.post(f"{url}/predict", json=row, timeout=10)
        assert answer.status_code == 200, answer.text
        expected = load_package(context / "model").predict(X.head(1))
        assert answer.json()["predictions"] == pytest.approx(list(expected))
        # the HEALTHCHECK command, as written, passes against the running server
        probe = json.loads(only(steps, "HEALTHCHECK")[0].split(" CMD ", 1)[1])
        probe = [sys.executable, "-c", probe[2].replace(":8080/", f":{port}/")]
        assert subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    # the same probe fails once the server is gone
    assert subprocess.run(probe, capture_output=True, timeout=30).returncode != 0


def test_docker_refuses_bad_model_uris(store: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"models:/diabetes.*models:/NAME@ALIAS"):
        build_docker("models:/diabetes", tmp_path / "a", tracking_uri=store)
    with pytest.raises(NotFoundError, match="no alias 'nope'"):
        build_docker("models:/diabetes@nope", tmp_path / "b", tracking_uri=store)
    with pytest.raises(ValidationError, match="'no-such-thing' is neither"):
        build_docker("no-such-thing", tmp_path / "c", tracking_uri=store)
    with pytest.raises(ValidationError, match="--port 0"):
        build_docker("models:/diabetes@champion", tmp_path / "d", tracking_uri=store, port=0)
    # nothing was written, not even a staging folder
    assert list(tmp_path.iterdir()) == [tmp_path / "store"]


def test_docker_refuses_a_non_empty_out_folder_unless_forced(store: str, tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ConflictError, match=r"'.*ctx' already exists.*--force"):
        build_docker("models:/diabetes@champion", out, tracking_uri=store)
    assert (out / "Dockerfile").read_text() == "FROM scratch\n"
    build_docker("models:/diabetes@champion", out, tracking_uri=store, force=True)
    assert dockerfile(out)[0] == ("FROM", "python:3.11-slim")
    assert (out / "notes.txt").read_text() == "mine"  # files it does not write stay
    # an empty folder needs no --force
    (tmp_path / "empty").mkdir()
    build_docker("models:/diabetes@champion", tmp_path / "empty", tracking_uri=store)
    assert (tmp_path / "empty" / "model" / "loopml-model.json").is_file()


# -- kubernetes -------------------------------------------------------------------------------


def test_k8s_manifests_pass_the_strict_schema(store: str, deployment: str, tmp_path: Path) -> None:
    files = build_k8s(deployment, tmp_path / "k8s", tracking_uri=store, kserve=True)
    assert [f.name for f in files] == [
        "deployment.yaml", "service.yaml", "hpa.yaml", "inferenceservice.yaml",
    ]  # fmt: skip
    found = docs(tmp_path / "k8s")
    assert {(d["apiVersion"], d["kind"]) for d in found.values()} == {
        ("apps/v1", "Deployment"),
        ("v1", "Service"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("serving.kserve.io/v1beta1", "InferenceService"),
    }
    for doc in found.values():
        validate_manifest(doc)
    assert "kubectl create secret generic loopml-tracking" in files[0].read_text()


def test_the_strict_schema_catches_misspelled_fields(
    store: str, deployment: str, tmp_path: Path
) -> None:
    build_k8s(deployment, tmp_path / "k8s", tracking_uri=store, kserve=True)
    found = docs(tmp_path / "k8s")

    def broken(file: str, change) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        doc = json.loads(json.dumps(found[file]))
        change(doc)
        return doc

    def rename(mapping: dict[str, Any], old: str, new: str) -> None:
        mapping[new] = mapping.pop(old)

    unknown = r" \(unknown field\)"
    cases = [
        (
            broken("deployment.yaml", lambda d: rename(d["spec"], "replicas", "replcas")),
            r"Deployment\.spec\.replcas" + unknown,
        ),
        (
            broken(
                "deployment.yaml",
                lambda d: rename(container(d), "readinessProbe", "readinesProbe"),
            ),
            r"containers\[0\]\.readinesProbe" + unknown,
        ),
        (
            broken("deployment.yaml", lambda d: d["spec"].update(replicas="2")),
            "replicas.*valid integer",
        ),
        (
            broken(
                "deployment.yaml",
                lambda d: d["spec"]["template"]["metadata"]["annotations"].update(
                    {"prometheus.io/port": 8080}
                ),
            ),
            "prometheus.io/port.*valid string",
        ),
        (
            broken("service.yaml", lambda d: rename(d["spec"], "selector", "selectr")),
            r"Service\.spec\.selectr" + unknown,
        ),
        (
            broken("hpa.yaml", lambda d: rename(d["spec"], "minReplicas", "minReplica")),
            r"spec\.minReplica" + unknown,
        ),
        (
            broken("hpa.yaml", lambda d: rename(d["spec"], "scaleTargetRef", "scaleTarget")),
            "scaleTargetRef: Input should be a valid dictionary",  # required, now missing
        ),
        (
            broken(
                "inferenceservice.yaml",
                lambda d: rename(d["spec"]["predictor"], "minReplicas", "minReplica"),
            ),
            r"predictor has unknown field\(s\) \['minReplica'\]",
        ),
        (
            broken("inferenceservice.yaml", lambda d: rename(container(d), "args", "arg")),
            r"containers\[0\]\.arg" + unknown,
        ),
        (
            broken(
                "inferenceservice.yaml", lambda d: d["spec"]["predictor"].update(scaleTarget="70")
            ),
            "scaleTarget must be int",
        ),
    ]
    for doc, message in cases:
        with pytest.raises(ManifestError, match=message):
            validate_manifest(doc)
    with pytest.raises(ManifestError, match="kind 'Deploymnt'"):
        validate_manifest({**found["deployment.yaml"], "kind": "Deploymnt"})


def test_k8s_objects_fit_together(store: str, deployment: str, tmp_path: Path) -> None:
    build_k8s(
        deployment,
        tmp_path / "k8s",
        tracking_uri=store,
        image="ghcr.io/acme/diabetes:1",
        replicas=3,
        min_replicas=2,
        max_replicas=8,
        cpu_target=60,
    )
    found = docs(tmp_path / "k8s")
    dep, svc, hpa = found["deployment.yaml"], found["service.yaml"], found["hpa.yaml"]
    assert "inferenceservice.yaml" not in found
    name = dep["metadata"]["name"]
    assert name == "diabetes-api"
    # the HPA scales this Deployment, on CPU
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1", "kind": "Deployment", "name": name,
    }  # fmt: skip
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 8)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"] == {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60},
    }  # fmt: skip
    assert dep["spec"]["replicas"] == 3
    # the Service and the Deployment select the pods the template labels
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    for selector in (svc["spec"]["selector"], dep["spec"]["selector"]["matchLabels"]):
        assert selector and selector.items() <= pod_labels.items()
    assert pod_labels["app.kubernetes.io/name"] == name
    assert pod_labels["app.kubernetes.io/part-of"] == "loopml"
    main = container(dep)
    (svc_port,) = svc["spec"]["ports"]
    assert svc_port["targetPort"] == main["ports"][0]["name"] == "http"
    assert main["ports"][0]["containerPort"] == 8080
    # Prometheus scrapes the pods' /metrics
    assert dep["spec"]["template"]["metadata"]["annotations"] == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "8080",
        "prometheus.io/path": "/metrics",
    }
    # the container serves the deployment from the store named in a Secret
    assert main["image"] == "ghcr.io/acme/diabetes:1"
    assert [main["command"][0], *main["args"]] == [
        "loopml", "serve", "--deployment", "diabetes-api", "--host", "0.0.0.0", "--port", "8080",
    ]  # fmt: skip
    env = {e["name"]: e for e in main["env"]}
    assert env["LOOPML_TRACKING_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "loopml-tracking", "key": "tracking-uri",
    }  # fmt: skip
    assert store not in (tmp_path / "k8s" / "deployment.yaml").read_text()
    assert main["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert main["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    assert main["resources"]["limits"] == {"cpu": "1", "memory": "1Gi"}
    assert main["securityContext"]["runAsNonRoot"] is True
    assert main["securityContext"]["runAsUser"] == 10001
    # the routes the deployment serves are recorded
    notes = dep["metadata"]["annotations"]
    assert notes["loopml.io/routes"] == "primary=models:/diabetes/1"
    assert notes["loopml.io/model"] == "diabetes"
    for doc in found.values():
        validate_manifest(doc)


def test_k8s_records_a_canary_route_and_namespace(
    store: str, deployment: str, tmp_path: Path
) -> None:
    DeploymentClient(store).canary(deployment, "models:/diabetes/2", weight=0.2)
    build_k8s(deployment, tmp_path / "k8s", tracking_uri=store, namespace="ml", kserve=True)
    found = docs(tmp_path / "k8s")
    assert {d["metadata"]["namespace"] for d in found.values()} == {"ml"}
    routes = found["deployment.yaml"]["metadata"]["annotations"]["loopml.io/routes"]
    assert routes == "primary=models:/diabetes/1,canary=models:/diabetes/2"
    isvc = found["inferenceservice.yaml"]
    predictor = isvc["spec"]["predictor"]
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 5)
    assert container(isvc)["name"] == "kserve-container"
    assert container(isvc)["args"][:3] == ["serve", "--deployment", "diabetes-api"]
    assert isvc["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"


def test_k8s_errors(store: str, deployment: str, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"'nope' does not exist.*loopml deploy create.*api"):
        build_k8s("nope", tmp_path / "a", tracking_uri=store)
    with pytest.raises(ValidationError, match="--replicas 9 is outside"):
        build_k8s(deployment, tmp_path / "a", tracking_uri=store, replicas=9)
    with pytest.raises(ValidationError, match="min=3 max=2"):
        build_k8s(deployment, tmp_path / "a", tracking_uri=store, min_replicas=3, max_replicas=2)
    with pytest.raises(ValidationError, match="--namespace 'ML_team'"):
        build_k8s(deployment, tmp_path / "a", tracking_uri=store, namespace="ML_team")
    assert not (tmp_path / "a").exists()
    out = tmp_path / "k8s"
    build_k8s(deployment, out, tracking_uri=store, kserve=True)
    with pytest.raises(ConflictError, match="--force"):
        build_k8s(deployment, out, tracking_uri=store)
    # --force replaces what an earlier build wrote: no stale InferenceService is left behind
    build_k8s(deployment, out, tracking_uri=store, force=True)
    assert sorted(p.name for p in out.iterdir()) == ["deployment.yaml", "hpa.yaml", "service.yaml"]


# -- CLI --------------------------------------------------------------------------------------


def test_cli_build_docker(store: str, tmp_path: Path) -> None:
    out = tmp_path / "ctx"
    code, text = cli(
        "build", "docker", "models:/diabetes@champion", "--out", str(out), "-t", store,
        "--port", "9090",
    )  # fmt: skip
    assert code == 0, text
    for name in ("Dockerfile", "requirements.txt", ".dockerignore", "README.md", "model/"):
        assert name in text
    assert "next: docker build -t IMAGE" in text and "README.md" in text
    assert only(dockerfile(out), "EXPOSE") == ["9090"]
    code, text = cli("build", "docker", "models:/diabetes@champion", "--out", str(out), "-t", store)
    assert code == 1 and "Error:" in text and "--force" in text
    code, text = cli("build", "docker", "models:/diabetes@champion", "-t", store)
    assert code == 2 and "--out" in text


def test_cli_build_k8s(store: str, deployment: str, tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    code, text = cli(
        "build", "k8s", deployment, "--out", str(out), "--kserve", "--image", "reg/x:1",
        "--replicas", "3", "--namespace", "ml", "-t", store,
    )  # fmt: skip
    assert code == 0, text
    for name in ("deployment.yaml", "service.yaml", "hpa.yaml", "inferenceservice.yaml"):
        assert name in text
    found = docs(out)
    assert container(found["deployment.yaml"])["image"] == "reg/x:1"
    assert found["deployment.yaml"]["spec"]["replicas"] == 3
    for doc in found.values():
        validate_manifest(doc)
    code, text = cli("build", "k8s", "nope", "--out", str(tmp_path / "b"), "-t", store)
    assert code == 1 and "Error: deployment 'nope' does not exist" in text
    code, text = cli("build", "k8s", deployment, "--out", str(out), "--force", "-t", store)
    assert code == 0, text
    assert not (out / "inferenceservice.yaml").exists()


def test_cli_help_has_examples() -> None:
    for command in ("docker", "k8s"):
        code, text = cli("build", command, "--help")
        assert code == 0 and "Example: loopml build " + command in text, text
    code, text = cli("build", "--help")
    assert code == 0 and "docker" in text and "k8s" in text


def test_shell_quoting_in_readme(context: Path) -> None:
    """The README's curl line is valid shell with a JSON body."""
    line = next(
        ln for ln in context.joinpath("README.md").read_text().splitlines() if "/predict" in ln
    )
    body = shlex.split(line)[-1]
    assert isinstance(json.loads(body), list)


def test_k8s_names_are_made_valid_and_the_original_kept(store: str, tmp_path: Path) -> None:
    DeploymentClient(store).create("Diabetes_API.v2", "models:/diabetes/2")
    build_k8s("Diabetes_API.v2", tmp_path / "k8s", tracking_uri=store)
    found = docs(tmp_path / "k8s")
    assert {d["metadata"]["name"] for d in found.values()} == {"diabetes-api-v2"}
    dep = found["deployment.yaml"]
    assert dep["metadata"]["annotations"]["loopml.io/deployment"] == "Diabetes_API.v2"
    assert container(dep)["args"][:3] == ["serve", "--deployment", "Diabetes_API.v2"]
    assert container(dep)["image"] == "diabetes-api-v2:latest"
    assert dep["metadata"]["annotations"]["loopml.io/routes"] == "primary=models:/diabetes/2"


def test_unpinned_package_requirements_are_pinned_or_refused(tmp_path: Path) -> None:
    from loopml.serving._build import _pinned

    folder = tmp_path / "pkg"
    folder.mkdir()
    folder.joinpath("requirements.txt").write_text(
        "# comment\nnumpy==1.26.4\nscikit-learn>=1.0\nloopml==0.0.1\n\n"
        "Scipy [extra] >=1 ; python_version >= '3.11'\n"
    )
    manifest = read_manifest(build_docker_package(tmp_path))
    assert _pinned(folder, manifest) == [
        "numpy==1.26.4",
        f"scikit-learn=={metadata.version('scikit-learn')}",
        f"Scipy[extra]=={metadata.version('scipy')}; python_version >= '3.11'",
    ]
    folder.joinpath("requirements.txt").write_text("surely-not-installed-pkg>=2\n")
    with pytest.raises(ValidationError, match=r"'surely-not-installed-pkg>=2' .* not pinned"):
        _pinned(folder, manifest)


def build_docker_package(tmp_path: Path) -> Path:
    """A small saved model package (no store needed)."""
    from sklearn.linear_model import LinearRegression

    from loopml.models import save_model

    return save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), tmp_path / "saved")
