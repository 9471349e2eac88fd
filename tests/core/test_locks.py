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
