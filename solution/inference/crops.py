"""The demo's crop preparation: a face crop of any size to the model's square input, fast, without TensorFlow.

Training's `pipeline.prepare_image` resizes with TensorFlow's antialiased bilinear filter: when shrinking, a
triangle as wide as two output pixels. Made exactly (Pillow's BILINEAR is the same filter) it costs about what the
fast model's call does, on every face. The demo builds the same triangle from cheap steps: bilinear (a box for a
very large crop) to three times the size, a 3x3 box blur there, then a 3x3 box down to the size: two boxes of one
output pixel make the triangle. Enlarging needs no antialiasing: OpenCV's bilinear
is TensorFlow's. What counts is the model's answer: export measures it on the data's held-out images (model.json's
`crop_top1_agreement`, `crop_max_difference`), tests/training/test_learning.py holds a trained model to it (and
shows plain bilinear and a single box failing), and `make bench` times it against the exact filter.
"""

from __future__ import annotations

import cv2
import numpy as np

SUPERSAMPLING = 3  # odd, so that the box blur is centred on each subpixel (an even one shifts the face)
NEARLY_THE_SIZE = 1.15  # a crop shrunk by less than this is resized by bilinear alone


def prepare_crop(face: np.ndarray, size: int) -> np.ndarray:
    """RGB uint8 crop of any size (H, W, 3) -> uint8 (size, size, 3), the model's input."""
    face = np.ascontiguousarray(face, dtype=np.uint8)
    if max(face.shape[:2]) < NEARLY_THE_SIZE * size:  # enlarged, or barely shrunk: TensorFlow's triangle is bilinear's
        return cv2.resize(face, (size, size), interpolation=cv2.INTER_LINEAR)
    larger = SUPERSAMPLING * size
    # To three times the size: a box where the crop is over twice that (every pixel counted), else bilinear.
    method = cv2.INTER_AREA if min(face.shape[:2]) >= 2 * larger else cv2.INTER_LINEAR
    supersampled = cv2.resize(face, (larger, larger), interpolation=method)
    if min(face.shape[:2]) >= 2 * size:  # below twice the size, bilinear's own triangle is the second box
        supersampled = cv2.blur(supersampled, (SUPERSAMPLING, SUPERSAMPLING), borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(supersampled, (size, size), interpolation=cv2.INTER_AREA)
