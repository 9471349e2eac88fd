"""`make bench`: speeds measured by the kit itself, each beside a baseline measured in the same run.

These machines are shared and noisy, so every speed also comes as a ratio to a baseline timed
minutes apart on the same machine: the ratio is the figure to compare between machines and runs.
Writes reports/bench.json and reports/bench.md.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import numpy as np

from solution.core import atomic
from solution.core.config import COMPETITION, PATHS
from solution.core.errors import UserError
from solution.core.markdown import table as markdown_table
from solution.core.timing import timings_ms
from solution.inference.export import REFERENCE_CROP_SIDE
from tools import provenance

BENCH_JSON, BENCH_MD = "bench.json", "bench.md"
BENCH_SCHEMA = 1  # schema_version of bench.json
FAST_DEMO_BACKBONE = "mobilenet_v3_small_minimalistic"
SMALLER_IS_FASTER = ("ms", "s", "ms/MP")  # units whose ratio against a baseline is baseline / value
# The per-face rows' models, named once for the tests that find them
PER_FACE_EXPORT, PER_FACE_INT8 = "the exported TFLite model", "int8 TFLite (make export QUANT=int8)"
PER_FACE_FAST = "the fast demo model"
ANTIALIASED_RESIZE = "antialiased resize (Pillow BILINEAR)"
DEMO_RESIZE = "training's filter in OpenCV (crops.prepare_crop)"
REFERENCE_BACKBONE = "mobilenet_v2"
OFFLINE_UNAVAILABLE = ("vit_b8",)  # needs its TF Hub SavedModel, which cannot be downloaded here


@dataclass(frozen=True)
class BenchConfig:
    """What to measure and how often."""

    backbones: tuple[str, ...] = ()  # empty: every registered backbone that builds offline
    size: int = 0  # inference image size; 0: each backbone's native size
    repeats: int = 15
    warmup: int = 3
    throughput_batch: int = 64
    train_size: int = 64  # the smoke profile's size
    train_batch: int = 16
    train_steps: int = 5
    side_by_side_steps: int = 30  # train steps per process when folds train side by side (fold_workers)
    pipeline_images: int = 270
    kaggle_scale_images: int = 450  # JPEGs with the competition's photo sizes
    augment_size: int = 224  # the kaggle profile's size
    face_size: int = 224
    fast_face_size: int = 0  # the fast demo model's input; 0: its size in the kaggle profile (per_backbone)
    video_frames: int = 90
    video_repeats: int = 3
    per_face_repeats: int = 200  # per-face calls take a fraction of a millisecond: a median of few is noise


QUICK = BenchConfig(
    backbones=(REFERENCE_BACKBONE,), repeats=10, pipeline_images=135, kaggle_scale_images=225, video_frames=60, video_repeats=2
)


@dataclass
class Measurement:
    group: str
    name: str
    value: float
    unit: str
    baseline: str = ""  # the measurement of this run it is compared with
    ratio: float | None = None  # speed relative to the baseline (> 1: faster)


@dataclass
class Bench:
    config: BenchConfig
    log: Callable[[str], None] = print
    results: list[Measurement] = field(default_factory=list)
    flatbuffers: dict[tuple, bytes] = field(default_factory=dict)

    def add(self, group: str, name: str, value: float, unit: str, baseline: Measurement | None = None) -> Measurement:
        ratio = None
        if baseline is not None:
            faster_is_smaller = unit in SMALLER_IS_FASTER
            ratio = baseline.value / value if faster_is_smaller else value / baseline.value
        measured = Measurement(group, name, float(value), unit, baseline.name if baseline else "", ratio)
        self.results.append(measured)
        self.log(f"bench: {group}: {name}: {value:.2f} {unit}" + (f" ({ratio:.2f}x {measured.baseline})" if ratio is not None else ""))
        return measured

    def medians_ms(self, calls: Sequence[Callable[[], object]], repeats: int | None = None) -> list[float]:
        """Median wall time of each call in ms, after warm-up calls; calls compared with each other are timed in
        interleaved rounds, each right after an untimed call of its own, so that neither load on the host nor the
        call timed before it weighs on their ratio. Time TensorFlow calls apart from the others: its worker
        threads spin on after a call returns and took the CPU from the call timed next (on 2 cores the fast demo
        model read 1.23 ms beside a Keras call, 0.85 ms without)."""
        timings = timings_ms(calls, repeats or self.config.repeats, self.config.warmup, rewarm=len(calls) > 1)
        return [float(np.median(t)) for t in timings]

    def median_ms(self, call: Callable[[], object], repeats: int | None = None) -> float:
        """Median wall time of `call` in ms, after warm-up calls."""
        return self.medians_ms([call], repeats)[0]

    def tflite(self, model, int8: bool = False) -> bytes:
        """`model` exported to TFLite (int8: calibrated on random images), converted once per architecture, input
        size and precision in a run: the inference and demo groups time the same 224 px MobileNetV2 export, and a
        conversion takes 15-20 s. The weights (random, untrained) do not change a dense model's speed."""
        from solution.inference.export import convert

        size = model.input_shape[1]
        key = (model.name, tuple(model.input_shape), int8)
        if key not in self.flatbuffers:
            self.flatbuffers[key] = convert(model, _images(32, size) if int8 else None)
        return self.flatbuffers[key]


