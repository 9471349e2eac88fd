"""Drawing the demo's annotations: a box per face, its emotion and confidence, optional top-3 bars, and the FPS.

Each emotion has one fixed colour; labels sit on a filled band of that colour with black or white text,
whichever contrasts more, so they read on light and dark frames alike. Text scales with the face.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from solution.demo.faces import Box

# BGR, one per emotion (CLASSES order), distinct hues and brightnesses.
EMOTION_COLOURS: dict[str, tuple[int, int, int]] = {
    "anger": (40, 40, 220),
    "contempt": (150, 60, 150),
    "disgust": (40, 140, 40),
    "fear": (160, 40, 110),
    "happy": (0, 215, 255),
    "neutral": (190, 190, 190),
    "sad": (200, 110, 30),
    "surprise": (0, 140, 255),
    "uncertain": (160, 170, 0),
}
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class FaceLabel:
    """What to draw for one face."""

    box: Box
    probabilities: np.ndarray
    labels: tuple[str, ...]
    shown: int = -1  # the emotion to show (a track's label under hysteresis); -1: the most probable

    @property
    def index(self) -> int:
        return self.shown if self.shown >= 0 else int(np.argmax(self.probabilities))

    @property
    def emotion(self) -> str:
        return self.labels[self.index]

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.index])


def text_colour(background: tuple[int, int, int]) -> tuple[int, int, int]:
    blue, green, red = background
    return (0, 0, 0) if 0.114 * blue + 0.587 * green + 0.299 * red > 140 else (255, 255, 255)


def _band(frame: np.ndarray, text: str, x: int, y: int, scale: float, colour: tuple[int, int, int]) -> int:
    """Text on a filled band whose bottom-left corner is (x, y); returns the band's height."""
    thickness = max(1, int(round(scale * 2)))
    (width, height), baseline = cv2.getTextSize(text, FONT, scale, thickness)
    top = max(0, y - height - baseline - 4)
    cv2.rectangle(frame, (x, top), (x + width + 6, top + height + baseline + 4), colour, cv2.FILLED)
    cv2.putText(frame, text, (x + 3, top + height + 2), FONT, scale, text_colour(colour), thickness, cv2.LINE_AA)
    return height + baseline + 4


def draw_face(frame: np.ndarray, face: FaceLabel, bars: bool = False) -> None:
    """Box, 'emotion 87%' above it, and (with `bars`) the three most probable emotions below it."""
    box, colour = face.box, EMOTION_COLOURS.get(face.emotion, (255, 255, 255))
    scale = float(np.clip(box.w / 220, 0.4, 1.6))
    cv2.rectangle(frame, (box.x, box.y), (box.x + box.w, box.y + box.h), colour, max(2, int(box.w / 90)))
    _band(frame, f"{face.emotion} {face.confidence:.0%}", box.x, box.y, scale, colour)
    if not bars:
        return
    y = box.y + box.h + 4
    for index in np.argsort(face.probabilities)[::-1][:3]:
        name, share = face.labels[index], float(face.probabilities[index])
        bar_colour = EMOTION_COLOURS.get(name, (255, 255, 255))
        height = int(14 * scale) + 4
        cv2.rectangle(frame, (box.x, y), (box.x + int(box.w * share), y + height), bar_colour, cv2.FILLED)
        cv2.rectangle(frame, (box.x, y), (box.x + box.w, y + height), bar_colour, 1)
        cv2.putText(frame, f"{name} {share:.0%}", (box.x + 3, y + height - 4), FONT, scale * 0.5, text_colour(bar_colour), 1, cv2.LINE_AA)
        y += height + 2


def draw_result(tile: np.ndarray, text: str, right: bool) -> None:
    """A label along the top of a face tile: green when it is the true emotion, red when not."""
    _band(tile, text, 0, 24, 0.45, (60, 160, 60) if right else (40, 40, 200))


SAMPLE_BANNER = "SAMPLE-TRAINED MODEL: labels mean nothing on real faces"
BANNER_COLOUR = (0, 0, 200)  # BGR red: a warning, not an emotion


def draw_banner(frame: np.ndarray, text: str = SAMPLE_BANNER) -> None:
    """A full-width warning band along the bottom of the frame, its text scaled to fit any frame width."""
    height, width = frame.shape[:2]
    (text_width, _), _ = cv2.getTextSize(text, FONT, 1.0, 2)
    scale = float(np.clip((width - 16) / text_width, 0.25, 1.2))
    band = int(40 * scale) + 8
    cv2.rectangle(frame, (0, height - band), (width, height), BANNER_COLOUR, cv2.FILLED)
    thickness = max(1, int(round(scale * 2)))
    cv2.putText(frame, text, (8, height - band // 2 + int(10 * scale)), FONT, scale, text_colour(BANNER_COLOUR), thickness, cv2.LINE_AA)


def draw_fps(frame: np.ndarray, fps: float) -> None:
    _band(frame, f"{fps:.0f} FPS", 8, 8 + 24, 0.6, (30, 30, 30))
