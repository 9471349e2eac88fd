"""`make plan`: GPU hours per kernel, fold kernels for a backbone over a session, and push's quota check."""

from __future__ import annotations

import dataclasses
import json

import pytest

from solution.core.errors import UserError
from solution.kaggle import gpu_plan, kaggle_rules, kernels
from solution.training.profiles import load_profile
from tests import fake_kaggle
from tests.conftest import run_cli

CONFIG = kernels.KernelsConfig()
ASSUMPTIONS = gpu_plan.load_assumptions()
KAGGLE = load_profile("kaggle")


def test_hours_follow_epochs_image_size_and_folds():
    base = gpu_plan.plan_backbone("resnet50", KAGGLE, 5, ASSUMPTIONS)
    longer = gpu_plan.plan_backbone("resnet50", dataclasses.replace(KAGGLE, per_backbone={"resnet50": {"epochs": 26}}), 5, ASSUMPTIONS)
    bigger = gpu_plan.plan_backbone("resnet50", dataclasses.replace(KAGGLE, image_size=448), 5, ASSUMPTIONS)
    assert base.epochs == 2 + 12 and base.images_per_epoch == 40000 and base.image_size == 224
    assert 1.8 < longer.fold_hours / base.fold_hours < 2.05  # twice the epochs
    assert 3.0 < bigger.fold_hours / base.fold_hours < 4.1  # four times the pixels, decoding aside
    assert base.hours == base.overhead_hours + 5 * base.fold_hours


def test_a_backbone_over_a_session_is_split_into_fold_kernels_that_fit():
    plan = gpu_plan.plan_backbone("vgg16_scratch", KAGGLE, 5, ASSUMPTIONS)
    assert plan.hours > ASSUMPTIONS.usable_hours and plan.fold_kernel_hours() < ASSUMPTIONS.usable_hours
    every = kernels.reproduction_kernels(CONFIG)
    vgg = [k for k in every if k.backbone == "vgg16_scratch"]
    assert [k.name for k in vgg] == [f"train-vgg16-scratch-f{fold}" for fold in range(5)]
    assert [k.folds for k in vgg] == [(fold,) for fold in range(5)]
    assert vgg[3].arguments(CONFIG)[-2:] == ["--folds", "3"]
    assert [k.name for k in kernels.all_kernels(CONFIG) if k.backbone == "resnet50"] == ["train-resnet50"]  # fits: every fold
    plans = gpu_plan.kernel_plans(every, KAGGLE, 5, ASSUMPTIONS)
    assert all(p.fits for p in plans) and {p.folds for p in plans if p.plan.backbone == "vgg16_scratch"} == {1}
    generous = dataclasses.replace(ASSUMPTIONS, session_hours=100.0)
    assert gpu_plan.split_backbones(KAGGLE.reproductions, KAGGLE, 5, generous) == set()


def test_the_default_week_spends_at_most_30_hours_at_least_80_percent_of_them_on_the_submission():
    week = kernels.all_kernels(CONFIG)
    plans = gpu_plan.kernel_plans(week, KAGGLE, 5, ASSUMPTIONS, CONFIG.budget_ms)
    total = sum(p.hours for p in plans)
    assert total <= 30 and gpu_plan.share(plans) >= 0.8
    roles = {p.kernel: p.role.kind for p in plans}
    assert roles["train-convnext-tiny"] == gpu_plan.TEACHER and roles["distill"] == gpu_plan.STUDENT and roles["index"] == "index"
    demo = next(p for p in plans if p.kernel == "distill-demo")
    assert demo.role.kind == gpu_plan.STUDENT and not demo.role.reaches and demo.plan.image_size == 48, "the demo's, at its own size"
    assert roles["train-efficientnet-b0"] == gpu_plan.MEMBER and not any("vgg16" in name for name in roles)
    # A teacher reaches the submission only through a student: without the distill kernel its hours do not count.
    alone = gpu_plan.kernel_plans([k for k in week if k.role != gpu_plan.STUDENT], KAGGLE, 5, ASSUMPTIONS, CONFIG.budget_ms)
    assert gpu_plan.share(alone) < gpu_plan.share(plans)
    # Without the index kernel each GPU kernel pays the indexing itself.
    unindexed = gpu_plan.kernel_plans([k for k in week if k.role != gpu_plan.INDEXING], KAGGLE, 5, ASSUMPTIONS, CONFIG.budget_ms)
    kernels_indexing, saved = gpu_plan.index_savings(week, ASSUMPTIONS)
    on_gpus = [p for p in plans if p.hours > 0 and p.role.kind != gpu_plan.INDEXING]  # each would index the images itself
    assert sum(p.hours for p in unindexed) == pytest.approx(total + saved) and kernels_indexing == len(on_gpus) > 0


