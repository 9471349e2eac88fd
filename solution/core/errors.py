"""One exception type for problems the user can fix; the CLI, the demo and the kernels print it as one line."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable

from solution.core.interrupts import redeliver_ignored_interrupts


class UserError(Exception):
    """A problem with the user's input or set-up, with the fix in its message. Always one line: a value quoted from a
    file or an option (a key holding a newline, a name with a carriage return) shows as its escape, not a line break."""

    def __init__(self, message: object = "") -> None:
        super().__init__(one_line(str(message)))


def one_line(text: str) -> str:
    """`text` with every character a terminal would not print as itself (newlines, tabs, controls) escaped."""
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)


# What a disk says when it refuses a file, and the fix for each: full, read-only, not ours, or a file where a folder
# belongs (and back).
DISK_ADVICE = {
    errno.ENOSPC: "free some space on that disk, or pass a folder on another one",
    errno.EDQUOT: "your disk quota is used up: free some space, or pass a folder elsewhere",
    errno.EROFS: "that disk is mounted read-only: pass a folder on a writable disk",
    errno.EACCES: "you may not write there: pass a folder of yours, or fix its permissions",
    errno.EPERM: "you may not write there: pass a folder of yours, or fix its permissions",
    errno.ENOTDIR: "a file stands where a folder of that path belongs: move the file away, or pass another folder",
    errno.EISDIR: "a folder stands where that file belongs: move the folder away, or pass another path",
    errno.EEXIST: "a file stands where a folder of that path belongs: move the file away, or pass another folder",  # mkdir's
}
DISK_ERRNOS = set(DISK_ADVICE)


def disk_refusal(where: object, error: OSError) -> str:
    """The one line for a write the disk refused: where, what the disk said, and the fix for that refusal."""
    reason = error.strerror or type(error).__name__
    return f"{where}: cannot write it ({reason}); {DISK_ADVICE.get(error.errno, 'pass a writable folder')} (earlier outputs are kept)"


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
    except BrokenPipeError:  # the reader stopped reading (`| head`): nothing is wrong, and nothing more to say
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's own flush at exit would fail too
        return 0
    except OSError as error:  # a disk that says no where no atomic write caught it: still one line naming the path
        if error.errno not in DISK_ERRNOS:
            raise
        print(f"error: {one_line(disk_refusal(error.filename or 'the output', error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interruption:
        if interrupted:
            print(interrupted, file=sys.stderr)
        return 143 if isinstance(interruption, Terminated) else 130


def last_line(output: str) -> str:
    """The last non-empty line of a tool's output: what a one-line error quotes."""
    return next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "no output")
