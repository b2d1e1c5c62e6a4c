"""``loopml models …``: the model registry from the shell."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from loopml.cli._app import JsonOutput, TrackingUri, chosen_uri
from loopml.cli._render import fmt_number, fmt_time, out, print_json, table
from loopml.entities import ModelVersion
from loopml.errors import ValidationError
from loopml.models import import_mlflow_model
from loopml.registry import (
    RegistryClient,
    compare_versions,
    lineage,
    model_card_html,
    model_card_markdown,
)

app = typer.Typer(
    help="Register models and move aliases and stages; cards, lineage and comparisons.",
    no_args_is_help=True,
)


def _registry(ctx: typer.Context, tracking_uri: str | None) -> RegistryClient:
    return RegistryClient(chosen_uri(ctx, tracking_uri))


def _ref(text: str, registry: RegistryClient | None = None) -> tuple[str, int]:
    """'taxi/3', 'models:/taxi/3' or 'models:/taxi@champion' → ('taxi', 3)."""
    if text.startswith("models:/") and registry is not None:
        version = registry.resolve(text)
        return version.name, version.version
    name, _, version = text.removeprefix("models:/").rpartition("/")
    if not name or not version.isdigit():
        raise ValidationError(
            f"{text!r} is not NAME/VERSION, e.g. taxi/3 (or models:/taxi@champion)"
        )
    return name, int(version)


def _version_json(v: ModelVersion) -> dict[str, Any]:
    data = asdict(v)
    data["status"] = v.status.value
    data["stage"] = v.stage.value
    data["aliases"] = list(v.aliases)
    return data


@app.command("list")
def list_models(
    ctx: typer.Context, as_json: bool = JsonOutput, tracking_uri: str | None = TrackingUri
) -> None:
    """List registered models with their latest version and aliases.

    Example: loopml models list
    """
    models = _registry(ctx, tracking_uri).list_registered_models()
    if as_json:
        print_json([asdict(m) for m in models])
        return
    result = table(f"{len(models)} model(s)", "name", "latest", "aliases", "approval", "updated")
    for m in models:
        aliases = ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())) or "-"
        result.add_row(
            Text(m.name),
            str(m.latest_version or "-"),
            Text(aliases),
            "required" if m.require_approval else "-",
            fmt_time(m.last_updated_time),
        )
    out().print(result)


@app.command("register")
def register(
    ctx: typer.Context,
    model_uri: str = typer.Argument(..., help="runs:/<run_id>/<path> or a package folder."),
    name: str = typer.Argument(..., help="Registered model name."),
    description: str | None = typer.Option(None, "--description", help="Version description."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Register a logged model as the next version of NAME.

    Example: loopml models register runs:/3f2a…/model taxi
    """
    v = _registry(ctx, tracking_uri).register_model(model_uri, name, description)
    out().print(f"registered {v.name}/{v.version} [{v.status.value}]")


@app.command("import-mlflow")
def import_mlflow(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="An MLflow model folder (with an MLmodel file)."),
    name: str = typer.Argument(..., help="Registered model name to add it to."),
    allow_pickle: bool = typer.Option(
        False, "--allow-pickle", help="Trust pickle/cloudpickle model files (they run code)."
    ),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Import an MLflow sklearn model folder and register it as the next version of NAME.

    Example: loopml models import-mlflow ./mlruns/0/abc/artifacts/model taxi
    """
    registry = _registry(ctx, tracking_uri)
    with tempfile.TemporaryDirectory(prefix="loopml-import-") as tmp:
        package = import_mlflow_model(folder, Path(tmp) / "package", allow_pickle)
        v = registry.register_model(package, name, f"imported from MLflow folder {folder}")
    out().print(f"registered {v.name}/{v.version} [{v.status.value}] from {folder}")


@app.command("show")
def show(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Show a registered model."""
    m = _registry(ctx, tracking_uri).get_registered_model(name)
    if as_json:
        print_json(asdict(m))
        return
    out().print(Text.assemble((m.name, "bold"), f"  latest version {m.latest_version or '-'}"))
    out().print(Text(m.description or "(no description)"))
    for alias, version in sorted(m.aliases.items()):
        out().print(Text(f"  @{alias} → {version}"))


