"""The cases `make sweep` runs, by kind: hostile archives and models, code in configured values, paths leaving the
data folder, interrupts then resume, two processes on one folder, full, read-only and misplaced outputs, and broken
run files and inputs. Each acts as a user would, through the real commands, and returns what only it can see."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import stat
import subprocess
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from solution.core.errors import UserError
from tools.sweep import PROCESS_TIMEOUT_S, Case, Finished, Workspace, refused

DATA = "inputs/sample"
RUN = "runs/mobilenet_v2"
TINY = ("--set", "image_size=32", "--set", "epochs=2", "--set", "warmup_epochs=0", "--set", "latency_repeats=2", "--set", "fold_workers=1")
TRAIN_NEW = ("train", "--data", DATA, "--backbone", "mobilenet_v2", "--runs", "runs-new")  # a run folder of its own
TIMINGS = ".sweep-timings.json"  # each interrupted command's uninterrupted seconds, measured as the template is built
TEMPLATE_STEPS = {
    "sample": ("sample", "--out", DATA, "--per-class", "6", "--test", "9", "--seed", "1"),
    "folds": ("folds", "--data", DATA, "--k", "3"),
    "train": ("train", "--data", DATA, "--backbone", "mobilenet_v2", *TINY),
    "ensemble": ("ensemble", "--name", "base"),
    "submission": ("submission", "--ensemble", "base"),
    "export": ("export",),
    "distill": ("distill", "--blend", "base", "--data", DATA, "--backbone", "mobilenet_v2", "--runs", "students", *TINY),
}


def build_template(clone: Path) -> None:
    """The small trained kit every case starts from; each step's seconds are kept to time the interrupts."""
    workspace = Workspace(clone, clone.parent / "outside", clone.parent / "CANARY", clone.parent / "home")
    workspace.home.mkdir(exist_ok=True)
    seconds = {}
    for step, args in TEMPLATE_STEPS.items():
        done = workspace.cli(*args)
        if done.returncode != 0:
            raise UserError(f"sweep: building the template, `python -m solution {' '.join(args)}` failed: {done.said}")
        seconds[step] = done.seconds
    _remove_flip_files(workspace)
    seconds["tta"] = workspace.cli("tta").seconds
    shutil.rmtree(clone / "students")  # distill was timed; its cases train their own students
    (clone / TIMINGS).write_text(json.dumps(seconds))


def _worked(done: Finished, what: str) -> str | None:
    return None if done.returncode == 0 else f"{what} failed (exit {done.returncode}): {done.said[:120]}"


def _first(*problems: str | None) -> str | None:
    return next((problem for problem in problems if problem), None)


def _face(workspace: Workspace) -> str:
    from solution.standins.media import write_face_photo

    return str(write_face_photo(workspace.root / "inputs" / "faces" / "astronaut.jpg").relative_to(workspace.root))


def _remove_flip_files(workspace: Workspace) -> None:
    for path in (workspace.root / RUN).rglob("*_flip.csv"):
        path.unlink()


# ---- hostile archives: `download --images ARCHIVE` into a target that already holds the competition's CSVs


ARCHIVE = "inputs/images.zip"
TARGET = "inputs/competition"


def _user_folders(workspace: Workspace) -> None:
    """The target holds the competition's CSVs; the user's own train/ and test_kaggle/ folders lie beside it and
    outside the clone: an archive must bring its own images and touch neither."""
    target = workspace.root / TARGET
    target.mkdir(parents=True)
    for own in ("train.csv", "sample_submission.csv"):
        shutil.copy(workspace.root / DATA / own, target / own)
    for folder in ("train", "test_kaggle"):
        for base in (workspace.root / "inputs", workspace.outside):
            (base / folder / "anger").mkdir(parents=True, exist_ok=True)
            (base / folder / "anger" / "mine.jpg").write_bytes(b"the user's own picture")


