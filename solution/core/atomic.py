"""Atomic file writes: a crash never leaves a half-written artifact behind."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from solution.core.errors import DISK_ERRNOS, UserError, disk_refusal


def _process_umask() -> int:
    """The umask, read once at import (os.umask can only be read by setting it, which races with threads later)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files, mkdtemp 0700 folders; an artifact gets what a plain open() or mkdir() would give it.
FILE_MODE = 0o666 & ~_process_umask()
FOLDER_MODE = 0o777 & ~_process_umask()


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
    """The one line for an output the disk refuses, with the fix for what it said."""
    return UserError(disk_refusal(path, error))


def refusal_at(path: Path) -> UserError | None:
    """Why the disk would refuse a file at `path`, found by trying: for writers that only say no (OpenCV's imwrite
    and VideoWriter return False), so the user still reads whether the disk is full, read-only or in the way."""
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=Path(path).parent) as probe:
            probe.write(bytes(1 << 16))
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        return unwritable(path, error)
    return None


def write_bytes(path: Path, data: bytes) -> Path:
    return write_with(path, lambda tmp: tmp.write_bytes(data))


def write_text(path: Path, text: str) -> Path:
    return write_with(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: Path, payload: Any) -> Path:
    return write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    return write_with(path, lambda tmp: frame.to_csv(tmp, index=False, lineterminator="\n"))


@contextmanager
def folder_swap(target: Path, holds: str) -> Iterator[Path]:
    """A scratch folder beside `target` to write a whole folder into; when the block ends it replaces `target` as one
    (the previous folder is removed only then). A disk that says no, or any error, removes the scratch folder and
    leaves `target` as it was: never half of a new folder's files beside half of the old one's. Only a folder of
    the same kind is replaced: an existing `target` must be empty or hold the file `holds` that such a folder
    always holds; anything else there (a run folder, someone's files) is refused before a byte is written."""
    target = Path(target)
    refuse_foreign_folder(target, holds)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
        os.chmod(scratch, FOLDER_MODE)
    except OSError as error:
        raise unwritable(target, error) from None
    previous = target.parent / f".{target.name}.previous"
    try:
        yield scratch
        shutil.rmtree(previous, ignore_errors=True)
        if target.exists():
            target.rename(previous)
        try:
            scratch.rename(target)
        except OSError:
            if previous.exists():
                previous.rename(target)
            raise
        shutil.rmtree(previous, ignore_errors=True)
    except UserError as error:  # a write inside named the scratch folder: name the folder the user knows
        raise UserError(str(error).replace(str(scratch), str(target))) from None
    except OSError as error:
        if error.errno in DISK_ERRNOS:
            raise unwritable(target, error) from None
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def refuse_foreign_folder(target: Path, holds: str) -> None:
    """One line when `target` exists and is not a folder this kit wrote (no `holds` file in it), so that replacing
    it would delete what someone else keeps there."""
    target = Path(target)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise UserError(f"{target}: a file or link stands there, not a folder this kit wrote; move it away or choose another name")
    if target.is_dir() and not (target / holds).is_file() and any(target.iterdir()):
        raise UserError(
            f"{target}: holds files that are not this kit's (no {holds}); left as it was; move them away or choose another folder or name"
        )
