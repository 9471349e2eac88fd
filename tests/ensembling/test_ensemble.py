"""Ensembling on constructed OOF tables, run folders, recipes, and the latency budget."""

from __future__ import annotations

import dataclasses
import errno
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from solution.artifacts.blend_folder import BlendReport
from solution.artifacts.predictions import probability_frame, score
from solution.artifacts.runs import RunFolder
from solution.core import atomic
from solution.core.errors import UserError
from solution.core.labels import CLASSES, NUM_CLASSES
from solution.ensembling import blends, ensemble
from solution.ensembling.fold_subsets import FoldSubset
from solution.ensembling.members import Costs, Members, load_members
from tests.conftest import run_meta

N = 600


def _confident(truth: np.ndarray, right: np.ndarray, rng: np.random.Generator, wrong: np.ndarray | None = None) -> np.ndarray:
    """Probabilities that put 0.7 on the true class where `right`, else on a wrong class (random unless given)."""
    if wrong is None:
        wrong = (truth + rng.integers(1, NUM_CLASSES, len(truth))) % NUM_CLASSES
    chosen = np.where(right, truth, wrong)
    probabilities = np.full((len(truth), NUM_CLASSES), 0.3 / (NUM_CLASSES - 1))
    probabilities[np.arange(len(truth)), chosen] = 0.7
    return probabilities


def _members(oof: list[np.ndarray], truth: np.ndarray, latency: list[float]) -> Members:
    return Members(
        names=[f"run{i}" for i in range(len(oof))],
        oof=np.stack(oof),
        test=np.stack(oof)[:, :10],
        latency_ms=np.array(latency, dtype=float),
        truth=truth,
        folds=np.arange(len(truth)) % 5,
        image_paths=[f"train/x/{i}.jpg" for i in range(len(truth))],
        test_names=[f"{i}.jpg" for i in range(10)],
        paths=[Path(f"runs/run{i}") for i in range(len(oof))],
        flip=[False] * len(oof),
        runs=np.arange(len(oof)),
        subsets=[[FoldSubset((0, 1, 2, 3, 4), cost, values[:10], None)] for values, cost in zip(oof, latency, strict=True)],
    )


@pytest.fixture
def truth():
    return np.random.default_rng(0).integers(0, NUM_CLASSES, N)


def test_greedy_beats_the_best_single_when_members_complement_each_other(truth):
    rng = np.random.default_rng(1)
    thirds = np.arange(N) % 3
    # Each run is right on two thirds of the images, a different two thirds each: majority voting fixes all.
    oof = [_confident(truth, thirds != k, rng) for k in range(3)]
    weights = ensemble.greedy_weights(np.stack(oof), truth, Costs(np.array([10.0, 10.0, 10.0])), 330)
    blended, _ = ensemble.score(ensemble.blend(np.stack(oof), weights), truth)
    best_single = max(ensemble.score(o, truth)[0] for o in oof)
    assert blended > best_single + 0.2
    assert np.isclose(weights.sum(), 1.0) and (weights > 0).sum() == 3


def test_greedy_picks_the_single_best_when_the_others_add_nothing(truth):
    rng = np.random.default_rng(2)
    wrong = (truth + rng.integers(1, NUM_CLASSES, N)) % NUM_CLASSES  # every run makes the same mistakes
    strong_right = rng.random(N) < 0.8
    strong = _confident(truth, strong_right, rng, wrong)
    # The weaker runs are right only where the strong one is, and wrong the same way: they cannot help.
    weak = [_confident(truth, strong_right & (rng.random(N) < 0.4), rng, wrong) for _ in range(2)]
    oof = np.stack([weak[0], strong, weak[1]])
    weights = ensemble.greedy_weights(oof, truth, Costs(np.array([5.0, 5.0, 5.0])), 330)
    assert weights.tolist() == [0.0, 1.0, 0.0]