def fast_demo_size(config: BenchConfig) -> int:
    """The fast demo model's input side as the bench times it: the configured one, or its kaggle-profile size."""
    from solution.training.profiles import load_profile

    return config.fast_face_size or load_profile("kaggle").for_backbone(FAST_DEMO_BACKBONE).image_size


def machine() -> dict:
    """CPU model, cores, memory, accelerators and library versions."""
    import tensorflow as tf

    from solution.artifacts.run_assembly import versions

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")), cpu)
    meminfo = Path("/proc/meminfo")
    memory = None
    if meminfo.exists():
        kib = next(int(line.split()[1]) for line in meminfo.read_text().splitlines() if line.startswith("MemTotal"))
        memory = round(kib / 2**20, 1)
    try:
        from importlib.metadata import version

        litert = version("ai-edge-litert")
    except Exception:
        litert = "not installed"
    return {
        "cpu": cpu,
        "int8_dot_product": int8_dot_product(cpuinfo.read_text() if cpuinfo.exists() else ""),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": memory,
        "gpus": [device.name for device in tf.config.list_physical_devices("GPU")],
        "platform": platform.platform(),
        "versions": {**versions(), "ai-edge-litert": litert},
    }


INT8_DOT_PRODUCT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp")  # x86 VNNI/AMX, ARM's dot product


def int8_dot_product(cpuinfo: str) -> list[str]:
    """The CPU's int8 dot-product instructions, from /proc/cpuinfo's flags: without one, XNNPACK's int8 kernels do
    no more per cycle than its float ones with FMA, so an int8 model is smaller but not faster."""
    lines = [line for line in cpuinfo.splitlines() if line.lower().startswith(("flags", "features"))]  # x86, ARM
    flags = {flag for line in lines for flag in line.split(":", 1)[-1].split()}
    return [flag for flag in INT8_DOT_PRODUCT_FLAGS if flag in flags]


def _images(count: int, size: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (count, size, size, 3)).astype(np.float32)


