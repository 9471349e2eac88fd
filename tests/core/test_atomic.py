"""Atomic writes: the file appears whole, with the permissions a plain open() would give it."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from solution.core import atomic
from solution.core.errors import UserError, exit_code


def test_written_artifacts_get_the_usual_file_permissions(tmp_path):
    path = atomic.write_text(tmp_path / "a.json", "{}")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, "not mkstemp's 0600"
    assert path.read_text() == "{}" and not list(tmp_path.glob(".a.json.*")), "no temporary file left behind"


def test_a_full_disk_or_a_file_where_the_folder_belongs_is_one_line_and_keeps_the_previous_file(tmp_path):
    path = atomic.write_text(tmp_path / "blend" / "test.csv", "previous")

    def fills_the_disk(tmp):
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(UserError, match=r"test.csv: cannot write it \(No space left on device\)") as caught:
        atomic.write_with(path, fills_the_disk)
    assert "\n" not in str(caught.value) and path.read_text() == "previous"
    assert sorted(p.name for p in path.parent.iterdir()) == ["test.csv"], "no temporary file left"
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(UserError, match=r"taken/out.csv: cannot write it"):
        atomic.write_text(tmp_path / "taken" / "out.csv", "x")

    def read_only():
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "ro" / "x.png"))

    assert exit_code(read_only) == 2


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "blend"
    with atomic.folder_swap(target, "report.json") as scratch:
        atomic.write_text(scratch / "report.json", "first")
        atomic.write_text(scratch / "test.csv", "first")
    assert sorted(p.name for p in target.iterdir()) == ["report.json", "test.csv"]
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~mask, "not mkdtemp's 0700"

    def fills_the_disk(tmp):
        raise OSError(errno.ENOSPC, "No space left on device")

    refused = pytest.raises(UserError, match=r"blend/test.csv: cannot write it \(No space left on device\)")
    with refused, atomic.folder_swap(target, "report.json") as scratch:
        atomic.write_text(scratch / "report.json", "second")
        atomic.write_with(scratch / "test.csv", fills_the_disk)
    assert {p.name: p.read_text() for p in target.iterdir()} == {"report.json": "first", "test.csv": "first"}, "the previous one, whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blend"], "no scratch folder left beside it"


@pytest.mark.parametrize("kind", ["folder of other files", "file", "link"])
def test_a_folder_of_another_kind_is_never_replaced(tmp_path, kind):
    """A blend named like a run folder (or any folder of someone's) must not delete it to put the blend there."""
    runs = tmp_path / "runs"
    (runs / "mobilenet_v2").mkdir(parents=True)
    (runs / "mobilenet_v2" / "meta.json").write_text("{}")
    target = {"folder of other files": runs, "file": tmp_path / "notes.txt", "link": tmp_path / "link"}[kind]
    if kind == "file":
        target.write_text("keep me")
    if kind == "link":
        target.symlink_to(runs)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    refused = pytest.raises(UserError, match="not this kit's|not a folder this kit wrote")
    with refused as caught, atomic.folder_swap(target, "report.json") as scratch:
        atomic.write_text(scratch / "report.json", "blend")
    assert "\n" not in str(caught.value) and str(target) in str(caught.value)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before, "nothing deleted, nothing added"
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic.folder_swap(empty, "report.json") as scratch:  # an empty folder is free to take
        atomic.write_text(scratch / "report.json", "blend")
    assert (empty / "report.json").read_text() == "blend"
