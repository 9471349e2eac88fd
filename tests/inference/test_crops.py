"""The demo's crop preparation (OpenCV) against training's prepare_image (TensorFlow): one filter, so the same
pixels on faces and on noise at every size (a float tie may round one grey level apart), and a filter that lets
no input pixel fall between its samples."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from solution.inference.crops import prepare_crop
from solution.training.pipeline import prepare_image

# Enlarged, barely shrunk, halved once, several times, one side only, odd sides, a 12-megapixel photo.
SIZES = ((3, 7), (40, 44), (120, 130), (129, 300), (183, 201), (257, 255), (500, 90), (777, 820), (1200, 1330), (4000, 3000))


def _crops():
    portrait = data.astronaut()
    noise = np.random.default_rng(1)
    for width, height in SIZES:
        yield cv2.resize(portrait, (width, height), interpolation=cv2.INTER_AREA)
        yield noise.integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("size", [32, 48, 64, 224, 240])
def test_a_crop_gets_trainings_pixels(size):
    for crop in _crops():
        got = prepare_crop(crop, size)
        assert got.shape == (size, size, 3) and got.dtype == np.uint8
        difference = np.abs(got.astype(int) - prepare_image(crop, size).numpy().astype(int))
        assert difference.max() <= 1 and (difference > 0).mean() < 0.01, (crop.shape, size, difference.max(), (difference > 0).mean())


@pytest.mark.parametrize("shape", [(100, 120), (200, 200), (328, 208), (512, 400)])
def test_every_input_pixel_reaches_the_shrunk_image(shape):
    """A one-pixel dot anywhere in the crop shows in the model's input: no sample skips it, as plain bilinear
    does (the case can tell: it loses dots), so a fine detail cannot alias into a pattern that is not there.
    (Sides that stay even while halved: an odd one drops its last line, at the edge of a face's margin.)"""
    height, width = shape
    skipped_by_bilinear = 0
    for row in range(0, height, 7):
        for column in range(0, width, 11):
            dot = np.zeros((height, width, 3), np.uint8)
            dot[row, column] = 255
            assert prepare_crop(dot, 64).max() > 0, (shape, row, column)
            skipped_by_bilinear += cv2.resize(dot, (64, 64), interpolation=cv2.INTER_LINEAR).max() == 0
    assert skipped_by_bilinear > 0 or max(shape) < 128, "the case can tell a resize that skips pixels"


def test_fine_stripes_shrink_to_grey_not_to_false_stripes():
    stripes = np.zeros((200, 200, 3), np.uint8)
    stripes[::2] = 255
    ours = prepare_crop(stripes, 64).astype(float)
    assert np.array_equal(ours, prepare_image(stripes, 64).numpy()) and abs(ours.mean() - 127.5) <= 1 and ours.std() <= 1
    assert cv2.resize(stripes, (64, 64), interpolation=cv2.INTER_LINEAR).std() > 20, "the case can tell an aliasing resize"


def test_a_view_of_a_frame_is_prepared_like_a_copy():
    frame = data.astronaut()
    for view in (frame[40:260, 150:330], frame[40:260, 150:330][:, ::-1], frame[41:262:, 151:333]):
        assert np.array_equal(prepare_crop(view, 64), prepare_crop(view.copy(), 64))


def test_export_says_when_this_machines_opencv_prepares_faces_otherwise(monkeypatch):
    from solution.inference import export

    faces = [crop for crop in _crops() if min(crop.shape[:2]) >= 128][:6]
    same = export.crop_pixel_difference(faces, 64)
    assert same <= export.CROP_PIXEL_TOLERANCE and "WARNING" not in export.crop_parity_line(same, len(faces))
    monkeypatch.setattr(export, "prepare_crop", lambda face, size: cv2.resize(face, (size, size), interpolation=cv2.INTER_LINEAR))
    other = export.crop_pixel_difference(faces, 64)
    line = export.crop_parity_line(other, len(faces))
    assert other > export.CROP_PIXEL_TOLERANCE and "WARNING" in line and "make setup" in line, line
