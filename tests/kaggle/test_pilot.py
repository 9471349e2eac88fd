"""The pilot kernel: the week's backbones timed on the machine the week runs on, and `make plan` priced on them."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pandas as pd
import pytest

from solution.artifacts.exported_model import ExportedModel
from solution.core.labels import CLASSES
from solution.kaggle import gpu_plan, kernel_runtime, kernels
from solution.training.profiles import load_profile

CONFIG = kernels.KernelsConfig(images_dataset="someone/emotion-faces")


def test_the_pilot_is_planned_within_a_gpu_hour_attaches_the_index_and_times_every_backbone_of_the_week():
    pilot = kernels.pilot_kernel()
    arguments = pilot.arguments(CONFIG)
    week = {k.backbone for k in kernels.all_kernels(CONFIG) if k.backbone}
    assert set(arguments[arguments.index("--members") + 1].split(",")) == week
    assert "--needs-index" in arguments and arguments[arguments.index("--gpus") + 1] == "2"
    meta = kernels.metadata(pilot, CONFIG, "me")
    assert meta["enable_gpu"] and meta["kernel_sources"] == ["me/emotion-index"]
    assert pilot not in kernels.all_kernels(CONFIG), "push-all pushes the week; `make pilot` pushes the pilot before it"
    student = CONFIG.distill["student"]
    assert arguments[arguments.index("--quick-model") + 1] == student, "the quick model is the week's student, the demo's model"
    assert int(arguments[arguments.index("--quick-epochs") + 1]) == gpu_plan.QUICK_MODEL_EPOCHS
    plans = gpu_plan.kernel_plans(
        [kernels.all_kernels(CONFIG)[0], pilot], load_profile(CONFIG.profile), CONFIG.k, gpu_plan.load_assumptions()
    )
    planned = plans[1]
    assert planned.role.kind == gpu_plan.PILOTING and 0 < planned.hours <= 1.0, planned


@pytest.mark.heavy
@pytest.mark.long(minutes=1)
def test_the_pilot_measures_each_backbone_and_its_pilot_json_prices_make_plan(small_data, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(small_data, data)
    outputs = tmp_path / "outputs"
    kernel_runtime.main(
        ["pilot", "--name", "pilot", "--local", "--data", str(data), "--k", "3", "--kernel-outputs", str(outputs),
         "--set", "image_size=32", "--set", "batch_size=16", "--set", "latency_repeats=3", "--members", "mobilenet_v2,convlstm",
         "--steps", "2", "--quick-model", "convlstm", "--quick-epochs", "2"]
    )  # fmt: skip
    said = capsys.readouterr().out
    assert "mobilenet_v2 at 32 px, batch 16 x 1: trains" in said and "2 backbone(s) measured on CPU" in said
    report = gpu_plan.PilotReport.read(outputs / "pilot" / gpu_plan.PILOT_FILE)
    assert set(report.backbones) == {"mobilenet_v2", "convlstm"} and report.schema_version == 1
    assert report.cache_bytes_per_pixel is not None and report.cache_bytes_per_pixel >= 0
    raw = json.loads((outputs / "pilot" / gpu_plan.PILOT_FILE).read_text())["backbones"]["mobilenet_v2"]
    assert raw["pipeline_images_per_second"] > 0 and raw["device_images_per_second"] > 0 and raw["peak_memory_gb"] is None
    assert raw["cpu_model_ms"] > 0 and raw["gpu_model_ms"] is None, "batch-1 latency on the CPU; no GPU here to time"
    assert "ms on the CPU" in said and "on one GPU" not in said
    check = load_profile("smoke", {"image_size": "32", "batch_size": "16"})
    assumptions = gpu_plan.load_assumptions(pilot=outputs / "pilot" / gpu_plan.PILOT_FILE)
    plan = gpu_plan.plan_backbone("mobilenet_v2", check, 3, assumptions)
    assert plan.source.startswith("measured ") and plan.source.endswith(" on CPU")
    assert plan.train_images_per_second == pytest.approx(report.backbones["mobilenet_v2"].train_images_per_second)
    assert plan.model_ms == pytest.approx(raw["cpu_model_ms"]), "the plan prices the pilot's CPU reading, not gpu_plan.yaml's"
    unmeasured = gpu_plan.plan_backbone("resnet50", check, 3, assumptions)
    assert unmeasured.source == "published"
    quick = report.quick_model
    assert quick is not None and quick.backbone == "convlstm" and quick.epochs == 2 and 0 <= quick.held_out_accuracy <= 1
    assert f"quick model convlstm at 32 px, 2 epochs: held-out accuracy {quick.held_out_accuracy:.4f}" in said
    written = pd.read_csv(outputs / "pilot" / quick.submission)
    expected = pd.read_csv(data / "sample_submission.csv")
    assert list(written.image_path) == list(expected.image_path) and set(written.emotion) <= set(CLASSES)
    demo = ExportedModel.read(outputs / "pilot" / quick.demo_model)
    assert demo.backbone == "convlstm" and demo.fold == 0 and "pilot kernel's quick model" in demo.selection
    assert (outputs / "pilot" / quick.demo_model / "model.tflite").stat().st_size > 0
    assert unmeasured.model_ms == pytest.approx(assumptions.cpu_ms_per_model["resnet50"] * (32 / 224) ** 2)


def test_make_pilot_pushes_the_index_then_the_pilot_and_pull_installs_a_checked_pilot_json(tmp_path, fake_kaggle_client, monkeypatch):
    from tests import fake_kaggle
    from tests.conftest import run_cli

    monkeypatch.setenv("IMAGES", "someone/emotion-faces")
    pushed = run_cli("pilot", "--kernels-dir", str(tmp_path / "kernels"))
    assert pushed.returncode == 0, pushed.stderr
    pushes = [call[-1].rsplit("/", 1)[-1] for call in fake_kaggle.calls(fake_kaggle_client) if call[:2] == ["kernels", "push"]]
    assert pushes == ["index", "pilot"] and "make pull KERNEL=pilot" in pushed.stdout
    outputs = tmp_path / "kaggle-outputs" / "emotion-pilot"
    outputs.mkdir(parents=True)
    measured = {"image_size": 224, "train_images_per_second": 300.0, "forward_images_per_second": 900.0}
    report = {"schema_version": 1, "created": "2026-12-05T10:00:00", "device": "2 GPUs", "backbones": {"efficientnet_b0": measured}}
    (outputs / gpu_plan.PILOT_FILE).write_text(json.dumps(report))
    monkeypatch.setenv("FAKE_KAGGLE_OUTPUTS", str(tmp_path / "kaggle-outputs"))
    pulled = run_cli("pull", "pilot", "--kernels-dir", str(tmp_path / "kernels"))
    assert pulled.returncode == 0, pulled.stderr
    installed = tmp_path / "kernels" / gpu_plan.PILOT_FILE
    assert json.loads(installed.read_text()) == report and "1 backbone(s) measured on 2 GPUs" in pulled.stdout
    (outputs / gpu_plan.PILOT_FILE).write_text(json.dumps({**report, "backbones": {"efficientnet_b0": {**measured, "image_size": "big"}}}))
    refused = run_cli("pull", "pilot", "--kernels-dir", str(tmp_path / "kernels"))
    assert refused.returncode == 2 and "image_size: 'big' is not a whole number" in refused.stderr
    assert json.loads(installed.read_text()) == report, "the installed pilot.json is kept"
    # The quick model: its submission and demo model are installed beside kernels/, its model.json checked first.
    quick = {"backbone": "efficientnetv2_b0", "image_size": 224, "epochs": 3, "held_out_accuracy": 0.41,
             "submission": "pilot-submission.csv", "demo_model": "pilot-demo-model"}  # fmt: skip
    (outputs / "pilot-submission.csv").write_text("image_path,emotion\n0.jpg,anger\n")
    (outputs / "pilot-demo-model").mkdir()
    (outputs / "pilot-demo-model" / "model.tflite").write_bytes(b"TFL3")
    card = exported_card()
    (outputs / "pilot-demo-model" / "model.json").write_text(json.dumps(card))
    (outputs / gpu_plan.PILOT_FILE).write_text(json.dumps({**report, "quick_model": quick}))
    pulled = run_cli("pull", "pilot", "--kernels-dir", str(tmp_path / "kernels"))
    assert pulled.returncode == 0, pulled.stderr
    assert (tmp_path / "submissions" / "pilot.csv").read_text() == "image_path,emotion\n0.jpg,anger\n"
    assert json.loads((tmp_path / "demo" / "pilot-model" / "model.json").read_text()) == card
    assert "held-out accuracy 0.4100" in pulled.stdout and "--model demo/pilot-model" in pulled.stdout
    (outputs / gpu_plan.PILOT_FILE).write_text(json.dumps({**report, "quick_model": {**quick, "demo_model": "../../x"}}))
    hostile = run_cli("pull", "pilot", "--kernels-dir", str(tmp_path / "kernels"))
    assert hostile.returncode == 2 and "quick_model.demo_model" in hostile.stderr and hostile.stderr.count("\n") == 1


def exported_card() -> dict:
    """A model.json as export writes it (the pull checks it before installing the model)."""
    return dataclasses.asdict(
        ExportedModel(
            image_size=224, backbone="efficientnetv2_b0", run="/kaggle/working/quick-runs/efficientnetv2_b0", fold=0,
            oof_accuracy=0.41, fold_accuracy=0.41, trained_on_sample=False, parity_max_difference=1e-6, parity_images=8,
            created="2026-12-05T10:00:00", selection="the pilot kernel's quick model",
        )
    ) | {"classes": list(CLASSES)}  # fmt: skip
