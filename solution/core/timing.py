"""Wall-clock timings of short calls on a shared host, where load comes in bursts."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np


def timings_ms(calls: Sequence[Callable[[], object]], repeats: int, warmup: int = 0, rewarm: bool = False) -> list[np.ndarray]:
    """Each call's `repeats` timings in ms, after `warmup` untimed calls of each. Calls compared with each other are
    timed in rounds, one of each per round in rotating order: a burst of load then falls on all of them alike instead
    of on whichever was being timed (CI once recorded three models as faster than one, timed one after the other).
    `rewarm`: an untimed call right before each timed one, so that the CPU caches hold what the call uses, as when it
    runs alone (a small model timed just after a large one would pay for reloading its weights)."""
    for _ in range(warmup):
        for call in calls:
            call()
    timings: list[list[float]] = [[] for _ in calls]
    for round_index in range(max(1, repeats)):
        for offset in range(len(calls)):
            index = (round_index + offset) % len(calls)
            if rewarm:
                calls[index]()
            started = time.perf_counter()
            calls[index]()
            timings[index].append((time.perf_counter() - started) * 1000)
    return [np.asarray(values) for values in timings]
