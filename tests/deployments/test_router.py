"""Routing in one process: canary share, A/B stickiness, shadow mirroring, guards."""

from __future__ import annotations

from loopml.deployments import DeploymentClient, Guards
from loopml.registry import RegistryClient
from loopml.serving._router import DeploymentRouter


def test_canary_share_and_ab_stickiness(store, data):
    X, _ = data
    client = DeploymentClient(store)
    client.canary("prod", "models:/diabetes/2", weight=0.2, guards=Guards(auto_promote=False))
    router = DeploymentRouter(client, "prod")
    frame = X.head(1)
    routes = [router.pick(frame, {})[1] for _ in range(4000)]
    share = routes.count("canary") / len(routes)
    assert 0.17 < share < 0.23
    client.rollback("prod")
    client.ab("prod", "models:/diabetes/2", split=0.5, key="user_id")
    router.refresh()
    users = [f"u{i}" for i in range(400)]
    first = {u: router.pick(frame.assign(user_id=u), {})[1] for u in users}
    again = {u: router.pick(frame.assign(user_id=u), {})[1] for u in users}
    assert first == again  # sticky
    assert 0.4 < list(first.values()).count("b") / len(users) < 0.6
    by_header = router.pick(frame, {"user_id": "u7"})[1]
    assert by_header == first["u7"]


def test_guards_roll_back_a_diverging_candidate(store, data):
    X, _ = data
    client = DeploymentClient(store)
    client.canary("prod", "models:/diabetes/3", weight=0.5, guards=Guards(min_requests=20))
    router = DeploymentRouter(client, "prod")
    frame = X.head(1)
    for _ in range(200):
        served, route = router.pick(frame, {})
        router.record(route, True, 1.0, served.model.predict(frame).tolist())
    assert router.check_guards() == "rollback"
    assert router.table.candidate is None
    last = client.history("prod")[-1]
    assert last.action == "rollback" and last.reason.startswith("guard: prediction distributions")


def test_guards_promote_a_healthy_candidate(store, data):
    X, _ = data
    client = DeploymentClient(store)
    client.shadow("prod", "models:/diabetes/2", guards=Guards(min_requests=50))
    router = DeploymentRouter(client, "prod")
    assert router.shadow() is not None
    for i in range(60):
        frame = X.iloc[[i]]
        primary = router.current.model.predict(frame).tolist()
        router.record("primary", True, 1.0, primary)
        router.record("shadow", True, 1.0, router.shadow().model.predict(frame).tolist())
    assert router.check_guards() == "promote"
    assert router.current.version == "2"
    assert RegistryClient(store).resolve("models:/diabetes@champion").version == 2
    assert client.history("prod")[-1].reason.startswith("guard: healthy for 60 requests")
    meta = router.metadata()
    assert (meta["version"], meta["candidate"], meta["strategy"]) == ("2", None, "single")
