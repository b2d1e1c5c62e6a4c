"""The scoring server: loopml, MLflow and Open Inference Protocol endpoints on FastAPI.

Bad input never produces a 500: malformed JSON is 400, a body over the limit 413, input
that does not match the model signature 422 with every offending field listed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sklearn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from loopml.errors import LoopmlError, NotFoundError, ValidationError
from loopml.serving._model_holder import ModelHolder, Served
from loopml.serving._payloads import (
    Rows,
    invocations_frame,
    invocations_rows,
    oip_frame,
    predict_frame,
    predict_rows,
    signature_frame,
)
from loopml.serving._predlog import PredictionLogger
from loopml.serving._router import DeploymentRouter

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 10 * 1024 * 1024


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


class ORJSONResponse(JSONResponse):
    """JSON via orjson (numpy aware)."""

    def render(self, content: Any) -> bytes:
        """Serialize with orjson."""
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


class _Input:
    """A request's input: its plain rows when small and record-shaped (the fast path), and
    its frame, built only when something needs it."""

    __slots__ = ("_build", "_frame", "rows")

    def __init__(
        self, frame: pd.DataFrame | Callable[[], pd.DataFrame], rows: Rows | None = None
    ) -> None:
        self.rows = rows
        self._frame = frame if isinstance(frame, pd.DataFrame) else None
        self._build = None if isinstance(frame, pd.DataFrame) else frame

    def frame(self) -> pd.DataFrame:
        """The request's frame as the payload parser builds it (raises on a bad body)."""
        if self._frame is None:
            assert self._build is not None
            self._frame = self._build()
        return self._frame


