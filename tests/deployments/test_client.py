"""Deployment state changes, alias moves and the audited history."""

from __future__ import annotations

import json

import pytest

from loopml.deployments import DeploymentClient, Guards
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.registry import RegistryClient


def test_canary_then_promote_moves_alias(store):
    client = DeploymentClient(store)
    rec = client.canary("prod", "models:/diabetes/2", weight=0.2, guards=Guards(min_requests=5))
    assert (rec.strategy, rec.state["candidate"], rec.state["weight"]) == ("canary", 2, 0.2)
    assert rec.state["guards"]["min_requests"] == 5 and rec.revision == 2
    with pytest.raises(ConflictError, match="already tests version 2"):
        client.shadow("prod", "models:/diabetes/3")
    rec = client.promote("prod", reason="looks good")
    assert (rec.state["primary"], rec.state["candidate"], rec.state["standby"]) == (2, None, 1)
    assert RegistryClient(store).resolve("models:/diabetes@champion").version == 2
    actions = [(e.action, e.reason) for e in client.history("prod")]
    assert actions == [("created", "first release"), ("canary", None), ("promote", "looks good")]
    alias_event = RegistryClient(store).events("model_alias")[-1]
    assert json.loads(alias_event.after) == {"version": 2} and alias_event.reason == "looks good"


def test_rollback_of_candidate_and_blue_green(store):
    client = DeploymentClient(store)
    client.shadow("prod", "models:/diabetes/2")
    rec = client.rollback("prod", reason="bad shadow")
    assert (rec.state["primary"], rec.state["candidate"], rec.state["status"]) == (
        1,
        None,
        "rolled_back",
    )
    rec = client.switch("prod", "models:/diabetes/2", reason="blue-green")
    assert (rec.state["primary"], rec.state["standby"]) == (2, 1)
    assert RegistryClient(store).resolve("models:/diabetes@champion").version == 2
    rec = client.rollback("prod", reason="instant rollback")
    assert (rec.state["primary"], rec.state["standby"]) == (1, 2)
    assert RegistryClient(store).resolve("models:/diabetes@champion").version == 1


def test_bad_requests(store):
    client = DeploymentClient(store)
    with pytest.raises(ValidationError, match="already the primary"):
        client.canary("prod", "models:/diabetes/1")
    with pytest.raises(ValidationError, match="between 0 and 1"):
        client.canary("prod", "models:/diabetes/2", weight=1.5)
    with pytest.raises(ValidationError, match="between 0 and 1"):
        client.ab("prod", "models:/diabetes/2", split=0)
    with pytest.raises(ConflictError, match="nothing to roll back"):
        client.rollback("prod")
    with pytest.raises(ConflictError, match="no candidate"):
        client.promote("prod")
    with pytest.raises(NotFoundError, match="loopml deploy create"):
        client.get("nope")
    with pytest.raises(ConflictError, match="already exists"):
        client.create("prod", "models:/diabetes@champion")
