"""Fixtures for the CLI tests: a populated folder store and a runner that invokes ``loopml``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from typer.testing import CliRunner

from loopml.cli import app
from loopml.entities import Metric, Param
from loopml.tracking import Client

_BOX = re.compile(r"[│╭╮╰╯─]")


@dataclass(frozen=True)
class Outcome:
    """What one ``loopml`` invocation did."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        """stdout and stderr with Rich box borders and line wrapping flattened to spaces."""
        return " ".join(_BOX.sub(" ", self.stdout + "\n" + self.stderr).split())


Invoke = Callable[..., Outcome]


def run_cli(args: list[str], env: dict[str, str] | None = None) -> Outcome:
    """Invoke the app in-process; an exception that escaped the CLI fails the test."""
    result = CliRunner().invoke(app, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"loopml {args} crashed") from result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


@dataclass(frozen=True)
class Store:
    """A folder store with experiment 'demo' holding finished runs a, b and c."""

    uri: str
    client: Client
    experiment_id: str
    ids: dict[str, str]


@pytest.fixture
def store(tmp_path) -> Store:
    """Runs a (rf, rmse 5), b (ridge, rmse 3), c (rf, rmse 4), all FINISHED."""
    uri = str(tmp_path / "store")
    client = Client(uri)
    exp = client.create_experiment("demo")
    ids = {}
    for name, model, rmse in [("a", "rf", 5.0), ("b", "ridge", 3.0), ("c", "rf", 4.0)]:
        run = client.create_run(exp, run_name=name)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("rmse", rmse, 0, 1), Metric("r2", 1 / rmse, 0, 1)],
            params=[Param("model", model)],
        )
        client.set_terminated(run.info.run_id)
        ids[name] = run.info.run_id
    return Store(uri, client, exp, ids)


@pytest.fixture
def cli(store: Store) -> Invoke:
    """``cli("runs", "list")`` runs ``loopml runs list -t <store>``."""

    def invoke(*args: str) -> Outcome:
        return run_cli([*args, "--tracking-uri", store.uri])

    return invoke


@pytest.fixture
def raw_cli() -> Callable[..., Outcome]:
    """``raw_cli([...args], env=None)``: invoke with exactly these arguments."""
    return run_cli
