"""`make rehearse`: kernels run as Kaggle runs them, and every way that fails on Kaggle fails here in one line."""

from __future__ import annotations

import pytest

from solution.core.config import COMPETITION
from solution.core.errors import UserError
from solution.data import sample
from solution.data.dataset import SUBMISSION_CSV, TRAIN_CSV
from solution.kaggle import kernel_package, kernels, rehearsal
from solution.kaggle.kernels import SCRIPT_FILE

CONFIG = kernels.KernelsConfig()
SETTINGS = rehearsal.RehearsalConfig(timeout_s=600)
TRAINER = kernels.get_kernels(CONFIG, "efficientnet_b0")[0]


def _root_running(tmp_path, code: str, mounts: dict | None = None):
    """A kernel root whose script is `code` instead of the kit's."""
    root = rehearsal.kernel_root(tmp_path, TRAINER, CONFIG, mounts or {})
    (root / "src" / SCRIPT_FILE).write_text(code, encoding="utf-8")
    return root


def test_a_kernel_without_the_package_dataset_stops_with_one_line(tmp_path):
    root = rehearsal.kernel_root(tmp_path, TRAINER, CONFIG, {})
    with pytest.raises(
        UserError, match=r"train-efficientnet-b0 failed \(exit 1\): kernel: no solution-\*\.whl under .*make kernels-dataset"
    ):
        rehearsal.run_kernel(root, [], SETTINGS)


def test_the_socket_guard_refuses_any_download_and_names_it(tmp_path):
    code = "import urllib.request\ntry:\n    urllib.request.urlopen('https://storage.googleapis.com/w.h5')\nexcept OSError:\n    pass\n"
    root = _root_running(tmp_path, code)
    with pytest.raises(UserError, match=r"tried the network \(\('storage.googleapis.com', 443\)\).*weights_dataset"):
        rehearsal.run_kernel(root, [], SETTINGS)  # caught inside the kernel, still reported


def test_the_checkout_is_not_importable_from_a_kernel(tmp_path):
    root = _root_running(tmp_path, "import importlib.util, sys\nsys.exit(3 if importlib.util.find_spec('solution') else 0)\n")
    assert rehearsal.run_kernel(root, [], SETTINGS) > 0  # exit 3 (the checkout found) would raise


def test_writing_into_an_input_mount_is_refused(tmp_path):
    mount = tmp_path / "datasets" / "some-data"
    mount.mkdir(parents=True)
    (mount / "a.txt").write_text("a")
    code = "from pathlib import Path\nimport os\nPath(os.environ['EMOTION_KAGGLE_ROOT'], 'input', 'some-data', 'a.txt').write_text('b')\n"
    root = _root_running(tmp_path, code, {"some-data": mount})
    with pytest.raises(UserError, match="wrote into its read-only input .*a.txt"):
        rehearsal.run_kernel(root, [], SETTINGS)


def test_a_missing_images_mount_is_one_line_from_the_kit_in_its_wheel(tmp_path):
    data = tmp_path / "sample"
    sample.generate(data, sample.SampleConfig(per_class=2, test=2, min_size=40, max_size=60))
    competition = tmp_path / "datasets" / COMPETITION.slug
    competition.mkdir(parents=True)
    for name in (TRAIN_CSV, SUBMISSION_CSV):
        (competition / name).write_bytes((data / name).read_bytes())
    package = tmp_path / "datasets" / "emotion-kit"
    kernel_package.build_wheel(package)
    root = rehearsal.kernel_root(tmp_path, TRAINER, CONFIG, {COMPETITION.slug: competition, "emotion-kit": package})
    with pytest.raises(UserError, match=r"failed \(exit 2\): error: no folder with train/ and test_kaggle/ .*attach the images dataset"):
        rehearsal.run_kernel(root, rehearsal.recipe_arguments(SETTINGS), SETTINGS)