def test_a_tight_budget_keeps_the_fast_weak_run(truth):
    rng = np.random.default_rng(3)
    fast_weak = _confident(truth, rng.random(N) < 0.5, rng)
    slow_strong = _confident(truth, rng.random(N) < 0.8, rng)
    oof, latency = np.stack([fast_weak, slow_strong]), Costs(np.array([20.0, 400.0]))
    for selector in ensemble.SELECTORS.values():
        weights = selector(oof, truth, latency, 330)
        assert weights.tolist() == [1.0, 0.0]
        assert latency.of(weights) <= 330
        assert selector(oof, truth, latency, 1000)[1] > 0, "with room, the strong run is used"


def test_optimised_weights_are_non_negative_and_sum_to_one(truth):
    rng = np.random.default_rng(4)
    oof = np.stack([_confident(truth, rng.random(N) < p, rng) for p in (0.4, 0.6, 0.7)])
    weights = ensemble.optimised_weights(oof, truth, Costs(np.array([1.0, 1.0, 1.0])), 330)
    assert np.isclose(weights.sum(), 1.0) and (weights >= 0).all()
    _, blended_loss = ensemble.score(ensemble.blend(oof, weights), truth)
    assert blended_loss <= min(ensemble.score(o, truth)[1] for o in oof) + 1e-9


def test_cross_validated_score_is_reported_beside_the_training_score(truth):
    rng = np.random.default_rng(5)
    members = _members([_confident(truth, rng.random(N) < p, rng) for p in (0.5, 0.6)], truth, [10, 10])
    chosen, results = ensemble.choose(members, "auto", 330)
    assert {r.method for r in results} == {"mean", "greedy", "weights"}
    assert chosen.cv_accuracy == max(r.cv_accuracy for r in results)
    assert 0 < chosen.cv_accuracy <= 1


def test_cross_validation_shows_what_selection_fits_to_noise(truth):
    """Twelve members that guess (each right on a random ~third of the images): the blend chosen on all the OOF
    looks better there than on folds it was not chosen on. A CV that copied the OOF score would not see it."""
    rng = np.random.default_rng(6)
    members = _members([_confident(truth, rng.random(N) < 0.33, rng) for _ in range(12)], truth, [10] * 12)
    for method in ("greedy", "weights"):
        chosen, _ = ensemble.choose(members, method, 330)
        assert chosen.cv_accuracy < chosen.oof_accuracy - 0.01, (method, chosen.cv_accuracy, chosen.oof_accuracy)


def test_no_run_within_the_budget_is_a_clear_error(truth):
    rng = np.random.default_rng(6)
    oof = np.stack([_confident(truth, rng.random(N) < 0.5, rng)])
    with pytest.raises(UserError, match="budget"):
        ensemble.greedy_weights(oof, truth, Costs(np.array([500.0])), 330)


def _write_run(root, name, truth, probabilities, latency, folds_hash="abc", complete=True, flipped=None):
    """A run folder; with `flipped` probabilities it also holds flip-TTA files (rows in another order, as files may be)."""
    run = root / name
    paths = [f"train/x/{i}.jpg" for i in range(len(truth))]
    for suffix, values in (("", probabilities), ("_flip", flipped)):
        if values is None:
            continue
        oof = probability_frame(paths, values, fold=np.arange(len(truth)) % 5, emotion=np.asarray(CLASSES)[truth])
        oof = oof[["image_path", "fold", "emotion", *CLASSES]]
        atomic.write_csv(run / f"oof{suffix}.csv", oof.iloc[::-1] if suffix else oof)
        atomic.write_csv(run / f"test{suffix}.csv", probability_frame([f"{i}.jpg" for i in range(12)], values[:12]))
    run_meta(backbone=name, complete=complete, folds_hash=folds_hash, latency_ms=latency, single_model_latency_ms=None).write(run)
    return run


