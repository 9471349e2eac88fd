"""meta.json through RunMeta: one writer, one reader, and one clear line for a broken file."""

from __future__ import annotations

import dataclasses
import json

import pytest

from solution.artifacts.runs import META_FILE, RunFolder
from solution.core.errors import UserError
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
        (json.dumps({"backbone": "x"}), "no family, allowed_by_rules"),
        (json.dumps({k: v for k, v in dataclasses.asdict(run_meta()).items() if k != "latency_ms"}), "no latency_ms"),
        ("[]", "not a complete meta.json"),
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
