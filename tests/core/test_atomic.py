"""Atomic writes: the file appears whole, with the permissions a plain open() would give it."""

from __future__ import annotations

import os
import stat

from solution.core import atomic


def test_written_artifacts_get_the_usual_file_permissions(tmp_path):
    path = atomic.write_text(tmp_path / "a.json", "{}")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, "not mkstemp's 0600"
    assert path.read_text() == "{}" and not list(tmp_path.glob(".a.json.*")), "no temporary file left behind"
