"""A synthetic data set at the competition's size, for `make scale`: what the kit's CPU stages meet on real data.

The competition holds about 50,000 training JPEGs (3,100 to 7,100 per class) and 5,000 test JPEGs of 133 to 4,689 px
(median about 370, almost all square), about 1,300 byte-identical duplicates and more resized or re-encoded copies
(../shared/DESIGN.md). This set has those counts, sizes and copies; its pictures are the sample's cartoon faces, drawn
small and enlarged with photo-like noise, so files of a given size weigh what a photo of that size does and every
picture has its own perceptual hash. It is generated once per spec (a marker written last says it is complete).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from solution.core import atomic
from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.data.dataset import SUBMISSION_CSV, TEST_DIR, TRAIN_CSV, TRAIN_DIR
from solution.data.sample import SIZE_SPREAD, SampleConfig, draw_face_image

MARKER = "SCALE_SET.json"  # the spec the folder is generated with; "complete" is set once every file is written
DRAWN_SIDE = 160  # faces are drawn at most this large, then enlarged: drawing at 4,000 px would take minutes each
NOISE_TILE = 509  # a prime side, so the tiled noise does not repeat on an 8 x 8 JPEG block grid
_CHUNK = 500  # images per task of the worker pool


@dataclass(frozen=True)
class ScaleSpec:
    """What the set holds; the defaults are the competition's (DESIGN.md), `scaled` shrinks every count."""

    train: int = 50_000
    test: int = 5_000
    duplicates: int = 1_300  # byte-identical copies of other training files, within the train count
    conflicting_share: float = 0.1  # of the duplicates, filed under another emotion
    near_copies: int = 300  # resized (50-160%) or re-encoded (quality 60-95) copies, within the train count
    class_counts: dict[str, int] = field(
        default_factory=lambda: {"anger": 6100, "contempt": 3100, "disgust": 3100, "fear": 5900, "happy": 6300,
                                 "neutral": 7100, "sad": 6200, "surprise": 6100, "uncertain": 6100}
    )  # fmt: skip
    min_side: int = 133
    median_side: int = 370
    max_side: int = 4689
    square_share: float = 0.95
    crop: float = 0.7  # each picture keeps a random window of 70-100% of the drawn face: faces vary in place and scale
    grayscale_share: float = 0.02
    min_per_class: int = 7  # a scaled-down set keeps enough distinct pictures per class for 5 folds
    seed: int = 0

    def scaled(self, fraction: float) -> ScaleSpec:
        """The same set at `fraction` of every count (at least `min_per_class` images per class)."""
        return replace(
            self,
            train=max(len(CLASSES) * self.min_per_class, round(self.train * fraction)),
            test=max(1, round(self.test * fraction)),
            duplicates=round(self.duplicates * fraction),
            near_copies=round(self.near_copies * fraction),
        )

    def per_class(self) -> dict[str, int]:
        """Training files per emotion: the competition's shares of `train`, at least `min_per_class` each."""
        total = sum(self.class_counts.values())
        counts = {emotion: max(self.min_per_class, round(self.train * self.class_counts[emotion] / total)) for emotion in CLASSES}
        while sum(counts.values()) != self.train:  # the rounding and the floor, settled on the largest classes
            step = 1 if sum(counts.values()) < self.train else -1
            counts[max(counts, key=counts.get)] += step
        return counts


def _rng(spec: ScaleSpec, *keys: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, *keys])


def _noise(spec: ScaleSpec) -> np.ndarray:
    return _rng(spec, 7).normal(0, 5, (NOISE_TILE, NOISE_TILE, 3)).astype(np.int16)


def _shape(spec: ScaleSpec, rng: np.random.Generator) -> tuple[int, int]:
    side = float(np.clip(np.exp(rng.normal(np.log(spec.median_side), SIZE_SPREAD)), spec.min_side, spec.max_side))
    aspect = 1.0 if rng.random() < spec.square_share else rng.uniform(0.75, 1.33)
    return int(side), int(np.clip(side * aspect, spec.min_side, spec.max_side))


