"""`make rehearse`: run every generated kernel as Kaggle runs it, in a Kaggle-shaped folder, offline.

On Kaggle a kernel's script runs with the image's Python from /kaggle/working, the competition and each
dataset mounted read-only under /kaggle/input, the kit only as the wheel of its package dataset, and often
without internet. The rehearsal builds that shape in a temporary folder: the competition's CSVs and the
images from a small generated sample, the wheel from `make kernels-dataset`'s own build step, stand-in
ImageNet weights as the weights dataset. It runs each script from working/ with $EMOTION_KAGGLE_ROOT naming
the folder, no checkout on sys.path, and a socket guard that refuses every connection. It then applies
`make pull`'s checks to each training kernel's output and runs the ensemble kernel on those outputs, mounted
as Kaggle mounts kernel outputs.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from solution.artifacts.blend_folder import REPORT_JSON, BlendReport
from solution.core.config import COMPETITION, CPU_REPLICAS_VARIABLE
from solution.core.errors import UserError, last_line
from solution.data import sample
from solution.data.dataset import SAMPLE_MARKER, SAMPLE_TEST_LABELS, SUBMISSION_CSV, TEST_DIR, TRAIN_CSV, TRAIN_DIR
from solution.inference.export import choose_run
from solution.kaggle import kernel_package, kernels
from solution.kaggle.kernel_check import CHECK_SAMPLE, PARALLEL_KERNELS, STANDIN_WEIGHTS, install_kernel_outputs
from solution.kaggle.kernel_runtime import BLEND_NAME
from solution.kaggle.kernels import ROOT_VARIABLE, SCRIPT_FILE, Kernel, KernelsConfig

NETWORK_LOG_VARIABLE = "EMOTION_REHEARSAL_NETWORK_LOG"
# Imported at start-up by the kernel's Python (sitecustomize): every non-local connection fails and is logged.
SOCKET_GUARD = f'''"""The rehearsal's socket guard: Kaggle may run a kernel with internet off, so nothing may reach the network."""
import os
import socket

_log = os.environ.get("{NETWORK_LOG_VARIABLE}", "")
_connect = socket.socket.connect


def _refuse(target):
    if _log:
        with open(_log, "a", encoding="utf-8") as handle:
            handle.write(f"{{target!r}}\\n")
    raise OSError(f"network disabled by the Kaggle rehearsal (tried {{target!r}})")


