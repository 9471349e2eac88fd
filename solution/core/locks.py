"""One writer per output folder: a second `train` on the same run folder (or `ensemble` on a blend, `export` on a model
folder) is refused in one line naming the first one's process, instead of interleaving their files."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from solution.core.atomic import unwritable
from solution.core.errors import DISK_ERRNOS, UserError

# The lock file sits beside the folder (.<name>.lock), so the folder holds only what it always held. It holds the
# writer's PID; the lock itself is the operating system's, released when the process ends, even by kill -9.


def lock_path(folder: Path) -> Path:
    return Path(folder).parent / f".{Path(folder).name}.lock"


@contextmanager
def folder_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold `folder`'s lock while `what` writes into it. A disk that refuses the lock file (full, read-only) is the
    one line every refused output gets; the PID goes straight to the file, so nothing is left to flush on close."""
    folder = Path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(lock_path(folder), os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise _refused_by_disk(folder, error) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 64, 0).decode("utf-8", "replace").strip() or "another process"
            raise UserError(
                f"{folder}: {what} is already running there (process {holder}); wait for it to finish or stop it, then run again"
            ) from None
        try:
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, str(os.getpid()).encode(), 0)
        except OSError as error:
            raise _refused_by_disk(folder, error) from None
        yield
    finally:
        os.close(descriptor)


def _refused_by_disk(folder: Path, error: OSError) -> Exception:
    return unwritable(folder, error) if error.errno in DISK_ERRNOS else error