def test_roles_follow_the_budget_a_member_of_fewer_folds_or_its_refit_else_a_teacher():
    plan = gpu_plan.plan_backbone("resnet50", KAGGLE, 5, ASSUMPTIONS)  # 80 ms a model
    decode = ASSUMPTIONS.decode_resize_ms
    assert "all 5 folds" in gpu_plan.role_of(plan, 5, decode + 5 * 80 + 1, False, ASSUMPTIONS, True).detail
    assert "best 2 of 5 folds" in gpu_plan.role_of(plan, 5, decode + 2 * 80 + 1, True, ASSUMPTIONS, True).detail
    assert "refit" in gpu_plan.role_of(plan, 5, decode + 80 + 1, True, ASSUMPTIONS, True).detail
    teacher = gpu_plan.role_of(plan, 5, 50, True, ASSUMPTIONS, False)
    assert teacher.kind == gpu_plan.TEACHER and not teacher.reaches


def test_the_plan_table_states_hours_fit_roles_the_share_and_the_quota():
    plans = gpu_plan.kernel_plans(kernels.all_kernels(CONFIG), KAGGLE, 5, ASSUMPTIONS)
    total = sum(p.hours for p in plans)
    text = gpu_plan.format_plan(plans, ASSUMPTIONS)
    assert "train-convnext-tiny" in text and f"total: {total:.1f} GPU hours" in text and "teacher:" in text
    demo = sum(p.hours for p in plans if not p.role.reaches)
    assert demo > 0 and [p.kernel for p in plans if not p.role.reaches] == ["distill-demo"], "only the demo's student does not"
    assert f"reaching the submission: {total - demo:.1f} of {total:.1f} GPU hours ({(total - demo) / total:.0%}" in text
    tight = dataclasses.replace(ASSUMPTIONS, weekly_quota_hours=10.0)
    assert f"{total - 10:.1f} h OVER the weekly quota of 10 h" in gpu_plan.format_plan(plans, tight)
    assert gpu_plan.over_quota(total, tight) == total - 10 and gpu_plan.over_quota(total, ASSUMPTIONS) == 0


def test_the_plan_states_the_training_caches_memory_against_the_sessions_ram():
    plans = gpu_plan.kernel_plans(kernels.all_kernels(CONFIG), KAGGLE, 5, ASSUMPTIONS)
    line = gpu_plan.memory_line(plans, ASSUMPTIONS, cache=True)
    expected = ASSUMPTIONS.train_images * 260**2 * ASSUMPTIONS.cache_bytes_per_pixel / 1e9
    assert f"260 px {expected:.1f} GB" in line and "(fits;" in line and "29 GB RAM" in line
    small = dataclasses.replace(ASSUMPTIONS, session_ram_gb=12.0)
    assert "OVER 85% of it: set cache: false" in gpu_plan.memory_line(plans, small, cache=True)
    assert "no in-memory cache" in gpu_plan.memory_line(plans, ASSUMPTIONS, cache=False)


def test_the_plan_command_prints_every_training_kernel():
    done = run_cli("plan")
    assert done.returncode == 0, done.stderr
    names = [k.name for k in kernels.every_kernel(CONFIG)]
    assert all(name in done.stdout for name in names) and "weekly quota" in done.stdout
    assert "reaching the submission" in done.stdout and "NVIDIA DeepLearningExamples" in done.stdout and "GPU h saved" in done.stdout
    assert "memory: one fold's cache" in done.stdout


def test_push_all_refuses_a_plan_over_the_quota_and_force_overrides(tmp_path, fake_kaggle_client, monkeypatch):
    monkeypatch.setenv("IMAGES", "someone/emotion-faces")
    refused = run_cli("push", "all", "--kernels-dir", str(tmp_path), "--quota-hours", "5")
    assert refused.returncode == 2 and "over the weekly quota of 5 h" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr and not fake_kaggle_client.exists()  # nothing was pushed
    forced = run_cli("push", "all", "--kernels-dir", str(tmp_path), "--quota-hours", "5", "--force")
    assert forced.returncode == 0, forced.stderr
    pushed = [call[-1] for call in fake_kaggle.calls(fake_kaggle_client) if call[:2] == ["kernels", "push"]]
    assert len(pushed) == len(kernels.all_kernels(CONFIG)), "the whole week: index, training, distill, ensemble"
    meta = json.loads((tmp_path / "ensemble" / kaggle_rules.METADATA_FILE).read_text())
    assert "me/emotion-distill" in meta["kernel_sources"] and "me/emotion-train-convnext-tiny" in meta["kernel_sources"]