def test_make_blend_writes_report_recipe_and_remakes_it(tmp_path, truth):
    rng = np.random.default_rng(7)
    thirds = np.arange(N) % 3
    runs = [_write_run(tmp_path / "runs", f"net{k}", truth, _confident(truth, thirds != k, rng), 30.0 + k) for k in range(3)]
    report = blends.make_blend(blends.find_runs(tmp_path / "runs"), "trio", tmp_path / "ensembles", 330, "greedy")
    folder = tmp_path / "ensembles" / "trio"
    saved = json.loads((folder / "report.json").read_text())
    assert BlendReport.read(folder / "report.json") == report, "report.json reads back as the blend that wrote it"
    assert saved["method"] == "greedy" and saved["cv_accuracy"] > saved["best_single"]["oof_accuracy"]
    assert abs(sum(m["weight"] for m in saved["members"]) - 1) < 1e-9
    assert saved["latency_ms"] == pytest.approx(sum(m["latency_ms"] for m in saved["members"]))
    assert (folder / "accuracy_vs_latency.png").stat().st_size > 1000
    assert "cross-validated blend accuracy" in (folder / "report.md").read_text()
    test = pd.read_csv(folder / "test.csv")
    recipe = yaml.safe_load((tmp_path / "ensembles" / "trio.yaml").read_text())
    assert [r["path"] for r in recipe["runs"]] == [str(r) for r in runs]
    (folder / "test.csv").unlink()
    remade = blends.remake_blend(tmp_path / "ensembles" / "trio.yaml", tmp_path / "ensembles")
    pd.testing.assert_frame_equal(pd.read_csv(folder / "test.csv"), test)
    assert remade.oof_accuracy == pytest.approx(report.oof_accuracy)


def test_the_budget_prices_the_reading_asked_for_and_a_run_without_it_is_refused(tmp_path, truth):
    """A run 600 ms on the CPU but 20 ms on one GPU: out of a 330 ms budget on the CPU reading, inside it on the GPU's;
    the blend's report and recipe say which reading it priced, and the recipe re-makes it on the same one."""
    rng = np.random.default_rng(10)
    run = _write_run(tmp_path / "runs", "slow", truth, _confident(truth, rng.random(N) < 0.6, rng), 600.0)
    with pytest.raises(UserError, match="no single run fits the latency budget"):
        blends.make_blend([run], "gpu-priced", tmp_path / "ensembles", 330, "greedy")
    with pytest.raises(UserError, match=r"runs/slow: no one-GPU latency reading .*--latency-on cpu") as caught:
        blends.make_blend([run], "gpu-priced", tmp_path / "ensembles", 330, "greedy", latency_on="gpu")
    assert "\n" not in str(caught.value)
    meta = RunFolder(run).meta()
    dataclasses.replace(meta, gpu_latency_ms=20.0, gpu_single_model_latency_ms=20.0, gpu_latency_device="one GPU (T4)").write(run)
    report = blends.make_blend([run], "gpu-priced", tmp_path / "ensembles", 330, "greedy", latency_on="gpu")
    assert report.latency_on == "gpu" and report.latency_ms == pytest.approx(20.0)
    assert "one-GPU reading" in (tmp_path / "ensembles" / "gpu-priced" / "report.md").read_text()
    recipe = tmp_path / "ensembles" / "gpu-priced.yaml"
    assert yaml.safe_load(recipe.read_text())["latency_on"] == "gpu"
    assert blends.remake_blend(recipe, tmp_path / "ensembles").latency_ms == pytest.approx(20.0), "re-made on the GPU reading"


def test_a_distilled_student_is_left_out_of_the_oof_weighted_blend_and_said_so(tmp_path, truth):
    """Its OOF is optimistic (the teachers saw its held-out images through other folds' models): no OOF weighs it."""
    rng = np.random.default_rng(11)
    plain = _write_run(tmp_path / "runs", "net", truth, _confident(truth, rng.random(N) < 0.5, rng), 30.0)
    student = _write_run(tmp_path / "runs", "net-student", truth, _confident(truth, rng.random(N) < 0.9, rng), 10.0)
    distilled = dataclasses.replace(RunFolder(student).meta(), distillation={"teacher": "teacher", "weight": 0.7})
    distilled.write(student)
    said = []
    report = blends.make_blend([plain, student], "honest", tmp_path / "ensembles", 330, "greedy", log=said.append)
    assert [m.run for m in report.members] == ["net"], "the student's higher OOF does not buy it a weight"
    assert said == [f"ensemble: {student}: {blends.STUDENT_LEFT_OUT}"]
    with pytest.raises(UserError, match=r"only distilled students to blend; submit it alone") as caught:
        blends.make_blend([student], "students", tmp_path / "ensembles", 330, "greedy", log=said.append)
    assert "\n" not in str(caught.value)


