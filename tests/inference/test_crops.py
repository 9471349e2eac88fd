"""The demo's crop preparation makes the pixels training's prepare_image makes, on real-size crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from solution.inference.crops import PARITY_GREY_LEVELS, prepare_crop
from solution.training.pipeline import prepare_image


@pytest.mark.parametrize("size", [32, 64, 224, 240])
def test_a_crop_prepared_without_tensorflow_matches_prepare_image(size):
    portrait = data.astronaut()
    for width, height in ((40, 44), (120, 130), (183, 201), (250, 250), (400, 452), (777, 820), (1200, 1330)):
        crop = cv2.resize(portrait[30:330, 120:400], (width, height), interpolation=cv2.INTER_AREA)
        expected = prepare_image(crop, size).numpy().astype(int)
        got = prepare_crop(crop, size)
        assert got.shape == (size, size, 3) and got.dtype == np.uint8
        assert np.abs(got.astype(int) - expected).max() <= PARITY_GREY_LEVELS, (width, height, size)


def test_a_non_contiguous_crop_is_prepared_like_a_copy():
    frame = data.astronaut()
    view = frame[40:260:, 150:330][:, ::-1]  # a mirrored view, as slicing a frame gives
    assert np.array_equal(prepare_crop(view, 64), prepare_crop(view.copy(), 64))