@pytest.mark.heavy
@pytest.mark.long(minutes=13)
def test_the_week_rehearses_offline_from_the_wheel_index_training_distill_and_ensemble(tmp_path):
    lines = []
    # Kernels train side by side here (two sessions of resnet50 at once, beside the suite's other worker), so each gets
    # the default limit, a guard against a hang: CI's shared 2-core machine once took the uncut session past 600 s.
    settings = rehearsal.RehearsalConfig()
    seconds = rehearsal.rehearse(CONFIG, tmp_path, settings, chosen=["resnet50"], log=lines.append)
    assert set(seconds) == {"index", "pilot", "train-resnet50", "distill", "distill-demo", "ensemble"}
    trained = next(line for line in lines if line.startswith("rehearse: train-resnet50 resnet50"))
    assert "profile kaggle" in trained and "2 CPU replicas" in trained and "mixed_float16" in trained, trained
    piloted = next(line for line in lines if line.startswith("rehearse: pilot ran in"))
    assert "make plan on its pilot.json: resnet50" in piloted and "[measured " in piloted, "the pilot's figures price the plan"
    assert f"quick model {CONFIG.distill['student']}: held-out accuracy" in piloted, "the pilot's quick model is rehearsed"
    from solution.artifacts.runs import RunFolder

    run = RunFolder(tmp_path / "runs" / "resnet50")
    assert run.incomplete() is None and run.meta().k == 2 and run.meta().refit, "a member of fewer folds trains its refit"
    log = (tmp_path / "train-resnet50" / "output.log").read_text()
    assert "the index kernel's index, hashes and folds reused" in log, "the training kernel reads the index kernel's output"
    assert ".whl" in next(line for line in log.splitlines() if "kernel: solution" in line)
    assert not (tmp_path / "train-resnet50" / "network.log").exists()
    student = RunFolder(tmp_path / "runs" / "efficientnetv2_b0-student")
    assert student.incomplete() is None and student.meta().distillation["teacher"] == "teacher"
    assert "pseudo_labels" not in student.meta().distillation, "pseudo-labels are off by default"
    demo = RunFolder(tmp_path / "runs" / f"{CONFIG.distill['demo_student']}-student")
    assert demo.incomplete() is None and demo.meta().distillation["teacher"] == "teacher", "the demo's student, pulled"
    exported = next(line for line in lines if line.startswith("rehearse: make export on the pulled runs: "))
    assert "the demo's model is" in exported, exported
    assert (tmp_path / "ensemble" / "kaggle" / "working" / "submission.csv").is_file()
    assert (tmp_path / "ensemble" / "kaggle" / "working" / "submission-efficientnetv2_b0-student.csv").is_file(), "the student alone"
    assert "efficientnetv2_b0-student: left out of the blend" in (tmp_path / "ensemble" / "output.log").read_text()
    ensemble = next(line for line in lines if line.startswith("rehearse: ensemble ran"))
    assert "on 2 kernel output(s)" in ensemble and "blend:" in ensemble
    # The kernel's deadline cut it inside fold 0, at a backup; pushed again with its own output, it resumed that fold and
    # finished every fold exactly as the same kernel trained uncut (rehearse_resume compares them byte for byte).
    first = (tmp_path / "resume-session-1" / "train-resnet50" / "output.log").read_text()
    assert "stopped at its deadline" in first and "in fold 0" in first and "fold 1: training" not in first
    assert "resuming from the previous output" in log and "finished no fold yet" in log and "fold 1: training" in log
    assert any("train-resnet50 ran in" in line and "identical to an uncut run in every fold" in line for line in lines)
    # push-all through the simulated Kaggle, which refuses a third session, each kernel after those it attaches.
    week = kernels.all_kernels(CONFIG)
    assert any(f"push-all pushed {len(week)} kernels once each, in the plan's order" in line for line in lines)
    refusals = next(line for line in lines if "push-all pushed" in line).split("waiting out ")[1].split()[0]
    assert int(refusals) > 0, "the simulated Kaggle refuses a third session"
