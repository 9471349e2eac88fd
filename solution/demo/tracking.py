"""Keeping each face's identity across frames (box overlap) and smoothing its probabilities, so labels do not flicker."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solution.demo.faces import Box


@dataclass
class Track:
    """One face over time: its latest box and its smoothed probabilities."""

    id: int
    box: Box
    probabilities: np.ndarray
    missed: int = 0


class Tracker:
    """Greedy IoU matching of new boxes to tracks; exponential moving average of each track's probabilities.

    `smoothing` is the weight of the past (0: no smoothing). A track that finds no box for more than
    `max_missed` consecutive updates is dropped: the face has left.
    """

    def __init__(self, smoothing: float = 0.6, iou_threshold: float = 0.3, max_missed: int = 1):
        self.smoothing, self.iou_threshold, self.max_missed = smoothing, iou_threshold, max_missed
        self.tracks: list[Track] = []
        self._next_id = 0

    def update(self, boxes: list[Box], probabilities: np.ndarray) -> list[Track]:
        """Match this frame's faces; return the tracks seen in it, in the order of `boxes`."""
        pairs = sorted(
            ((box.iou(track.box), b, t) for b, box in enumerate(boxes) for t, track in enumerate(self.tracks)),
            key=lambda pair: -pair[0],
        )
        matched: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, b, t in pairs:
            if overlap < self.iou_threshold or b in matched or t in used:
                continue
            track = self.tracks[t]
            track.box, track.missed = boxes[b], 0
            track.probabilities = self.smoothing * track.probabilities + (1 - self.smoothing) * probabilities[b]
            matched[b] = track
            used.add(t)
        for t, track in enumerate(self.tracks):
            if t not in used:
                track.missed += 1
        self.tracks = [track for track in self.tracks if track.missed <= self.max_missed]
        for b, box in enumerate(boxes):
            if b not in matched:
                matched[b] = Track(self._next_id, box, np.asarray(probabilities[b], dtype=np.float64))
                self._next_id += 1
                self.tracks.append(matched[b])
        return [matched[b] for b in range(len(boxes))]

    def boxes(self) -> list[Box]:
        """The boxes of the tracks seen last update: where to classify on frames without detection."""
        return [track.box for track in self.tracks if track.missed == 0]
