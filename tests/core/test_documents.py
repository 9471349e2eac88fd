"""Broken CSV and YAML files are one line naming the file and the fix."""

from __future__ import annotations

import pytest

from solution.core.documents import read_table, read_yaml
from solution.core.errors import UserError


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty; fix it"),
        (b'a,b\n1,"2\n', "not a readable UTF-8 CSV"),
        ("a,b\n\u00e9,1\n".encode("utf-16"), "not a readable UTF-8 CSV"),
    ],
)
def test_a_broken_table_names_the_file_and_the_fix(tmp_path, content, message):
    path = tmp_path / "table.csv"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message) as caught:
        read_table(path, "fix it")
    assert str(caught.value).startswith(str(path)) and str(caught.value).endswith("fix it")


def test_a_readable_table_and_a_missing_one(tmp_path):
    (tmp_path / "ok.csv").write_text("a,b\n1,2\n")
    assert read_table(tmp_path / "ok.csv", "fix it").b.tolist() == [2]
    with pytest.raises(UserError, match="missing; fix it"):
        read_table(tmp_path / "absent.csv", "fix it")


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("a: 1\nb: [2, 3\nc: 4\n")
    with pytest.raises(UserError, match=r"config.yaml: not valid YAML at line \d+ .*; restore it"):
        read_yaml(path, "restore it")
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UserError, match="not UTF-8 text"):
        read_yaml(path, "restore it")
    assert read_yaml(path, "restore it", text="a: 1") == {"a": 1}, "packaged text is parsed instead of the file"


def test_a_broken_kernels_config_is_one_line(tmp_path):
    from solution.kaggle.kernels import load_config

    path = tmp_path / "kernels.yaml"
    path.write_text("profile: kaggle\n  k: 5\n")
    with pytest.raises(UserError, match="not valid YAML.*git checkout"):
        load_config(path)
    path.write_text("- a list\n")
    with pytest.raises(UserError, match="expected KEY: VALUE lines"):
        load_config(path)


def test_a_broken_profiles_file_is_one_line(monkeypatch):
    from importlib import resources

    from solution.training import profiles

    class Broken:
        def joinpath(self, name):
            return self

        def read_text(self, encoding):
            return "kaggle:\n  epochs: [1\n"

        def __str__(self):
            return "solution/training/profiles.yaml"

    monkeypatch.setattr(resources, "files", lambda package: Broken())
    with pytest.raises(UserError, match="profiles.yaml: not valid YAML at line .*git checkout"):
        profiles.load_profile("kaggle")


def test_broken_json_names_the_file_and_the_fix(tmp_path):
    from solution.core.documents import read_json

    path = tmp_path / "done.json"
    path.write_text('{"fold": 0,')
    with pytest.raises(UserError, match=r"done.json: not readable JSON \(JSONDecodeError\); redo it"):
        read_json(path, "redo it")
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UserError, match="not readable JSON"):
        read_json(path, "redo it")
    with pytest.raises(UserError, match="missing; redo it"):
        read_json(tmp_path / "absent.json", "redo it")


def test_a_corrupt_fold_summary_or_run_config_is_one_line(tmp_path):
    from solution.artifacts.runs import RunFolder
    from solution.training import kfold

    run = RunFolder(tmp_path / "net")
    run.fold_dir(0).mkdir(parents=True)
    (run.fold_dir(0) / "done.json").write_text("{")
    with pytest.raises(UserError, match=r"fold_0.done.json: not readable JSON.*re-run `make train`"):
        run.fold_summary(0)
    (run.path / kfold.RUN_CONFIG_FILE).write_text("")
    with pytest.raises(UserError, match=r"run_config.json: not readable JSON.*afresh"):
        kfold._check_run_config(run, {"backbone": "net"})
