"""The demo's crop preparation: a face crop of any size to the model's square input, fast, without TensorFlow.

Training's `pipeline.prepare_image` is a mipmap (2x2 boxes while a side is at least twice the size, then
bilinear) chosen because OpenCV does each of its steps cheaply: an integer 2x area resize is one SIMD pass, and
OpenCV's float bilinear is TensorFlow's to the bit. So the demo gives the model training's exact pixels
(tests/inference/test_crops.py holds it to equality; export checks it on the data's held-out images).
"""

from __future__ import annotations

import cv2
import numpy as np


def prepare_crop(face: np.ndarray, size: int) -> np.ndarray:
    """RGB uint8 crop of any size (H, W, 3) -> uint8 (size, size, 3), the model's input, as training makes it."""
    if face.strides[1] < 0 or face.strides[2] != face.itemsize:  # mirrored views: OpenCV reads rows, not strides
        face = np.ascontiguousarray(face)
    face = face.astype(np.uint8, copy=False)
    while True:
        height, width = face.shape[:2]
        rows, columns = (2 if side >= 2 * size else 1 for side in (height, width))
        if rows == columns == 1:
            break
        kept = face[: height - height % rows, : width - width % columns]  # an odd last line is dropped, as training drops it
        face = cv2.resize(kept, (width // columns, height // rows), interpolation=cv2.INTER_AREA)
    resized = cv2.resize(face.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    return cv2.convertScaleAbs(resized)  # rounded half to even, as tf.round: bilinear of 0-255 is never negative
