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