def _guarded_connect(self, address):
    if self.family == getattr(socket, "AF_UNIX", None):
        return _connect(self, address)
    return _refuse(address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect
socket.create_connection = lambda address, *args, **kwargs: _refuse(address)
socket.getaddrinfo = lambda host, port, *args, **kwargs: _refuse((host, port))
'''
KERNEL_TIMEOUT_S = 1800  # a hang guard: a kernel at the rehearsal's tiny size takes minutes on a CPU; Kaggle's limit is 12 hours


# The kaggle profile's recipe as the week runs it (head warm-up, EMA, MixUp, erasing, compiled steps, the cache) at a
# size and length a CPU gets through in minutes.
RECIPE_AT_TINY_SIZE = ("image_size=32", "batch_size=8", "head_epochs=1", "epochs=1", "latency_repeats=2")


@dataclass(frozen=True)
class RehearsalConfig:
    """What the rehearsal runs: the kernels' data size, profile and folds, the replicas the CPU plays, and which Python
    plays Kaggle's image."""

    python: str = sys.executable
    profile: str = "kaggle"
    settings: tuple[str, ...] = RECIPE_AT_TINY_SIZE
    replicas: int = 2  # EMOTION_CPU_REPLICAS: T4 x2 played by the CPU (MirroredStrategy, mixed_float16)
    k: int = 2
    imagenet_backbones: tuple[str, ...] = ("mobilenet_v2",)  # trained with weights=imagenet from the weights dataset
    timeout_s: int = KERNEL_TIMEOUT_S
    resume: bool = True  # also rehearse a training kernel cut by its deadline inside a fold and pushed again with its output


@dataclass(frozen=True)
class Datasets:
    """The shared, read-only input folders every kernel root mounts, by their name under input/."""

    folders: dict[str, Path]
    train_images: int

    def without(self, name: str) -> Datasets:
        return Datasets({k: v for k, v in self.folders.items() if k != name}, self.train_images)


def dataset_names(config: KernelsConfig) -> dict[str, str]:
    """Each input's folder name under /kaggle/input: a competition by its slug, a dataset by its slug."""
    return {
        "competition": COMPETITION.slug,
        "images": (config.images_dataset or "emotion-images").split("/")[-1],
        "package": config.package_dataset.split("/")[-1],
        "weights": (config.weights_dataset or "emotion-imagenet-weights").split("/")[-1],
    }


def build_datasets(config: KernelsConfig, work: Path) -> Datasets:
    """The competition (the two CSVs), the images dataset, the package dataset (the wheel) and a weights dataset."""
    names = dataset_names(config)
    source = work / "sample"
    sample.generate(source, CHECK_SAMPLE)
    root = work / "datasets"
    competition, images = root / names["competition"], root / names["images"]
    competition.mkdir(parents=True)
    for name in (TRAIN_CSV, SUBMISSION_CSV):
        shutil.copy(source / name, competition / name)
    images.mkdir(parents=True)
    for name in (TRAIN_DIR, TEST_DIR):
        shutil.copytree(source / name, images / name)
    for name in (SAMPLE_MARKER, SAMPLE_TEST_LABELS):  # the runtime records that the models learnt the sample
        shutil.copy(source / name, images / name)
    kernel_package.build_wheel(root / names["package"])
    from solution.standins.downloads import write_keras_imagenet_weights

    write_keras_imagenet_weights(root / names["weights"])
    folders = {names[key]: root / names[key] for key in ("competition", "images", "package", "weights")}
    return Datasets(folders, len(pd.read_csv(source / TRAIN_CSV)))


def snapshot(folders: Sequence[Path]) -> dict[str, tuple[int, int]]:
    """Every file under `folders` with its size and modification time: what a read-only mount must keep."""
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns)
        for folder in folders
        for path in sorted(Path(folder).rglob("*"))
        if path.is_file()
    }


def kernel_root(work: Path, kernel: Kernel, config: KernelsConfig, mounts: dict[str, Path]) -> Path:
    """work/<kernel>/kaggle: input/<name> for each mount (linked), an empty working/, and src/kernel.py."""
    root = work / kernel.name / "kaggle"
    shutil.rmtree(root.parent, ignore_errors=True)
    (root / "input").mkdir(parents=True)
    for name, folder in mounts.items():
        (root / "input" / name).symlink_to(folder.resolve(), target_is_directory=True)
    (root / "working").mkdir()
    (root / "src").mkdir()
    (root / "src" / SCRIPT_FILE).write_text(kernels.script_text(kernel, config), encoding="utf-8")
    for folder in ("home", "tmp", "guard"):
        (root.parent / folder).mkdir()
    (root.parent / "guard" / "sitecustomize.py").write_text(SOCKET_GUARD, encoding="utf-8")
    return root


def run_kernel(root: Path, arguments: Sequence[str], rehearsal: RehearsalConfig, environment: dict[str, str] | None = None) -> float:
    """Run root/src/kernel.py as Kaggle would (with `environment` added to its bare one); one line naming the kernel
    and the fix when it fails, tries the network or writes into a mount. Returns the seconds it took."""
    extra = environment or {}
    name = root.parent.name
    network_log = root.parent / "network.log"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root.parent / "home"),  # an empty ~/.keras: no weights cached on this machine help
        "TMPDIR": str(root.parent / "tmp"),
        "PYTHONPATH": str(root.parent / "guard"),  # only the socket guard: no checkout, nothing of this venv's kit
        "PYTHONNOUSERSITE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        ROOT_VARIABLE: str(root),
        NETWORK_LOG_VARIABLE: str(network_log),
        **({CPU_REPLICAS_VARIABLE: str(rehearsal.replicas)} if rehearsal.replicas > 1 else {}),
        **extra,
    }
    mounts = sorted((root / "input").iterdir())
    before = snapshot(mounts)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [rehearsal.python, str(root / "src" / SCRIPT_FILE), *arguments],
            cwd=root / "working",
            env=environment,
            capture_output=True,
            text=True,
            timeout=rehearsal.timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UserError(f"rehearse: {name} ran past {rehearsal.timeout_s} s; see its output in {root / 'working'}") from None
    seconds = time.perf_counter() - started
    (root.parent / "output.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if network_log.exists():
        target = network_log.read_text(encoding="utf-8").splitlines()[0]
        raise UserError(
            f"rehearse: {name} tried the network ({target}); Kaggle may run it offline: attach what it fetches as a "
            "dataset (ImageNet weights: weights_dataset in kernels/kernels.yaml)"
        )
    if done.returncode != 0:
        raise UserError(f"rehearse: {name} failed (exit {done.returncode}): {last_line(done.stderr or done.stdout)}")
    changed = sorted(set(before.items()) ^ set(snapshot(mounts).items()))
    if changed:
        raise UserError(f"rehearse: {name} wrote into its read-only input ({changed[0][0]}); write under /kaggle/working or a temp folder")
    return seconds


def recipe_arguments(rehearsal: RehearsalConfig) -> list[str]:
    """The rehearsal's profile, settings and folds on top of a kernel's own arguments."""
    return [
        "--profile",
        rehearsal.profile,
        "--k",
        str(rehearsal.k),
        *(item for setting in rehearsal.settings for item in ("--set", setting)),
    ]


def training_arguments(kernel: Kernel, rehearsal: RehearsalConfig, work: Path) -> list[str]:
    """The rehearsal's recipe on top of the kernel's own; ImageNet weights from the weights dataset where asked, else
    none (a download would fail offline, as on a Kaggle kernel without internet)."""
    arguments = recipe_arguments(rehearsal)
    if kernel.backbone in rehearsal.imagenet_backbones:
        return arguments + ["--set", "weights=imagenet"]
    if kernel.backbone in STANDIN_WEIGHTS:  # exists only pre-trained: a stand-in SavedModel, passed as a path
        return arguments + ["--set", f"weights={STANDIN_WEIGHTS[kernel.backbone](work / 'standins' / kernel.backbone)}"]
    return arguments + ["--set", "weights=none"]


CUT_AFTER_EPOCHS = 2  # the head warm-up's epoch and the first of the rest: the cut fold has an epoch left to resume into


def rehearse_resume(kernel: Kernel, config: KernelsConfig, work: Path, datasets: Datasets, arguments: list[str], rehearsal) -> float:
    """Train `kernel` as if its deadline cut it inside fold 0 (after CUT_AFTER_EPOCHS epochs, at a backup) and it was
    pushed again with RESUME=1: the second session, in the kernel's own root, mounts the first one's output and must
    resume fold 0 from that backup, then train the rest; every fold must then match, byte for byte, the same kernel
    trained uncut: its predictions and its history (the loss of every epoch, which tells epochs apart even where a
    model of the rehearsal's tiny size predicts the same for every image). Its output is the kernel's output for
    the rest of the rehearsal. Returns the seconds of all three."""
    from solution.artifacts.runs import HISTORY_FILE, OOF_FILE, TEST_FILE

    longer = [*arguments, "--set", f"epochs={CUT_AFTER_EPOCHS}"]  # after the head warm-up's epoch and one more, one is left
    # The uncut reference needs nothing of the two sessions, so it trains beside them; its folds are compared, its
    # refit would not be.
    uncut = kernel_root(work / "resume-uncut", dataclasses.replace(kernel, refit=False), config, datasets.folders)
    with ThreadPoolExecutor(1) as beside:
        reference = beside.submit(run_kernel, uncut, longer, rehearsal)
        seconds, resumed = _cut_and_resumed(kernel, config, work, datasets, longer, rehearsal)
        seconds += reference.result()
    resumed_run, uncut_run = resumed / "working" / kernel.backbone, uncut / "working" / kernel.backbone
    names = (OOF_FILE, TEST_FILE, HISTORY_FILE)
    compared = sorted(path.relative_to(uncut_run) for name in names for path in uncut_run.glob(f"fold_*/{name}"))
    differ = [str(path) for path in compared if not _same_bytes(resumed_run / path, uncut_run / path)]
    if not compared or differ:
        where = ", ".join(differ) or "every fold"
        raise UserError(f"rehearse: {kernel.name}, cut inside fold 0 and resumed, differs from the uncut run in {where}")
    return seconds


def _same_bytes(candidate: Path, reference: Path) -> bool:
    return candidate.is_file() and candidate.read_bytes() == reference.read_bytes()


def _cut_and_resumed(
    kernel: Kernel, config: KernelsConfig, work: Path, datasets: Datasets, arguments: list[str], rehearsal
) -> tuple[float, Path]:
    """`kernel`'s first session, cut by its deadline inside fold 0, then its second, resuming from the first one's
    output in the kernel's own root; their seconds, and that root."""
    from solution.artifacts.runs import DONE_FILE
    from solution.training.deadline import DEADLINE_EPOCHS_VARIABLE

    first = kernel_root(work / "resume-session-1", kernel, config, datasets.folders)
    seconds = run_kernel(first, arguments, rehearsal, {DEADLINE_EPOCHS_VARIABLE: str(CUT_AFTER_EPOCHS)})
    cut = first / "working" / kernel.backbone / "fold_0"
    said = (first.parent / "output.log").read_text(encoding="utf-8")
    if "stopped at its deadline" not in said or (cut / DONE_FILE).exists() or not any(cut.glob("backup_*")):
        raise UserError(f"rehearse: {kernel.name}'s first session was not cut inside fold 0 at a backup; see {first.parent / 'output.log'}")
    second = kernel_root(work, kernel, config, {**datasets.folders, kernel.slug(config): first / "working"})
    return seconds + run_kernel(second, [*arguments, "--resume"], rehearsal), second  # as `make push RESUME=1` pushes it


def rehearse_pilot(config: KernelsConfig, work: Path, mounts: dict[str, Path], training: list[Kernel], rehearsal, log) -> dict[str, float]:
    """The pilot kernel on the index kernel's output, timing the chosen training kernels' backbones at the rehearsal's
    profile; its pilot.json must read back and price `make plan` for them, and its quick model (one epoch here) leave
    a submission and a demo model. Returns its seconds."""
    from solution.kaggle import gpu_plan
    from solution.training.profiles import load_profile, parse_settings

    pilot = kernels.pilot_kernel()
    root = kernel_root(work, pilot, config, mounts)
    backbones = list(dict.fromkeys(str(k.backbone) for k in training))
    measuring = [*recipe_arguments(rehearsal), "--set", "weights=none", "--members", ",".join(backbones), "--steps", "1"]
    measuring += ["--quick-epochs", "1"]  # the week's quick model (its student), trained, submitted and exported: briefly
    # It times every backbone and then trains, submits and exports a model: twice a training kernel's time limit.
    seconds = run_kernel(root, measuring, dataclasses.replace(rehearsal, timeout_s=2 * rehearsal.timeout_s))
    written = root / "working"
    quick = gpu_plan.PilotReport.read(written / gpu_plan.PILOT_FILE).quick_model
    if quick is None or not (written / quick.submission).is_file() or not (written / quick.demo_model / "model.json").is_file():
        raise UserError(f"rehearse: {pilot.name} wrote no quick model (submission and demo model); see {root.parent / 'output.log'}")
    assumptions = gpu_plan.load_assumptions(pilot=written / gpu_plan.PILOT_FILE)
    profile = load_profile(rehearsal.profile, parse_settings(list(rehearsal.settings)))
    plans = [gpu_plan.plan_backbone(backbone, profile, rehearsal.k, assumptions) for backbone in backbones]
    priced = ", ".join(f"{plan.backbone} {plan.train_images_per_second:.0f} images/s, {plan.hours:.2f} h [{plan.source}]" for plan in plans)
    log(
        f"rehearse: {pilot.name} ran in {seconds:.1f} s; make plan on its pilot.json: {priced}; quick model {quick.backbone}: "
        f"held-out accuracy {quick.held_out_accuracy:.4f}, {quick.submission}, {quick.demo_model}/"
    )
    return {pilot.name: seconds}


def _trained_as(output_log: Path) -> str:
    """What a training kernel's log says it trained with: profile, size, weights, devices and precision."""
    said = [line for line in output_log.read_text(encoding="utf-8").splitlines() if line.startswith("train: ")]
    return said[0].removeprefix("train: ") if said else "(no training line in its log)"


def rehearse_push_queue(config: KernelsConfig, work: Path) -> tuple[int, int]:
    """`make push-all` against the simulated Kaggle, which refuses a third batch session: every kernel of the week
    must be accepted once, in the plan's order, each after the kernels it attaches, and a second run must push none.
    Returns (kernels, refusals waited out)."""
    import dataclasses
    import json

    from solution.core.kaggle_cli import KaggleCli
    from solution.kaggle import push_queue
    from solution.standins import kaggle_cli as simulated_kaggle

    config = dataclasses.replace(config, images_dataset=config.images_dataset or "rehearsal/emotion-images")
    root, server = work / "push" / "kernels", work / "push" / "server"
    kernels.write_kernels(config, "rehearsal", root)
    week = kernels.all_kernels(config)
    sessions, calls = server / "sessions.json", server / "calls.jsonl"
    client = KaggleCli(
        str(simulated_kaggle.install(server / "bin")),
        check_credentials=False,
        environment={"FAKE_KAGGLE_LOG": str(calls), "FAKE_KAGGLE_SESSIONS": str(sessions), "FAKE_KAGGLE_RUN_POLLS": "1"},
    )
    waiting = push_queue.Waiting(poll_seconds=0, wait_hours=1)
    needs = {kernel.name: kernels.needs(kernel, config) for kernel in week}

    def slug(kernel: Kernel) -> str:
        return f"rehearsal/{kernel.slug(config)}"

    push_queue.push_all(week, root, slug, waiting, client, log=lambda line: None, needs=needs)
    accepted = [kernel_id.split("/", 1)[1] for kernel_id in json.loads(sessions.read_text())]
    again = push_queue.push_all(week, root, slug, waiting, client, log=lambda line: None, needs=needs)
    if accepted != [k.slug(config) for k in week] or again:
        raise UserError(f"rehearse: push-all accepted {accepted} and re-pushed {again}; see {calls}")
    pushes = sum(1 for call in simulated_kaggle.calls(calls) if call[:2] == ["kernels", "push"])
    return len(week), pushes - len(week)


def _outputs(chosen: Sequence[Kernel], roots: dict[str, Path], config: KernelsConfig) -> dict[str, Path]:
    """Kaggle mounts a kernel's output under its slug."""
    return {kernel.slug(config): roots[kernel.name] / "working" for kernel in chosen}


def rehearse(
    config: KernelsConfig,
    work: Path,
    rehearsal: RehearsalConfig = RehearsalConfig(),
    chosen: Sequence[str] = (),
    log: Callable[[str], None] = print,
) -> dict[str, float]:
    """Rehearse the week as push-all runs it: the index kernel, the chosen training kernels (default: all) on its
    output, the distill kernel on theirs, then the ensemble kernel on the runs and the student; return seconds each."""
    every = kernels.within_folds(kernels.all_kernels(config), rehearsal.k)
    by_role = {role: [k for k in every if k.role == role] for role in (kernels.INDEXING, kernels.STUDENT, kernels.ENSEMBLE)}
    training = [k for k in every if k.role == kernels.TRAINING and (not chosen or k.name in chosen or k.backbone in chosen)]
    unknown = [name for name in chosen if not any(name in (k.name, k.backbone) for k in training)]
    if unknown:
        known = ", ".join(dict.fromkeys(str(k.backbone) for k in every if k.role == kernels.TRAINING))
        raise UserError(f"rehearse: no kernel {unknown[0]!r} among the week's training kernels; choose one of: {known}, or all")
    work.mkdir(parents=True, exist_ok=True)
    datasets = build_datasets(config, work)
    log(f"rehearse: Kaggle-shaped inputs in {work / 'datasets'}: {', '.join(datasets.folders)}")
    seconds: dict[str, float] = {}
    roots: dict[str, Path] = {}
    for index in by_role[kernels.INDEXING]:
        roots[index.name] = kernel_root(work, index, config, datasets.folders)
        seconds[index.name] = run_kernel(roots[index.name], ["--k", str(rehearsal.k)], rehearsal)
        log(f"rehearse: {index.name} ran in {seconds[index.name]:.1f} s")
    indexed = Datasets({**datasets.folders, **_outputs(by_role[kernels.INDEXING], roots, config)}, datasets.train_images)
    seconds |= rehearse_pilot(config, work, indexed.folders, training, rehearsal, log)
    seconds |= _rehearse_training(config, work, indexed, training, roots, rehearsal, log)
    pushed, refusals = rehearse_push_queue(config, work)
    log(f"rehearse: push-all pushed {pushed} kernels once each, in the plan's order, waiting out {refusals} refusal(s) of a third session")
    trained = _outputs(training, roots, config)
    students = by_role[kernels.STUDENT]
    roots |= {student.name: kernel_root(work, student, config, {**indexed.folders, **trained}) for student in students}
    taught = ["--members", ",".join(dict.fromkeys(k.run_name for k in training))]  # the chosen kernels, not the week's
    distilling = [*recipe_arguments(rehearsal), "--set", "weights=none", *taught]
    with ThreadPoolExecutor(PARALLEL_KERNELS) as pool:  # on Kaggle too, the week's students run side by side
        took = pool.map(lambda student: run_kernel(roots[student.name], distilling, rehearsal), students)
        seconds |= dict(zip((student.name for student in students), took, strict=True))
    install_kernel_outputs(students, lambda kernel: roots[kernel.name] / "working", work / "runs", datasets.train_images)
    for student in students:
        log(f"rehearse: {student.name} distilled {student.run_name} from {len(training)} run(s) in {seconds[student.name]:.1f} s")
    submitted = [k for k in by_role[kernels.STUDENT] if k.submission_student]
    outputs = {**trained, **_outputs(submitted, roots, config)}
    members = [k.run_name for k in [*training, *submitted]]
    seconds |= _rehearse_ensemble(config, work, datasets, by_role[kernels.ENSEMBLE][0], outputs, members, rehearsal, log)
    log(f"rehearse: make export on the pulled runs: {'; '.join(choose_run(work / 'runs').reasons())}")
    return seconds


def _rehearse_training(
    config: KernelsConfig, work: Path, indexed: Datasets, training: list[Kernel], roots: dict[str, Path], rehearsal, log
) -> dict[str, float]:
    """The chosen training kernels on the index kernel's output, side by side; the first one of whole folds is cut by
    its deadline and resumed (`rehearse_resume`). Their run folders must pass `make pull`'s checks."""
    roots |= {k.name: kernel_root(work, k, config, indexed.folders) for k in training}
    arguments = {k.name: training_arguments(k, rehearsal, work) for k in training}
    cut = next((k for k in training if not k.folds), None) if rehearsal.resume else None

    def train(kernel: Kernel) -> float:
        if kernel is cut:  # its second session writes the kernel's usual root
            return rehearse_resume(kernel, config, work, indexed, arguments[kernel.name], rehearsal)
        return run_kernel(roots[kernel.name], arguments[kernel.name], rehearsal)

    seconds = {}
    with ThreadPoolExecutor(PARALLEL_KERNELS) as pool:
        for kernel, took in zip(training, pool.map(train, training), strict=True):
            seconds[kernel.name] = took
            reused = "index kernel's index" in (roots[kernel.name].parent / "output.log").read_text(encoding="utf-8")
            notes = [" on the index kernel output"] if reused else []
            if kernel is cut:
                notes.append(
                    f" in two sessions, cut by its deadline inside fold 0 after {CUT_AFTER_EPOCHS} epochs and pushed again with its own "
                    "output, then identical to an uncut run in every fold"
                )
            log(f"rehearse: {kernel.name} ran in {took:.1f} s{''.join(notes)}")
            log(f"rehearse: {kernel.name} {_trained_as(roots[kernel.name].parent / 'output.log')}")
    installed = install_kernel_outputs(training, lambda kernel: roots[kernel.name] / "working", work / "runs", indexed.train_images)
    log(f"rehearse: {len(installed)} run folder(s) pass `make pull`'s checks: {', '.join(run.name for run in installed)}")
    return seconds


def _rehearse_ensemble(
    config: KernelsConfig, work: Path, datasets: Datasets, ensemble: Kernel, outputs: dict[str, Path], members: list[str], rehearsal, log
) -> dict[str, float]:
    """The ensemble kernel on the training and distill kernels' outputs; its submission must be valid."""
    from solution.ensembling import submission

    package = dataset_names(config)["package"]
    mounts = {COMPETITION.slug: datasets.folders[COMPETITION.slug], package: datasets.folders[package], **outputs}
    root = kernel_root(work, ensemble, config, mounts)
    seconds = run_kernel(root, ["--members", ",".join(dict.fromkeys(members))], rehearsal)
    csv = root / "working" / "submission.csv"
    problems = submission.validate(csv, datasets.folders[COMPETITION.slug])
    if problems:
        raise UserError(f"rehearse: {csv}: {problems[0]}")
    report = BlendReport.read(root / "working" / "ensembles" / BLEND_NAME / REPORT_JSON)
    log(
        f"rehearse: {ensemble.name} ran in {seconds:.1f} s on {len(outputs)} kernel output(s); "
        f"its submission is valid; blend: {report.describe_members()}"
    )
    return {ensemble.name: seconds}
