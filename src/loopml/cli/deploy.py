"""``loopml deploy …``: deployments and safe rollouts."""

from __future__ import annotations

from dataclasses import asdict

import typer
from rich.text import Text

from loopml.cli._app import JsonOutput, TrackingUri, chosen_uri
from loopml.cli._render import fmt_time, out, print_json, table
from loopml.deployments import DeploymentClient, Guards
from loopml.store.metadata import DeploymentRecord

app = typer.Typer(
    help="Deploy registered models and roll out new versions safely "
    "(canary, shadow, A/B, blue-green) with automatic rollback and promotion.",
    no_args_is_help=True,
)

Reason = typer.Option(None, "--reason", help="Why (kept in the deployment history).")


def _client(ctx: typer.Context, tracking_uri: str | None) -> DeploymentClient:
    return DeploymentClient(chosen_uri(ctx, tracking_uri))


def _show(record: DeploymentRecord) -> None:
    s = record.state
    line = f"{record.name}: {record.model_name} v{s['primary']} [{record.strategy}, {s['status']}]"
    if s.get("candidate") is not None:
        share = s.get("weight") or s.get("split") or "mirror"
        line += f"; candidate v{s['candidate']} ({share})"
    if s.get("standby") is not None:
        line += f"; standby v{s['standby']}"
    out().print(Text(line))


def _guards(
    min_requests: int,
    min_minutes: float,
    max_error_increase: float,
    max_p95_ratio: float,
    max_divergence: float,
    no_promote: bool,
    min_labels: int,
    max_quality: float,
) -> Guards:
    return Guards(
        min_requests=min_requests,
        min_minutes=min_minutes,
        max_error_rate_increase=max_error_increase,
        max_p95_latency_ratio=max_p95_ratio,
        max_divergence=max_divergence,
        auto_promote=not no_promote,
        min_labels=min_labels,
        max_quality_degradation=max_quality,
    )


MinRequests = typer.Option(200, "--min-requests", help="Candidate requests before a verdict.")
MinMinutes = typer.Option(0.0, "--min-minutes", help="Minutes healthy before promotion.")
MaxErr = typer.Option(0.02, "--max-error-increase", help="Allowed error-rate increase.")
MaxP95 = typer.Option(2.0, "--max-p95-ratio", help="Allowed candidate/primary p95 latency.")
MaxDiv = typer.Option(0.2, "--max-divergence", help="Allowed Jensen-Shannon distance.")
NoPromote = typer.Option(False, "--no-promote", help="Never promote automatically.")
MinLabels = typer.Option(
    50, "--min-labels", help="Labelled requests per route before quality is compared."
)
MaxQuality = typer.Option(
    0.1,
    "--max-quality-degradation",
    help="Allowed relative increase of the candidate's mean error on labelled requests.",
)


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    model: str = typer.Option(..., "--model", "-m", help="models:/NAME@champion or models:/NAME/3"),
    reason: str | None = Reason,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Create a deployment, then serve it with `loopml serve --deployment NAME`.

    Example: loopml deploy create diabetes-prod --model models:/diabetes@champion
    """
    _show(_client(ctx, tracking_uri).create(name, model, reason))


@app.command("canary")
def canary(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    model: str = typer.Option(..., "--model", "-m", help="Candidate, e.g. models:/diabetes/4"),
    weight: float = typer.Option(0.1, "--weight", help="Share of traffic for the candidate."),
    min_requests: int = MinRequests,
    min_minutes: float = MinMinutes,
    max_error_increase: float = MaxErr,
    max_p95_ratio: float = MaxP95,
    max_divergence: float = MaxDiv,
    no_promote: bool = NoPromote,
    min_labels: int = MinLabels,
    max_quality: float = MaxQuality,
    reason: str | None = Reason,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Send a share of traffic to a candidate; guards roll back or promote it."""
    guards = _guards(
        min_requests,
        min_minutes,
        max_error_increase,
        max_p95_ratio,
        max_divergence,
        no_promote,
        min_labels,
        max_quality,
    )
    _show(_client(ctx, tracking_uri).canary(name, model, weight, guards, reason))


@app.command("shadow")
def shadow(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    model: str = typer.Option(..., "--model", "-m", help="Candidate, e.g. models:/diabetes/4"),
    min_requests: int = MinRequests,
    min_minutes: float = MinMinutes,
    max_error_increase: float = MaxErr,
    max_p95_ratio: float = MaxP95,
    max_divergence: float = MaxDiv,
    no_promote: bool = NoPromote,
    min_labels: int = MinLabels,
    max_quality: float = MaxQuality,
    reason: str | None = Reason,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Mirror every request to a candidate; only the primary answers."""
    guards = _guards(
        min_requests,
        min_minutes,
        max_error_increase,
        max_p95_ratio,
        max_divergence,
        no_promote,
        min_labels,
        max_quality,
    )
    _show(_client(ctx, tracking_uri).shadow(name, model, guards, reason))


@app.command("ab")
def ab(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    model: str = typer.Option(..., "--model", "-m", help="Variant B, e.g. models:/diabetes/4"),
    split: float = typer.Option(0.5, "--split", help="Share of keys sent to B."),
    key: str = typer.Option("user_id", "--key", help="Request field or header to hash."),
    reason: str | None = Reason,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """A/B test with sticky assignment by a key (field or header)."""
    _show(_client(ctx, tracking_uri).ab(name, model, split, key, reason))


@app.command("switch")
def switch(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    model: str = typer.Option(..., "--model", "-m", help="Version to switch to."),
    reason: str | None = Reason,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Blue-green: switch all traffic at once; `rollback` switches back instantly."""
    _show(_client(ctx, tracking_uri).switch(name, model, reason))


@app.command("promote")
def promote(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    reason: str | None = Reason,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Make the candidate primary now and move the alias to it."""
    _show(_client(ctx, tracking_uri).promote(name, reason))


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    reason: str | None = Reason,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Drop the candidate, or switch back to the standby version."""
    _show(_client(ctx, tracking_uri).rollback(name, reason))


@app.command("status")
def status(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="Deployment name (all when omitted)."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Show deployments and their routes."""
    client = _client(ctx, tracking_uri)
    records = [client.get(name)] if name else client.list()
    if as_json:
        print_json([asdict(r) for r in records])
        return
    for record in records:
        _show(record)


@app.command("history")
def history(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Deployment name."),
    as_json: bool = JsonOutput,
    tracking_uri: str | None = TrackingUri,
) -> None:
    """Every change of a deployment: who, when, what and why."""
    events = _client(ctx, tracking_uri).history(name)
    if as_json:
        print_json([asdict(e) for e in events])
        return
    result = table(f"{name}: {len(events)} change(s)", "time", "who", "what", "why")
    for e in events:
        result.add_row(fmt_time(e.time), Text(e.actor), Text(e.action), Text(e.reason or ""))
    out().print(result)
