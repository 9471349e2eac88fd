"""Models from elsewhere are loaded safely: a Lambda or unknown layer is refused before any of its code runs."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from solution.artifacts.keras_files import foreign_layers, load_keras_model
from solution.core.errors import UserError
from solution.models.backbones import build_model
from solution.models.registry import get_spec
from solution.standins.media import write_face_photo
from tests.conftest import REPO


def _photo_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "demo" / "photo.py"), *args], capture_output=True, text=True, cwd=REPO, check=False)


def _evil_model(tmp_path, marker):
    """A .keras file whose Lambda layer writes `marker` when the model is built or called."""
    inputs = keras.Input((4,))
    writes_marker = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # the path a literal in its bytecode
    outputs = keras.layers.Lambda(writes_marker)(inputs)
    marker.unlink(missing_ok=True)
    path = tmp_path / "evil.keras"
    keras.Model(inputs, outputs).save(path)
    marker.unlink(missing_ok=True)
    return path


def test_a_lambda_layer_is_refused_in_one_line_and_its_code_never_runs(tmp_path):
    marker = tmp_path / "ran"
    path = _evil_model(tmp_path, marker)
    assert foreign_layers(path) == ["Lambda"]
    with pytest.raises(UserError, match=r"evil.keras: refused: it holds Lambda, layer code that would run on loading"):
        load_keras_model(path)
    assert not marker.exists()
    picture = write_face_photo(tmp_path / "face.png")
    photo = _photo_script(str(picture), "--model", str(path), "--out", str(tmp_path / "out"))
    assert photo.returncode == 2 and "refused: it holds Lambda" in photo.stderr and "Traceback" not in photo.stderr
    error = [line for line in photo.stderr.splitlines() if "refused" in line][0]
    assert error.count(str(path)) == 1, "the path once, not wrapped in a second message"
    assert error.endswith("rebuild it without Lambda or custom layers"), "the whole fix, not cut mid-word"
    assert not marker.exists()


def test_an_unknown_registered_layer_is_refused_and_the_kits_own_model_loads(tmp_path):
    model = build_model(get_spec("convlstm"), 32, "none")
    path = tmp_path / "own.keras"
    model.save(path)
    assert foreign_layers(path) == []
    loaded = load_keras_model(path)
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    assert np.allclose(loaded(images, training=False), model(images, training=False), atol=1e-5)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        files = {name: archive.read(name) for name in archive.namelist()}
    config["config"]["layers"][1]["registered_name"] = "someone>Backdoor"
    forged = tmp_path / "forged.keras"
    with zipfile.ZipFile(forged, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, json.dumps(config) if name == "config.json" else content)
    with pytest.raises(UserError, match="refused: it holds someone>Backdoor"):
        load_keras_model(forged)
