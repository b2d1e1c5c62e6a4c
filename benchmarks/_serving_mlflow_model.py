"""Save a pickled, fitted scikit-learn estimator as an MLflow model folder.

Run with MLflow's interpreter (``.venv-bench/bin/python``)::

    python _serving_mlflow_model.py PICKLE OUT_DIR

PICKLE holds ``(estimator, X_sample)``; the signature is inferred from the sample and the
estimator's predictions on it, so MLflow validates requests as loopml does. Prints MLflow's
version.
"""

from __future__ import annotations

import logging
import pickle
import sys
import warnings


def main() -> None:
    """Write the MLflow model folder."""
    source, out = sys.argv[1], sys.argv[2]
    warnings.filterwarnings("ignore")
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with open(source, "rb") as f:
        estimator, sample = pickle.load(f)
    signature = infer_signature(sample, estimator.predict(sample))
    import sklearn

    mlflow.sklearn.save_model(  # requirements given: MLflow skips inferring them in a subprocess
        estimator,
        out,
        signature=signature,
        pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
    )
    print(mlflow.__version__)


if __name__ == "__main__":
    main()
