"""meta.json through RunMeta: one writer, one reader, and one clear line for a broken file."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pytest

from solution.artifacts.runs import META_FILE, RunFolder, RunMeta
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from tests.conftest import run_meta


def test_meta_round_trips_through_its_file(tmp_path):
    meta = run_meta()
    meta.write(tmp_path)
    assert RunFolder(tmp_path).meta() == meta
    assert json.loads((tmp_path / META_FILE).read_text())["latency_models"] == 5


def test_a_run_measured_before_whole_path_latency_budgets_its_one_model_figure(tmp_path):
    content = dataclasses.asdict(run_meta())
    for key in ("single_model_latency_ms", "decode_resize_ms", "latency_models"):
        del content[key]
    (tmp_path / META_FILE).write_text(json.dumps(content))
    meta = RunFolder(tmp_path).meta()
    assert meta.one_model_latency_ms == 40.0 and meta.latency_models == 1
    assert run_meta().one_model_latency_ms == 9.0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not readable JSON"),
        (b"\xff\xfe\x00garbage", "not readable JSON"),
        (json.dumps({"backbone": "x"}), "schema_version none, this kit reads 1"),
        (json.dumps({"backbone": "x", "schema_version": 1}), "no family"),
        (json.dumps({**dataclasses.asdict(run_meta()), "schema_version": 2}), "schema_version 2, this kit reads 1"),
        (json.dumps({k: v for k, v in dataclasses.asdict(run_meta()).items() if k != "latency_ms"}), "no latency_ms"),
        ("[]", "expected KEY: VALUE fields, found a list"),
    ],
)
def test_a_broken_meta_json_is_one_line_naming_the_file_and_the_fix(tmp_path, content, message):
    path = tmp_path / META_FILE
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UserError, match=message) as caught:
        RunFolder(tmp_path).meta()
    assert str(path) in str(caught.value) and "make train" in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_meta_json_says_the_run_is_incomplete(tmp_path):
    with pytest.raises(UserError, match="no meta.json"):
        RunFolder(tmp_path).meta()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"latency_ms": "abc"}, "latency_ms: 'abc' is not a finite number"),
        ({"latency_ms": None}, "latency_ms: None is not a finite number"),
        ({"single_model_latency_ms": "12"}, "single_model_latency_ms: '12' is not"),
        ({"complete": "no"}, "complete: 'no' is not true or false"),
        ({"folds_trained": [0, "1"]}, "folds_trained[1]: '1' is not a whole number"),
        ({"k": 2.5}, "k: 2.5 is not a whole number"),
        ({"oof_accuracy": float("nan")}, "oof_accuracy: nan is not a finite number"),
    ],
)
def test_a_meta_json_value_of_the_wrong_type_is_refused_in_one_line(tmp_path, change, named):
    path = run_meta().write(tmp_path)
    content = json.loads(path.read_text())
    path.write_text(json.dumps({**content, **change}))
    with pytest.raises(UserError, match=re.escape(named)) as caught:
        RunMeta.read(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    path.write_text(json.dumps({**content, "single_model_latency_ms": None, "latency_ms": 12}))
    assert RunMeta.read(path).latency_ms == 12, "None where optional, and an int where a float is declared, are fine"


@pytest.mark.parametrize("bad", ["nan", "-0.2", "abc", "0.5"])
def test_a_run_file_whose_rows_are_not_probabilities_is_refused(tmp_path, bad):
    from solution.artifacts.predictions import probability_frame

    probabilities = np.full((3, len(CLASSES)), 1 / len(CLASSES))
    table = probability_frame(["a.jpg", "b.jpg", "c.jpg"], probabilities)
    table[CLASSES[0]] = table[CLASSES[0]].astype(object)
    table.loc[1, CLASSES[0]] = bad
    table.to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(UserError, match=r"test.csv: row 3 \(b.jpg\) is not a probability distribution"):
        RunFolder(tmp_path).test()