class _Metrics:
    def __init__(self, logger: PredictionLogger | None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "loopml_requests", "Requests by endpoint and status", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "loopml_request_latency_seconds",
            "Request latency",
            ["endpoint"],
            registry=r,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.predictions = Counter(
            "loopml_predictions", "Rows predicted", ["model_version"], registry=r
        )
        self.in_flight = Gauge("loopml_in_flight_requests", "Requests in progress", registry=r)
        queue_depth = Gauge("loopml_log_queue_depth", "Prediction log backlog", registry=r)
        dropped = Gauge("loopml_log_dropped", "Prediction log records dropped", registry=r)
        if logger is not None:
            queue_depth.set_function(lambda: logger.depth)
            dropped.set_function(lambda: logger.dropped)
        self._latency: dict[str, Any] = {}
        self._requests: dict[tuple[str, int], Any] = {}

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        """Record one answered request (label children are cached: this runs per request)."""
        latency = self._latency.get(endpoint)
        if latency is None:
            latency = self._latency[endpoint] = self.latency.labels(endpoint)
        latency.observe(seconds)
        key = (endpoint, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = self.requests.labels(endpoint, str(status))
        counter.inc()


class _Observe:
    """Pure ASGI middleware: in-flight gauge, latency histogram and status counts."""

    def __init__(self, app: Any, metrics: _Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = scope["path"]
        if endpoint.startswith("/v2/models/"):
            endpoint = "/v2/models/{name}" + ("/infer" if endpoint.endswith("/infer") else "")
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics = self.metrics
        metrics.in_flight.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            metrics.in_flight.dec()
            metrics.observe(endpoint, status, time.perf_counter() - start)


async def _json_body(request: Request, max_body: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise _BadRequest(413, f"body of {declared} bytes is over the {max_body}-byte limit")
    raw = await request.body()
    if len(raw) > max_body:
        raise _BadRequest(413, f"body of {len(raw)} bytes is over the {max_body}-byte limit")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _BadRequest(400, f"body is not valid JSON: {exc}") from None


def _as_list(predictions: Any) -> list[Any]:
    if isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    array = np.asarray(predictions)
    return array.tolist()


def create_app(
    holder: ModelHolder | DeploymentRouter,
    logger: PredictionLogger | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    on_shutdown: Callable[[], None] | None = None,
    feedback: Callable[[list[str], list[Any]], int] | None = None,
) -> FastAPI:
    """Build the scoring app around a loaded model holder; ``on_shutdown`` runs at exit."""
    metrics = _Metrics(logger)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if on_shutdown is not None:
            on_shutdown()

    app = FastAPI(
        title="loopml scoring server", default_response_class=ORJSONResponse, lifespan=lifespan
    )
    app.state.holder = holder
    app.state.logger = logger

    def _served() -> Served:
        if holder.current is None:
            raise _BadRequest(503, "the model is not loaded yet")
        return holder.current

    def _predict(
        served: Served, inp: _Input, route: str, ids: list[str] | None = None
    ) -> tuple[list[Any], list[str], pd.DataFrame]:
        sig = served.model.signature
        if sig is not None and sig.inputs:
            clean = signature_frame(inp.rows, sig) if inp.rows is not None else None
            if clean is None:
                clean = sig.validate(inp.frame())
        else:
            clean = inp.frame()
        start = time.perf_counter()
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            predictions = _as_list(served.model.model.predict(clean))
        elapsed_ms = (time.perf_counter() - start) * 1000
        ids = ids or [uuid.uuid4().hex for _ in range(len(clean))]
        holder.record(route, True, elapsed_ms, predictions, ids)
        metrics.predictions.labels(served.version).inc(len(ids))
        if logger is not None:
            logger.log_request(
                ids,
                clean,
                predictions,
                int(time.time() * 1000),
                served.name,
                served.version,
                route,
                elapsed_ms,
            )
        return predictions, ids, clean

    def _mirror(served: Served, inp: _Input, ids: list[str]) -> None:
        try:
            _predict(served, inp, "shadow", ids)
        except Exception:  # a failing shadow never affects the answer
            holder.record("shadow", False, 0.0)

    routed = isinstance(holder, DeploymentRouter)  # a single model needs no frame to pick

    def _score(
        served: Served, inp: _Input, headers: dict[str, str] | None = None
    ) -> tuple[list[Any], list[str], Served, str]:
        """Predict on the route the request falls on; returns who answered and how."""
        chosen, route = holder.pick(inp.frame() if routed else None, headers or {})
        if route not in ("primary", "a"):
            try:
                predictions, ids, _ = _predict(chosen, inp, route)
                return predictions, ids, chosen, route
            except ValidationError:
                raise
            except Exception as exc:  # a failing candidate: count it, answer from primary
                log.warning("candidate %s failed: %s", chosen.version, exc)
                holder.record(route, False, 0.0)
        route = route if route == "a" else "primary"
        predictions, ids, _ = _predict(served, inp, route)
        shadow = holder.shadow()
        if shadow is not None:
            threading.Thread(target=_mirror, args=(shadow, inp, ids), daemon=True).start()
        return predictions, ids, served, route

    def _error(status: int, content: dict[str, Any]) -> ORJSONResponse:
        return ORJSONResponse(content, status_code=status)

    async def _bad_request(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, _BadRequest)
        return _error(exc.status, {"error": exc.message})

    async def _invalid(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ValidationError)
        return _error(422, _problem(exc))

    async def _missing(_: Request, exc: Exception) -> Response:
        return _error(404, {"error": str(exc)})

    async def _loopml(_: Request, exc: Exception) -> Response:
        return _error(400, {"error": str(exc)})

    app.add_exception_handler(_BadRequest, _bad_request)
    app.add_exception_handler(ValidationError, _invalid)
    app.add_exception_handler(NotFoundError, _missing)
    app.add_exception_handler(LoopmlError, _loopml)

    app.add_middleware(_Observe, metrics=metrics)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready")
    async def ready() -> Response:
        ok = holder.current is not None
        return ORJSONResponse({"ready": ok}, status_code=200 if ok else 503)

    @app.get("/model")
    async def model_info() -> dict[str, Any]:
        return holder.metadata()

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    record_schema = _record_schema(holder)
    predict_doc = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            record_schema,
                            {"type": "array", "items": record_schema},
                            {
                                "type": "object",
                                "properties": {
                                    "records": {"type": "array", "items": record_schema}
                                },
                            },
                        ]
                    }
                }
            },
        }
    }

    # The scoring endpoints answer with a Response: FastAPI then skips validating and
    # re-encoding the returned dict, which costs more than the rest of a small request.
    @app.post("/predict", openapi_extra=predict_doc, response_model=dict[str, Any])
    async def predict(request: Request) -> Response:
        body = await _json_body(request, max_body)
        served = _served()
        inp = _Input(lambda: predict_frame(body), predict_rows(body))
        predictions, ids, answered, route = _score(served, inp, dict(request.headers))
        return ORJSONResponse(
            {
                "predictions": predictions,
                "request_ids": ids,
                "model_name": answered.name,
                "model_version": answered.version,
                "route": route,
            }
        )

    jobs = _Jobs()

    @app.post("/predict/async", status_code=202, openapi_extra=predict_doc)
    async def predict_async(request: Request) -> dict[str, Any]:
        body = await _json_body(request, max_body)
        frame = predict_frame(body)
        served = _served()
        sig = served.model.signature
        if sig is not None and sig.inputs:
            sig.validate(frame)  # reject bad input now, not in the job
        headers = dict(request.headers)

        def work() -> dict[str, Any]:
            predictions, ids, answered, route = _score(served, _Input(frame), headers)
            return {
                "predictions": predictions,
                "request_ids": ids,
                "model_name": answered.name,
                "model_version": answered.version,
                "route": route,
            }

        return {"job_id": jobs.submit(work), "status": "queued"}

    @app.get("/jobs/{job_id}")
    async def job(job_id: str) -> dict[str, Any]:
        found = jobs.get(job_id)
        if found is None:
            raise NotFoundError(
                f"job {job_id!r} does not exist (finished jobs are kept for "
                f"the last {_Jobs.KEEP} jobs)"
            )
        return found

    @app.post("/invocations", response_model=dict[str, Any])
    async def invocations(request: Request) -> Response:
        body = await _json_body(request, max_body)
        served = _served()
        inp = _Input(lambda: invocations_frame(body), invocations_rows(body))
        predictions, *_ = _score(served, inp, dict(request.headers))
        return ORJSONResponse({"predictions": predictions})

    @app.post("/feedback")
    async def post_feedback(request: Request) -> dict[str, Any]:
        body = await _json_body(request, max_body)
        if feedback is None:
            raise _BadRequest(404, "this server does not accept feedback (started with --no-log)")
        ids, labels = _feedback_body(body)
        accepted = feedback(ids, labels)
        holder.observe_labels(ids, labels)  # rollout guards score the routes' quality
        return {"accepted": accepted}

    @app.get("/v2/health/live")
    async def v2_live() -> dict[str, bool]:
        return {"live": True}

    @app.get("/v2/health/ready")
    async def v2_ready() -> Response:
        ok = holder.current is not None
        return ORJSONResponse({"ready": ok}, status_code=200 if ok else 503)

    def _named(name: str, version: str | None = None) -> Served:
        served = _served()
        if name != served.name or (version is not None and version != served.version):
            wanted = f"{name}/{version}" if version else name
            raise NotFoundError(
                f"model {wanted!r} is not served here; this server has "
                f"{served.name}/{served.version}"
            )
        return served

    @app.get("/v2/models/{name}")
    async def v2_model(name: str) -> dict[str, Any]:
        served = _named(name)
        sig = served.model.signature
        inputs = [
            {"name": c.name, "datatype": _oip_type(c.type), "shape": [-1]}
            for c in (sig.inputs if sig else ())
        ]
        return {
            "name": served.name,
            "versions": [served.version],
            "platform": "loopml",
            "inputs": inputs,
            "outputs": [{"name": "predictions", "datatype": "FP64", "shape": [-1]}],
        }

    @app.get("/v2/models/{name}/ready")
    async def v2_model_ready(name: str) -> dict[str, Any]:
        _named(name)
        return {"name": name, "ready": True}

    async def _infer(request: Request, name: str, version: str | None) -> dict[str, Any]:
        body = await _json_body(request, max_body)
        served = _named(name, version)
        sig = served.model.signature
        frame = oip_frame(body, sig.input_names if sig else [])
        predictions, ids, served, _ = _score(served, _Input(frame), dict(request.headers))
        array = np.asarray(predictions)
        return {
            "model_name": served.name,
            "model_version": served.version,
            "id": body.get("id") or (ids[0] if ids else uuid.uuid4().hex),
            "outputs": [
                {
                    "name": "predictions",
                    "shape": list(array.shape),
                    "datatype": "FP64"
                    if array.dtype.kind == "f"
                    else "BYTES"
                    if array.dtype.kind in "OUS"
                    else "INT64",
                    "data": array.ravel().tolist(),
                }
            ],
        }

    @app.post("/v2/models/{name}/infer")
    async def v2_infer(name: str, request: Request) -> dict[str, Any]:
        return await _infer(request, name, None)

    @app.post("/v2/models/{name}/versions/{version}/infer")
    async def v2_infer_version(name: str, version: str, request: Request) -> dict[str, Any]:
        return await _infer(request, name, version)

    return app


