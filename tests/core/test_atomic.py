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
    with atomic.folder_swap(target) as scratch:
        atomic.write_text(scratch / "report.json", "first")
        atomic.write_text(scratch / "test.csv", "first")
    assert sorted(p.name for p in target.iterdir()) == ["report.json", "test.csv"]
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o777 & ~mask, "not mkdtemp's 0700"

    def fills_the_disk(tmp):
        raise OSError(errno.ENOSPC, "No space left on device")

    refused = pytest.raises(UserError, match=r"blend/test.csv: cannot write it \(No space left on device\)")
    with refused, atomic.folder_swap(target) as scratch:
        atomic.write_text(scratch / "report.json", "second")
        atomic.write_with(scratch / "test.csv", fills_the_disk)
    assert {p.name: p.read_text() for p in target.iterdir()} == {"report.json": "first", "test.csv": "first"}, "the previous one, whole"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blend"], "no scratch folder left beside it"
