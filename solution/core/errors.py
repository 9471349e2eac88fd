"""One exception type for problems the user can fix; the CLI, the demo and the kernels print it as one line."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable

from solution.core.interrupts import redeliver_ignored_interrupts


class UserError(Exception):
    """A problem with the user's input or set-up, with the fix in its message."""


# What a disk says when it refuses a file: full, read-only, not ours, or a file where a folder belongs (and back).
DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.ENOTDIR, errno.EISDIR, errno.EEXIST}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl+C so the same clean-up runs (fold workers stopped, partial files removed)."""


def _terminated(signum, frame) -> None:
    raise Terminated()


def exit_code(command: Callable[[], int | None], interrupted: str = "") -> int:
    """Run a command: a UserError is one line on stderr and exit code 2, Ctrl+C is 130 and SIGTERM 143 (saying
    `interrupted` if given)."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
        redeliver_ignored_interrupts()
    try:
        return command() or 0
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a disk that says no where no atomic write caught it: still one line naming the path
        if error.errno not in DISK_ERRNOS:
            raise
        where = error.filename or "a file"
        print(f"error: {where}: {error.strerror}; free some space, or use a folder you can write to", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interruption:
        if interrupted:
            print(interrupted, file=sys.stderr)
        return 143 if isinstance(interruption, Terminated) else 130


def last_line(output: str) -> str:
    """The last non-empty line of a tool's output: what a one-line error quotes."""
    return next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output")
