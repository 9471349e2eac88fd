"""The demo's crop preparation: the pixels training's `pipeline.prepare_image` makes, without TensorFlow.

`prepare_image` resizes with TensorFlow's antialiased bilinear filter (a triangle kernel widened by the
scale factor when shrinking). Pillow's BILINEAR resize is the same filter, so the two agree within one
grey level per pixel on crops of any size (tests/inference/test_crops.py), for about a third of the cost
of a traced TensorFlow call per crop, and the demo's TFLite path never imports TensorFlow for it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

PARITY_GREY_LEVELS = 1  # the largest per-pixel difference from pipeline.prepare_image


def prepare_crop(face: np.ndarray, size: int) -> np.ndarray:
    """RGB uint8 crop of any size (H, W, 3) -> uint8 (size, size, 3), as `pipeline.prepare_image` would make it."""
    image = Image.fromarray(np.ascontiguousarray(face, dtype=np.uint8))
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))