def _archive_case(name: str, entries: Callable[[Workspace], dict[str, bytes]], link: str | None = None) -> Case:
    def setup(workspace: Workspace) -> None:
        _user_folders(workspace)
        with zipfile.ZipFile(workspace.root / ARCHIVE, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for entry, content in entries(workspace).items():
                bundle.writestr(entry, content)
            if link:
                info = zipfile.ZipInfo(link)
                info.external_attr = 0o120777 << 16
                bundle.writestr(info, str(workspace.outside))

    return Case("hostile archive", name, _download_archive, setup=setup)


def _download_archive(workspace: Workspace) -> str | None:
    return refused(workspace.cli("download", "--images", ARCHIVE, "--out", TARGET), "images.zip")


PICTURE = b"\xff\xd8\xff\xe0 a JPEG's first bytes: the archive is refused before any picture is read"


ARCHIVES = [
    _archive_case("entries leading out with ../../", lambda w: {"../../train/anger/a.jpg": PICTURE, "../../test_kaggle/b.jpg": PICTURE}),
    _archive_case("absolute entries", lambda w: {f"{w.outside}/train/anger/a.jpg": PICTURE, f"{w.outside}/test_kaggle/b.jpg": PICTURE}),
    _archive_case("a symbolic-link entry", lambda w: {"train/anger/a.jpg": PICTURE, "test_kaggle/b.jpg": PICTURE}, link="train/escape"),
    _archive_case("a bomb: 200 MB from 200 KB", lambda w: {"train/anger/a.jpg": bytes(200_000_000), "test_kaggle/b.jpg": PICTURE}),
    _archive_case("no train/ or test_kaggle/ inside", lambda w: {"photos/a.jpg": PICTURE}),
]


def _damaged_zip(workspace: Workspace) -> None:
    _user_folders(workspace)
    (workspace.root / ARCHIVE).write_bytes(b"PK\x03\x04 cut short")


ARCHIVES.append(Case("hostile archive", "a damaged zip", _download_archive, setup=_damaged_zip))


# ---- hostile models: files from Kaggle kernel outputs and other people


def _lambda_model(path: Path, canary: Path) -> Path:
    """A classifier-shaped .keras file whose Lambda layer writes `canary` whenever the model is built or called."""
    import keras

    inputs = keras.Input((32, 32, 3))
    features = keras.layers.GlobalAveragePooling2D()(inputs)
    writes = eval(f"lambda x: (open({str(canary)!r}, 'w').close(), x)[1]")  # the canary's path a literal in its bytecode
    outputs = keras.layers.Dense(9, activation="softmax")(keras.layers.Lambda(writes)(features))
    keras.Model(inputs, outputs).save(path)
    canary.unlink(missing_ok=True)
    return path


def _lambda_to_photo(workspace: Workspace) -> str | None:
    model = _lambda_model(workspace.root / "inputs" / "evil.keras", workspace.canary)
    return refused(workspace.script("photo.py", _face(workspace), "--model", str(model), "--detector", "haar"), "evil.keras")


def _lambda_to_export(workspace: Workspace) -> str | None:
    run = workspace.root / "runs" / "evil"
    shutil.copytree(workspace.root / RUN, run)
    for model in run.glob("fold_*/model.keras"):
        _lambda_model(model, workspace.canary)
    return refused(workspace.cli("export", "--run", str(run), "--out", "inputs/exported"), "model.keras")


def _unknown_layer(workspace: Workspace) -> str | None:
    model = workspace.root / "inputs" / "unknown.keras"
    with zipfile.ZipFile(workspace.root / RUN / "fold_0" / "model.keras") as source, zipfile.ZipFile(model, "w") as target:
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "config.json":
                content = content.replace(b'"class_name": "Dense"', b'"class_name": "NotAKerasLayer"')
            target.writestr(item, content)
    return refused(workspace.script("photo.py", _face(workspace), "--model", str(model), "--detector", "haar"), "unknown.keras")


def _garbage_tflite(workspace: Workspace) -> str | None:
    model = workspace.root / "inputs" / "model.tflite"
    model.write_bytes(b"TFL3 not a model at all")
    return refused(workspace.script("photo.py", _face(workspace), "--model", str(model)), "model.tflite")


MODELS = [
    Case("hostile model", "a Lambda layer given to photo.py", _lambda_to_photo),
    Case("hostile model", "Lambda layers in a run given to export", _lambda_to_export),
    Case("hostile model", "an unknown layer class", _unknown_layer),
    Case("hostile model", "a damaged .tflite", _garbage_tflite),
]


# ---- code in configured values: each would write the canary if run


def _kernels_yaml_case(name: str, key: str, value: Callable[[Workspace], str]) -> Case:
    def setup(workspace: Workspace) -> None:
        config = workspace.root / "kernels" / "kernels.yaml"
        rows = config.read_text().splitlines()
        config.write_text("\n".join(f"{key}: {value(workspace)}" if row.startswith(f"{key}:") else row for row in rows) + "\n")

    def act(workspace: Workspace) -> str | None:
        return refused(workspace.cli("kernels", "--username", "someone", "--images", "someone/images"), key)

    return Case("code in configured values", name, act, setup=setup)


def _canary_command(workspace: Workspace) -> str:
    return f"touch {workspace.canary}"


def _make_case(name: str, target: str, variable: str, value: Callable[[Workspace], str]) -> Case:
    def act(workspace: Workspace) -> str | None:
        workspace.make(target, f"{variable}={value(workspace)}")
        return None  # judged by the canary and the files: a refusal or a literal name are both fine

    return Case("code in configured values", name, act)


def _username(workspace: Workspace) -> str | None:
    return refused(workspace.cli("kernels", "--username", '../../evil"x', "--images", "someone/images"), "user name")


def _set_code(workspace: Workspace) -> str | None:
    code = f"__import__('os').system('{_canary_command(workspace)}')"
    return refused(workspace.cli(*TRAIN_NEW, "--set", f"epochs={code}"), "epochs")


def _python_tag_recipe(workspace: Workspace) -> str | None:
    recipe = workspace.root / "ensembles" / "evil.yaml"
    recipe.write_text(f'!!python/object/apply:os.system ["{_canary_command(workspace)}"]\n')
    return refused(workspace.cli("ensemble", "--recipe", str(recipe)), "evil.yaml")


CONFIGURED = [
    _kernels_yaml_case(
        "kernels.yaml slug_prefix with triple quotes and code",
        "slug_prefix",
        lambda w: json.dumps(f'e"""; import os; os.system("{_canary_command(w)}"); """'),  # a YAML string, quotes escaped
    ),
    Case("code in configured values", "a user name with ../ and a quote", _username),
    _make_case("make DATA='$(touch CANARY)'", "eda", "DATA", lambda w: f"$({_canary_command(w)})"),
    _make_case("make DATA='$$(touch CANARY)' (the shell's $( after make)", "eda", "DATA", lambda w: f"$$({_canary_command(w)})"),
    _make_case("make DATA with backticks", "folds", "DATA", lambda w: f"`{_canary_command(w)}`"),
    _make_case("make NAME with a double quote", "submission", "NAME", lambda w: f'x"; {_canary_command(w)}; echo "'),
    _make_case("make NAME with a single quote", "ensemble", "NAME", lambda w: f"x'; {_canary_command(w)}; echo '"),
    Case("code in configured values", "--set epochs=<python code>", _set_code),
    Case("code in configured values", "a blend recipe with a !!python tag", _python_tag_recipe),
]


# ---- paths leaving the data folder


def _private_picture(workspace: Workspace) -> None:
    picture = workspace.outside / "private" / "me.jpg"
    picture.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(next((workspace.root / DATA / "train").rglob("*.jpg")), picture)


FOLDS_WRITE = (f"{DATA}/folds.csv", f"{DATA}/cache/*")  # what `folds` may rewrite in the data folder


def _folds_refused(workspace: Workspace) -> str | None:
    return refused(workspace.cli("folds", "--data", DATA, "--k", "3"), "train.csv")


def _train_csv_case(name: str, path: Callable[[Workspace], str]) -> Case:
    def setup(workspace: Workspace) -> None:
        _private_picture(workspace)
        table = workspace.root / DATA / "train.csv"
        frame = pd.read_csv(table)
        frame.loc[0, "image_path"] = path(workspace)
        frame.to_csv(table, index=False)

    return Case("paths leaving the data folder", name, _folds_refused, may_change=FOLDS_WRITE, setup=setup)


PATHS_OUT = [
    _train_csv_case("an absolute image_path", lambda w: str(w.outside / "private" / "me.jpg")),
    _train_csv_case("an image_path leading out with ../", lambda w: "../../../outside/private/me.jpg"),
]


# ---- interrupts at several points, then the same command again: it must finish, keeping what was finished


def _timing(workspace: Workspace, step: str) -> float:
    return json.loads((workspace.root / TIMINGS).read_text())[step]


def _done_folds(run: Path) -> dict[str, bytes]:
    return {str(path): path.read_bytes() for path in run.glob("fold_*/oof.csv") if (path.parent / "done.json").exists()}


@dataclasses.dataclass(frozen=True)
class Interrupted:
    """A command to interrupt, what must hold once it ran again, and what it may rewrite."""

    step: str  # its uninterrupted seconds in TIMINGS
    args: tuple[str, ...]
    check: Callable[[Workspace], str | None]
    run_folder: str | None = None  # a k-fold run: its finished folds must survive the interrupt and the resume untouched
    may_change: tuple[str, ...] = ()
    setup: Callable[[Workspace], None] | None = None


def _interrupt_case(command: Interrupted, signal_number: int, share: float) -> Case:
    def act(workspace: Workspace) -> str | None:
        after_s = _timing(workspace, command.step) * share
        workspace.interrupt("solution", *command.args, signal_number=signal_number, after_s=after_s)
        running = workspace.left_running()
        kept = _done_folds(workspace.root / command.run_folder) if command.run_folder else {}
        resumed = workspace.cli(*command.args)
        retrained = [path for path, content in kept.items() if not Path(path).exists() or Path(path).read_bytes() != content]
        return _first(
            f"{len(running)} process(es) kept running after the {signal.Signals(signal_number).name}" if running else None,
            _worked(resumed, "the command run again"),
            f"finished folds were trained again: {retrained[:2]}" if retrained else None,
            command.check(workspace),
        )

    name = f"{command.step}: {signal.Signals(signal_number).name} at {share:.0%} of its time, then again"
    return Case("interrupts", name, act, may_change=command.may_change, setup=command.setup)


def _run_complete(folder: str) -> Callable[[Workspace], str | None]:
    def check(workspace: Workspace) -> str | None:
        meta = workspace.root / folder / "meta.json"
        return None if meta.exists() and json.loads(meta.read_text()).get("complete") is True else f"{folder} is not complete"

    return check


def _blend_whole(workspace: Workspace) -> str | None:
    return _worked(workspace.cli("submission", "--ensemble", "base", "--out", "inputs/check.csv"), "a submission from the blend")


def _model_whole(workspace: Workspace) -> str | None:
    return _worked(workspace.script("photo.py", _face(workspace), "--out", "inputs/out"), "photo.py on the exported model")


def _submission_whole(workspace: Workspace) -> str | None:
    return _worked(workspace.cli("validate", "submissions/base.csv", "--data", DATA), "validating the submission")


NEW_RUN = "runs-new/mobilenet_v2"
TRAIN_AGAIN = (*TRAIN_NEW, *TINY, "--set", "backup_every_epochs=1")
TRAIN = Interrupted("train", TRAIN_AGAIN, _run_complete(NEW_RUN), NEW_RUN)
TRAIN_IN_WORKERS = Interrupted("train", (*TRAIN_AGAIN, "--set", "fold_workers=2"), _run_complete(NEW_RUN), NEW_RUN)
STUDENT = "students/mobilenet_v2-student"
DISTILL = Interrupted("distill", TEMPLATE_STEPS["distill"], _run_complete(STUDENT), STUDENT)
TTA = Interrupted("tta", ("tta",), _run_complete(RUN), may_change=(f"{RUN}/*",), setup=_remove_flip_files)
ENSEMBLE = Interrupted("ensemble", TEMPLATE_STEPS["ensemble"], _blend_whole, may_change=("ensembles/*",))
EXPORT = Interrupted("export", TEMPLATE_STEPS["export"], _model_whole, may_change=("demo/model/*",))
SUBMISSION = Interrupted("submission", TEMPLATE_STEPS["submission"], _submission_whole, may_change=("submissions/*",))
ONE_EACH = ((signal.SIGINT, 0.5), (signal.SIGTERM, 0.7), (signal.SIGKILL, 0.85))
INTERRUPTS = [
    _interrupt_case(TRAIN, signal.SIGINT, 0.15),  # start-up
    _interrupt_case(TRAIN, signal.SIGINT, 0.6),
    _interrupt_case(TRAIN_IN_WORKERS, signal.SIGTERM, 0.4),
    _interrupt_case(TRAIN_IN_WORKERS, signal.SIGKILL, 0.45),
    _interrupt_case(TRAIN, signal.SIGKILL, 0.8),
    *(_interrupt_case(command, number, share) for command in (TTA, DISTILL, ENSEMBLE, EXPORT, SUBMISSION) for number, share in ONE_EACH),
]


# ---- two processes on one folder at once


def _twice_case(name: str, args: tuple[str, ...], check, may_change: tuple[str, ...]) -> Case:
    def act(workspace: Workspace) -> str | None:
        processes = [workspace.start("solution", *args), workspace.start("solution", *args)]
        ends = [workspace.finish(process) for process in processes]
        failed = [number for number, done in enumerate(ends) if done.returncode != 0]
        if len(failed) == 2:
            return f"both failed: {ends[0].said[:80]} / {ends[1].said[:80]}"
        if failed and str(processes[1 - failed[0]].pid) not in ends[failed[0]].output:
            return f"one was refused without naming the other's PID: {ends[failed[0]].said[:120]}"
        return check(workspace)

    return Case("two processes on one folder", name, act, may_change=may_change)


TWICE = [
    _twice_case("train into one run folder", TRAIN_AGAIN, _run_complete(NEW_RUN), ()),
    _twice_case("ensemble of one name", TEMPLATE_STEPS["ensemble"], _blend_whole, ("ensembles/*",)),
    _twice_case("export to one folder", TEMPLATE_STEPS["export"], _model_whole, ("demo/model/*",)),
]


# ---- outputs the disk refuses: full, read-only, or a file where a folder belongs


def _mount(workspace: Workspace, how: str) -> Path:
    point = workspace.root / "inputs" / how
    point.mkdir(parents=True)
    options = {"full": "size=8k", "read-only": "ro,size=1m"}[how]
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], check=True, capture_output=True)
    if how == "full":
        with open(point / "filler", "wb") as filler, contextlib.suppress(OSError):  # what space is left, taken
            filler.write(bytes(1 << 20))
    return point


