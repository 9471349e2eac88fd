"""Kaggle kernels: generated folders and metadata, the package wheel, input discovery, and push/status/pull with a fake client."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from solution.artifacts.runs import RunFolder
from solution.core.errors import UserError
from solution.core.kaggle_cli import username
from solution.kaggle import kaggle_rules, kernel_client, kernel_package, kernel_runtime, kernels
from tests import fake_kaggle
from tests.conftest import REPO, run_cli

CONFIG = dataclasses.replace(kernels.load_config(), images_dataset="someone/emotion-faces")


@pytest.fixture
def written(tmp_path) -> Path:
    kernels.write_kernels(CONFIG, "me", tmp_path)
    return tmp_path


def test_one_training_kernel_per_backbone_of_the_profile_and_an_ensemble():
    names = [k.name for k in kernels.all_kernels(CONFIG)]
    backbones = [k.backbone for k in kernels.all_kernels(CONFIG) if k.role == kernels.TRAINING]
    assert list(dict.fromkeys(backbones)) == list(kernels.load_profile(CONFIG.profile).backbones)
    assert all(backbones.count(b) in (1, CONFIG.k) for b in backbones)  # one kernel, or one per fold (test_gpu_plan)
    assert names[0] == "index" and names[-3:] == ["distill", "distill-demo", "ensemble"] and "train-efficientnet-b0" in names
    assert "train-convlstm" not in names and "train-convlstm" in [k.name for k in kernels.reproduction_kernels(CONFIG)]


def test_generated_metadata_passes_the_rules_and_sets_every_boolean(written):
    for folder in sorted(p for p in written.iterdir()):
        assert kaggle_rules.check_metadata(folder) == []
        meta = json.loads((folder / kaggle_rules.METADATA_FILE).read_text())
        assert all(isinstance(meta[key], bool) for key in kaggle_rules.BOOLEAN_KEYS)
        assert meta["id"].startswith("me/") and meta["competition_sources"] == ["skillbox-computer-vision-project"]
    ensemble = json.loads((written / "ensemble" / kaggle_rules.METADATA_FILE).read_text())
    training = [k for k in kernels.all_kernels(CONFIG) if k.backbone and not k.demo]  # the student's distill kernel last
    assert ensemble["kernel_sources"] == [f"me/emotion-{k.name}" for k in training] and training[-1].name == "distill"
    demo = json.loads((written / "distill-demo" / kaggle_rules.METADATA_FILE).read_text())
    assert demo["enable_gpu"] is True and "me/emotion-distill-demo" not in ensemble["kernel_sources"], "the demo's, not the blend's"
    assert ensemble["dataset_sources"] == ["me/emotion-kit"] and ensemble["enable_gpu"] is False
    trainer = json.loads((written / "train-efficientnet-b0" / kaggle_rules.METADATA_FILE).read_text())
    assert trainer["dataset_sources"] == ["someone/emotion-faces", "me/emotion-kit"] and trainer["enable_gpu"] is True
    assert trainer["kernel_sources"] == ["me/emotion-index"], "training kernels attach the week's index"
    index = json.loads((written / "index" / kaggle_rules.METADATA_FILE).read_text())
    assert index["enable_gpu"] is False and index["kernel_sources"] == [] and index["machine_shape"] == ""
    distill = json.loads((written / "distill" / kaggle_rules.METADATA_FILE).read_text())
    assert distill["enable_gpu"] is True and distill["kernel_sources"] == ["me/emotion-index"] + ensemble["kernel_sources"][:-1]


def test_ab_kernels_train_one_fold_per_value_and_stay_out_of_push_all():
    names = [k.name for k in kernels.all_kernels(CONFIG)]
    test = kernels.get_kernels(CONFIG, "ab-freeze-batchnorm")[0]
    assert test.name not in names and test in kernels.every_kernel(CONFIG)
    arguments = test.arguments(CONFIG)
    assert arguments[0] == "ab" and arguments[-2:] == ["--ab", "freeze_batchnorm=true,false"]
    configured = CONFIG.ab_tests["freeze-batchnorm"]
    assert arguments[arguments.index("--folds") + 1] == str(configured["fold"])
    assert arguments[arguments.index("--backbone") + 1] == configured["backbone"]
    other = dataclasses.replace(CONFIG, ab_tests={"x": {"backbone": "resnet50", "setting": "lr", "values": [0.1, 0.2], "fold": 2}})
    arguments = kernels.ab_kernels(other)[0].arguments(other)
    assert arguments[arguments.index("--backbone") + 1] == "resnet50" and arguments[arguments.index("--folds") + 1] == "2"
    broken = dataclasses.replace(CONFIG, ab_tests={"x": {"backbone": "mobilenet_v2", "setting": "lr", "values": [0.1]}})
    with pytest.raises(UserError, match="ab_tests.x in .*kernels.yaml: expected"):
        kernels.ab_kernels(broken)


def test_a_resumed_training_kernel_attaches_its_own_previous_output():
    resnet = kernels.get_kernels(CONFIG, "resnet50")[0]
    assert kernels.metadata(resnet, CONFIG, "me")["kernel_sources"] == ["me/emotion-index"]
    assert kernels.metadata(resnet, CONFIG, "me", resume=True)["kernel_sources"] == ["me/emotion-index", "me/emotion-train-resnet50"]


def test_a_previous_output_is_copied_without_its_links(tmp_path):
    previous = tmp_path / "input" / "emotion-train-resnet50" / "resnet50"
    (previous / "fold_0").mkdir(parents=True)
    (previous / "run_config.json").write_text("{}")
    (previous / "fold_0" / "done.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("private")
    (previous / "fold_0" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    found = kernel_runtime.previous_run((tmp_path / "input",), "resnet50")
    assert found == previous and kernel_runtime.previous_run((tmp_path / "input",), "convlstm") is None
    kernel_runtime.resume_from(found, tmp_path / "working" / "resnet50")
    copied = tmp_path / "working" / "resnet50"
    assert (copied / "fold_0" / "done.json").is_file() and not (copied / "fold_0" / "leak.txt").exists()


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"title": "Emo"}, "shorter than 5"),
        ({"title": "Another title"}, "does not resolve"),
        ({"id": "emotion-ensemble"}, "not owner/slug"),
        ({"id": "me/Emotion_Ensemble"}, "lowercase"),
        ({"code_file": "missing.py"}, "code_file"),
        ({"enable_internet": None}, "missing key 'enable_internet'"),
        ({"is_private": "true"}, "must be true or false"),
        ({"docker_image_pinning_type": "newest"}, "docker_image_pinning_type"),
        ({"machine_shape": "NvidiaA100"}, "machine_shape"),
        ({"machine_shape": "NvidiaTeslaP100"}, "'NvidiaTeslaP100' was retired by Kaggle; use NvidiaTeslaT4"),
        ({"machine_shape": "Tpu1VmV38"}, "retired by Kaggle; use TpuV5E8"),
        ({"dataset_sources": ["faces"]}, "dataset source 'faces'"),
        ({"kernel_sources": ["me/a/b/c"]}, "kernel source"),
        ({"kernel_type": "notebook"}, "kernel_type script"),
    ],
)
def test_each_rule_break_is_reported_with_the_file(written, change, expected):
    path = written / "ensemble" / kaggle_rules.METADATA_FILE
    meta = json.loads(path.read_text())
    meta.update(change)
    meta = {k: v for k, v in meta.items() if v is not None}
    path.write_text(json.dumps(meta))
    problems = kaggle_rules.check_metadata(written / "ensemble")
    assert len(problems) >= 1 and all(p.startswith(str(path)) for p in problems)
    assert any(expected in p for p in problems), problems


def test_the_committed_scripts_are_up_to_date_and_hold_no_user_name():
    assert kernels.stale_scripts(kernels.load_config()) == []
    for kernel in kernels.all_kernels(kernels.load_config()):
        text = (REPO / "kernels" / kernel.name / kernels.SCRIPT_FILE).read_text()
        assert "from solution.kaggle.kernel_runtime import main" in text and "me/" not in text


def test_a_config_change_makes_the_scripts_stale(written):
    changed = dataclasses.replace(CONFIG, slug_prefix="faces")
    assert len(kernels.stale_scripts(changed, written)) == len(kernels.every_kernel(CONFIG))
    (written / "train-old").mkdir()
    (written / "train-old" / kernels.SCRIPT_FILE).write_text("")
    assert any("train-old" in p and "delete" in p for p in kernels.stale_scripts(CONFIG, written))


def test_no_images_dataset_is_one_line_naming_the_setting(tmp_path):
    with pytest.raises(UserError, match="images_dataset"):
        kernels.write_kernels(dataclasses.replace(CONFIG, images_dataset=""), "me", tmp_path)


def test_the_user_name_comes_from_the_environment_or_kaggle_json(tmp_path):
    assert username({"KAGGLE_USERNAME": "alice", "HOME": str(tmp_path)}) == "alice"
    (tmp_path / ".kaggle").mkdir()
    (tmp_path / ".kaggle" / "kaggle.json").write_text('{"username": "bob", "key": "k"}')
    assert username({"HOME": str(tmp_path)}) == "bob"
    assert username({"HOME": str(tmp_path / "nobody")}) is None


def test_the_cli_without_a_user_name_says_how_to_set_it(tmp_path):
    env = {"HOME": str(tmp_path), "KAGGLE_USERNAME": "", "IMAGES": "someone/faces"}
    done = run_cli("kernels", env=env)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "KAGGLE_USERNAME" in done.stderr


def test_the_wheel_carries_the_package_and_imports_from_sys_path(tmp_path):
    wheel = kernel_package.build_wheel(tmp_path / "dataset")
    assert not (REPO / "build").exists() and not (REPO / "solution.egg-info").exists()
    code = (
        f"import sys; sys.path.insert(0, {str(wheel)!r}); import solution, solution.kaggle.kernel_runtime; "
        "from solution.training.profiles import load_profile; print(solution.__file__); print(load_profile('kaggle').backbones[0])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert done.stdout.splitlines() == [f"{wheel}/solution/__init__.py", "efficientnet_b0"]


def test_the_package_dataset_is_created_once_then_versioned(tmp_path, fake_kaggle_client, monkeypatch):
    first = kernel_package.upload(CONFIG, "me", tmp_path / "package")
    assert first.startswith("created dataset me/emotion-kit")
    meta = json.loads((tmp_path / "package" / kernel_package.DATASET_METADATA).read_text())
    assert meta["id"] == "me/emotion-kit" and list((tmp_path / "package").glob("solution-*.whl"))
    monkeypatch.setenv("FAKE_KAGGLE_DATASETS", "me/emotion-kit")
    assert kernel_package.upload(CONFIG, "me", tmp_path / "package").startswith("new version")
    calls = fake_kaggle.calls(fake_kaggle_client)
    assert [c[:2] for c in calls] == [["datasets", "status"], ["datasets", "create"], ["datasets", "status"], ["datasets", "version"]]
    assert calls[1] == ["datasets", "create", "-p", str(tmp_path / "package"), "--quiet"]


def _kaggle_tree(root: Path, sample_dir: Path) -> Path:
    """/kaggle/input as Kaggle mounts it: the competition's CSVs and a nested images dataset."""
    competition = root / "skillbox-computer-vision-project"
    competition.mkdir(parents=True)
    for name in ("train.csv", "sample_submission.csv"):
        shutil.copy(sample_dir / name, competition / name)
    images = root / "emotion-faces" / "faces"
    shutil.copytree(sample_dir / "train", images / "train")
    shutil.copytree(sample_dir / "test_kaggle", images / "test_kaggle")
    (root / "emotion-kit").mkdir()
    return root