def inference(bench: Bench, name: str) -> None:
    """Batch 1: Keras eager, Keras tf.function and TFLite; batch N throughput."""
    import tensorflow as tf

    from solution.inference.classifier import TfliteBackend
    from solution.models.backbones import build_model
    from solution.models.registry import get_spec

    spec = get_spec(name)
    size = bench.config.size or spec.native_size
    model = build_model(spec, size, "none")
    one, many = _images(1, size), _images(bench.config.throughput_batch, size)
    group = f"inference {name} @ {size}px"
    forward = tf.function(lambda images: model(images, training=False), reduce_retracing=True)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.tflite"
        path.write_bytes(bench.tflite(model))
        lite = TfliteBackend(path)
        eager_ms, compiled_ms = bench.medians_ms([lambda: model(one, training=False), lambda: forward(one).numpy()])
        lite_ms = bench.median_ms(lambda: lite.predict_one(one[0]))
    eager = bench.add(group, "Keras eager call, batch 1", eager_ms, "ms")
    compiled = bench.add(group, "Keras tf.function, batch 1", compiled_ms, "ms", eager)
    bench.add(group, "TFLite (LiteRT, 2 threads), batch 1", lite_ms, "ms", eager)
    batch_ms = bench.median_ms(lambda: forward(many).numpy(), max(3, bench.config.repeats // 3))
    single = Measurement(group, compiled.name + " as images/s", 1000 / compiled.value, "images/s")
    bench.add(group, f"Keras tf.function, batch {len(many)}", len(many) * 1000 / batch_ms, "images/s", single)


def _train_step(name: str, size: int, batch: int) -> Callable[[], object]:
    """One untraced train_on_batch step of `name` from scratch on a fixed random batch: what both training rows time."""
    import keras

    from solution.models.backbones import build_model
    from solution.models.registry import get_spec

    model = build_model(get_spec(name), size, "none")
    model.compile(keras.optimizers.AdamW(1e-3), "categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)  # built inside the first step, its variables would trace it twice
    images, labels = _images(batch, size), np.eye(9)[np.arange(batch) % 9]
    return lambda: model.train_on_batch(images, labels)


def training(bench: Bench, name: str, reference: Measurement | None) -> Measurement:
    """Images per second of train_on_batch steps (after the first, traced step) at the smoke profile's size."""
    config = bench.config
    step_ms = bench.median_ms(_train_step(name, config.train_size, config.train_batch), config.train_steps)
    return bench.add(
        f"training @ {config.train_size}px, batch {config.train_batch}",
        f"{name} train step",
        config.train_batch * 1000 / step_ms,
        "images/s",
        reference,
    )


def _timed_train_steps(name: str, size: int, batch: int, steps: int, start: Barrier, rates: Queue) -> None:
    """In a fresh single-threaded process: `steps` train steps, started together with the other processes."""
    from solution.training.fold_workers import limit_threads

    limit_threads(1)
    step = _train_step(name, size, batch)
    for _ in range(3):  # tracing and warm-up
        step()
    start.wait(timeout=600)  # a sibling that died breaks the barrier instead of hanging this one
    began = time.perf_counter()
    for _ in range(steps):
        step()
    rates.put(batch * steps / (time.perf_counter() - began))


def side_by_side_training(bench: Bench, one_process: Measurement) -> None:
    """Training images/s of one single-threaded process per core side by side, the processes `fold_workers` trains
    folds in (each in its own fresh TensorFlow), against `one_process`: this process's train step on every core's thread."""
    config, cores = bench.config, os.cpu_count() or 1
    context = multiprocessing.get_context("spawn")
    start, rates = context.Barrier(cores), context.Queue()
    args = (REFERENCE_BACKBONE, config.train_size, config.train_batch, config.side_by_side_steps, start, rates)
    workers = [context.Process(target=_timed_train_steps, args=args) for _ in range(cores)]
    for worker in workers:
        worker.start()
    try:
        total = sum(rates.get(timeout=900) for _ in workers)
    finally:
        for worker in workers:
            worker.join(timeout=60)
            worker.terminate()
    name = f"{REFERENCE_BACKBONE} train step, {cores} single-threaded processes side by side (fold_workers)"
    bench.add(one_process.group, name, total, "images/s", one_process)


def input_pipeline(bench: Bench, work: Path) -> None:
    """tf.data (decode, resize, training order, batch) against a plain loop that reads and resizes each file with OpenCV."""
    import cv2

    from solution.data import sample
    from solution.training.pipeline import make_dataset
    from solution.training.profiles import load_profile

    config = bench.config
    data = work / "pipeline-sample"
    sample.generate(data, sample.SampleConfig(per_class=max(1, config.pipeline_images // 9), test=1, seed=5))
    paths = sorted(str(p) for p in (data / "train").rglob("*.jpg"))
    labels = [i % 9 for i in range(len(paths))]
    group = f"input pipeline, {len(paths)} files @ {config.train_size}px"

    def opencv_loop() -> None:
        for path in paths:
            cv2.resize(
                cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB), (config.train_size, config.train_size), interpolation=cv2.INTER_AREA
            )

    def tf_data() -> None:
        augment = load_profile("smoke").augment
        for _ in make_dataset(paths, labels, config.train_size, 32, training=True, augment=augment):
            pass

    runs = max(2, config.repeats // 5)
    loop = bench.add(group, "Python loop: cv2.imread + resize", len(paths) * 1000 / bench.median_ms(opencv_loop, runs), "images/s")
    bench.add(
        group,
        "tf.data: decode + resize + shuffle + batch (training order)",
        len(paths) * 1000 / bench.median_ms(tf_data, runs),
        "images/s",
        loop,
    )


def kaggle_scale_pipeline(bench: Bench, work: Path) -> None:
    """The competition's photo sizes (133 to 4,689 px, median about 370) at the kaggle profile's 224 px: tf.data
    decoding every JPEG in full (before) against make_dataset's DCT-scaled decoding of the large ones."""
    import tensorflow as tf
    from PIL import Image

    from solution.data import sample
    from solution.training.pipeline import decode_image, make_dataset, prepare_image

    config, size, batch = bench.config, bench.config.augment_size, 64
    data = work / "kaggle-scale"
    shape = sample.SampleConfig(per_class=max(1, config.kaggle_scale_images // 9), test=1, seed=6, min_size=133, max_size=4689)
    sample.generate(data, replace(shape, median_size=370, grayscale_share=0))
    paths = sorted(str(p) for p in (data / "train").rglob("*.jpg"))
    side_of = {p: min(Image.open(p).size) for p in paths}
    sides = sorted(side_of.values())
    group = f"input pipeline at Kaggle scale, {len(paths)} JPEGs of {sides[0]}-{sides[-1]} px (median {sides[len(sides) // 2]}) @ {size}px"
    autotune = tf.data.AUTOTUNE

    def full_decode() -> None:
        images = tf.data.Dataset.from_tensor_slices(paths).map(lambda p: prepare_image(decode_image(p), size), num_parallel_calls=autotune)
        for _ in images.batch(batch).prefetch(autotune):
            pass

    def scaled_decode() -> None:
        for _ in make_dataset(paths, None, size, batch):
            pass

    runs = max(2, config.repeats // 5)
    before = bench.add(group, "tf.data: full JPEG decode + resize", len(paths) * 1000 / bench.median_ms(full_decode, runs), "images/s")
    after = len(paths) * 1000 / bench.median_ms(scaled_decode, runs)
    bench.add(group, "tf.data: DCT-scaled JPEG decode + resize (make_dataset)", after, "images/s", before)
    largest = max(paths, key=side_of.get)
    large = tf.constant(largest if side_of[largest] >= 4 * size else str(_large_jpeg(work / "large.jpg", 4 * size)))
    prepare = tf.function(lambda path, scaled: prepare_image(decode_image(path, size if scaled else None), size), reduce_retracing=True)
    full_ms = bench.add(
        group, "one JPEG of 4x the side or more: full decode + resize", bench.median_ms(lambda: prepare(large, False)), "ms"
    )
    bench.add(
        group, "one JPEG of 4x the side or more: DCT-scaled decode + resize", bench.median_ms(lambda: prepare(large, True)), "ms", full_ms
    )


def _large_jpeg(path: Path, side: int) -> Path:
    """A synthetic face photo of `side` pixels, for when the generated set holds none that large."""
    import cv2

    from solution.data import sample

    face = np.asarray(
        sample.draw_face_image("happy", np.random.default_rng(1), sample.SampleConfig(min_size=side, max_size=side)).convert("RGB")
    )
    cv2.imwrite(str(path), cv2.cvtColor(face, cv2.COLOR_RGB2BGR))
    return path


def _keras_layers_augmenter(seed: int = 1):
    """The baseline: the augmentation the kaggle profile ran in tf.data before it moved to the accelerator
    (Keras preprocessing layers, RandAugment included); kept here only to be timed against."""
    import keras

    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(0.04, fill_mode="reflect", seed=seed + 1),
            keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed + 2),
            keras.layers.RandomTranslation(0.06, 0.06, fill_mode="reflect", seed=seed + 3),
            keras.layers.RandomContrast(0.2, value_range=(0, 255), seed=seed + 4),
            keras.layers.RandomBrightness(0.15, value_range=(0, 255), seed=seed + 5),
            keras.layers.RandAugment(value_range=(0, 255), seed=seed + 6),
        ]
    )


def augmentation(bench: Bench) -> None:
    """Augmented images/s of the kaggle profile's FaceAugment against the Keras-layers stack it replaced, same batches."""
    import tensorflow as tf

    from solution.training.augment import FaceAugment
    from solution.training.profiles import load_profile

    config = bench.config
    size = config.augment_size
    images = tf.constant(_images(config.throughput_batch, size))
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    group = f"augmentation, batch {len(images)} @ {size}px on the {device}"
    old_layers, new_layer = _keras_layers_augmenter(), FaceAugment(load_profile("kaggle").augment, seed=1)
    old = tf.function(lambda batch: old_layers(batch, training=True))
    new = tf.function(lambda batch: new_layer(batch, training=True))
    runs = max(3, config.repeats // 3)
    baseline = bench.add(
        group,
        "Keras layers + RandAugment (the usual Keras stack)",
        len(images) * 1000 / bench.median_ms(lambda: old(images).numpy(), runs),
        "images/s",
    )
    bench.add(
        group,
        "FaceAugment (kaggle profile: flip, rotation, scale, shift, colour, erasing)",
        len(images) * 1000 / bench.median_ms(lambda: new(images).numpy(), runs),
        "images/s",
        baseline,
    )


def demo_pipeline(bench: Bench, work: Path) -> None:
    """The demo on a real face: crop preparation, face detection (BlazeFace vs Haar, and photos per megapixel), the
    per-face path of each exported model, and the whole demo on 640x480 video with one face and with five."""
    import cv2

    from solution.standins.media import write_face_photo

    photo = cv2.imread(str(write_face_photo(work / "face.png")))
    side = REFERENCE_CROP_SIDE  # the astronaut's face with the demo's margin, as a webcam at arm's length frames it
    face = cv2.cvtColor(photo[30 : 30 + side, 130 : 130 + side], cv2.COLOR_BGR2RGB)
    group = f"demo, {REFERENCE_BACKBONE} @ {bench.config.face_size}px"
    _crop_resizes(bench, group, face, sorted({bench.config.face_size, fast_demo_size(bench.config)}))
    blazeface = _face_detection(bench)
    classifier = _per_face_paths(bench, group, work, face)
    _video(bench, group, work, classifier, blazeface)


def _crop_resizes(bench: Bench, group: str, face: np.ndarray, sizes: list[int]) -> None:
    from solution.inference.crops import prepare_crop

    for target in sizes:
        resizes = [lambda target=target: _antialiased_resize(face, target), lambda target=target: prepare_crop(face, target)]
        antialiased_ms, demo_ms = bench.medians_ms(resizes)
        crop = f"prepare a {face.shape[0]} px face crop for {target} px"
        antialiased = bench.add(group, f"{crop}: {ANTIALIASED_RESIZE}", antialiased_ms, "ms")
        bench.add(group, f"{crop}: {DEMO_RESIZE}", demo_ms, "ms", antialiased)


def _face_detection(bench: Bench):
    """Haar against BlazeFace on a five-face frame, then photos per megapixel; BlazeFace, for the video rows."""
    from solution.demo.faces import BlazeFaceDetector, HaarDetector
    from solution.standins.media import five_face_frame

    crowd = five_face_frame()
    haar, blazeface = HaarDetector(), BlazeFaceDetector()
    detection = "demo, face detection on a 640x480 frame with five faces"
    haar_ms, blazeface_ms = bench.medians_ms([lambda: haar.detect(crowd), lambda: blazeface.detect(crowd)])
    haar_found = bench.add(detection, f"Haar: {len(haar.detect(crowd))} of 5 faces found", haar_ms, "ms")
    bench.add(detection, f"BlazeFace: {len(blazeface.detect(crowd))} of 5 faces found", blazeface_ms, "ms", haar_found)
    photo_detection(bench)
    return blazeface


def _per_face_paths(bench: Bench, group: str, work: Path, face: np.ndarray):
    """A face crop resized and classified, batch 1: Keras, the float export, int8 (with and without XNNPACK) and the
    fast demo model, each as the demo runs it; then five faces in one call against five calls. Returns the float
    export's classifier."""
    import tensorflow as tf

    from solution.inference.classifier import Classifier, TfliteBackend
    from solution.models.backbones import build_model
    from solution.models.registry import get_spec
    from solution.training.pipeline import prepare_image

    config, size, fast_size = bench.config, bench.config.face_size, fast_demo_size(bench.config)
    model = build_model(get_spec(REFERENCE_BACKBONE), size, "none")
    (work / "model.tflite").write_bytes(bench.tflite(model))
    (work / "int8.tflite").write_bytes(bench.tflite(model, int8=True))
    (work / "fast.tflite").write_bytes(bench.tflite(build_model(get_spec(FAST_DEMO_BACKBONE), fast_size, "none")))
    classifier, quantised, quick = (
        _demo_classifier(work / name, config.per_face_repeats) for name in ("model.tflite", "int8.tflite", "fast.tflite")
    )
    forward = tf.function(lambda images: model(images, training=False))
    keras_ms = bench.median_ms(lambda: forward(prepare_image(face, size).numpy()[None].astype(np.float32)).numpy())
    lite_ms, int8_ms, fast_ms = bench.medians_ms(
        [lambda exported=exported: exported.predict([face]) for exported in (classifier, quantised, quick)], config.per_face_repeats
    )
    per_face = f"per face: {face.shape[0]} px crop resized + call"
    keras = bench.add(group, f"{per_face}, Keras tf.function (TensorFlow's resize)", keras_ms, "ms")
    lite = bench.add(group, f"{per_face}, {PER_FACE_EXPORT}", lite_ms, "ms", keras)
    int8 = bench.add(group, f"{per_face}, {PER_FACE_INT8}", int8_ms, "ms", lite)
    reference = Classifier(TfliteBackend(work / "int8.tflite", threads=quantised.backend.threads, xnnpack=False))
    without = bench.median_ms(lambda: reference.predict([face]))
    bench.add(group, f"{per_face}, int8 TFLite without XNNPACK (LiteRT's reference kernels)", without, "ms", int8)
    bench.add(group, f"{per_face}, {PER_FACE_FAST} {FAST_DEMO_BACKBONE} @ {fast_size}px (make distill)", fast_ms, "ms", lite)
    faces = [face] * 5
    one_by_one_ms, batched_ms = bench.medians_ms([lambda: [classifier.predict([f]) for f in faces], lambda: classifier.predict(faces)])
    one_by_one = bench.add(group, "classify five faces: one TFLite call per face", one_by_one_ms, "ms")
    bench.add(group, "classify five faces: one TFLite call for all (the demo)", batched_ms, "ms", one_by_one)
    return classifier


def _video(bench: Bench, group: str, work: Path, classifier, blazeface) -> None:
    """Frames per second on a one-face 640x480 video (Haar or BlazeFace on every frame, BlazeFace every few) and on
    the five-face frame; label flicker with and without hysteresis; camera.py's start-up."""
    import cv2

    from solution.demo.face_pipeline import DemoConfig, FacePipeline
    from solution.demo.faces import HaarDetector
    from solution.standins.media import five_face_frame, write_moving_face_video

    config, haar, crowd = bench.config, HaarDetector(), five_face_frame()
    video = write_moving_face_video(work / "one-face.mp4", config.video_frames)

    def frames_per_second(detect_every: int, detector=blazeface) -> float:
        rates = []
        for _ in range(config.video_repeats):
            pipeline = FacePipeline(classifier, detector, DemoConfig(detect_every=detect_every))
            capture = cv2.VideoCapture(str(video))
            started, frames = time.perf_counter(), 0
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                pipeline.annotate(frame, pipeline.process(frame))
                frames += 1
            rates.append(frames / (time.perf_counter() - started))
        return float(np.median(rates))

    haar_every = bench.add(group, "640x480 video, one face: Haar on every frame", frames_per_second(1, haar), "frames/s")
    every = bench.add(group, "640x480 video, one face: BlazeFace on every frame", frames_per_second(1), "frames/s", haar_every)
    default = DemoConfig().detect_every
    bench.add(group, f"640x480 video, one face: detect every {default} frames (default)", frames_per_second(default), "frames/s", every)
    pipeline = FacePipeline(classifier, blazeface, DemoConfig())
    bench.add(
        group,
        f"640x480 frame, five faces: detect every {default} frames (default)",
        1000 / bench.median_ms(lambda: pipeline.annotate(crowd.copy(), pipeline.process(crowd))),
        "frames/s",
        every,
    )
    streamed = FacePipeline(classifier, blazeface, DemoConfig())
    capture = cv2.VideoCapture(str(video))
    while (read := capture.read())[0]:
        streamed.process(read[1])
    rates = streamed.tracker.flicker.rates()
    flicker = "label flicker, one-face video: frame pairs whose label changed"
    bench.add(group, f"{flicker}, without hysteresis", 100 * rates["flicker_without_hysteresis"], "%")
    bench.add(group, f"{flicker}, with hysteresis (default)", 100 * rates["flicker"], "%")
    bench.add(group, "camera.py start-up: process start to the first annotated frame", _camera_start_up(video, work / "model.tflite"), "s")


def _demo_classifier(path: Path, repeats: int):
    """The exported model as the demo runs it: on the thread count export found faster (model.json's `threads`)."""
    from solution.inference.classifier import Classifier, TfliteBackend
    from solution.inference.export import per_face_ms

    return Classifier(TfliteBackend(path, threads=per_face_ms(path, repeats)[1]))


def _antialiased_resize(face: np.ndarray, size: int) -> np.ndarray:
    """The usual antialiased resize, the baseline of the demo's: Pillow's BILINEAR (a triangle as wide as the shrink)."""
    from PIL import Image

    return np.asarray(Image.fromarray(face).resize((size, size), Image.Resampling.BILINEAR))


def photo_detection(bench: Bench) -> None:
    """photo.py's detection per megapixel: a 24-megapixel photo, searched finely enough for its smallest faces,
    against a 2-megapixel one; five 137 px faces on each (a real portrait), in the corners and the centre."""
    from solution.demo.face_pipeline import PHOTO_DEFAULTS
    from solution.demo.faces import BlazeFaceDetector
    from solution.standins.media import portraits_on_canvas

    detector = BlazeFaceDetector(PHOTO_DEFAULTS.detect_width, PHOTO_DEFAULTS.smallest_face)
    group = f"demo, photo detection (BlazeFace, smallest face {PHOTO_DEFAULTS.smallest_face.pixels} px)"
    measured = []
    for height, width in ((1200, 1600), (4000, 6000)):
        canvas, _ = portraits_on_canvas(height, width, 137)
        megapixels = height * width / 1e6
        found = len(detector.detect(canvas))
        per_megapixel = bench.median_ms(lambda canvas=canvas: detector.detect(canvas)) / megapixels
        name = f"{width}x{height} photo ({megapixels:.1f} MP, {found} of 5 faces of 137 px found): per megapixel"
        measured.append(bench.add(group, name, per_megapixel, "ms/MP", measured[0] if measured else None))


def _camera_start_up(video: Path, model: Path) -> float:
    """What `demo/camera.py` reports as its start-up on one frame of `video` (its own process: imports included)."""
    import re
    import subprocess
    import sys

    script = PATHS.root / "demo" / "camera.py"
    arguments = ["--source", str(video), "--no-window", "--max-frames", "1", "--model", str(model)]
    done = subprocess.run([sys.executable, str(script), *arguments], capture_output=True, text=True, check=False)
    found = re.search(r"start-up ([\d.]+) s", done.stdout)
    if done.returncode or not found:
        raise UserError(f"{script}: no start-up line (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-200:]}")
    return float(found[1])


def ensemble_latency(bench: Bench, ensembles: Path) -> None:
    """The newest blend's runs re-timed here (decode, resize, every fold model; twice for a flip-TTA member), summed, against the budget."""
    from solution.artifacts.blend_folder import BlendReport, blend_reports
    from solution.artifacts.runs import RunFolder
    from solution.training.latency import measure_run

    reports = blend_reports(ensembles)
    if not reports:
        bench.log(f"bench: no blend under {ensembles}; skipping the ensemble latency (`make ensemble` first)")
        return
    report = BlendReport.read(reports[-1])
    budget = bench.add("ensemble", "competition budget per image", COMPETITION.max_latency_ms, "ms")
    passes: dict[str, int] = {}  # run folder -> passes over the image (2 when its flip-TTA member is used)
    for member in report.members:
        passes[member.path] = max(passes.get(member.path, 1), 2 if member.flip else 1)
    total = sum(count * measure_run(RunFolder(Path(path)), bench.config.repeats).total_ms for path, count in passes.items())
    bench.add("ensemble", f"blend {report.name} ({len(report.members)} member(s), every fold), batch 1", total, "ms", budget)


def in_words(results: list[Measurement], info: dict) -> list[str]:
    """The demo's figures as the sentences README and docs/demo.md point to, from this run's rows only."""
    found = {m.name: m for m in results}

    def row(prefix: str) -> Measurement | None:
        return next((m for name, m in found.items() if name.startswith(prefix)), None)

    said = []
    per_face = f"per face: {REFERENCE_CROP_SIDE} px crop resized + call"
    fast, export, int8 = (row(f"{per_face}, {name}") for name in (PER_FACE_FAST, PER_FACE_EXPORT, PER_FACE_INT8))
    if fast and export and fast.ratio:
        said.append(
            f"Per face (a {REFERENCE_CROP_SIDE} px crop resized, then the call), the fast demo model took {fast.value:.2f} ms: "
            f"{fast.ratio:.1f}x faster than the {REFERENCE_BACKBONE} export's {export.value:.2f} ms."
        )
    if int8 and export and int8.ratio:
        instructions = ", ".join(info["int8_dot_product"]) or "none"
        said.append(
            f"int8 took {int8.value:.2f} ms per face against float32's {export.value:.2f} ms ({int8.ratio:.2f}x) on this CPU "
            f"(int8 dot-product instructions: {instructions})."
        )
    for resize in (m for m in results if m.name.endswith(DEMO_RESIZE) and m.ratio):
        said.append(
            f"{resize.name.split(':')[0].capitalize()} as training does (its pixels, in OpenCV): {resize.value:.3f} ms, "
            f"{resize.ratio:.1f}x faster than an antialiased resize (Pillow)."
        )
    largest = next((m for m in reversed(results) if m.unit == "ms/MP"), None)
    if largest:
        said.append(f"Photo detection: {largest.value:.1f} ms per megapixel on a {largest.name.split(' photo')[0]} photo.")
    start_up = row("camera.py start-up")
    if start_up:
        said.append(f"camera.py's start-up, process start to the first annotated frame: {start_up.value:.1f} s.")
    return said


def markdown(info: dict, config: BenchConfig, results: list[Measurement], command: str, seconds: float, stamp: str) -> str:
    rows = markdown_table(
        ["group", "measurement", "value", "baseline", "x baseline"],
        [
            [m.group, m.name, f"{m.value:.2f} {m.unit}", m.baseline or "-", f"{m.ratio:.2f}x" if m.ratio is not None else "-"]
            for m in results
        ],
    )
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    said = "\n".join(f"- {sentence}" for sentence in in_words(results, info)) or "- (no demo rows in this run)"
    return f"""# Benchmarks

`{command}`, {stamp}.

## The demo, in words

{said}

## Every measurement

- Machine: {info["cpu"]}, {info["cores"]} cores, {info["memory_gib"]} GiB; GPUs: {", ".join(info["gpus"]) or "none"}; {info["platform"]}
- int8 dot-product instructions: {", ".join(info["int8_dot_product"]) or "none (int8 models are smaller here, not faster)"}
- Libraries: {versions}
- `{command}` took {seconds:.0f} s. Each figure is the median of {config.repeats} runs after {config.warmup} warm-up runs
  (the input pipeline and the video: fewer, each over the whole set; the per-face paths of the three exports:
  {config.per_face_repeats}).
- "x baseline": speed relative to the baseline measured in the same run (above 1: faster). These machines are shared
  and noisy; compare the ratios, not the raw figures.

{rows}"""


def _guarded(bench: Bench, name: str, measure: Callable[[], Measurement | None]) -> Measurement | None:
    """One backbone's failure is logged and skipped; the rest of the run (and its files) still comes."""
    try:
        return measure()
    except Exception as error:  # any TensorFlow or converter error: report it, keep measuring
        bench.log(f"bench: {name}: skipped ({type(error).__name__}: {str(error).strip().splitlines()[0][:160]})")
        return None


def run(config: BenchConfig, out: Path, command: str, ensembles: Path | None = None, log: Callable[[str], None] = print) -> dict:
    """Measure everything `config` asks for; write out/bench.json and out/bench.md; return the JSON content."""
    from solution.models.registry import REGISTRY

    started = time.perf_counter()
    bench = Bench(config, log)
    info = machine()
    names = list(config.backbones) or [name for name in REGISTRY if name not in OFFLINE_UNAVAILABLE]
    names = [REFERENCE_BACKBONE] + [n for n in names if n != REFERENCE_BACKBONE]
    for name in names:
        _guarded(bench, name, lambda name=name: inference(bench, name))
    reference = None
    for name in names:
        measured = _guarded(bench, name, lambda name=name, reference=reference: training(bench, name, reference))
        reference = reference or measured
    if reference and reference.name.startswith(REFERENCE_BACKBONE):
        _guarded(bench, "side-by-side training", lambda: side_by_side_training(bench, reference))
    augmentation(bench)
    with tempfile.TemporaryDirectory() as scratch:
        input_pipeline(bench, Path(scratch))
        kaggle_scale_pipeline(bench, Path(scratch))
        demo_pipeline(bench, Path(scratch))
    ensemble_latency(bench, ensembles or PATHS.ensembles)
    seconds = time.perf_counter() - started
    content = {
        "machine": info,
        "config": asdict(config),
        "command": command,
        "seconds": seconds,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": provenance.commit(),
        "schema_version": BENCH_SCHEMA,
        "results": [asdict(m) for m in bench.results],
    }
    atomic.write_json(out / BENCH_JSON, content)
    atomic.write_text(out / BENCH_MD, markdown(info, config, bench.results, command, seconds, provenance.stamp()))
    return content
