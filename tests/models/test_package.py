"""Model packages: save/load round trips, checksums, safe loading, logging to runs."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loopml
from loopml.errors import ConflictError, ValidationError
from loopml.models import LibraryVersionWarning, load_model, load_package, log_model, save_model
from loopml.models._package import MANIFEST


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    d = load_diabetes(as_frame=True)
    return d.data, d.target


@pytest.fixture(scope="module")
def pipeline(data):
    X, y = data
    return make_pipeline(StandardScaler(), Ridge(alpha=0.5)).fit(X, y)


def test_sklearn_round_trip_with_skops(tmp_path, data, pipeline):
    X, _ = data
    folder = save_model(pipeline, tmp_path / "m", input_example=X.head(3), training_data=X)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["flavor"] == "sklearn"
    assert manifest["sklearn"] == {"data": "model.skops", "serialization": "skops"}
    assert set(manifest["files"]) == {
        "model.skops",
        "requirements.txt",
        "input_example.json",
        "reference_profile.json",
    }
    reqs = (folder / "requirements.txt").read_text().splitlines()
    assert any(r.startswith("scikit-learn==") for r in reqs)
    loaded = load_package(folder)
    np.testing.assert_allclose(loaded.predict(X.head(20)), pipeline.predict(X.head(20)))
    assert loaded.signature.input_names == list(X.columns)
    assert loaded.input_example().shape == (3, 10)
    profile = loaded.reference_profile()
    assert profile["rows"] == len(X)
    bmi = profile["columns"]["bmi"]
    assert bmi["min"] == pytest.approx(X["bmi"].min())
    assert sum(bmi["histogram"]["counts"]) == len(X)
    assert bmi["quantiles"]["0.5"] == pytest.approx(X["bmi"].median())


def test_predict_validates_against_signature(tmp_path, data, pipeline):
    X, _ = data
    loaded = load_package(save_model(pipeline, tmp_path / "m", training_data=X))
    with pytest.raises(ValidationError, match=r"bmi: missing column.*\n.*s1: expected float"):
        loaded.predict(X.drop(columns=["bmi"]).assign(s1="high"))


def test_tampered_package_is_refused(tmp_path, data, pipeline):
    X, _ = data
    folder = save_model(pipeline, tmp_path / "m", training_data=X)
    with (folder / "model.skops").open("ab") as f:
        f.write(b"tampered")
    with pytest.raises(ValidationError, match=r"model.skops has changed"):
        load_package(folder)
    (folder / "requirements.txt").unlink()
    with pytest.raises(ValidationError, match=r"requirements\.txt is missing"):
        load_package(folder)


def test_existing_target_is_refused_and_nothing_half_written(tmp_path, data, pipeline):
    folder = save_model(pipeline, tmp_path / "m")
    with pytest.raises(ConflictError, match="already exists"):
        save_model(pipeline, folder)
    with pytest.raises(ValidationError, match=r"serialization 'yaml'"):
        save_model(pipeline, tmp_path / "n", serialization="yaml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_pickle_is_an_explicit_recorded_choice(tmp_path, data, pipeline):
    X, _ = data
    folder = save_model(pipeline, tmp_path / "p", serialization="pickle")
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["sklearn"]["serialization"] == "pickle"
    np.testing.assert_allclose(load_package(folder).predict(X.head(3)), pipeline.predict(X.head(3)))


def test_version_mismatch_warns_naming_both(tmp_path, data, pipeline):
    folder = save_model(pipeline, tmp_path / "m")
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["library_versions"]["scikit-learn"] = "0.0.1"
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.warns(LibraryVersionWarning, match=r"scikit-learn==0\.0\.1 but scikit-learn=="):
        load_package(folder)


class Doubler:
    """A plain Python model."""

    def predict(self, frame):
        return frame["x"].to_numpy() * 2


def test_python_function_flavor(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    folder = save_model(Doubler(), tmp_path / "f", input_example=frame)
    loaded = load_package(folder)
    assert loaded.flavor == "python_function"
    assert list(loaded.predict({"x": [3.0]})) == [6.0]
    with pytest.raises(ValidationError, match="no flavor can save"):
        save_model(object(), tmp_path / "g")


def test_log_model_to_run_and_load_by_uri(tracking, data, pipeline):
    X, _ = data
    with loopml.start_run() as run:
        info = log_model(pipeline, "model", training_data=X, input_example=X.head(2))
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    assert info.flavor == "sklearn"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_model(info.model_uri)
    np.testing.assert_allclose(loaded.predict(X.head(5)), pipeline.predict(X.head(5)))
    tags = loopml.get_run(run.info.run_id).data.tags
    assert json.loads(tags["loopml.loggedModels"]) == [
        {"artifact_path": "model", "flavor": "sklearn"}
    ]
    with pytest.raises(ValidationError, match="runs:/<run_id>/<artifact path>"):
        load_model("runs:/abc")
    with pytest.raises(ValidationError, match="registry"):
        load_model("models:/taxi@champion")


CUSTOM_MODULE = '''
class Scaler:
    """A model class that lives in the user's own module."""

    def __init__(self, factor):
        self.factor = factor

    def predict(self, frame):
        return frame["x"].to_numpy() * self.factor
'''


def test_custom_code_files_travel_with_the_model(tmp_path):
    import subprocess
    import sys
    import textwrap

    src = tmp_path / "src"
    src.mkdir()
    (src / "my_models.py").write_text(CUSTOM_MODULE)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(src)!r})
        import pandas as pd
        from my_models import Scaler
        from loopml.models import save_model
        save_model(Scaler(3.0), {str(tmp_path / "pkg")!r},
                   input_example=pd.DataFrame({{"x": [1.0]}}),
                   code_paths=[{str(src / "my_models.py")!r}])
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (src / "my_models.py").unlink()  # the loader must not need the original source
    load = (
        "from loopml.models import load_package; "
        f"m = load_package({str(tmp_path / 'pkg')!r}); print(m.predict({{'x': [2.0]}}).tolist())"
    )
    done = subprocess.run([sys.executable, "-c", load], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[6.0]"
    manifest = json.loads((tmp_path / "pkg" / MANIFEST).read_text())
    assert "code/my_models.py" in manifest["files"]
