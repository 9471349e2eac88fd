"""Atomic file writes: a crash never leaves a half-written artifact behind."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from solution.core.errors import DISK_ERRNOS, UserError


def _process_umask() -> int:
    """The umask, read once at import (os.umask can only be read by setting it, which races with threads later)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; a written artifact gets what a plain open() would give it.
FILE_MODE = 0o666 & ~_process_umask()


def write_with(path: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it into place. A disk that says no (full,
    read-only, a file where the folder should be) is one line naming `path`; the temporary file is removed and
    what `path` held before is left as it was."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Keep every suffix (".weights.h5", ".keras"): Keras picks the format from the file name.
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix="".join(path.suffixes) or ".tmp", dir=path.parent)
    except OSError as error:
        raise unwritable(path, error) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except OSError as error:
        if error.errno in DISK_ERRNOS:
            raise unwritable(path, error) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)
    return path


def unwritable(path: Path, error: OSError) -> UserError:
    """The one line for an output the disk refuses."""
    reason = error.strerror or type(error).__name__
    return UserError(f"{path}: cannot write it ({reason}); free some space or pass a writable folder (earlier outputs are kept)")


def write_bytes(path: Path, data: bytes) -> Path:
    return write_with(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: Path, text: str) -> Path:
    return write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, payload: Any) -> Path:
    return write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    return write_with(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))
