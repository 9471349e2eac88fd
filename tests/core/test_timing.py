"""Timings of calls compared with each other: interleaved, so that a burst of load weighs on all of them alike."""

from __future__ import annotations

import numpy as np

from solution.core import timing


def test_calls_are_warmed_up_then_timed_one_of_each_per_round_in_rotating_order(monkeypatch):
    order: list[str] = []
    calls = [lambda name=name: order.append(name) for name in "abc"]
    clock = iter(range(1000))
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(clock) / 1000)  # each call lasts 1 ms
    timings = timing.timings_ms(calls, repeats=3, warmup=2)
    assert order[:6] == list("abcabc"), "warm-up: every call, untimed"
    assert order[6:] == list("abcbcacab"), "each round starts one call later: none is always first after a pause"
    assert [len(t) for t in timings] == [3, 3, 3] and all(np.allclose(t, 1.0) for t in timings)
    order.clear()
    rewarmed = timing.timings_ms(calls[:2], repeats=2, rewarm=True)
    assert order == list("aabbbbaa"), "each timed call right after an untimed one of its own"
    assert all(np.allclose(t, 1.0) for t in rewarmed), "the untimed calls are not counted"


def test_a_burst_of_load_weighs_on_every_call_alike(monkeypatch):
    """The first half of the rounds under load: timed one call after the other, the first would have taken all of it."""
    durations = iter([50.0] * 6 + [1.0] * 6)
    readings = {"now": 0.0, "count": 0}

    def perf_counter():
        readings["count"] += 1
        if readings["count"] % 2 == 0:
            readings["now"] += next(durations) / 1000
        return readings["now"]

    monkeypatch.setattr(timing.time, "perf_counter", perf_counter)
    first, second = timing.timings_ms([lambda: None, lambda: None], repeats=6)
    assert np.allclose(sorted(first), [1, 1, 1, 50, 50, 50]) and np.allclose(sorted(second), [1, 1, 1, 50, 50, 50])
