"""The demo's crop preparation against training's prepare_image, on real-size crops of a real face: the same
pixels when enlarging, the same filter within a fraction of a grey level when shrinking (the model's answers are
held to it in tests/training/test_learning.py), and no aliasing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from solution.inference.crops import prepare_crop
from solution.training.pipeline import prepare_image

SIZES = ((40, 44), (120, 130), (183, 201), (250, 250), (400, 452), (777, 820), (1200, 1330))


def _crops():
    portrait = data.astronaut()[30:330, 120:400]
    return [cv2.resize(portrait, (width, height), interpolation=cv2.INTER_AREA) for width, height in SIZES]


@pytest.mark.parametrize("size", [32, 64, 224, 240])
def test_a_crop_is_prepared_as_training_prepares_it(size):
    for crop in _crops():
        expected = prepare_image(crop, size).numpy().astype(int)
        got = prepare_crop(crop, size)
        assert got.shape == (size, size, 3) and got.dtype == np.uint8
        difference = np.abs(got.astype(int) - expected)
        shrink = min(crop.shape[:2]) / size
        if max(crop.shape[:2]) <= size:  # enlarged: bilinear either way
            assert difference.max() <= 1, (crop.shape, size)
        elif shrink >= 2:  # a webcam face for the fast model, a photo's face for any: the triangle rebuilt
            assert difference.mean() <= 1.0 and np.percentile(difference, 99) <= 6, (crop.shape, size, difference.mean())
        else:  # between: within a grey level or so on average
            assert difference.mean() <= 1.2 and np.percentile(difference, 99) <= 8, (crop.shape, size, difference.mean())


def test_fine_stripes_shrink_to_grey_as_training_sees_them_not_to_false_stripes():
    """1-pixel black and white lines at 3.1x reduction: antialiasing averages them; plain bilinear samples them."""
    stripes = np.zeros((200, 200, 3), np.uint8)
    stripes[::2] = 255
    expected = prepare_image(stripes, 64).numpy().astype(float)
    ours = prepare_crop(stripes, 64).astype(float)
    aliased = cv2.resize(stripes, (64, 64), interpolation=cv2.INTER_LINEAR).astype(float)
    assert abs(ours.mean() - expected.mean()) <= 2 and ours.std() <= expected.std() + 3
    assert aliased.std() > expected.std() + 20, "the case can tell an aliasing resize apart"


def test_a_non_contiguous_crop_is_prepared_like_a_copy():
    frame = data.astronaut()
    view = frame[40:260:, 150:330][:, ::-1]  # a mirrored view, as slicing a frame gives
    assert np.array_equal(prepare_crop(view, 64), prepare_crop(view.copy(), 64))
