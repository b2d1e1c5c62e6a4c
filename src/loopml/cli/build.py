"""``loopml build``: a Docker build context for a model, Kubernetes manifests for a deployment."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from loopml.cli._app import TrackingUri, chosen_uri
from loopml.cli._render import out, print_note, table

app = typer.Typer(
    help="Build what runs models elsewhere: a Docker image context or Kubernetes manifests.\n\n"
    "Examples:\n\n"
    "  loopml build docker models:/diabetes@champion --out build/diabetes\n\n"
    "  loopml build k8s diabetes-api --image ghcr.io/acme/diabetes:1 --out deploy/k8s",
    no_args_is_help=True,
)

OutDir = typer.Option(
    ...,
    "--out",
    "-o",
    metavar="DIR",
    help="Folder to write into; it must be new or empty unless --force.",
)
Force = typer.Option(
    False,
    "--force",
    help="Write into an existing non-empty folder, replacing the files this command writes "
    "(other files are left alone).",
)
Port = typer.Option(8080, "--port", "-p", help="Port the server listens on in the container.")


def _print_written(title: str, paths: list[Path]) -> None:
    result = table(title, "file", "size")
    for path in paths:
        if path.is_dir():
            count = sum(1 for p in path.rglob("*") if p.is_file())
            result.add_row(Text(f"{path.name}/"), Text(f"{count} files"))
        else:
            result.add_row(Text(path.name), Text(f"{path.stat().st_size} B"))
    out().print(result)


@app.command("docker")
def docker(
    ctx: typer.Context,
    model_uri: str = typer.Argument(
        ...,
        metavar="MODEL_URI",
        help="models:/name@alias, models:/name/3, runs:/<run_id>/model or a package folder.",
    ),
    out_dir: Path = OutDir,
    port: int = Port,
    base_image: str = typer.Option(
        "python:3.11-slim", "--base-image", help="Base image (a slim Python image)."
    ),
    loopml_requirement: str | None = typer.Option(
        None,
        "--loopml-requirement",
        metavar="REQ",
        help="How the image installs loopml: a requirement line or a wheel file (copied into "
        "the context). Default: loopml==<this version>.",
    ),
    force: bool = Force,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Write a Docker build context that serves one model version.

    Dockerfile: slim base, pinned requirements, non-root user, HEALTHCHECK, `loopml serve`.

    The model package is copied into model/ and its checksums verified.

    An alias is resolved now: the image keeps serving that version.

    Example: loopml build docker models:/diabetes@champion --out build/diabetes
    """
    from loopml.serving._build import build_docker

    folder = build_docker(
        model_uri,
        out_dir,
        tracking_uri=chosen_uri(ctx, tracking_uri),
        port=port,
        base_image=base_image,
        loopml_requirement=loopml_requirement,
        force=force,
    )
    order = ["Dockerfile", "requirements.txt", ".dockerignore", "README.md", "wheels", "model"]
    paths = [folder / name for name in order if (folder / name).exists()]
    _print_written(f"wrote {folder}", paths)
    print_note(f"Docker context serving {model_uri}")
    print_note(f"next: docker build -t IMAGE {folder}  (see {folder / 'README.md'})")


@app.command("k8s")
def k8s(
    ctx: typer.Context,
    deployment: str = typer.Argument(..., metavar="DEPLOYMENT", help="A deployment's name."),
    out_dir: Path = OutDir,
    image: str | None = typer.Option(
        None,
        "--image",
        metavar="IMAGE",
        help="Image with loopml and the model's libraries (build one with `loopml build "
        "docker`). Default: <deployment>:latest.",
    ),
    port: int = Port,
    replicas: int = typer.Option(2, "--replicas", help="Replicas to start with."),
    min_replicas: int = typer.Option(1, "--min-replicas", help="Fewest replicas (autoscaler)."),
    max_replicas: int = typer.Option(5, "--max-replicas", help="Most replicas (autoscaler)."),
    cpu_target: int = typer.Option(
        70, "--cpu-target", metavar="PERCENT", help="Average CPU use the autoscaler aims for."
    ),
    kserve: bool = typer.Option(
        False, "--kserve", help="Also write a KServe InferenceService (inferenceservice.yaml)."
    ),
    namespace: str | None = typer.Option(None, "--namespace", "-n", help="Kubernetes namespace."),
    force: bool = Force,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Write Kubernetes manifests for a deployment: Deployment, Service and autoscaler.

    Pods run `loopml serve --deployment NAME`: canaries and alias moves apply live.

    The store's URI comes from the Secret loopml-tracking (key tracking-uri).

    Pods carry Prometheus scrape annotations, /ready and /health probes and resources.

    Example: loopml build k8s diabetes-api --image ghcr.io/acme/diabetes:1 --out deploy/k8s
    """
    from loopml.serving._build import build_k8s

    files = build_k8s(
        deployment,
        out_dir,
        tracking_uri=chosen_uri(ctx, tracking_uri),
        image=image,
        port=port,
        replicas=replicas,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        cpu_target=cpu_target,
        kserve=kserve,
        namespace=namespace,
        force=force,
    )
    _print_written(f"wrote {out_dir}", files)
    print_note(f"Kubernetes manifests serving deployment {deployment}")
    print_note(f"next: kubectl apply -f {out_dir}  (create the Secret loopml-tracking first)")