OUTPUT_COMMANDS: dict[str, Callable[[Workspace, str], tuple[str, ...]]] = {
    "ensemble": lambda w, out: ("solution", "ensemble", "--name", "other", "--out", f"{out}/ensembles"),
    "submission": lambda w, out: ("solution", "submission", "--ensemble", "base", "--out", f"{out}/base.csv"),
    "export": lambda w, out: ("solution", "export", "--out", f"{out}/model"),
    "sample": lambda w, out: ("solution", "sample", "--out", f"{out}/sample", "--per-class", "2", "--test", "2"),
    "train": lambda w, out: ("solution", "train", "--data", DATA, "--backbone", "mobilenet_v2", "--runs", f"{out}/runs", *TINY),
    "folds (its cache)": lambda w, out: ("solution", "folds", "--data", DATA, "--k", "3", "--cache", f"{out}/cache"),
    "download": lambda w, out: ("solution", "download", "--images", DATA, "--out", f"{out}/competition"),
    "video.py": lambda w, out: ("demo", "video.py", _video(w), "--out", f"{out}/clip.mp4", "--no-progress"),
    "photo.py": lambda w, out: ("demo", "photo.py", _face(w), "--out", f"{out}/annotated"),
}


def _video(workspace: Workspace) -> str:
    from solution.standins.media import write_moving_face_video

    path = workspace.root / "inputs" / "faces" / "clip.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(write_moving_face_video(path, 12).relative_to(workspace.root))


