"""`make scale` at 1/100 of the competition's size: the same code as the full run, every stage, its figures and report."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from solution.core.errors import UserError
from solution.core.labels import CLASSES
from solution.ensembling import submission
from tools import scale, scale_set
from tools.scale_stages import STAGES

SMALL = scale_set.ScaleSpec().scaled(0.002)  # 100 training and 10 test images


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale-set") / "set"
    return folder, scale_set.generate(folder, SMALL, workers=1)


def test_the_set_has_the_competitions_shares_sizes_and_copies(small_set):
    folder, made = small_set
    train = pd.read_csv(folder / "train.csv")
    assert made["complete"] and len(train) == SMALL.train and len(list((folder / "test_kaggle").glob("*.jpg"))) == SMALL.test
    counts = Counter(train.emotion)
    assert set(counts) == set(CLASSES) and min(counts.values()) >= SMALL.min_per_class
    assert counts["neutral"] > counts["contempt"], "neutral is the largest class, contempt among the smallest"
    digests = Counter(hashlib.sha1((folder / path).read_bytes()).hexdigest() for path in train.image_path)
    assert sum(n - 1 for n in digests.values()) == SMALL.duplicates, "each duplicate is a byte-identical copy"
    sides = [max(Image.open(folder / path).size) for path in train.image_path]
    assert min(sides) == SMALL.min_side and max(sides) == SMALL.max_side, "the competition's smallest and largest sizes"
    assert SMALL.min_side < float(np.median(sides)) < 2 * SMALL.median_side


def test_a_set_is_made_once_per_spec_and_never_over_other_files(small_set, tmp_path):
    folder, made = small_set
    assert scale_set.generate(folder, SMALL) == made, "an unchanged spec reuses the set"
    assert not scale_set.is_complete(folder, scale_set.ScaleSpec().scaled(0.003))
    (tmp_path / "mine.txt").write_text("the user's")
    with pytest.raises(UserError, match="not a scale set"):
        scale_set.generate(tmp_path, SMALL)
    assert (tmp_path / "mine.txt").read_text() == "the user's"


pytestmark = pytest.mark.long(minutes=0.25)  # with its fixture: the stages take a minute and a half


@pytest.fixture(scope="module")
def hundredth(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    lines = []
    config = scale.ScaleConfig(fraction=0.01, comparison=None, root=root / "sets", workers=1)  # one size: the growth is tested below
    content = scale.run(config, root / "reports", log=lines.append)
    return root, content, lines


def test_every_stage_runs_at_a_hundredth_with_its_time_memory_and_output(hundredth):
    root, content, lines = hundredth
    full = content["sets"]["full"]
    assert full["images"] == 550 and content["sets"]["smaller"] is None and content["growth_exponents"] == {}
    assert list(full["stages"]) == list(STAGES)
    for name, figures in full["stages"].items():
        assert 0 <= figures["seconds"] <= figures["wall_seconds"], name
        assert 100 < figures["peak_mb"] < 4096, name
    stages = full["stages"]
    assert stages["index"]["train"] == 500 and stages["index"]["test"] == 50
    assert stages["folds"]["output_mb"] > 0 and stages["eda"]["output_mb"] > 0
    assert stages["input pipeline"]["images"] == 30 and stages["run folders"] == {**stages["run folders"], "runs": 8, "fold_parts": 5}
    assert set(stages["training cache"]["cache_bytes_per_image"]) == {"224", "260"}
    assert len(lines) == len(STAGES) and all("MB peak" in line for line in lines)
    assert content["checks"] == [], "the limits are judged on the full size only"


def test_the_blends_submission_and_merge_are_real_outputs(hundredth):
    root, content, _ = hundredth
    data = root / "sets" / "n550"
    work = data / "work"
    assert submission.validate(work / "submission.csv", data) == []
    for method in ("mean", "greedy", "weights"):
        report = json.loads((work / "ensembles" / f"scale-{method}" / "report.json").read_text())
        assert report["method"] == method
    backbone = sorted((work / "fold-parts").iterdir())[0].name.rsplit("-f", 1)[0]
    merged, original = (pd.read_csv(folder / backbone / "oof.csv") for folder in (work / "merged", work / "runs"))
    pd.testing.assert_frame_equal(merged, original)
    folds = pd.read_csv(data / "folds.csv")
    assert folds.image_path.is_unique and set(folds.fold) == set(range(5))


def test_the_report_names_every_stage(hundredth):
    root, content, _ = hundredth
    text = (root / "reports" / scale.SCALE_MD).read_text()
    assert all(f"| {name} |" in text for name in STAGES) and "--no-growth" in text
    assert json.loads((root / "reports" / scale.SCALE_JSON).read_text())["sets"]["full"]["images"] == 550
    assert "Judged on the full size only" in text and "## The training cache" in text


def test_two_sizes_give_each_stage_its_growth_and_the_limits_are_judged(hundredth):
    _, content, _ = hundredth
    full = content["sets"]["full"]
    smaller = {"images": 55, "stages": {name: {**figures, "seconds": figures["seconds"] / 8} for name, figures in full["stages"].items()}}
    del smaller["stages"]["training cache"]  # run on the full set only
    exponents = {name: scale.growth_exponent(smaller["stages"][name], full["stages"][name], 55, 550) for name in smaller["stages"]}
    timed = [name for name, value in exponents.items() if value is not None]
    assert timed and all(exponents[name] == pytest.approx(np.log10(8), abs=0.01) for name in timed)
    both = {**content, "sets": {"smaller": smaller, "full": full}, "growth_exponents": exponents,
            "checks": scale.checks(full, exponents, scale.ScaleLimits())}  # fmt: skip
    text = scale.markdown(both)
    assert "and on one of 55" in text and f"| {timed[0]} | {smaller['stages'][timed[0]]['seconds']:.2f} |" in text
    assert "| training cache | - |" in text and "| growth exponent: " in text


def test_growth_exponents_and_limits_are_computed_from_the_figures():
    assert scale.growth_exponent({"seconds": 1.0}, {"seconds": 10.0}, 100, 1000) == 1.0
    assert scale.growth_exponent({"seconds": 1.0}, {"seconds": 100.0}, 100, 1000) == 2.0
    assert scale.growth_exponent({"seconds": 0.01}, {"seconds": 5.0}, 100, 1000) is None, "too fast to tell"
    stages = {name: {"seconds": 1.0, "wall_seconds": 2.0, "peak_mb": 300} for name in STAGES}
    stages["eda"]["wall_seconds"] = 500.0
    checks = {c["check"]: c["holds"] for c in scale.checks({"stages": stages}, {"index": 1.1, "eda": 1.5}, scale.ScaleLimits())}
    assert checks["index + hashes + near-duplicates + folds"] and not checks["EDA"]
    assert checks["growth exponent: index"] and not checks["growth exponent: eda"]
