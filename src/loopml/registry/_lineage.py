"""Lineage of a model version: datasets → run → model version → aliases/stages (and later
deployments and monitors), returned as data and rendered as a tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopml.entities import ModelVersion, Run
from loopml.errors import NotFoundError
from loopml.registry._client import RegistryClient


@dataclass(frozen=True)
class Lineage:
    """Upstream (datasets, run, parent run) and downstream (aliases, stage) of a version."""

    model_version: ModelVersion
    run: Run | None
    parent_run_id: str | None
    datasets: list[dict[str, Any]] = field(default_factory=list)
    downstream: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        mv = self.model_version
        return {
            "model_version": {"name": mv.name, "version": mv.version, "status": mv.status.value},
            "run": (
                {
                    "run_id": self.run.info.run_id,
                    "run_name": self.run.info.run_name,
                    "experiment_id": self.run.info.experiment_id,
                    "git_commit": self.run.data.tags.get("loopml.source.git.commit"),
                    "source": self.run.data.tags.get("loopml.source.name"),
                }
                if self.run
                else None
            ),
            "parent_run_id": self.parent_run_id,
            "datasets": self.datasets,
            "downstream": self.downstream,
        }

    def render(self) -> str:
        """An indented text tree, upstream first."""
        mv = self.model_version
        lines = ["upstream:"]
        for ds in self.datasets:
            lines.append(
                f"  dataset {ds['name']} ({ds['context'] or '-'}) digest {ds['digest'][:12]} "
                f"rows {ds['num_rows']}"
            )
        if self.run is not None:
            commit = self.run.data.tags.get("loopml.source.git.commit", "-")[:12]
            lines.append(
                f"  └─ run {self.run.info.run_name} {self.run.info.run_id} (commit {commit})"
            )
            if self.parent_run_id:
                lines.append(f"     parent run {self.parent_run_id}")
        lines.append(f"        └─ model {mv.name}/{mv.version} [{mv.status.value}]")
        lines.append("downstream:")
        aliases = self.downstream.get("aliases") or []
        lines.append(f"  aliases: {', '.join(aliases) if aliases else '-'}")
        lines.append(f"  stage: {self.downstream.get('stage')}")
        return "\n".join(lines)


def lineage(registry: RegistryClient, name: str, version: int) -> Lineage:
    """Collect the lineage of ``name/version``."""
    mv = registry.get_model_version(name, version)
    run = None
    if mv.run_id:
        try:
            run = registry.tracking.get_run(mv.run_id)
        except NotFoundError:
            run = None
    datasets = [
        {
            "name": i.dataset.name,
            "digest": i.dataset.digest,
            "context": i.context,
            "source": i.dataset.source,
            "num_rows": i.dataset.num_rows,
        }
        for i in (run.inputs if run else ())
    ]
    return Lineage(
        model_version=mv,
        run=run,
        parent_run_id=run.info.parent_run_id if run else None,
        datasets=datasets,
        downstream={"aliases": list(mv.aliases), "stage": mv.stage.value},
    )