def test_inputs_are_found_and_staged_writable_with_linked_images(tmp_path, sample_dir):
    root = _kaggle_tree(tmp_path / "input", sample_dir)
    assert kernel_runtime.find_competition_files((root,)) == root / "skillbox-computer-vision-project"
    assert kernel_runtime.find_images((root,)) == root / "emotion-faces" / "faces"
    data = kernel_runtime.stage_data((root,), tmp_path / "scratch")
    assert (data / "train").is_symlink() and (data / "train.csv").is_file() and not (data / "train.csv").is_symlink()
    from solution.data.dataset import build_index

    index = build_index(data, tmp_path / "scratch" / "cache")
    assert len(index.train) == len(pd.read_csv(sample_dir / "train.csv")) and len(index.test) == 18


def test_missing_inputs_name_what_to_attach(tmp_path):
    (tmp_path / "input").mkdir()
    with pytest.raises(UserError, match="competition_sources"):
        kernel_runtime.find_competition_files((tmp_path / "input",))
    with pytest.raises(UserError, match="images dataset"):
        kernel_runtime.find_images((tmp_path / "input",))
    with pytest.raises(UserError, match="kernel_sources"):
        kernel_runtime.find_run_folders((tmp_path / "input",), tmp_path / "scratch", ["resnet50"])