# What each refusal must advise (solution/core/errors.py): never "free some space" for a disk that is read-only.
ADVICE = {"full": "free some space", "read-only": "read-only", "a file where a folder belongs": "a file stands where a folder"}


def _output_case(how: str, label: str) -> Case:
    def act(workspace: Workspace) -> str | None:
        if how == "a file where a folder belongs":
            out = workspace.root / "inputs" / "a-file"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text("a file, not a folder")
        else:
            out = _mount(workspace, how)
        named = str(out.relative_to(workspace.root))
        kind, *args = OUTPUT_COMMANDS[label](workspace, named)
        done = workspace.run(kind, *args)
        advised = ADVICE[how] in done.output or label == "download"  # download asks Kaggle first, without credentials here
        return refused(done, "" if label == "download" else named) or (
            None if advised else f"not advised '{ADVICE[how]}': {done.said[:120]}"
        )

    return Case(f"outputs: {how}", label, act, needs_root=how != "a file where a folder belongs")


OUTPUTS = [_output_case(how, label) for how in ("full", "read-only", "a file where a folder belongs") for label in OUTPUT_COMMANDS]


# ---- broken run files and inputs


def _broken_meta(field: str, value) -> Case:
    def act(workspace: Workspace) -> str | None:
        run = workspace.root / "runs" / "broken"
        shutil.copytree(workspace.root / RUN, run)
        meta = json.loads((run / "meta.json").read_text())
        meta[field] = value
        (run / "meta.json").write_text(json.dumps(meta))
        return refused(workspace.cli("ensemble", "--name", "other"), "meta.json")

    return Case("broken run files", f"meta.json {field}: {json.dumps(value)}", act)


