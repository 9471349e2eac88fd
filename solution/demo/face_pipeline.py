"""One frame of the demo: detect (every few frames), check each new face, crop, classify, track and smooth, draw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solution.demo.drawing import FaceLabel, draw_banner, draw_face, draw_fps
from solution.demo.face_check import FaceCheckConfig, LandmarkFaceCheck
from solution.demo.faces import Box, FaceDetector, SmallestFace, crop_rgb
from solution.demo.tracking import Tracker, TrackingConfig
from solution.inference.classifier import Classifier


@dataclass(frozen=True)
class DemoConfig:
    """How the demo trades speed for steadiness."""

    margin: float = 0.15  # crop margin around the detected box, as a share of its size
    detect_every: int = 3  # run the detector on every n-th frame; in between, classify the tracked boxes
    detect_width: int = 400  # frames are scaled down to this width for detection (Haar needs about 400; BlazeFace tiles wider photos)
    # A stream's frames are at most a few megapixels: its smallest face is a share of the shorter side, which keeps a
    # 1080p video's detection copy small. A photo's is a size in pixels.
    smallest_face: SmallestFace = SmallestFace()
    tracking: TrackingConfig = TrackingConfig()  # matching, confirmation (a stream draws a face found twice), hysteresis
    face_check: FaceCheckConfig = FaceCheckConfig()  # a box no track holds yet is kept only if the landmark model sees a face
    bars: bool = False  # draw the three most probable emotions under each face


STREAM_DEFAULTS = DemoConfig()
# A photo is not real time: detect on a larger copy (and larger still where its smallest faces need it), so a group
# photo's faces are found; it is one frame, so every detection is drawn at once.
# 64 px: a 137 px face (a 350 px portrait; its BlazeFace box 87 px) is found anywhere on an 8000 x 6000 photo.
PHOTO_DEFAULTS = DemoConfig(detect_width=1280, smallest_face=SmallestFace(pixels=64, share=0.0), tracking=TrackingConfig(confirm_hits=1))


@dataclass(frozen=True)
class Face:
    """One face in one frame: its track, box and smoothed probabilities."""

    track: int
    label: FaceLabel

    def record(self) -> dict:
        box = self.label.box
        return {
            "track": self.track,
            "box": [box.x, box.y, box.w, box.h],
            "emotion": self.label.emotion,
            "confidence": round(self.label.confidence, 4),
            "probabilities": {name: round(float(p), 4) for name, p in zip(self.label.labels, self.label.probabilities, strict=True)},
        }


class FacePipeline:
    """Frames in, labelled faces out; keeps the tracks between calls (one pipeline per stream)."""

    def __init__(self, classifier: Classifier, detector: FaceDetector, config: DemoConfig = DemoConfig()):
        self.classifier, self.detector, self.config = classifier, detector, config
        self.face_check = LandmarkFaceCheck(config.face_check) if config.face_check.enabled else None
        self.reset()

    def reset(self) -> None:
        """Forget every track (a new photo is not the next frame of a stream)."""
        self.tracker = Tracker(self.config.tracking)
        self.frame_index = 0

    def process(self, frame_bgr: np.ndarray) -> list[Face]:
        tracked = self.tracker.boxes()
        detect = self.frame_index % max(1, self.config.detect_every) == 0 or not tracked
        boxes: list[Box] = self._checked(frame_bgr, self.detector.detect(frame_bgr), tracked) if detect else tracked
        self.frame_index += 1
        crops = [crop_rgb(frame_bgr, box, self.config.margin) for box in boxes]
        kept = [i for i, crop in enumerate(crops) if crop.size]
        probabilities = self.classifier.predict([crops[i] for i in kept])
        tracks = self.tracker.update([boxes[i] for i in kept], probabilities, detected=detect)
        return [Face(track.id, FaceLabel(track.box, track.probabilities, self.classifier.labels, track.shown)) for track in tracks]

    def _checked(self, frame_bgr: np.ndarray, boxes: list[Box], held: list[Box]) -> list[Box]:
        """The detected boxes, less the new ones (no track in `held` overlaps them) in which the landmark model sees no
        face: a title, a logo or a pattern never becomes a track, and a tracked face is not checked again."""
        if self.face_check is None:
            return boxes
        threshold = self.config.tracking.iou_threshold
        return [box for box in boxes if any(box.iou(old) >= threshold for old in held) or self.face_check.is_face(frame_bgr, box)]

    def annotate(self, frame_bgr: np.ndarray, faces: list[Face], fps: float | None = None) -> np.ndarray:
        """Boxes and labels; a model trained on the synthetic sample says so on the picture itself, since pictures get shared."""
        for face in faces:
            draw_face(frame_bgr, face.label, self.config.bars)
        if self.classifier.trained_on_sample:
            draw_banner(frame_bgr)
        if fps is not None:
            draw_fps(frame_bgr, fps)
        return frame_bgr
