"""Finding faces in a frame: OpenCV's Haar cascade (shipped inside opencv-python) or YuNet (a model file you supply).

Detectors work on a copy of the frame scaled down to `detect_width` pixels (detection is the demo's main
cost) and return boxes in the frame's own coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from solution.core.config import PATHS
from solution.core.errors import UserError

YUNET_FILE = "face_detection_yunet_2023mar.onnx"
YUNET_URL = "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/" + YUNET_FILE


@dataclass(frozen=True)
class Box:
    """A face box in pixels (x, y: top-left corner) and the detector's confidence."""

    x: int
    y: int
    w: int
    h: int
    score: float = 1.0

    def iou(self, other: Box) -> float:
        """Intersection over union: how much two boxes overlap (0 to 1)."""
        left, top = max(self.x, other.x), max(self.y, other.y)
        right, bottom = min(self.x + self.w, other.x + other.w), min(self.y + self.h, other.y + other.h)
        inter = max(0, right - left) * max(0, bottom - top)
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union else 0.0

    def with_margin(self, margin: float, width: int, height: int) -> Box:
        """The box grown by `margin` of its size on every side, clipped to the frame."""
        dx, dy = int(self.w * margin), int(self.h * margin)
        x0, y0 = max(0, self.x - dx), max(0, self.y - dy)
        x1, y1 = min(width, self.x + self.w + dx), min(height, self.y + self.h + dy)
        return Box(x0, y0, x1 - x0, y1 - y0, self.score)


class FaceDetector(Protocol):
    def detect(self, frame_bgr: np.ndarray) -> list[Box]: ...


def _downscaled(frame: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    scale = min(1.0, width / frame.shape[1])
    if scale == 1.0:
        return frame, 1.0
    return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def _scaled_back(boxes: list[tuple], scale: float) -> list[Box]:
    return [Box(int(x / scale), int(y / scale), int(w / scale), int(h / scale), float(score)) for x, y, w, h, score in boxes]


def _min_side(image: np.ndarray, min_face: float) -> int:
    """The smallest face side worth reporting, in the detector's pixels (never below 16: nothing smaller is a face)."""
    return max(16, int(min(image.shape[:2]) * min_face))


class HaarDetector:
    """Frontal faces with the Haar cascade that opencv-python ships (no download)."""

    def __init__(self, detect_width: int = 400, min_face: float = 0.15, neighbours: int = 5, scale_step: float = 1.15):
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise UserError(f"{path}: OpenCV's Haar cascade is missing; reinstall opencv-python<5 (`make setup`)")
        self.detect_width, self.min_face, self.neighbours, self.scale_step = detect_width, min_face, neighbours, scale_step
        # Local (CLAHE) rather than global histogram equalisation: a large flat background does not wash the faces out.
        self.contrast = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    def detect(self, frame_bgr: np.ndarray) -> list[Box]:
        small, scale = _downscaled(frame_bgr, self.detect_width)
        gray = self.contrast.apply(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        side = _min_side(gray, self.min_face)
        found = self.cascade.detectMultiScale(gray, scaleFactor=self.scale_step, minNeighbors=self.neighbours, minSize=(side, side))
        return _scaled_back([(x, y, w, h, 1.0) for x, y, w, h in found], scale)


class YunetDetector:
    """OpenCV's YuNet face detector (cv2.FaceDetectorYN): better on turned and small faces; needs its .onnx file."""

    def __init__(self, model_path: Path | None = None, detect_width: int = 400, min_face: float = 0.15, threshold: float = 0.7):
        path = Path(model_path) if model_path else PATHS.inputs / "models" / YUNET_FILE
        if not path.is_file():
            raise UserError(f"{path}: YuNet model file missing; download {YUNET_URL} there, or use --detector haar")
        self.detector = cv2.FaceDetectorYN.create(str(path), "", (detect_width, detect_width), threshold)
        self.detect_width, self.min_face = detect_width, min_face

    def detect(self, frame_bgr: np.ndarray) -> list[Box]:
        small, scale = _downscaled(frame_bgr, self.detect_width)
        self.detector.setInputSize((small.shape[1], small.shape[0]))
        _, faces = self.detector.detect(small)
        side = _min_side(small, self.min_face)
        rows = [] if faces is None else [(x, y, w, h, row[-1]) for row in faces for x, y, w, h in [row[:4]] if min(w, h) >= side]
        return _scaled_back(rows, scale)


def make_detector(name: str, yunet_model: Path | None = None, detect_width: int = 400, min_face: float = 0.15) -> FaceDetector:
    if name == "haar":
        return HaarDetector(detect_width, min_face)
    if name == "yunet":
        return YunetDetector(yunet_model, detect_width, min_face)
    raise UserError(f"--detector {name}: expected haar or yunet")


def crop_rgb(frame_bgr: np.ndarray, box: Box, margin: float) -> np.ndarray:
    """The face with `margin` around it, as RGB (the classifier's input)."""
    grown = box.with_margin(margin, frame_bgr.shape[1], frame_bgr.shape[0])
    return cv2.cvtColor(frame_bgr[grown.y : grown.y + grown.h, grown.x : grown.x + grown.w], cv2.COLOR_BGR2RGB)
