"""Folder locks: one writer per run, blend or model folder; a second is refused in one line naming the first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from solution.core.errors import UserError
from solution.core.locks import folder_lock, lock_path


def test_a_second_writer_of_a_folder_is_refused_naming_the_first_and_the_lock_dies_with_its_process(tmp_path):
    folder = tmp_path / "runs" / "mobilenet_v2"
    with folder_lock(folder, "training"):
        refused = rf"mobilenet_v2: training is already running there \(process {os.getpid()}\)"
        with pytest.raises(UserError, match=refused), folder_lock(folder, "training"):
            pass
        assert not folder.exists() or ".lock" not in {p.name for p in folder.iterdir()}, "the folder holds only its own files"
    with folder_lock(folder, "training"):  # released at the end of the block
        pass
    holder = (
        "import sys, time; from solution.core.locks import folder_lock\n"
        "with folder_lock(sys.argv[1], 'training'):\n    print('held', flush=True); time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holder, str(folder)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2]
    )
    assert process.stdout.readline().strip() == "held"
    with pytest.raises(UserError, match=rf"process {process.pid}"), folder_lock(folder, "training"):
        pass
    process.kill()  # kill -9: no clean-up runs, yet the lock goes with the process
    process.wait()
    with folder_lock(folder, "training"):
        assert lock_path(folder).read_text() == str(os.getpid())


def test_a_disk_that_refuses_the_lock_file_is_one_line_naming_the_folder(tmp_path, monkeypatch):
    import errno

    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device")  # as os.write says it: no file name

    monkeypatch.setattr(os, "pwrite", full)
    refused = r"ensembles/blend: cannot write it \(No space left on device\); free some space"
    with pytest.raises(UserError, match=refused), folder_lock(tmp_path / "ensembles" / "blend", "ensemble"):
        pass

    def read_only(*args):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / ".model.lock"))

    monkeypatch.setattr(os, "open", read_only)
    refused = r"demo/model: cannot write it \(Read-only file system\)"
    with pytest.raises(UserError, match=refused), folder_lock(tmp_path / "demo" / "model", "export"):
        pass