def test_a_blend_the_disk_refuses_leaves_the_previous_blend_whole(tmp_path, truth, monkeypatch):
    rng = np.random.default_rng(9)
    for k in range(2):
        _write_run(tmp_path / "runs", f"net{k}", truth, _confident(truth, np.arange(N) % 2 != k, rng), 30.0)
    blends.make_blend(blends.find_runs(tmp_path / "runs"), "pair", tmp_path / "ensembles", 330, "mean")
    folder = tmp_path / "ensembles" / "pair"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full_disk(path, text):
        raise atomic.unwritable(path, OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(atomic, "write_text", full_disk)  # report.json and report.md: after the plot, test.csv and oof.csv
    with pytest.raises(UserError, match=r"ensembles/pair/report.json: cannot write it \(No space left on device\)"):
        blends.make_blend(blends.find_runs(tmp_path / "runs"), "pair", tmp_path / "ensembles", 330, "greedy")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before, "every file of the previous blend, none of the new"
    assert not [p for p in (tmp_path / "ensembles").iterdir() if p.is_dir() and p.name.startswith(".pair.")], "no scratch folder left"


def test_runs_on_other_folds_or_unfinished_are_refused(tmp_path, truth):
    rng = np.random.default_rng(8)
    probabilities = _confident(truth, rng.random(N) < 0.5, rng)
    first = _write_run(tmp_path, "a", truth, probabilities, 10, folds_hash="one")
    other = _write_run(tmp_path, "b", truth, probabilities, 10, folds_hash="two")
    with pytest.raises(UserError, match="different folds"):
        load_members([first, other])
    partial = _write_run(tmp_path, "c", truth, probabilities, 10, complete=False)
    with pytest.raises(UserError, match="finish the run"):
        load_members([first, partial])


def test_latency_is_remeasured_into_meta(tiny_runs, tmp_path):
    import shutil

    from solution.training import remeasure

    run = tmp_path / "convlstm"
    shutil.copytree(tiny_runs / "convlstm", run)
    meta = json.loads((run / "meta.json").read_text())
    meta["latency_ms"] = -1.0
    (run / "meta.json").write_text(json.dumps(meta))
    measured = remeasure.remeasure([run], repeats=3)
    saved = json.loads((run / "meta.json").read_text())
    assert measured == {"convlstm": saved["latency_ms"]} and saved["latency_ms"] > 0
    assert saved["latency_models"] == 3, "every fold model of the run is on the timed path"
    # Tiny models cost less than the timing noise: the order is only as strict as measure_latency guarantees.
    assert saved["latency_ms"] >= saved["single_model_latency_ms"] >= saved["decode_resize_ms"] > 0
    assert saved["latency_device"].startswith("CPU") and saved["oof_accuracy"] == meta["oof_accuracy"]


def test_a_corrupt_blend_report_is_one_line_naming_it(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "report.json").write_text('{"name": "old", "members": []}')
    with pytest.raises(UserError, match="schema_version none, this kit reads 1; re-make it with `make ensemble`") as caught:
        BlendReport.read(tmp_path / "old" / "report.json")
    assert str(tmp_path / "old" / "report.json") in str(caught.value)
    (tmp_path / "old" / "report.json").write_text('{"name": "old", "members": [], "schema_version": 1}')
    with pytest.raises(UserError, match="report.json: no method; .*make ensemble"):
        BlendReport.read(tmp_path / "old" / "report.json")


def test_a_single_run_with_a_short_oof_is_refused_naming_the_missing_rows(tmp_path, truth):
    from solution.data import folds

    data = tmp_path / "data"
    paths = [f"train/x/{i}.jpg" for i in range(len(truth))]
    table = pd.DataFrame({"image_path": paths, "emotion": np.asarray(CLASSES)[truth], "fold": np.arange(len(truth)) % 5, "group": paths})
    folds.write_folds(table, data)
    run = _write_run(tmp_path / "runs", "net", truth, _confident(truth, np.ones(len(truth), bool), np.random.default_rng(1)), 30.0)
    run_meta(backbone="net", folds_hash=folds.folds_hash(data), data=str(data), single_model_latency_ms=None).write(run)
    assert load_members([run]).names == ["net"], "a complete OOF passes"
    oof = pd.read_csv(run / "oof.csv")
    oof.drop(index=[3, 7]).to_csv(run / "oof.csv", index=False)
    with pytest.raises(UserError, match=r"no prediction for 2 training image\(s\) \(train/x/3.jpg, train/x/7.jpg\)"):
        load_members([run])


def test_a_run_folder_without_meta_json_is_named_not_skipped_silently(tmp_path, truth):
    _write_run(tmp_path / "runs", "done", truth, _confident(truth, np.ones(len(truth), bool), np.random.default_rng(2)), 30.0)
    (tmp_path / "runs" / "half" / "fold_0").mkdir(parents=True)
    lines = []
    assert blends.find_runs(tmp_path / "runs", lines.append) == [tmp_path / "runs" / "done"]
    assert len(lines) == 1 and "half: no meta.json" in lines[0] and "make train" in lines[0]


def test_an_empty_oof_csv_is_one_line_naming_it(tmp_path, truth):
    run = _write_run(tmp_path / "runs", "net", truth, _confident(truth, np.ones(len(truth), bool), np.random.default_rng(3)), 30.0)
    (run / "oof.csv").write_text("")
    with pytest.raises(UserError, match=r"oof.csv: empty; .*make train") as caught:
        load_members([run])
    assert str(run / "oof.csv") in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name: trio\nruns: [unclosed\n", r"not valid YAML at line \d"),
        ("- just\n- a list\n", "expected KEY: VALUE fields, found a list"),
        ("", "expected KEY: VALUE fields, found nothing"),
        ("name: trio\nbudget_ms: 330\nruns: []\n", "schema_version none, this kit reads 1"),
        ("schema_version: 1\nname: trio\nbudget_ms: 330\nruns: []\n", "lists no run"),
        ("schema_version: 1\nname: trio\nbudget_ms: fast\nruns: []\n", "budget_ms: 'fast' is not a finite number"),
        ("schema_version: 1\nname: trio\nbudget_ms: .nan\nruns: []\n", "budget_ms: nan is not a finite number"),
        ("schema_version: 1\nname: trio\nbudget_ms: 330\nruns: [{path: runs/x, weight: 1}]\n", r"runs\[0\]: needs .* either folds"),
        (
            "schema_version: 1\nname: trio\nbudget_ms: 330\nruns: [{path: runs/.., weight: 1, folds: [0]}]\n",
            r"runs\[0\].path: 'runs/..' is not a run",
        ),
        ("schema_version: 1\nname: trio\nbudget_ms: 330\nruns: [{path: runs/x, weight: -1, folds: [0]}]\n", "weight of 0 or more"),
    ],
)
def test_a_corrupt_recipe_is_one_line_naming_it(tmp_path, content, message):
    recipe = tmp_path / "trio.yaml"
    recipe.write_text(content)
    with pytest.raises(UserError, match=message) as caught:
        blends.remake_blend(recipe, tmp_path)
    assert str(recipe) in str(caught.value) and "\n" not in str(caught.value)


