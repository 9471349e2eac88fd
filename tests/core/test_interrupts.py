"""Ctrl+C that lands where Python cannot raise it (a weakref callback, a __del__) still stops the command."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

IGNORED_INTERRUPT = """
import time, weakref
from solution.core.interrupts import {install}
{install}()

class Lock: pass
def callback(_): raise {kind}()   # as Ctrl+C does when it lands in importlib's module-lock callback
lock = Lock()
watcher = weakref.ref(lock, callback)
try:
    del lock                      # the callback runs here; Python can only print what it raises
    time.sleep(2)
    print("ran on")
except KeyboardInterrupt as interruption:
    print("stopped by", type(interruption).__name__)
"""


@pytest.mark.parametrize("kind", ["KeyboardInterrupt", "Terminated"])
def test_an_interrupt_raised_in_a_callback_is_raised_again_where_it_can_stop_the_program(kind):
    source = IGNORED_INTERRUPT.format(install="redeliver_ignored_interrupts", kind=kind)
    if kind == "Terminated":
        source = source.replace("import time, weakref", "import time, weakref\nfrom solution.core.errors import Terminated")
    finished = subprocess.run([sys.executable, "-c", source], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert finished.stdout.strip() == f"stopped by {kind}"
    assert "Traceback" not in finished.stderr and "Exception ignored" not in finished.stderr, finished.stderr


def test_other_errors_in_callbacks_are_still_reported():
    source = IGNORED_INTERRUPT.format(install="redeliver_ignored_interrupts", kind="ValueError")
    finished = subprocess.run([sys.executable, "-c", source], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert finished.stdout.strip() == "ran on"
    assert "Exception ignored" in finished.stderr and "ValueError" in finished.stderr


INTERRUPT_TURNED_INTO_IMPORT_ERROR = """
import os, signal
from solution.core.interrupts import quiet_start

with quiet_start():
    try:                          # as numpy's C code does when Ctrl+C lands while it imports datetime
        os.kill(os.getpid(), signal.SIGINT)
        import time; time.sleep(5)
    except KeyboardInterrupt:
        raise ImportError('PyCapsule_Import could not import module "datetime"') from None
    print("ran on")
"""


def test_ctrl_c_that_a_library_turns_into_another_error_while_loading_is_still_one_line():
    finished = subprocess.run(
        [sys.executable, "-c", INTERRUPT_TURNED_INTO_IMPORT_ERROR], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 130, finished.stderr
    assert finished.stderr.strip() == "interrupted while starting; nothing was changed"
    assert "ran on" not in finished.stdout


def test_other_errors_while_loading_still_show_their_traceback():
    source = "from solution.core.interrupts import quiet_start\nwith quiet_start():\n    import no_such_module_here\n"
    finished = subprocess.run([sys.executable, "-c", source], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 1 and "ModuleNotFoundError" in finished.stderr
