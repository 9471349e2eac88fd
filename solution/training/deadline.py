"""A wall-clock deadline for training: stop at a backup, cleanly, before Kaggle's 12-hour limit kills the session.

A kernel killed at the limit keeps its output only if Kaggle keeps a killed version's output; one that stops itself
a while before ends as a finished version whose output holds every finished fold and the cut fold's backup, from
which `make push BACKBONE=... RESUME=1` continues. The deadline is a point in wall-clock time in the environment,
so fold workers (separate processes) stop at it too.
"""

from __future__ import annotations

import os
import time

import keras

DEADLINE_VARIABLE = "EMOTION_DEADLINE"  # seconds since the epoch (time.time()) after which training stops
# Or: after this many epochs have ended in this process. `make rehearse` cuts a kernel inside a fold with it, at an
# epoch it chooses; a wall-clock deadline lands wherever the machine's speed puts it.
DEADLINE_EPOCHS_VARIABLE = "EMOTION_DEADLINE_EPOCHS"
_epochs_ended = 0


class DeadlineReached(Exception):
    """Training stopped at the deadline; `where` says at what (a fold's epoch, or before a fold started)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def set_deadline(hours_from_now: float | None) -> float | None:
    """Set the deadline `hours_from_now` for this process and the workers it starts; None clears it. Epochs counted
    for DEADLINE_EPOCHS_VARIABLE count from here."""
    global _epochs_ended
    _epochs_ended = 0
    if hours_from_now is None:
        os.environ.pop(DEADLINE_VARIABLE, None)
        return None
    moment = time.time() + hours_from_now * 3600
    os.environ[DEADLINE_VARIABLE] = repr(moment)
    return moment


def passed() -> bool:
    """Whether the deadline set in the environment (if any) has passed: its moment, or its count of epochs."""
    moment, epochs = os.environ.get(DEADLINE_VARIABLE), os.environ.get(DEADLINE_EPOCHS_VARIABLE)
    return (bool(moment) and time.time() >= float(moment)) or (bool(epochs) and _epochs_ended >= int(epochs))


def check_before(label: str) -> None:
    """Between folds: once the deadline has passed, no fold starts."""
    if passed():
        raise DeadlineReached(f"before {label} started")


class StopAtDeadline(keras.callbacks.Callback):
    """Last of a stage's callbacks: at the first epoch end past the deadline, save `backup` (whatever its interval),
    then stop the fold. The epoch's history line is written by then (CSVLogger comes before this)."""

    def __init__(self, backup: keras.callbacks.BackupAndRestore, label: str) -> None:
        super().__init__()
        self.backup, self.label = backup, label

    def on_epoch_end(self, epoch, logs=None):
        global _epochs_ended
        _epochs_ended += 1
        if passed():
            keras.callbacks.BackupAndRestore.on_epoch_end(self.backup, epoch, logs)  # saves now, past its interval
            raise DeadlineReached(f"in {self.label} after epoch {epoch + 1}, its backup saved")