def _pilot_at(share: float, path, config=CONFIG) -> dict:
    """A pilot.json whose measured throughputs are `share` of the published ones, for every backbone of the week."""
    assumptions = gpu_plan.load_assumptions(pilot=path.parent / "absent.json")
    profile = load_profile(config.profile)
    measured = {}
    for backbone in profile.backbones + (str(config.distill["student"]),):
        published = gpu_plan.plan_backbone(backbone, profile, config.k, assumptions)
        measured[backbone] = {
            "image_size": published.image_size,
            "train_images_per_second": published.train_images_per_second * share,
            "forward_images_per_second": published.forward_images_per_second * share,
        }
    path.write_text(json.dumps({"schema_version": 1, "created": "2026-12-05T10:00:00", "device": "2 T4", "backbones": measured}))
    return measured


def test_a_pilot_measuring_half_the_published_speed_splits_what_no_longer_fits_and_push_all_refuses_the_week(
    tmp_path, fake_kaggle_client, monkeypatch
):
    from solution.cli import main

    pilot = tmp_path / "pilot.json"
    _pilot_at(0.5, pilot)
    monkeypatch.setattr(gpu_plan, "pilot_path", lambda: pilot)
    published = gpu_plan.load_assumptions(pilot=tmp_path / "absent.json")
    measured = gpu_plan.load_assumptions()
    profile = load_profile(CONFIG.profile)
    slow = {b: gpu_plan.plan_backbone(b, profile, CONFIG.k, measured) for b in profile.backbones}
    assert all(plan.source == "measured 2026-12-05 on 2 T4" for plan in slow.values())
    for backbone, plan in slow.items():
        assert plan.fold_hours == pytest.approx(2 * gpu_plan.plan_backbone(backbone, profile, CONFIG.k, published).fold_hours, rel=0.35)
    must_split = {b for b, plan in slow.items() if not plan.fits(measured)}
    assert must_split, "at half the speed some backbone no longer fits one session"
    week = kernels.all_kernels(CONFIG)
    split = {k.backbone for k in week if k.folds}
    assert split == must_split and all(f"train-{b.replace('_', '-')}-f0" in [k.name for k in week] for b in must_split)
    monkeypatch.setenv("IMAGES", "someone/emotion-faces")
    assert main(["push", "all", "--kernels-dir", str(tmp_path / "kernels")]) == 2
    assert not fake_kaggle_client.exists(), "nothing pushed"


def test_the_over_quota_refusal_names_what_to_drop(tmp_path, fake_kaggle_client, monkeypatch, capsys):
    from solution.cli import main

    monkeypatch.setattr(gpu_plan, "pilot_path", lambda: tmp_path / "absent.json")
    monkeypatch.setenv("IMAGES", "someone/emotion-faces")
    assert main(["push", "all", "--kernels-dir", str(tmp_path / "kernels"), "--quota-hours", "20"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "over the weekly quota of 20 h" in err and "drop " in err
    week = kernels.all_kernels(CONFIG)
    plans = gpu_plan.kernel_plans(week, load_profile(CONFIG.profile), CONFIG.k, gpu_plan.load_assumptions())
    over = sum(p.hours for p in plans) - 20
    dropped = gpu_plan.what_to_drop(plans, over)
    assert sum(p.hours for p in dropped) >= over and all(p.kernel in err for p in dropped)


def test_the_pilots_cache_measurement_decides_the_memory_line(tmp_path):
    pilot = tmp_path / "pilot.json"
    report = {"schema_version": 1, "created": "2026-12-05T10:00:00", "device": "2 GPUs", "backbones": {}, "cache_bytes_per_pixel": 9.0}
    pilot.write_text(json.dumps(report))
    assumptions = gpu_plan.load_assumptions(pilot=pilot)
    week = kernels.all_kernels(CONFIG)
    line = gpu_plan.memory_line(gpu_plan.kernel_plans(week, KAGGLE, 5, assumptions), assumptions, cache=True)
    assert "9.00 bytes per pixel, measured by the pilot, 2026-12-05 on 2 GPUs" in line and "OVER" in line, line


def test_a_pilot_json_of_another_schema_is_refused_in_one_line(tmp_path):
    pilot = tmp_path / "pilot.json"
    pilot.write_text(json.dumps({"schema_version": 0, "created": "x", "device": "x", "backbones": {}}))
    with pytest.raises(UserError, match=r"pilot.json: schema_version 0, this kit reads 1; pull it again"):
        gpu_plan.load_assumptions(pilot=pilot)