def _flip_pair(truth, rng):
    """Plain and mirrored predictions that are each right on 60% of images, on different ones: their mean is right more often."""
    right = rng.random(N) < 0.6
    plain = _confident(truth, right, rng)
    mirrored = _confident(truth, ~right | (rng.random(N) < 0.2), rng)
    plain[~right] = plain[~right] * 0.5 + 0.5 / NUM_CLASSES  # unsure where wrong, so the mirrored view decides
    return plain, mirrored


def test_a_run_with_flip_files_offers_a_tta_member_at_twice_its_latency(tmp_path, truth):
    plain, mirrored = _flip_pair(truth, np.random.default_rng(11))
    with_flip = _write_run(tmp_path, "net", truth, plain, 40.0, flipped=mirrored)
    without = _write_run(tmp_path, "other", truth, plain, 25.0)
    members = load_members([with_flip, without])
    assert members.names == ["net", "net+flip", "other"] and members.flip == [False, True, False]
    assert members.latency_ms.tolist() == [40.0, 80.0, 25.0] and members.runs.tolist() == [0, 0, 1]
    order = np.argsort([f"train/x/{i}.jpg" for i in range(N)])  # members are sorted by image path
    assert np.allclose(members.oof[1], ((plain + mirrored) / 2)[order]), "rows are matched by image, whatever their order in the file"
    assert members.costs.of(np.array([0.5, 0.5, 0.0])) == 80.0, "run and run+flip share the plain pass"
    assert members.costs.of(np.array([0.4, 0.3, 0.3])) == 105.0
    assert load_members([with_flip], tta=False).names == ["net"]


