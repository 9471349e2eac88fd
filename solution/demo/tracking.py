"""Keeping each face's identity across frames (box overlap), confirming it before it is drawn, and steadying its label.

Three defences against what a viewer reads as noise: a track is drawn only once confirmed (found by two
detection passes in a row, or once with a confident score), so a title or a logo mistaken for a face in
one pass never shows; its probabilities are a moving average; and its shown emotion changes only when
another one leads the average by a margin (hysteresis), so two close emotions do not trade places
frame after frame. `FlickerCount` measures what is left: the share of a track's consecutive frame pairs
whose label changed, with the hysteresis and without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solution.demo.faces import Box


@dataclass
class Track:
    """One face over time: its latest box, smoothed probabilities, and the emotion shown for it."""

    id: int
    box: Box
    probabilities: np.ndarray
    missed: int = 0
    hits: int = 1  # detection passes that found it
    confirmed: bool = False
    shown: int = -1  # index of the emotion drawn (hysteresis); -1 before the first
    top: int = -1  # index of the most probable emotion of the average (what would be drawn without hysteresis)


@dataclass
class FlickerCount:
    """Consecutive frame pairs of confirmed tracks, and how many changed the label with and without hysteresis."""

    pairs: int = 0
    changes: int = 0
    changes_without_hysteresis: int = 0

    def rates(self) -> dict[str, float]:
        share = (lambda n: n / self.pairs) if self.pairs else (lambda n: 0.0)
        return {"flicker": share(self.changes), "flicker_without_hysteresis": share(self.changes_without_hysteresis)}


@dataclass(frozen=True)
class TrackingConfig:
    """How tracks are matched, confirmed and labelled."""

    smoothing: float = 0.6  # weight of the past in each face's moving average of probabilities
    iou_threshold: float = 0.3  # box overlap that continues a track
    max_missed: int = 1  # detection passes a track may miss before it is dropped
    confirm_hits: int = 2  # detection passes in a row that confirm a track (1: every detection is drawn at once)
    confirm_score: float = 0.9  # or one detection at least this sure (BlazeFace scores; Haar gives none)
    margin: float = 0.1  # the shown emotion changes when another leads the average by at least this


class Tracker:
    """Greedy IoU matching of new boxes to tracks, confirmation, smoothing and label hysteresis.

    `update` is called every frame: with `detected` for the detector's boxes, without it for the tracked boxes
    re-classified in between (those neither confirm a track nor count as a miss)."""

    def __init__(self, config: TrackingConfig = TrackingConfig()):
        self.config = config
        self.tracks: list[Track] = []
        self.flicker = FlickerCount()
        self._next_id = 0

    def update(self, boxes: list[Box], probabilities: np.ndarray, detected: bool = True) -> list[Track]:
        """Match this frame's faces; return the confirmed tracks seen in it, in the order of `boxes`."""
        config = self.config
        pairs = sorted(
            ((box.iou(track.box), b, t) for b, box in enumerate(boxes) for t, track in enumerate(self.tracks)),
            key=lambda pair: -pair[0],
        )
        matched: dict[int, Track] = {}
        used: set[int] = set()
        for overlap, b, t in pairs:
            if overlap < config.iou_threshold or b in matched or t in used:
                continue
            track = self.tracks[t]
            drawn_last_frame = track.confirmed and track.missed == 0  # only then is this frame pair one a viewer sees
            track.box, track.missed = boxes[b], 0
            track.probabilities = config.smoothing * track.probabilities + (1 - config.smoothing) * probabilities[b]
            if detected:
                track.hits += 1
                track.confirmed = track.confirmed or track.hits >= config.confirm_hits
            self._relabel(track, continued=drawn_last_frame)
            matched[b] = track
            used.add(t)
        for t, track in enumerate(self.tracks):
            if t not in used and detected:
                track.missed += 1
        self.tracks = [track for track in self.tracks if track.missed <= config.max_missed]
        for b, box in enumerate(boxes):
            if b not in matched:
                confirmed = config.confirm_hits <= 1 or box.score >= config.confirm_score
                matched[b] = Track(self._next_id, box, np.asarray(probabilities[b], dtype=np.float64), confirmed=confirmed)
                self._relabel(matched[b], continued=False)
                self._next_id += 1
                self.tracks.append(matched[b])
        return [matched[b] for b in range(len(boxes)) if matched[b].confirmed]

    def _relabel(self, track: Track, continued: bool) -> None:
        """The average's top emotion, and the shown one under hysteresis; counts the label changes of a track drawn
        in both frames (`continued`): the frame that confirms a track follows one where it was not drawn."""
        top = int(np.argmax(track.probabilities))
        shown = track.shown
        if shown < 0 or track.probabilities[top] - track.probabilities[shown] >= self.config.margin:
            shown = top
        if continued and track.shown >= 0:
            self.flicker.pairs += 1
            self.flicker.changes += shown != track.shown
            self.flicker.changes_without_hysteresis += top != track.top
        track.shown, track.top = shown, top

    def boxes(self) -> list[Box]:
        """The boxes of the tracks seen last update: where to classify on frames without detection."""
        return [track.box for track in self.tracks if track.missed == 0]