def _finished_run(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name in ("meta.json", "oof.csv", "test.csv"):
        (folder / name).write_text("x")


def test_a_blend_kernel_finds_its_members_or_names_the_missing_one(tmp_path, capsys):
    """A member cut before writing meta.json used to vanish from the distill and ensemble kernels' blends."""
    inputs = tmp_path / "input"
    _finished_run(inputs / "emotion-train-resnet50" / "resnet50")
    _finished_run(inputs / "emotion-train-convlstm" / "convlstm")
    (inputs / "emotion-train-efficientnet-b0" / "efficientnet_b0" / "fold_0").mkdir(parents=True)  # cut before meta.json
    with pytest.raises(UserError, match=r"no finished run folder of efficientnet_b0 under .*RESUME=1") as caught:
        kernel_runtime.find_run_folders((inputs,), tmp_path / "scratch", ["resnet50", "efficientnet_b0"])
    assert "\n" not in str(caught.value)
    found = kernel_runtime.find_run_folders((inputs,), tmp_path / "scratch", ["resnet50"])
    assert [run.name for run in found] == ["resnet50"] and "left out run folder(s) convlstm" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "said"), [(["--needs-index"], "index kernel's output is not attached"), (["--resume"], "pushed to resume (RESUME=1)")]
)
def test_a_training_kernel_started_without_an_input_it_needs_refuses_at_once(tmp_path, sample_dir, monkeypatch, capsys, extra, said):
    """Kaggle runs a kernel whose kernel_sources it dropped: without the index it would index afresh for an hour,
    with RESUME=1 and no previous output it would retrain 12 hours from scratch."""
    import tempfile

    (tmp_path / "kaggle" / "input").mkdir(parents=True)
    (tmp_path / "kaggle" / "input" / "emotion-faces").symlink_to(sample_dir, target_is_directory=True)  # CSVs and images
    monkeypatch.setenv(kernels.ROOT_VARIABLE, str(tmp_path / "kaggle"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with pytest.raises(SystemExit) as stopped:
        kernel_runtime.main(["train", "--name", "train-convlstm", "--backbone", "convlstm", *extra])
    assert stopped.value.code == 2 and said in capsys.readouterr().err
    assert not (tmp_path / "kaggle" / "working").exists(), "refused before writing anything"


def test_a_kernel_script_off_kaggle_without_local_says_so(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "kernels" / "ensemble" / kernels.SCRIPT_FILE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 2 and "pass --local" in done.stderr and "Traceback" not in done.stderr


def test_push_runs_the_client_on_the_kernel_folder(written, fake_kaggle_client):
    pushed = kernel_client.push(written / "train-efficientnet-b0")
    assert "successfully pushed" in pushed.line and "me/emotion-train-efficientnet-b0" in pushed.line and not pushed.problems
    assert fake_kaggle.calls(fake_kaggle_client) == [["kernels", "push", "-p", str(written / "train-efficientnet-b0")]]


def test_a_push_error_printed_with_exit_code_0_is_still_an_error(written, fake_kaggle_client, monkeypatch):
    monkeypatch.setenv("FAKE_KAGGLE_PUSH_ERROR", "Notebook not found")
    with pytest.raises(UserError, match="Kernel push error: Notebook not found"):
        kernel_client.push(written / "ensemble")


def test_status_reads_the_state_and_the_failure_message(fake_kaggle_client, monkeypatch):
    monkeypatch.setenv("FAKE_KAGGLE_STATES", json.dumps({"me/a-kernel": "error", "me/b-kernel": "running"}))
    failed, running = kernel_client.status("me/a-kernel"), kernel_client.status("me/b-kernel")
    assert (failed.state, running.state, kernel_client.status("me/c-kernel").complete) == ("error", "running", True)
    assert "memory" in failed.message and running.message == ""
    assert fake_kaggle.calls(fake_kaggle_client)[0] == ["kernels", "status", "me/a-kernel"]


def _serve_output(tmp_path: Path, tiny_runs: Path, backbone: str, slug: str) -> Path:
    outputs = tmp_path / "kaggle-outputs"
    shutil.copytree(tiny_runs / backbone, outputs / slug / backbone)
    return outputs


def test_pull_turns_a_kernel_output_into_a_run_folder_the_ensemble_reads(tmp_path, tiny_runs, fake_kaggle_client, monkeypatch):
    monkeypatch.setenv("FAKE_KAGGLE_OUTPUTS", str(_serve_output(tmp_path, tiny_runs, "convlstm", "emotion-train-convlstm")))
    runs = tmp_path / "runs"
    done = run_cli("pull", "convlstm", "--runs", str(runs))
    assert done.returncode == 0, done.stderr
    assert fake_kaggle.calls(fake_kaggle_client)[:1] == [["kernels", "status", "me/emotion-train-convlstm"]]
    output_call = fake_kaggle.calls(fake_kaggle_client)[1]
    assert output_call[:3] == ["kernels", "output", "me/emotion-train-convlstm"] and "-p" in output_call
    pulled = RunFolder(runs / "convlstm")
    assert pulled.meta() == RunFolder(tiny_runs / "convlstm").meta()
    assert pulled.oof().equals(RunFolder(tiny_runs / "convlstm").oof())
    assert sorted(p.name for p in runs.iterdir()) == ["convlstm"]
    from solution.ensembling import blends

    assert blends.make_blend([runs / "convlstm"], "pulled", tmp_path / "ensembles").members[0].run.removesuffix("+flip") == "convlstm"


def test_an_incomplete_output_keeps_the_existing_run(tmp_path, tiny_runs, fake_kaggle_client, monkeypatch):
    outputs = _serve_output(tmp_path, tiny_runs, "convlstm", "emotion-train-convlstm")
    (outputs / "emotion-train-convlstm" / "convlstm" / "fold_1" / "done.json").unlink()
    monkeypatch.setenv("FAKE_KAGGLE_OUTPUTS", str(outputs))
    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs / "convlstm", runs / "convlstm")
    before = (runs / "convlstm" / "meta.json").read_text()
    with pytest.raises(UserError, match="output incomplete"):
        kernel_client.pull(["me/emotion-train-convlstm"], "convlstm", runs)
    assert (runs / "convlstm" / "meta.json").read_text() == before and (runs / "convlstm" / "fold_1" / "done.json").exists()
    assert sorted(p.name for p in runs.iterdir()) == ["convlstm"]


def test_pull_all_reports_failed_and_running_kernels_and_exits_1(tmp_path, fake_kaggle_client, monkeypatch):
    states = {f"me/emotion-{k.name}": "running" for k in kernels.all_kernels(CONFIG)}
    states["me/emotion-train-resnet50"] = "error"
    monkeypatch.setenv("FAKE_KAGGLE_STATES", json.dumps(states))
    done = run_cli("pull", "--runs", str(tmp_path / "runs"))
    assert done.returncode == 1
    assert "emotion-train-resnet50 failed on Kaggle" in done.stdout and "make push BACKBONE=resnet50" in done.stdout
    assert "emotion-train-efficientnet-b0 is running" in done.stdout and "emotion-distill is running" in done.stdout
    assert all(call[:2] == ["kernels", "status"] for call in fake_kaggle.calls(fake_kaggle_client))


def test_the_push_command_writes_metadata_then_pushes(tmp_path, fake_kaggle_client, monkeypatch):
    monkeypatch.setenv("IMAGES", "someone/emotion-faces")
    done = run_cli("push", "ensemble", "--kernels-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert fake_kaggle.calls(fake_kaggle_client) == [["kernels", "push", "-p", str(tmp_path / "ensemble")]]
    meta = json.loads((tmp_path / "ensemble" / kaggle_rules.METADATA_FILE).read_text())
    assert meta["id"] == "me/emotion-ensemble"


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('slug_prefix: \'e"""; import os; os.system("touch pwned"); """\'', "slug_prefix"),
        ("images_dataset: '../../evil'", "images_dataset"),
        ("k: '5; rm -rf /'", "k"),
        ('method: \'auto"""\'', "method"),
        ("ab_tests: {x: {backbone: efficientnet_b0, setting: lr, values: ['1\"\"\"', '2']}}", "ab_tests.x"),
    ],
)
def test_a_kernels_yaml_value_that_is_not_what_it_claims_never_reaches_a_script(tmp_path, line, key):
    shipped = (REPO / "kernels" / kernels.CONFIG_FILE).read_text()
    assert kernels.load_config(REPO / "kernels" / kernels.CONFIG_FILE) == kernels.validated(kernels.load_config())
    path = tmp_path / kernels.CONFIG_FILE
    path.write_text(shipped + "\n" + line + "\n")
    with pytest.raises(UserError, match=rf"kernels.yaml: {re.escape(key)}: .* is not ") as caught:
        kernels.load_config(path)
    assert "\n" not in str(caught.value)


def test_a_user_name_that_is_not_a_kaggle_name_is_refused_in_one_line(tmp_path):
    done = run_cli("kernels", "--username", '../../evil"x', "--kernels-dir", str(tmp_path), env={"IMAGES": "someone/faces"})
    assert done.returncode == 2 and "Kaggle user name '../../evil\"x'" in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir()), "nothing written"


