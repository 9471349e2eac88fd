"""Every reader of a file from elsewhere, fuzzed: each generated file is accepted or refused in one line.

A recipe, a run folder, a model folder, kernels.yaml or a kernel's output may come from anyone. Hypothesis starts from
a valid file of each kind and breaks it: values of every wrong type (text, lists, mappings, NaN, huge numbers, odd
Unicode, path-like strings), missing keys, extra keys, a document that is not a mapping at all. Each reader must
return or raise UserError whose message is one line naming the file, never a traceback, and never write outside
its folder. `make test` tries a bounded number of files per reader; EMOTION_FUZZ_EXAMPLES=2000 tries more.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solution.artifacts.blend_folder import BlendRecipe
from solution.artifacts.exported_model import ExportedModel
from solution.artifacts.runs import RunFolder, RunMeta
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.data import dataset, folds
from solution.kaggle import kernel_client, kernels, push_queue
from tests.conftest import REPO, run_meta

FUZZ = settings(
    max_examples=int(os.environ.get("EMOTION_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not os.environ.get("EMOTION_FUZZ_EXAMPLES"),  # make test: the same files every run; more: new ones
)

PATH_LIKE = st.sampled_from(["../runs", "/etc/passwd", "..", ".", "", "a/../../b", "~", "C:\\x", "\x00", "runs/../../x"])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | PATH_LIKE
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8
)


@st.composite
def broken(draw, valid: dict) -> object:
    """`valid`, broken: one to three keys changed to any value, dropped or added; now and then no mapping at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(VALUES)
    document = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(document)) if document else st.text(max_size=6))
        action = draw(st.sampled_from(["replace", "drop", "add", "nest"]))
        if action == "drop":
            document.pop(key, None)
        elif action == "add":
            document[draw(st.text(max_size=8))] = draw(VALUES)
        elif action == "nest" and isinstance(document.get(key), list | dict) and document[key]:
            inner = document[key]
            slot = draw(st.sampled_from(range(len(inner)) if isinstance(inner, list) else sorted(inner)))
            if isinstance(inner[slot], dict) and inner[slot]:
                inner[slot][draw(st.sampled_from(sorted(inner[slot])))] = draw(VALUES)
            else:
                inner[slot] = draw(VALUES)
        else:
            document[key] = draw(VALUES)
    return document


def _dump_json(value: object) -> str:
    return json.dumps(value, allow_nan=True)


