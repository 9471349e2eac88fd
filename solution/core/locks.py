"""One writer per output folder: a second `train` on the same run folder (or `ensemble` on a blend, `export` on a model
folder) is refused in one line naming the first one's process, instead of interleaving their files."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from solution.core.errors import UserError

# The lock file sits beside the folder (.<name>.lock), so the folder holds only what it always held. It holds the
# writer's PID; the lock itself is the operating system's, released when the process ends, even by kill -9.


def lock_path(folder: Path) -> Path:
    return Path(folder).parent / f".{Path(folder).name}.lock"


@contextmanager
def folder_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold `folder`'s lock while `what` writes into it."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path(folder), "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole block)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise UserError(
                f"{folder}: {what} is already running there (process {holder}); wait for it to finish or stop it, then run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()