def test_a_push_with_resume_sends_a_script_that_refuses_without_its_previous_output(tmp_path, fake_kaggle_client, monkeypatch):
    monkeypatch.setenv("IMAGES", "someone/emotion-faces")
    config = dataclasses.replace(CONFIG, images_dataset="someone/emotion-faces")
    kernel = kernels.get_kernels(config, "resnet50")[0]
    kernels.write_kernels(config, "me", tmp_path)
    with kernels.staged_for_resume(tmp_path / kernel.name, kernel, config) as staged:
        script = (staged / kernels.SCRIPT_FILE).read_text()
        assert "'--resume']" in script and (staged / kaggle_rules.METADATA_FILE).is_file()
        assert kernel_runtime.build_parser().parse_args(kernel.arguments(config) + ["--resume"]).resume
    assert not staged.exists() and "--resume" not in (tmp_path / kernel.name / kernels.SCRIPT_FILE).read_text()
    done = run_cli("push", "resnet50", "--resume", "--kernels-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    pushed = fake_kaggle.calls(fake_kaggle_client)[-1]
    assert pushed[:3] == ["kernels", "push", "-p"] and pushed[3] != str(tmp_path / kernel.name) and pushed[3].endswith(kernel.name)
    meta = json.loads((tmp_path / kernel.name / kaggle_rules.METADATA_FILE).read_text())
    assert "me/emotion-train-resnet50" in meta["kernel_sources"], "its own previous output attached"


def test_a_kernel_granted_fewer_gpus_than_planned_refuses_before_training(tmp_path, monkeypatch, capsys):
    (tmp_path / "kaggle" / "input").mkdir(parents=True)
    monkeypatch.setenv(kernels.ROOT_VARIABLE, str(tmp_path / "kaggle"))
    kernel = kernels.get_kernels(CONFIG, "resnet50")[0]
    assert kernel.arguments(CONFIG)[kernel.arguments(CONFIG).index("--gpus") + 1] == "2", "T4 x2, as the plan prices it"
    with pytest.raises(SystemExit) as stopped:
        kernel_runtime.main(kernel.arguments(CONFIG))
    assert stopped.value.code == 2 and "0 GPU(s) found, 2 planned" in capsys.readouterr().err
    assert not (tmp_path / "kaggle" / "working").exists()