@app.command("versions")
def versions(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """List the versions of a model, newest first."""
    found = _registry(ctx, tracking_uri).list_versions(name)
    if as_json:
        print_json([_version_json(v) for v in found])
        return
    metric_keys = sorted({k for v in found for k in v.metrics})[:4]
    result = table(
        f"{name}: {len(found)} version(s)",
        "version",
        "status",
        "stage",
        "aliases",
        "run",
        "created",
        *metric_keys,
    )
    for v in found:
        result.add_row(
            str(v.version),
            v.status.value,
            v.stage.value,
            Text(", ".join(v.aliases) or "-"),
            Text(v.run_id or "-"),
            fmt_time(v.creation_time),
            *[fmt_number(v.metrics[k]) if k in v.metrics else "" for k in metric_keys],
        )
    out().print(result)


@app.command("alias")
def alias(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    alias_name: str = typer.Argument(..., metavar="ALIAS", help="champion, challenger, …"),
    version: int | None = typer.Argument(None, help="Version to point at (omit with --delete)."),
    delete: bool = typer.Option(False, "--delete", help="Remove the alias."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in the audit log)."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Point an alias at a version, or remove it.

    Example: loopml models alias taxi champion 4 --reason "beats v3 on every segment"
    """
    registry = _registry(ctx, tracking_uri)
    if delete:
        registry.delete_alias(name, alias_name, reason)
        out().print(f"removed {name}@{alias_name}")
        return
    if version is None:
        raise typer.BadParameter("give the VERSION to point at, or --delete", param_hint="VERSION")
    registry.set_alias(name, alias_name, version, reason)
    out().print(f"{name}@{alias_name} → {version}")


@app.command("transition")
def transition(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="NAME/VERSION", help="e.g. taxi/3"),
    stage: str = typer.Argument(..., help="None, Staging, Production or Archived."),
    archive_existing: bool = typer.Option(
        False, "--archive-existing", help="Archive the versions now in that stage."
    ),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in the audit log)."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Move a version to a stage."""
    name, version = _ref(ref)
    v = _registry(ctx, tracking_uri).transition_stage(
        name, version, stage, archive_existing, reason
    )
    out().print(f"{v.name}/{v.version} is now {v.stage.value}")


@app.command("approve")
def approve(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="NAME/VERSION", help="e.g. taxi/4"),
    reason: str = typer.Option(..., "--reason", help="Why this version may be promoted."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Approve a version for promotion (needed when the model requires approval)."""
    name, version = _ref(ref)
    a = _registry(ctx, tracking_uri).approve(name, version, reason)
    out().print(f"approved {name}/{version} by {a.approver}")


@app.command("require-approval")
def require_approval(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    off: bool = typer.Option(False, "--off", help="Stop requiring approvals."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Require an approval before the champion alias can move."""
    _registry(ctx, tracking_uri).set_approval_policy(name, not off)
    out().print(f"{name}: approval {'not ' if off else ''}required for champion")


@app.command("card")
def card(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="NAME/VERSION", help="e.g. taxi/3"),
    html: Path | None = typer.Option(None, "--html", help="Also write an HTML card here."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Print a version's model card (Markdown); optionally write it as HTML."""
    registry = _registry(ctx, tracking_uri)
    name, version = _ref(ref, registry)
    typer.echo(model_card_markdown(registry, name, version))
    if html is not None:
        html.write_text(model_card_html(registry, name, version))
        out().print(f"wrote {html}")


@app.command("lineage")
def lineage_cmd(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="NAME/VERSION", help="e.g. taxi/3"),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Show where a version came from (datasets, run, code) and where it is used."""
    registry = _registry(ctx, tracking_uri)
    name, version = _ref(ref, registry)
    result = lineage(registry, name, version)
    if as_json:
        print_json(result.to_dict())
    else:
        typer.echo(result.render())


@app.command("compare")
def compare(
    ctx: typer.Context,
    a: str = typer.Argument(..., metavar="NAME/VERSION", help="e.g. taxi/2"),
    b: str = typer.Argument(..., metavar="NAME/VERSION", help="e.g. taxi/3"),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Compare two versions: metrics, params and signature differences."""
    registry = _registry(ctx, tracking_uri)
    diff = compare_versions(registry, _ref(a, registry), _ref(b, registry))
    if as_json:
        print_json(diff)
        return
    result = table(f"{diff['a']} vs {diff['b']}", "", diff["a"], diff["b"], "delta")
    for key, v in diff["metrics"].items():
        cells = [fmt_number(v[s]) if v[s] is not None else "-" for s in ("a", "b")]
        delta = f"{v['delta']:+.6g}" if "delta" in v else ""
        result.add_row(Text(f"metrics.{key}"), *cells, delta)
    for key, v in diff["params"].items():
        result.add_row(Text(f"params.{key}"), Text(str(v["a"])), Text(str(v["b"])), "")
    out().print(result)
    sig = diff["signature"]
    if sig["added"] or sig["removed"] or sig["changed"]:
        out().print(
            Text(
                f"signature: added {sig['added']}, removed {sig['removed']}, "
                f"changed {sig['changed']}"
            )
        )
    else:
        out().print("signature: identical")


@app.command("events")
def events(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Only events of this model."),
    after: int = typer.Option(0, "--after", help="Only events after this id (to follow)."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Show the audit log: registrations, alias moves, stage changes, approvals, deletions."""
    found = _registry(ctx, tracking_uri).events(name=name, after_id=after)
    if as_json:
        print_json([asdict(e) for e in found])
        return
    result = table(f"{len(found)} event(s)", "id", "time", "who", "what", "on", "change", "why")
    for e in found:
        change = f"{e.before or ''} → {e.after or ''}" if e.before or e.after else ""
        result.add_row(
            str(e.id),
            fmt_time(e.time),
            Text(e.actor),
            Text(e.action),
            Text(e.entity_id),
            Text(change),
            Text(e.reason or ""),
        )
    out().print(result)


@app.command("describe")
def describe(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Registered model name."),
    description: str = typer.Argument(..., help="What the model is for."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Set a model's description (its purpose on model cards)."""
    _registry(ctx, tracking_uri).update_registered_model(name, description)
    out().print(f"updated {name}")


@app.command("delete")
def delete(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="NAME/VERSION", help="e.g. taxi/3"),
    force: bool = typer.Option(False, "--force", help="Delete even if an alias points at it."),
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Delete a version and its files (the audit log keeps the record)."""
    name, version = _ref(ref)
    _registry(ctx, tracking_uri).delete_model_version(name, version, force)
    out().print(f"deleted {name}/{version}")
