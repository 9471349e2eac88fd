"""Honest stream timing: start-up from the process's start to the first annotated frame, and FPS as frames over the
wall time since the first frame was read (a moving average of per-frame rates overstates it: fast frames weigh as much as slow)."""

from __future__ import annotations

import os
import time
from pathlib import Path

_IMPORTED_AT = time.time()  # the fallback start where /proc is not there to ask


def process_started() -> float:
    """When this process started (time.time() scale), to the clock tick: on Linux its start in ticks since boot
    (/proc/self/stat) against CLOCK_BOOTTIME, the clock those ticks count on. /proc/stat's boot time has whole
    seconds only, which put the start up to a second off. Elsewhere: when this module was imported."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        alive = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - alive
    except (OSError, ValueError, IndexError, AttributeError):  # no /proc, or no CLOCK_BOOTTIME (not Linux)
        return _IMPORTED_AT


class StreamClock:
    """Counts frames; knows when the first was read and when the first was done."""

    def __init__(self, started: float | None = None):
        self.started = process_started() if started is None else started
        self.frames = 0
        self.first_read: float | None = None
        self.first_done: float | None = None

    def frame_read(self) -> None:
        if self.first_read is None:
            self.first_read = time.time()

    def frame_done(self) -> None:
        self.frames += 1
        if self.first_done is None:
            self.first_done = time.time()

    def fps(self) -> float:
        """Frames done divided by the wall time since the first frame was read (0 before the first is done)."""
        if not self.frames or self.first_read is None:
            return 0.0
        return self.frames / max(time.time() - self.first_read, 1e-6)

    def start_up_seconds(self) -> float | None:
        """Process start to the first annotated frame."""
        return None if self.first_done is None else self.first_done - self.started

    def summary(self) -> dict:
        seconds = 0.0 if self.first_read is None else time.time() - self.first_read
        return {"frames": self.frames, "seconds": seconds, "fps": self.fps(), "start_up_seconds": self.start_up_seconds()}
