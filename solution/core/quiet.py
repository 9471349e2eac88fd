"""Hide TensorFlow's native start-up noise from users, keep everything the kit says.

TensorFlow's C++ layers log through absl before `TF_CPP_MIN_LOG_LEVEL` is read (oneDNN notes,
"Could not find cuda drivers", an `E0000 ... cuInit` line on every CPU machine): no setting
silences them, and on a CPU they read as failures. While a command runs, file descriptor 2 (where
native code writes) points at /dev/null and Python's `sys.stderr` at a copy of the real stderr,
so the kit's own messages, warnings and tracebacks still reach the terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    sys.stderr.flush()
    real = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1, encoding=python_stderr.encoding or "utf-8", errors="backslashreplace")
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real, 2)
        sys.stderr.close()
        sys.stderr = python_stderr
        os.close(real)
        os.close(devnull)
