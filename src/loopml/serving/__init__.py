"""Online scoring: loopml, MLflow and Open Inference Protocol endpoints, prediction logs."""

from loopml.serving._app import create_app
from loopml.serving._batch import BatchProgress, BatchResult, predict_batch
from loopml.serving._build import build_docker, build_k8s
from loopml.serving._fluent import get_prediction_log, log_feedback, upload_feedback
from loopml.serving._logs import joined_log, write_feedback
from loopml.serving._model_holder import ModelHolder, Served
from loopml.serving._predlog import PredictionLogger, PredictionRecord
from loopml.serving._server import build_app, serve

__all__ = [
    "BatchProgress",
    "BatchResult",
    "ModelHolder",
    "PredictionLogger",
    "PredictionRecord",
    "Served",
    "build_app",
    "build_docker",
    "build_k8s",
    "create_app",
    "get_prediction_log",
    "joined_log",
    "log_feedback",
    "predict_batch",
    "serve",
    "upload_feedback",
    "write_feedback",
]