def test_flip_tta_is_chosen_where_it_pays_and_dropped_under_a_tight_budget(tmp_path, truth):
    plain, mirrored = _flip_pair(truth, np.random.default_rng(12))
    run = _write_run(tmp_path / "runs", "net", truth, plain, 40.0, flipped=mirrored)
    members = load_members([run])
    assert score(members.oof[1], members.truth)[0] > score(members.oof[0], members.truth)[0] + 0.05, "the TTA member is the better one"
    roomy = blends.make_blend([run], "roomy", tmp_path / "ensembles", 330, "greedy")
    assert any(m.flip for m in roomy.members) and roomy.latency_ms == 80.0
    tight = blends.make_blend([run], "tight", tmp_path / "ensembles", 60, "greedy")
    assert [m.run for m in tight.members] == ["net"] and tight.latency_ms == 40.0, "TTA does not fit 60 ms"
    text = (tmp_path / "ensembles" / "roomy" / "report.md").read_text()
    assert f"| net | {score(plain, truth)[0]:.4f} | 40.0 | {score((plain + mirrored) / 2, truth)[0]:.4f} | 80.0 |" in text
    remade = blends.remake_blend(tmp_path / "ensembles" / "roomy.yaml", tmp_path / "ensembles")
    assert remade.members == roomy.members, "the recipe keeps the flip member"
    for name in ("oof_flip.csv", "test_flip.csv"):
        (run / name).unlink()
    with pytest.raises(UserError, match=r"net \(flip\) has no flip files now; add them with `make tta`"):
        blends.remake_blend(tmp_path / "ensembles" / "roomy.yaml", tmp_path / "ensembles")


def test_a_reordered_test_file_blends_the_same_and_a_duplicated_row_is_refused(tiny_runs, tmp_path):
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(tiny_runs, runs)
    paths = [runs / "mobilenet_v2", runs / "convlstm"]
    before = blends.make_blend(paths, "a", tmp_path / "ensembles", 330, "mean")
    expected = pd.read_csv(tmp_path / "ensembles" / "a" / "test.csv")
    for name in ("test.csv", "test_flip.csv"):
        table = pd.read_csv(runs / "convlstm" / name)
        table.iloc[::-1].to_csv(runs / "convlstm" / name, index=False)  # same images, other order
    after = blends.make_blend(paths, "b", tmp_path / "ensembles", 330, "mean")
    blended = pd.read_csv(tmp_path / "ensembles" / "b" / "test.csv")
    assert after.members == before.members and blended.equals(expected), "rows are matched by image_path"
    table = pd.read_csv(runs / "convlstm" / "test.csv")
    pd.concat([table, table.iloc[[0]]]).to_csv(runs / "convlstm" / "test.csv", index=False)
    with pytest.raises(UserError, match=rf"convlstm/test.csv: {table.image_path.iloc[0]} has more than one row"):
        blends.make_blend(paths, "c", tmp_path / "ensembles", 330, "mean")