def picture(spec: ScaleSpec, emotion: str, rng: np.random.Generator, shape: tuple[int, int], noise: np.ndarray) -> bytes:
    """One JPEG of `shape` (height, width): a face drawn small, enlarged, with noise so it compresses like a photo."""
    height, width = shape
    drawn_side = min(DRAWN_SIDE, height, width)
    face = np.asarray(draw_face_image(emotion, rng, SampleConfig(min_size=drawn_side, max_size=drawn_side + 1, grayscale_share=0)))
    keep = rng.uniform(spec.crop, 1.0)
    window = (max(1, int(face.shape[0] * keep)), max(1, int(face.shape[1] * keep)))
    top, left = rng.integers(0, face.shape[0] - window[0] + 1), rng.integers(0, face.shape[1] - window[1] + 1)
    face = face[top : top + window[0], left : left + window[1]]
    image = cv2.resize(face, (width, height), interpolation=cv2.INTER_LINEAR)
    offset = rng.integers(0, NOISE_TILE, 2)
    reps = (-(-(height + offset[0]) // NOISE_TILE), -(-(width + offset[1]) // NOISE_TILE), 1)
    tiled = np.tile(noise, reps)[offset[0] : offset[0] + height, offset[1] : offset[1] + width]
    image = np.clip(image.astype(np.int16) + tiled, 0, 255).astype(np.uint8)
    quality = int(rng.integers(70, 96))
    conversion = cv2.COLOR_RGB2GRAY if rng.random() < spec.grayscale_share else cv2.COLOR_RGB2BGR
    return cv2.imencode(".jpg", cv2.cvtColor(image, conversion), [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def _extremes(spec: ScaleSpec) -> dict[int, tuple[int, int]]:
    """The first two training pictures take the competition's smallest and largest sides, so both are always met."""
    return {0: (spec.min_side, spec.min_side), 1: (spec.max_side, spec.max_side)}


def _write_chunk(spec: ScaleSpec, out: Path, jobs: list[tuple[str, str, int]]) -> int:
    """Write the pictures `jobs` (relative path, emotion, number); return the bytes written."""
    noise, extremes, written = _noise(spec), _extremes(spec), 0
    for relative, emotion, number in jobs:
        rng = _rng(spec, 1, number)
        shape = extremes.get(number) or _shape(spec, rng)
        data = picture(spec, emotion, rng, shape, noise)
        (out / relative).write_bytes(data)
        written += len(data)
    return written


def _copies(spec: ScaleSpec, out: Path, originals: list[tuple[str, str]], first_number: dict[str, int]) -> list[tuple[str, str]]:
    """Byte-identical duplicates (a share filed under another emotion) and resized or re-encoded near copies."""
    rng = _rng(spec, 2)
    picks = rng.choice(len(originals), spec.duplicates + spec.near_copies, replace=False)
    rows = []
    for count, pick in enumerate(picks):
        source, emotion = originals[pick]
        data = (out / source).read_bytes()
        if count < spec.duplicates:
            if rng.random() < spec.conflicting_share:
                emotion = CLASSES[(CLASSES.index(emotion) + 1 + int(rng.integers(len(CLASSES) - 1))) % len(CLASSES)]
        else:
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if rng.random() < 0.5:
                scale = rng.uniform(0.5, 1.6)
                size = (max(spec.min_side, int(image.shape[1] * scale)), max(spec.min_side, int(image.shape[0] * scale)))
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(60, 96))])[1].tobytes()
        relative = f"{TRAIN_DIR}/{emotion}/{first_number[emotion]}.jpg"
        first_number[emotion] += 1
        (out / relative).write_bytes(data)
        rows.append((relative, emotion))
    return rows


def is_complete(out: Path, spec: ScaleSpec) -> bool:
    """True when `out` holds the set of exactly this spec."""
    marker = Path(out) / MARKER
    if not marker.is_file():
        return False
    content = json.loads(marker.read_text())
    return content.get("complete") is True and content.get("spec") == json.loads(json.dumps(asdict(spec)))


def generate(out: Path, spec: ScaleSpec = ScaleSpec(), workers: int | None = None) -> dict:
    """Write the set into `out` (a folder of its own) unless it is there already; return its marker's content."""
    out = Path(out)
    if is_complete(out, spec):
        return json.loads((out / MARKER).read_text())
    if (out / MARKER).is_file():  # a set of another spec, or one cut short: this kit's own files, made again
        shutil.rmtree(out)
    elif out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: holds files that are not a scale set; pass an empty or new folder")
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_json(out / MARKER, {"spec": asdict(spec), "complete": False})
    originals_per_class = dict(spec.per_class())
    for _ in range(spec.duplicates + spec.near_copies):  # the copies take the places of originals, largest classes first
        largest = max(originals_per_class, key=originals_per_class.get)
        originals_per_class[largest] -= 1
    jobs, number = [], 0
    for emotion in CLASSES:
        (out / TRAIN_DIR / emotion).mkdir(parents=True, exist_ok=True)
        for n in range(originals_per_class[emotion]):
            jobs.append((f"{TRAIN_DIR}/{emotion}/{n}.jpg", emotion, number))
            number += 1
    (out / TEST_DIR).mkdir(parents=True, exist_ok=True)
    test_rng = _rng(spec, 3)
    test_jobs = [(f"{TEST_DIR}/{n}.jpg", CLASSES[int(test_rng.integers(len(CLASSES)))], number + n) for n in range(spec.test)]
    every = jobs + test_jobs
    chunks = [every[start : start + _CHUNK] for start in range(0, len(every), _CHUNK)]
    with ProcessPoolExecutor(workers or os.cpu_count() or 1) as pool:
        written = sum(pool.map(_write_chunk, [spec] * len(chunks), [out] * len(chunks), chunks))
    originals = [(relative, emotion) for relative, emotion, _ in jobs]
    copies = _copies(spec, out, originals, dict(originals_per_class))
    train = pd.DataFrame(originals + copies, columns=["image_path", "emotion"])
    train["image_path"] = "./" + train.image_path
    atomic.write_with(out / TRAIN_CSV, lambda tmp: train.to_csv(tmp, lineterminator="\n"))
    names = [f"{n}.jpg" for n in range(spec.test)]
    atomic.write_csv(out / SUBMISSION_CSV, pd.DataFrame({"image_path": names, "emotion": CLASSES[5]}))
    content = {
        "spec": asdict(spec),
        "complete": True,
        "train_images": len(train),
        "test_images": spec.test,
        "megabytes": round((written + sum((out / r).stat().st_size for r, _ in copies)) / 1e6, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    atomic.write_json(out / MARKER, content)
    return content