def _dump_yaml(value: object) -> str:
    return yaml.safe_dump(value, allow_unicode=True)


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _read_safely(write: Callable[[Path], Path], read: Callable[[Path], object], named: str = "") -> None:
    """Write a file with `write(sandbox)` into its own folder, read it with `read(file)`: it must be accepted or
    refused in one line naming the file, and nothing outside that folder may change."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "elsewhere").mkdir()
        (root / "elsewhere" / "keep.txt").write_text("keep")
        folder = root / "sandbox"
        folder.mkdir()
        path = write(folder)
        outside = {k: v for k, v in _tree(root).items() if not k.startswith("sandbox")}
        try:
            read(path)
        except UserError as error:
            message = str(error)
            assert "\n" not in message and "\r" not in message, message
            assert str(path) in message or str(path.parent) in message or (named and named in message), message
        assert {k: v for k, v in _tree(root).items() if not k.startswith("sandbox")} == outside


VALID_DONE = {
    "fold": 0, "val_accuracy": 0.5, "seconds": 1.0, "images_per_second": 2.0, "epochs": 1, "train_images": 3, "numerics": {},
    "schema_version": 1,
}  # fmt: skip
VALID_IDENTITY = {"backbone": "net", "image_size": 32, "folds_hash": "abc", "config": {"epochs": 1}, "schema_version": 1}
VALID_RECIPE = {
    "name": "blend", "budget_ms": 330.0, "method": "greedy", "runs": [{"path": "runs/net", "weight": 1.0, "folds": [0, 1]}],
    "schema_version": 1,
}  # fmt: skip
VALID_QUEUE = {
    "schema_version": 1,
    "kernels": {"index": {"slug": "me/emotion-index", "script": "abc", "pushed": "2026-12-05T12:00:00+0000"}},
}
VALID_MODEL = {
    **dataclasses.asdict(
        ExportedModel(
            image_size=64, backbone="mobilenet_v2", run="runs/x", fold=0, oof_accuracy=0.5, fold_accuracy=0.5,
            trained_on_sample=True, parity_max_difference=0.0, parity_images=8, created="now",
        )
    ),
    "classes": list(CLASSES),
}  # fmt: skip


@FUZZ
@given(broken(dataclasses.asdict(run_meta())))
def test_meta_json(document):
    _read_safely(lambda f: _write(f / "meta.json", _dump_json(document)), RunMeta.read)


@FUZZ
@given(broken(VALID_DONE))
def test_done_json(document):
    _read_safely(
        lambda f: _write(f / "run" / "fold_0" / "done.json", _dump_json(document)), lambda p: RunFolder(p.parents[1]).fold_summary(0)
    )


@FUZZ
@given(broken(VALID_IDENTITY))
def test_run_config_json(document):
    from solution.training import kfold

    def read(path: Path) -> None:
        kfold._check_run_config(RunFolder(path.parent), VALID_IDENTITY)

    _read_safely(lambda f: _write(f / "run" / "run_config.json", _dump_json(document)), read)


@FUZZ
@given(broken(VALID_RECIPE))
def test_recipe(document):
    _read_safely(lambda f: _write(f / "shared.yaml", _dump_yaml(document)), BlendRecipe.read)


@FUZZ
@given(broken(VALID_MODEL))
def test_model_json(document):
    _read_safely(lambda f: _write(f / "model" / "model.json", _dump_json(document)), lambda p: ExportedModel.read(p.parent))


@FUZZ
@given(broken(VALID_QUEUE))
def test_push_queue_json(document):
    _read_safely(lambda f: _write(f / "kernels" / push_queue.QUEUE_FILE, _dump_json(document)), lambda p: push_queue.read_queue(p.parent))


@FUZZ
@given(broken(yaml.safe_load((REPO / "kernels" / "kernels.yaml").read_text())))
def test_kernels_yaml(document):
    def read(path: Path) -> None:
        kernels.every_kernel(kernels.load_config(path))

    _read_safely(lambda f: _write(f / "kernels.yaml", _dump_yaml(document)), read)


CELLS = st.text(max_size=10) | PATH_LIKE | st.sampled_from(["nan", "", "-1", "1e309", "0.5", "3", "anger", '"', ",", "\n"])


@st.composite
def broken_table(draw, valid: pd.DataFrame) -> str:
    """`valid` as CSV, broken: cells replaced with odd text, a column renamed or dropped, or rows cut."""
    table = valid.astype(str).copy()
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["cell", "cell", "rename", "drop", "cut"]))
        column = draw(st.sampled_from(list(table.columns)))
        if action == "cell" and len(table):
            table.loc[draw(st.integers(0, len(table) - 1)), column] = draw(CELLS)
        elif action == "rename":
            table = table.rename(columns={column: draw(st.text(max_size=6))})
        elif action == "drop" and len(table.columns) > 1:
            table = table.drop(columns=[column])
        elif action == "cut":
            table = table.iloc[: draw(st.integers(0, len(table)))]
    return table.to_csv(index=False)


VALID_FOLDS = pd.DataFrame(
    {"image_path": [f"train/{e}/{i}.jpg" for i, e in enumerate(CLASSES)], "emotion": list(CLASSES), "fold": [0, 1, 2] * 3, "group": "g"}
)


@FUZZ
@given(broken_table(VALID_FOLDS))
def test_folds_csv(text):
    _read_safely(lambda f: _write(f / "data" / folds.FOLDS_FILE, text), lambda p: folds.read_folds(p.parent))


@FUZZ
@given(broken_table(pd.DataFrame({"image_path": [f"./train/{e}/0.jpg" for e in CLASSES], "emotion": list(CLASSES)})))
def test_train_csv(text):
    def write(folder: Path) -> Path:
        data = folder / "data"
        for emotion in CLASSES:
            _write(data / "train" / emotion / "0.jpg", "not really a picture")
        _write(data / dataset.SUBMISSION_CSV, "image_path,emotion\n0.jpg,happy\n")
        return _write(data / dataset.TRAIN_CSV, text)

    _read_safely(write, lambda p: dataset.build_index(p.parent, workers=1))


@FUZZ
@given(broken(dataclasses.asdict(run_meta(backbone="net", k=2, folds_trained=[0, 1], fold_accuracy={"0": 0.5, "1": 0.5}))))
def test_a_kernels_output(document):
    """A pulled run folder whose meta.json is anything: installed whole into the runs folder, or refused."""

    def write(folder: Path) -> Path:
        pulled = folder / "download" / "net"
        _write(pulled / "meta.json", _dump_json(document))
        for name in ("oof.csv", "test.csv"):
            _write(pulled / name, "image_path," + ",".join(CLASSES) + "\nx.jpg," + ",".join(["0.1111111"] * 9) + "\n")
        for fold in (0, 1):
            _write(pulled / f"fold_{fold}" / "done.json", _dump_json({**VALID_DONE, "fold": fold}))
            _write(pulled / f"fold_{fold}" / "model.keras", "zip")
        return pulled / "meta.json"

    def read(path: Path) -> None:
        runs = path.parents[2] / "runs"
        installed = kernel_client.install_run_folder(path.parent, runs, "me/emotion-train-net")
        assert installed.parent == runs and (installed / "meta.json").is_file()

    _read_safely(write, read, named="me/emotion-train-net")


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [("val_accuracy", "high", "val_accuracy: 'high' is not"), ("fold", "x", "fold: 'x' is not"), ("seconds", None, "seconds: None")],
)
def test_a_typed_done_json_names_the_field_and_the_fix(tmp_path, field, value, named):
    path = _write(tmp_path / "run" / "fold_1" / "done.json", _dump_json({**VALID_DONE, "fold": 1, field: value}))
    with pytest.raises(UserError, match=named) as caught:
        RunFolder(tmp_path / "run").fold_summary(1)
    assert str(path) in str(caught.value) and "make train" in str(caught.value) and "\n" not in str(caught.value)
