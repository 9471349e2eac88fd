"""Every kind of odd image file becomes the same 8-bit RGB, or a clear BadImage."""

from __future__ import annotations

import numpy as np
import pytest

from solution.data.images import BadImage, read_rgb


def _happy(dirty_dir, name):
    return dirty_dir / "train" / "happy" / name


@pytest.mark.parametrize(
    ("name", "note"),
    [
        ("dirty_png_named.jpg", "PNG data in a .jpg file"),
        ("dirty_cmyk.jpg", "CMYK"),
        ("dirty_16bit.png", "16-bit colour"),
        ("dirty_rgba.png", "alpha channel"),
        ("dirty_exif_rotated.jpg", "EXIF orientation 6"),
    ],
)
def test_convertible_files_become_8bit_rgb_with_a_note(dirty_dir, name, note):
    decoded = read_rgb(_happy(dirty_dir, name))
    assert decoded.rgb.dtype == np.uint8 and decoded.rgb.ndim == 3 and decoded.rgb.shape[2] == 3
    assert note in decoded.notes
    assert decoded.needs_conversion


def test_conversions_keep_the_picture(dirty_dir):
    reference = read_rgb(_happy(dirty_dir, "dirty_png_named.jpg")).rgb.astype(float)
    sixteen = read_rgb(_happy(dirty_dir, "dirty_16bit.png")).rgb.astype(float)
    assert np.abs(sixteen - reference).max() <= 1
    cmyk = read_rgb(_happy(dirty_dir, "dirty_cmyk.jpg")).rgb.astype(float)
    assert np.abs(cmyk - reference).mean() < 8
    upright = read_rgb(_happy(dirty_dir, "dirty_exif_rotated.jpg")).rgb.astype(float)
    assert upright.shape == reference.shape
    assert np.abs(upright - reference).mean() < 8


def test_alpha_is_composited_over_white(dirty_dir):
    rgba = read_rgb(_happy(dirty_dir, "dirty_rgba.png")).rgb
    # The alpha ramp (PIL's linear_gradient) is 0 along the top row: fully transparent there, so white.
    assert rgba[0].min() >= 250
    assert rgba[-1].min() < 250


@pytest.mark.parametrize(("name", "reason"), [("dirty_truncated.jpg", "truncated"), ("dirty_empty.jpg", "empty file")])
def test_unreadable_files_raise_bad_image_with_the_reason(dirty_dir, name, reason):
    with pytest.raises(BadImage, match=reason):
        read_rgb(_happy(dirty_dir, name))


def test_a_plain_jpeg_needs_no_conversion(sample_dir):
    decoded = read_rgb(sample_dir / "train" / "anger" / "1.jpg")
    assert decoded.notes in ([], ["grayscale"])


def test_an_image_over_pillows_pixel_limit_is_a_bad_image_naming_the_limit(tmp_path, monkeypatch):
    from PIL import Image as PillowImage

    path = tmp_path / "huge.png"
    PillowImage.new("RGB", (40, 40), "white").save(path)
    monkeypatch.setattr(PillowImage, "MAX_IMAGE_PIXELS", 100)  # 1,600 pixels > 2 x 100: what a 15,000 px photo is to the default
    with pytest.raises(BadImage, match="over 200 pixels, Pillow's limit against decompression bombs"):
        read_rgb(path)
