"""Run the scoring server with uvicorn."""

from __future__ import annotations

import gc
import logging
import os
from typing import Any

import uvicorn
from fastapi import FastAPI

from loopml.deployments import DeploymentClient
from loopml.errors import ValidationError
from loopml.registry import RegistryClient
from loopml.serving._app import DEFAULT_MAX_BODY, create_app
from loopml.serving._logs import PREDICTIONS, log_root, write_feedback
from loopml.serving._model_holder import ModelHolder
from loopml.serving._predlog import PredictionLogger
from loopml.serving._router import DeploymentRouter

log = logging.getLogger(__name__)


def build_app(
    model_uri: str | None,
    tracking_uri: str | None = None,
    deployment: str | None = None,
    log_predictions: bool = True,
    max_body: int = DEFAULT_MAX_BODY,
    reload_interval: float = 2.0,
) -> FastAPI:
    """Build the app for a model URI, or (model_uri None) for every route of a deployment.

    Prediction logs go under ``<artifact root>/predictions``.
    """
    registry = RegistryClient(tracking_uri)
    holder: ModelHolder | DeploymentRouter
    if model_uri is None:
        if deployment is None:
            raise ValidationError("give a model URI or --deployment NAME to serve")
        holder = DeploymentRouter(
            DeploymentClient(client=registry.tracking), deployment, reload_interval
        )
        holder.start()
    else:
        holder = ModelHolder(model_uri, registry, reload_interval)
        holder.load()
        holder.start_following()
    logger = None
    feedback = None
    name = deployment or (holder.current.name if holder.current else "default")
    if log_predictions:
        logger = PredictionLogger(log_root(registry.tracking, PREDICTIONS), name)

        def feedback(ids: list[str], labels: list[Any]) -> int:
            return write_feedback(registry.tracking, name, ids, labels)

    def _flush() -> None:  # graceful shutdown writes every queued prediction
        holder.stop()
        if logger is not None:
            logger.close()

    return create_app(holder, logger, max_body, on_shutdown=_flush, feedback=feedback)


def _settle() -> None:
    """Move everything loaded at startup (libraries, the model) out of the garbage
    collector's way: a full collection then no longer walks them, which would pause a
    request for tens of milliseconds now and then."""
    gc.collect()
    gc.freeze()


def app_from_env() -> FastAPI:
    """App factory for multi-worker uvicorn: settings come from LOOPML_SERVE_* variables."""
    app = build_app(
        os.environ.get("LOOPML_SERVE_MODEL") or None,
        os.environ.get("LOOPML_TRACKING_URI") or None,
        os.environ.get("LOOPML_SERVE_DEPLOYMENT") or None,
        os.environ.get("LOOPML_SERVE_LOG", "1") == "1",
        reload_interval=float(os.environ.get("LOOPML_RELOAD_INTERVAL", "2.0")),
    )
    _settle()
    return app


def serve(
    model_uri: str | None,
    host: str = "127.0.0.1",
    port: int = 8080,
    tracking_uri: str | None = None,
    deployment: str | None = None,
    log_predictions: bool = True,
    workers: int = 1,
) -> None:
    """Serve a model (or a deployment) until interrupted; ``workers`` > 1 forks processes."""
    if workers < 1:
        raise ValidationError(f"--workers {workers} must be at least 1")
    if tracking_uri:
        os.environ["LOOPML_TRACKING_URI"] = tracking_uri
    if workers > 1:
        os.environ.update(
            LOOPML_SERVE_MODEL=model_uri or "",
            LOOPML_SERVE_DEPLOYMENT=deployment or "",
            LOOPML_SERVE_LOG="1" if log_predictions else "0",
        )
        uvicorn.run(
            "loopml.serving._server:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
        return
    interval = float(os.environ.get("LOOPML_RELOAD_INTERVAL", "2.0"))
    app = build_app(model_uri, tracking_uri, deployment, log_predictions, reload_interval=interval)
    _settle()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