class _Jobs:
    """Background prediction jobs: a small thread pool and the last results in memory."""

    KEEP = 10_000

    def __init__(self) -> None:
        from collections import OrderedDict
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="loopml-job")
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], dict[str, Any]]) -> str:
        job_id = uuid.uuid4().hex
        with self._lock:
            self._jobs[job_id] = {"job_id": job_id, "status": "queued"}
            while len(self._jobs) > self.KEEP:
                self._jobs.popitem(last=False)

        def run() -> None:
            self._set(job_id, status="running")
            try:
                self._set(job_id, status="done", result=work())
            except LoopmlError as exc:
                self._set(job_id, status="failed", error=str(exc))
            except Exception as exc:  # reported in the job, never lost
                log.exception("job %s failed", job_id)
                self._set(job_id, status="failed", error=repr(exc))

        self._pool.submit(run)
        return job_id

    def _set(self, job_id: str, **values: Any) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id] = {**self._jobs[job_id], **values}

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._jobs.get(job_id)


def _record_schema(holder: Any) -> dict[str, Any]:
    served = holder.current
    sig = served.model.signature if served is not None else None
    if sig is None or not sig.inputs:
        return {"type": "object"}
    kinds = {"integer": "integer", "float": "number", "boolean": "boolean"}
    props: dict[str, Any] = {}
    for c in sig.inputs:
        prop: dict[str, Any] = {"type": kinds.get(c.type, "string")}
        if c.categories is not None:
            prop["enum"] = list(c.categories)
        if c.nullable:
            prop = {"anyOf": [prop, {"type": "null"}]}
        props[c.name] = prop
    return {
        "type": "object",
        "properties": props,
        "required": [c.name for c in sig.inputs],
        "title": f"{served.name} v{served.version} record",
    }


def _feedback_body(body: Any) -> tuple[list[str], list[Any]]:
    records = body.get("labels") if isinstance(body, dict) and "request_ids" not in body else body
    if isinstance(body, dict) and "request_ids" in body:
        ids, labels = body.get("request_ids"), body.get("labels")
        if not isinstance(ids, list) or not isinstance(labels, list):
            raise ValidationError('"request_ids" and "labels" must be lists of the same length')
        return ids, labels
    if isinstance(records, list) and all(
        isinstance(r, dict) and "request_id" in r and "label" in r for r in records
    ):
        return [r["request_id"] for r in records], [r["label"] for r in records]
    raise ValidationError(
        'feedback must be {"request_ids": [...], "labels": [...]} or a list of '
        '{"request_id": ..., "label": ...} records'
    )


def _problem(exc: ValidationError) -> dict[str, Any]:
    lines = str(exc).splitlines()
    problems = [line.strip()[2:] for line in lines[1:] if line.strip().startswith("- ")]
    return {"error": lines[0] if lines else str(exc), "problems": problems}


def _oip_type(kind: str) -> str:
    return {"integer": "INT64", "float": "FP64", "boolean": "BOOL"}.get(kind, "BYTES")
