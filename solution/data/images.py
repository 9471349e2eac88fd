"""Reading any image file the data may hold as 8-bit RGB, the one way used everywhere.

Training, prediction and the demo all see images through `read_rgb`, so grayscale,
alpha, CMYK, 16-bit and EXIF-rotated files are normalised identically wherever they
appear.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
EXIF_ORIENTATION = 0x0112
_JPEG_SUFFIXES = (".jpg", ".jpeg")


class BadImage(ValueError):
    """The file cannot be read as an image at all."""


@dataclass
class DecodedImage:
    """An image as 8-bit RGB plus what had to be done to get there."""

    rgb: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def needs_conversion(self) -> bool:
        """True when a plain JPEG decoder would not give the same pixels as `rgb`."""
        return bool(self.notes)


def _png_bit_depth(data: bytes) -> int:
    return data[24] if data.startswith(PNG_SIGNATURE) and len(data) > 24 else 8


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite transparent images over white, as a browser would show them."""
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _to_rgb(image: Image.Image, notes: list[str]) -> np.ndarray:
    mode = image.mode
    if mode == "RGB":
        return np.asarray(image, dtype=np.uint8)
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        notes.append("16-bit grayscale")
        values = np.asarray(image, dtype=np.uint32)
        scale = 257 if values.max(initial=0) > 255 else 1
        gray = np.clip(values // scale, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        notes.append("alpha channel")
        return np.asarray(_flatten_alpha(image), dtype=np.uint8)
    if mode == "CMYK":
        notes.append("CMYK")
    elif mode in ("L", "1"):
        notes.append("grayscale")
    else:
        notes.append(f"colour mode {mode}")
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def decode_bytes(data: bytes, suffix: str = ".jpg") -> DecodedImage:
    """Decode image bytes to RGB uint8 (H, W, 3); raise `BadImage` with the reason."""
    if not data:
        raise BadImage("empty file (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except UnidentifiedImageError:  # its message names an in-memory buffer, not the file
        raise BadImage("corrupt, or not an image format Pillow reads") from None
    except Image.DecompressionBombError:
        raise BadImage(f"over {2 * Image.MAX_IMAGE_PIXELS:,} pixels, Pillow's limit against decompression bombs") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise BadImage(f"cannot decode ({error})") from None
    notes: list[str] = []
    if image.format != "JPEG" and suffix.lower() in _JPEG_SUFFIXES:
        notes.append(f"{image.format} data in a {suffix} file")
    elif image.format not in ("JPEG", "PNG"):
        notes.append(f"{image.format} format")
    if _png_bit_depth(data) == 16 and image.mode == "RGB":
        notes.append("16-bit colour")
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    if orientation not in (0, 1):
        notes.append(f"EXIF orientation {orientation}")
        image = ImageOps.exif_transpose(image)
    return DecodedImage(_to_rgb(image, notes), notes)


def read_rgb(path: Path) -> DecodedImage:
    """Read an image file as 8-bit RGB; raise `BadImage` naming what is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:  # strerror alone: the caller names the file, so the message does not repeat the path
        raise BadImage(f"cannot read it ({error.strerror or type(error).__name__})") from None
    return decode_bytes(data, path.suffix)