def _broken_predictions(name: str, change: Callable[[pd.DataFrame], pd.DataFrame], file: str = "oof.csv", must_refuse: bool = True) -> Case:
    def act(workspace: Workspace) -> str | None:
        run = workspace.root / "runs" / "broken"
        shutil.copytree(workspace.root / RUN, run)
        table = run / file
        change(pd.read_csv(table)).to_csv(table, index=False)
        for flip in run.rglob("*_flip.csv"):
            flip.unlink()
        done = workspace.cli("ensemble", "--name", "other", "--no-tta")
        return refused(done, file) if must_refuse else _worked(done, "blending a test.csv only reordered")

    return Case("broken run files", name, act)


def _numbers(frame: pd.DataFrame) -> list[str]:
    return [column for column in frame.columns if frame[column].dtype.kind == "f"]


def _nan(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[0, _numbers(frame)[0]] = np.nan
    return frame


def _negative(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[0, _numbers(frame)[0]] = -0.5
    return frame


def _sums_to_five(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[0, _numbers(frame)] = 5.0 / len(_numbers(frame))
    return frame


def _input_case(name: str, act: Callable[[Workspace], str | None], setup: Callable[[Workspace], None] | None = None) -> Case:
    return Case("broken inputs", name, act, may_change=FOLDS_WRITE, setup=setup)


def _no_test_images(workspace: Workspace) -> None:
    shutil.rmtree(workspace.root / DATA / "test_kaggle")


def _mid_fold_resume(workspace: Workspace) -> str | None:
    """Ctrl+C once a fold has written its first backup and before it is done, however loaded the machine: the same
    command again resumes that fold from the backup and finishes the run."""
    args = (*TRAIN_NEW, *TINY, "--set", "epochs=4", "--set", "backup_every_epochs=1")
    process = workspace.start("solution", *args)
    run = workspace.root / NEW_RUN
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    backed_up = []
    while process.poll() is None and time.monotonic() < deadline and not backed_up:
        backed_up = [b for b in run.glob("fold_*/backup_full/*.weights.h5") if not (b.parents[1] / "done.json").exists()]
        time.sleep(0.05)
    if backed_up:
        os.killpg(process.pid, signal.SIGINT)
    first = workspace.finish(process)
    if not backed_up:
        return f"no fold was caught between its first backup and its end (exit {first.returncode})"
    resumed = workspace.cli(*args)
    return _first(_worked(resumed, "the command run again"), _run_complete(NEW_RUN)(workspace))


def _typed_file_case(
    name: str, file: str, change: Callable[[Path], None], args: tuple[str, ...], naming: str, kind: str = "solution"
) -> Case:
    """A run file edited by hand or damaged: the command that reads it refuses it in one line naming it."""

    def setup(workspace: Workspace) -> None:
        change(workspace.root / file)

    return Case("typed run files", name, lambda w: refused(w.run(kind, *args), naming), may_change=FOLDS_WRITE, setup=setup)


def _set_json(field: str, value) -> Callable[[Path], None]:
    def change(path: Path) -> None:
        content = json.loads(path.read_text())
        content[field] = value
        path.write_text(json.dumps(content))

    return change


def _fold_x(path: Path) -> None:
    table = pd.read_csv(path)
    table["fold"] = table["fold"].astype(object)
    table.loc[0, "fold"] = "x"
    table.to_csv(path, index=False)


TRAIN_AGAIN_HERE = ("train", "--data", DATA, "--backbone", "mobilenet_v2", *TINY)
TYPED = [
    _typed_file_case(
        'done.json val_accuracy: "high"', f"{RUN}/fold_1/done.json", _set_json("val_accuracy", "high"), TRAIN_AGAIN_HERE, "done.json"
    ),
    _typed_file_case(
        "run_config.json as a list", f"{RUN}/run_config.json", lambda p: p.write_text("[]"), TRAIN_AGAIN_HERE, "run_config.json"
    ),
    _typed_file_case("folds.csv fold: x", f"{DATA}/folds.csv", _fold_x, (*TRAIN_NEW, *TINY, "--folds", "0"), "folds.csv"),
    _typed_file_case(
        'model.json image_size: "big"',
        "demo/model/model.json",
        _set_json("image_size", "big"),
        ("photo.py", "inputs/none.jpg"),
        "model.json",
        "demo",
    ),
]


def _names_case(name: str, args: Callable[[Workspace], tuple[str, ...]]) -> Case:
    """A name that is a path, from an option or a shared recipe: refused in one line; nothing deleted or written."""
    return Case("names that are paths", name, lambda w: refused(w.cli(*args(w)), "is not a name"))


def _recipe_named(workspace: Workspace, name: str) -> str:
    recipe = workspace.root / "inputs" / "shared.yaml"
    content = yaml.safe_load((workspace.root / "ensembles" / "base.yaml").read_text())
    recipe.parent.mkdir(parents=True, exist_ok=True)
    recipe.write_text(yaml.safe_dump({**content, "name": name}))
    return str(recipe.relative_to(workspace.root))


NAMES = [
    _names_case("a shared recipe named ../runs", lambda w: ("ensemble", "--recipe", _recipe_named(w, "../runs"))),
    _names_case("a shared recipe named with an absolute path", lambda w: ("ensemble", "--recipe", _recipe_named(w, str(w.outside)))),
    _names_case("ensemble --name ../runs", lambda w: ("ensemble", "--name", "../runs")),
    _names_case("ensemble --name with an absolute path", lambda w: ("ensemble", "--name", str(w.outside / "blend"))),
    _names_case("submission --ensemble ../runs/mobilenet_v2", lambda w: ("submission", "--ensemble", "../runs/mobilenet_v2")),
    _names_case("distill --blend ../runs", lambda w: ("distill", "--blend", "../runs", "--data", DATA, "--backbone", "mobilenet_v2")),
    _names_case("ensemble --name .hidden", lambda w: ("ensemble", "--name", ".hidden")),
]


def _train_refused_before_training(workspace: Workspace) -> str | None:
    done = workspace.cli(*TRAIN_NEW, *TINY)
    trained = list((workspace.root / "runs-new").rglob("done.json"))
    return refused(done, "test_kaggle") or (f"{len(trained)} fold(s) trained before the refusal" if trained else None)


def _add_huge_image(workspace: Workspace) -> None:
    from PIL import Image

    folder = next(path for path in (workspace.root / DATA / "train").iterdir() if path.is_dir())
    Image.new("L", (15_000, 15_000)).save(folder / "huge.png", optimize=True)
    rows = pd.read_csv(workspace.root / DATA / "train.csv")
    rows = pd.concat([rows, pd.DataFrame({"image_path": [f"{folder.name}/huge.png"], "emotion": [folder.name]})])
    rows.to_csv(workspace.root / DATA / "train.csv", index=False)


def _folds_name_the_huge_image(workspace: Workspace) -> str | None:
    done = workspace.cli("folds", "--data", DATA, "--k", "3")
    return _worked(done, "folds with one huge image") or (None if "huge.png" in done.output else "the huge image was not named")


def _strip_photo(workspace: Workspace) -> str | None:
    import cv2

    strip = workspace.root / "inputs" / "strip.png"
    cv2.imwrite(str(strip), np.full((1, 70_000, 3), 128, np.uint8))
    return _worked(workspace.script("photo.py", str(strip), "--out", "inputs/out"), "photo.py on a 1 x 70,000 strip")


def _bad_photos(workspace: Workspace) -> str | None:
    from PIL import Image

    folder = workspace.root / "inputs" / "bad-photos"
    folder.mkdir(parents=True)
    (folder / "empty.jpg").write_bytes(b"")
    face = workspace.root / _face(workspace)
    (folder / "cut.jpg").write_bytes(face.read_bytes()[:3000])
    Image.open(face).convert("CMYK").save(folder / "cmyk.jpg")
    Image.open(face).convert("L").save(folder / "gray.jpg")
    Image.open(face).convert("RGBA").save(folder / "rgba.png")
    done = workspace.script("photo.py", str(folder), "--out", "inputs/out")
    annotated = len(list((workspace.root / "inputs" / "out").glob("*")))
    missing = None if annotated == 3 else f"{annotated} of the 3 readable photos annotated"
    return _first(_worked(done, "photo.py on a folder with bad files"), missing)


def _duplicate_train_rows(workspace: Workspace) -> None:
    table = workspace.root / DATA / "train.csv"
    rows = pd.read_csv(table)
    pd.concat([rows, rows.head(5)]).to_csv(table, index=False)


def _folds_count_each_file_once(workspace: Workspace) -> str | None:
    files = pd.read_csv(workspace.root / DATA / "train.csv").image_path.nunique()
    done = workspace.cli("folds", "--data", DATA, "--k", "3")
    written = pd.read_csv(workspace.root / DATA / "folds.csv")
    unique = len(written) == written.image_path.nunique() == files
    return _worked(done, "folds") or (None if unique else f"folds.csv has {len(written)} rows for {files} files")


def _other_columns(workspace: Workspace) -> None:
    (workspace.root / DATA / "train.csv").write_text("name,label\na.jpg,joy\n")


def _duplicate_a_test_row(workspace: Workspace) -> None:
    table = workspace.root / RUN / "test.csv"
    rows = pd.read_csv(table)
    pd.concat([rows, rows.head(1)]).to_csv(table, index=False)


def _submission_from_the_run(workspace: Workspace) -> str | None:
    return refused(workspace.cli("submission", "--run", RUN, "--out", "inputs/check.csv"), "test.csv")


def _arguments_case(name: str, kind: str, args: tuple[str, ...], naming: str) -> Case:
    return Case("broken inputs", name, lambda workspace: refused(workspace.run(kind, *args), naming))


def _competition_csvs(workspace: Workspace) -> None:
    """The competition's own CSVs (not the sample: its predictions are never submitted), so submit reaches Kaggle."""
    (workspace.root / TARGET).mkdir(parents=True)
    for own in ("train.csv", "sample_submission.csv"):
        shutil.copy(workspace.root / DATA / own, workspace.root / TARGET / own)


def _submit(workspace: Workspace) -> Finished:
    return workspace.cli("submit", "submissions/base.csv", "--data", TARGET, "--message", "sweep", timeout=180)  # no network here


def _open_credentials(workspace: Workspace) -> None:
    _competition_csvs(workspace)
    folder = workspace.home / ".kaggle"
    folder.mkdir()
    (folder / "kaggle.json").write_text('{"username": "me", "key": "secret"}')
    (folder / "kaggle.json").chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)


def _warned_of_open_credentials(workspace: Workspace) -> str | None:
    done = _submit(workspace)
    warned = "kaggle.json" in done.output and "chmod 600" in done.output
    return None if warned else f"no word on the readable kaggle.json: {done.said[:120]}"


BROKEN = [
    _broken_meta("latency_ms", "abc"),
    _broken_meta("latency_ms", None),
    _broken_meta("single_model_latency_ms", "12"),
    _broken_meta("complete", "no"),
    _broken_predictions("oof.csv with a NaN", _nan),
    _broken_predictions("oof.csv with a negative probability", _negative),
    _broken_predictions("oof.csv with a row summing to 5", _sums_to_five),
    _broken_predictions("test.csv only reordered (accepted)", lambda frame: frame.iloc[::-1], "test.csv", must_refuse=False),
    Case("broken run files", "test.csv with a duplicated row", _submission_from_the_run, setup=_duplicate_a_test_row),
    _input_case("test images missing before train", _train_refused_before_training, _no_test_images),
    Case("interrupts", "train: SIGINT inside a fold after its first backup, then again", _mid_fold_resume),
    _input_case("a 15,000 x 15,000 training image", _folds_name_the_huge_image, _add_huge_image),
    _input_case("a 1 x 70,000 strip given to photo.py", _strip_photo),
    _input_case("empty, cut, CMYK, grayscale and RGBA photos", _bad_photos),
    _input_case("duplicated train.csv rows", _folds_count_each_file_once, _duplicate_train_rows),
    _input_case("a train.csv of other columns", _folds_refused, _other_columns),
    _arguments_case("--set epochs=0", "solution", (*TRAIN_NEW, "--set", "epochs=0"), "epochs"),
    _arguments_case("camera.py --max-frames -5", "demo", ("camera.py", "--max-frames", "-5", "--no-window"), "max-frames"),
    _arguments_case("--profile turbo", "solution", (*TRAIN_NEW, "--profile", "turbo"), "solution/training/profiles.yaml"),
    _arguments_case("a data folder that does not exist", "solution", ("folds", "--data", "inputs/nowhere"), "inputs/nowhere"),
    Case("broken inputs", "no Kaggle credentials for submit", lambda w: refused(_submit(w), "kaggle.json"), setup=_competition_csvs),
    Case("broken inputs", "a kaggle.json others can read", _warned_of_open_credentials, setup=_open_credentials),
]

CASES: list[Case] = [*ARCHIVES, *MODELS, *CONFIGURED, *PATHS_OUT, *INTERRUPTS, *TWICE, *OUTPUTS, *BROKEN, *TYPED, *NAMES]
