"""An embedded, procedurally drawn stand-in for the competition data.

Each image is a cartoon face whose expression geometry (mouth curve and opening, brows,
eyes, asymmetry) depends on its class, drawn over a varying nuisance (skin tone, position,
scale, rotation, clutter, lighting, JPEG quality, image size, some grayscale). It has the
exact competition layout, so every stage of the kit runs on it without the real data.
A small CNN learns it; a per-pixel linear model does not get close to 100%.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from solution.core import atomic
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.data.dataset import SAMPLE_MARKER, SAMPLE_TEST_LABELS, SUBMISSION_CSV, TRAIN_CSV, TRAIN_DIR, is_sample


@dataclass(frozen=True)
class Expression:
    """Face-relative expression parameters of one class (before per-image jitter)."""

    mouth_curve: float = 0.0  # > 0 corners up (smile), < 0 corners down
    mouth_open: float = 0.0  # gap between the lips, in face radii
    mouth_width: float = 0.34
    mouth_asym: float = 0.0  # raises the right corner only (contempt)
    brow_tilt: float = 0.0  # > 0 inner ends down (anger), < 0 inner ends up (sad, fear)
    brow_raise: float = 0.0  # lifts both brows
    brow_asym: float = 0.0  # lifts the left brow only (uncertain)
    eye_open: float = 1.0
    wrinkles: float = 0.0  # nose wrinkles (disgust)


EXPRESSIONS: dict[str, Expression] = {
    "anger": Expression(mouth_curve=-0.14, mouth_width=0.24, brow_tilt=0.2, brow_raise=-0.06, eye_open=0.55),
    "contempt": Expression(mouth_asym=0.2, mouth_width=0.3, eye_open=0.8),
    "disgust": Expression(mouth_curve=-0.16, mouth_open=0.08, brow_tilt=0.08, eye_open=0.4, wrinkles=1.0),
    "fear": Expression(mouth_curve=-0.06, mouth_open=0.14, mouth_width=0.44, brow_tilt=-0.16, brow_raise=0.1, eye_open=1.6),
    "happy": Expression(mouth_curve=0.24, mouth_open=0.06, mouth_width=0.42, eye_open=0.7),
    "neutral": Expression(),
    "sad": Expression(mouth_curve=-0.24, mouth_width=0.3, brow_tilt=-0.18, eye_open=0.75),
    "surprise": Expression(mouth_open=0.3, mouth_width=0.18, brow_raise=0.18, eye_open=1.8),
    "uncertain": Expression(mouth_asym=-0.12, mouth_curve=0.04, brow_asym=0.18, eye_open=1.0),
}

SIZE_SPREAD = 0.6  # sigma of log(side) with median_size: about 1% of the photos over 4x the median

SKIN_TONES = np.array(
    [[224, 194, 170], [241, 212, 190], [198, 152, 120], [160, 114, 84], [120, 80, 56], [90, 60, 42], [232, 180, 150]],
    dtype=np.float32,
)  # RGB


@dataclass(frozen=True)
class SampleConfig:
    """What `make sample` generates; the defaults make a few hundred images in seconds."""

    per_class: int = 50
    test: int = 90
    seed: int = 0
    min_size: int = 100
    max_size: int = 1100
    median_size: int = 0  # 0: sides log-uniform between min_size and max_size; else log-normal around this median
    jitter: float = 0.15  # per-image expression noise, as a share of the class cues
    grayscale_share: float = 0.1
    dirty: bool = False


class _Canvas:
    """Draws in face-relative coordinates (unit = face radius) on an RGB image."""

    def __init__(self, image: np.ndarray, center: tuple[float, float], radius: float, angle: float):
        self.image = image
        self.radius = radius
        cos, sin = np.cos(angle), np.sin(angle)
        self._matrix = np.array([[cos, -sin], [sin, cos]]) * radius
        self._center = np.asarray(center, dtype=np.float64)

    def points(self, xy: np.ndarray) -> np.ndarray:
        return (np.asarray(xy, dtype=np.float64) @ self._matrix.T + self._center).round().astype(np.int32)

    def thickness(self, width: float) -> int:
        return max(1, int(round(width * self.radius)))

    def polyline(self, xy: np.ndarray, colour, width: float) -> None:
        cv2.polylines(self.image, [self.points(xy)], False, colour, self.thickness(width), cv2.LINE_AA)

    def polygon(self, xy: np.ndarray, colour) -> None:
        cv2.fillPoly(self.image, [self.points(xy)], colour, cv2.LINE_AA)

    def ellipse(self, center, axes, colour, filled: bool = True, width: float = 0.02) -> None:
        t = np.linspace(0, 2 * np.pi, 40)
        xy = np.stack([center[0] + axes[0] * np.cos(t), center[1] + axes[1] * np.sin(t)], axis=1)
        if filled:
            self.polygon(xy, colour)
        else:
            cv2.polylines(self.image, [self.points(xy)], True, colour, self.thickness(width), cv2.LINE_AA)


def _jittered(expression: Expression, rng: np.random.Generator, jitter: float) -> Expression:
    scale = {
        "mouth_curve": 0.16,
        "mouth_open": 0.12,
        "mouth_width": 0.10,
        "mouth_asym": 0.10,
        "brow_tilt": 0.12,
        "brow_raise": 0.10,
        "brow_asym": 0.10,
        "eye_open": 0.8,
        "wrinkles": 0.8,
    }
    values = {name: getattr(expression, name) + rng.normal(0, jitter * spread) for name, spread in scale.items()}
    values["mouth_open"] = max(0.0, values["mouth_open"])
    values["mouth_width"] = max(0.12, values["mouth_width"])
    values["eye_open"] = max(0.25, values["eye_open"])
    values["wrinkles"] = float(values["wrinkles"] > 0.5)
    return Expression(**values)


def _background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    height, width = size
    top, bottom = rng.uniform(30, 230, 3), rng.uniform(30, 230, 3)
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    image = np.broadcast_to(top * (1 - ramp) + bottom * ramp, (height, width, 3)).astype(np.uint8).copy()
    for _ in range(rng.integers(2, 8)):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        thick = int(rng.integers(1, max(2, width // 60)))
        kind = rng.integers(3)
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, [width, height, width, height]))
        if kind == 0:
            cv2.line(image, (x0, y0), (x1, y1), colour, thick, cv2.LINE_AA)
        elif kind == 1:
            cv2.circle(image, (x0, y0), int(rng.integers(3, max(4, width // 6))), colour, thick, cv2.LINE_AA)
        else:
            cv2.rectangle(image, (x0, y0), (x1, y1), colour, thick)
    return image


def _draw_face(canvas: _Canvas, expression: Expression, skin: np.ndarray, rng: np.random.Generator) -> None:
    e = expression
    skin_colour = tuple(float(c) for c in skin)
    dark = tuple(float(c) for c in skin * 0.35)
    hair = tuple(float(c) for c in rng.uniform(10, 120, 3))
    canvas.ellipse((0, -0.25), (0.98, 0.85), hair)  # hair behind the head
    canvas.ellipse((0, 0), (0.82, 1.0), skin_colour)
    # Eyes: white, iris, lid line; openness drives the eye height.
    for side in (-1, 1):
        cx, cy = side * 0.32, -0.18
        height = 0.1 * e.eye_open
        canvas.ellipse((cx, cy), (0.17, height), (250, 250, 250))
        iris = min(0.08, height)
        canvas.ellipse((cx + rng.normal(0, 0.02), cy), (0.065, iris), (40, 30, 20))
        canvas.ellipse((cx, cy), (0.17, height), dark, filled=False, width=0.03)
        # Brows: inner end lowered by tilt, both lifted by raise, the left one by asym.
        lift = e.brow_raise + (e.brow_asym if side < 0 else 0.0)
        inner = (side * 0.12, -0.36 + e.brow_tilt - lift)
        outer = (side * 0.50, -0.38 - lift)
        canvas.polyline(np.array([inner, outer]), hair, 0.09)
    # Nose, with wrinkles for disgust.
    canvas.polyline(np.array([[0.0, -0.1], [-0.06, 0.18], [0.04, 0.2]]), dark, 0.025)
    if e.wrinkles:
        for dy in (-0.06, 0.0):
            canvas.polyline(np.array([[-0.12, dy], [-0.04, dy - 0.03]]), dark, 0.02)
            canvas.polyline(np.array([[0.12, dy], [0.04, dy - 0.03]]), dark, 0.02)
    # Mouth: a parabola whose corners move with curve and asymmetry; a dark gap when open.
    x = np.linspace(-e.mouth_width, e.mouth_width, 25)
    u = x / e.mouth_width
    upper = 0.48 - e.mouth_curve * u**2 - e.mouth_asym * (u + 1) / 2 * (u > 0)
    lower = upper + e.mouth_open * (1 - u**2)
    if e.mouth_open > 0.02:
        canvas.polygon(np.concatenate([np.stack([x, upper], 1), np.stack([x, lower], 1)[::-1]]), (90, 20, 30))
    lip = tuple(float(c) for c in np.clip(skin * [0.75, 0.45, 0.45], 0, 255))
    canvas.polyline(np.stack([x, upper], 1), lip, 0.07)
    canvas.polyline(np.stack([x, lower], 1), lip, 0.07)


def _lighting(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = image.shape[:2]
    direction = rng.normal(size=2)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xx / width - 0.5) * direction[0] + (yy / height - 0.5) * direction[1]
    gain = rng.uniform(0.7, 1.2) * (1 + 0.35 * ramp)
    return np.clip(image * gain[..., None], 0, 255).astype(np.uint8)


def draw_face_image(emotion: str, rng: np.random.Generator, config: SampleConfig) -> Image.Image:
    """One synthetic face photo of `emotion`, as a PIL image (RGB or, sometimes, L)."""
    if config.median_size:  # log-normal around the median, as the competition's photos
        size = int(np.clip(np.exp(rng.normal(np.log(config.median_size), SIZE_SPREAD)), config.min_size, config.max_size))
    else:
        size = int(np.exp(rng.uniform(np.log(config.min_size), np.log(config.max_size))))
    aspect = rng.uniform(0.8, 1.25) if rng.random() < 0.1 else 1.0
    shape = (size, max(config.min_size, int(size * aspect)))
    image = _background(shape, rng)
    radius = min(shape) * rng.uniform(0.32, 0.44)
    center = (shape[1] / 2 + rng.uniform(-0.07, 0.07) * shape[1], shape[0] / 2 + rng.uniform(-0.06, 0.06) * shape[0])
    canvas = _Canvas(image, center, radius, np.deg2rad(rng.uniform(-12, 12)))
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.9, 1.1, 3)
    _draw_face(canvas, _jittered(EXPRESSIONS[emotion], rng, config.jitter), np.clip(skin, 0, 255), rng)
    image = _lighting(image, rng)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.2))
    picture = Image.fromarray(image)
    return picture.convert("L") if rng.random() < config.grayscale_share else picture


def _jpeg(picture: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


def _write_dirty_files(out: Path, config: SampleConfig, train_rows: list[dict]) -> None:
    """Add the bad files real data sets hold, for the reliability tests."""
    rng = _rng(config.seed, 99)
    face = draw_face_image("happy", rng, SampleConfig(min_size=160, max_size=200, grayscale_share=0))
    good = _jpeg(face, 90)
    entries: dict[str, tuple[str, bytes]] = {}

    def add(emotion: str, name: str, data: bytes) -> None:
        entries[f"train/{emotion}/{name}"] = (emotion, data)

    add("happy", "dirty_truncated.jpg", good[: len(good) // 2])
    add("happy", "dirty_empty.jpg", b"")
    png = io.BytesIO()
    face.save(png, format="PNG")
    add("happy", "dirty_png_named.jpg", png.getvalue())
    cmyk = io.BytesIO()
    face.convert("CMYK").save(cmyk, format="JPEG", quality=90)
    add("happy", "dirty_cmyk.jpg", cmyk.getvalue())
    ok, sixteen = cv2.imencode(".png", cv2.cvtColor(np.asarray(face), cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
    add("happy", "dirty_16bit.png", sixteen.tobytes())
    rgba = io.BytesIO()
    with_alpha = face.convert("RGBA")
    with_alpha.putalpha(Image.linear_gradient("L").resize(face.size))
    with_alpha.save(rgba, format="PNG")
    add("happy", "dirty_rgba.png", rgba.getvalue())
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated 90° counter-clockwise; viewers turn it upright
    face.transpose(Image.Transpose.ROTATE_90).save(rotated, format="JPEG", quality=90, exif=exif)
    add("happy", "dirty_exif_rotated.jpg", rotated.getvalue())
    same, other = train_rows[0], train_rows[1]
    add(same["emotion"], "dirty_duplicate.jpg", (out / same["image_path"]).read_bytes())
    conflict = next(c for c in CLASSES if c != other["emotion"])
    add(conflict, "dirty_conflict.jpg", (out / other["image_path"]).read_bytes())
    for relative, (emotion, data) in entries.items():
        atomic.write_bytes(out / relative, data)
        train_rows.append({"image_path": relative, "emotion": emotion})


def generate(out: Path, config: SampleConfig = SampleConfig(), force: bool = False) -> dict:
    """Write the sample data set to `out` in the competition layout; return a summary.

    A folder that already holds other data (a train/ folder, train.csv or sample_submission.csv
    without the sample's marker) is refused unless `force`: the sample would overwrite its files.
    """
    started = time.perf_counter()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: a file, not a folder; pass --out a folder (new or empty) for the sample")
    holds_data = any((out / name).exists() for name in (TRAIN_DIR, TRAIN_CSV, SUBMISSION_CSV))
    if holds_data and not is_sample(out) and not force:
        raise UserError(f"{out} holds data that is not a generated sample; pass another --out, or --force to write the sample over it")
    train_rows: list[dict] = []
    for class_index, emotion in enumerate(CLASSES):
        for n in range(config.per_class):
            rng = _rng(config.seed, class_index, n)
            relative = f"train/{emotion}/{n}.jpg"
            atomic.write_bytes(out / relative, _jpeg(draw_face_image(emotion, rng, config), int(rng.integers(45, 96))))
            train_rows.append({"image_path": relative, "emotion": emotion})
    test_rows = []
    for n in range(config.test):
        rng = _rng(config.seed, 1000, n)
        emotion = CLASSES[int(rng.integers(len(CLASSES)))]
        atomic.write_bytes(out / f"test_kaggle/{n}.jpg", _jpeg(draw_face_image(emotion, rng, config), int(rng.integers(45, 96))))
        test_rows.append({"image_path": f"{n}.jpg", "emotion": emotion})
    if config.dirty:
        _write_dirty_files(out, config, train_rows)
    train = pd.DataFrame(train_rows)
    train["image_path"] = "./" + train["image_path"]
    atomic.write_with(out / "train.csv", lambda tmp: train.to_csv(tmp, lineterminator="\n"))
    submission = pd.DataFrame({"image_path": [row["image_path"] for row in test_rows], "emotion": CLASSES[5]})
    atomic.write_csv(out / "sample_submission.csv", submission)
    # The true test labels exist only for the sample: they let `make all` score a submission.
    atomic.write_csv(out / SAMPLE_TEST_LABELS, pd.DataFrame(test_rows))
    atomic.write_text(out / SAMPLE_MARKER, f"Synthetic sample data set made by `python -m solution sample`: {config}\n")
    return {
        "out": str(out),
        "train_images": len(train_rows),
        "test_images": len(test_rows),
        "seconds": round(time.perf_counter() - started, 2),
    }
