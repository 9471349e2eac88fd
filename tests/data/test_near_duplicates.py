"""Perceptual hashes: resized and re-encoded copies pair up, distinct faces do not, and folds keep copies together."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
from skimage import data as pictures

from solution.data import dataset, eda, folds, near_duplicates
from solution.data.images import read_rgb


def _reencoded(rgb: np.ndarray, quality: int, scale: float = 1.0) -> np.ndarray:
    height, width = rgb.shape[:2]
    resized = cv2.resize(rgb, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    _, encoded = cv2.imencode(".jpg", cv2.cvtColor(resized, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _caught(originals: list[np.ndarray], quality: int, scale: float) -> float:
    found = 0
    for rgb in originals:
        hashes = [near_duplicates.perceptual_hash(rgb), near_duplicates.perceptual_hash(_reencoded(rgb, quality, scale))]
        found += near_duplicates.near_duplicate_pairs(hashes) != []
    return found / len(originals)


@pytest.fixture(scope="module")
def originals(sample_dir) -> list[np.ndarray]:
    return [read_rgb(p).rgb for p in sorted((sample_dir / "train").rglob("*.jpg"))] + [pictures.astronaut()]


@pytest.mark.parametrize(("quality", "scale"), [(95, 0.5), (95, 0.75), (95, 1.6), (75, 1.0), (85, 0.8)])
def test_resized_and_reencoded_copies_are_always_caught(originals, quality, scale):
    assert _caught(originals, quality, scale) == 1.0


@pytest.mark.parametrize(("quality", "scale"), [(40, 1.0), (60, 1.0), (70, 0.6)])
def test_heavily_recompressed_copies_are_nearly_always_caught(originals, quality, scale):
    assert _caught(originals, quality, scale) >= 0.95


def test_distinct_faces_never_pair(sample_dir):
    rgbs = [read_rgb(p).rgb for p in sorted((sample_dir / "train").rglob("*.jpg"))] + [pictures.astronaut(), pictures.chelsea()]
    hashes = [near_duplicates.perceptual_hash(rgb) for rgb in rgbs]
    assert len(hashes) > 100 and near_duplicates.near_duplicate_pairs(hashes) == []


def _every_pair(hashes: list[str], max_distance: int) -> list[tuple[int, int, int]]:
    """The quadratic definition: every two non-empty hashes compared."""
    pairs = []
    for i, first in enumerate(hashes):
        for j in range(i + 1, len(hashes)):
            if first and hashes[j]:
                bits = bin(int(first, 16) ^ int(hashes[j], 16)).count("1")
                if bits <= max_distance:
                    pairs.append((i, j, bits))
    return pairs


@pytest.mark.parametrize("max_distance", [0, 3, 5])
def test_pairs_are_exactly_those_of_comparing_every_two_hashes(max_distance):
    rng = np.random.default_rng(max_distance)
    bases = [int(value) for value in rng.integers(0, 2**63, 40, dtype=np.int64)]
    hashes = []
    for base in bases:  # each base with copies 0 to 6 bits away, in every part of the 64 bits
        for _ in range(4):
            flips = rng.choice(64, int(rng.integers(0, 7)), replace=False)
            hashes.append(f"{base ^ sum(1 << int(bit) for bit in flips):016x}")
    hashes += ["", "ffffffffffffffff", "fffffffffffffffe", ""]
    pairs = near_duplicates.near_duplicate_pairs(hashes, max_distance)
    assert pairs == _every_pair(hashes, max_distance)
    assert pairs, "the set holds close copies"


def test_pairs_and_merged_groups():
    hashes = ["0000000000000000", "0000000000000007", "ffffffffffffffff", "", "000000000000000f"]
    assert near_duplicates.near_duplicate_pairs(hashes) == [(0, 1, 3), (1, 4, 1)]  # 0 and 4 are 4 bits apart
    merged = near_duplicates.merge_groups(["b", "a", "c", "d", "e"], [(0, 1, 3), (1, 4, 1)])
    assert merged == ["a", "a", "c", "d", "a"]
    assert near_duplicates.merge_groups(["x", "y", "x"], []) == ["x", "y", "x"], "equal content hashes stay one group"


def test_folds_keep_resized_and_reencoded_copies_with_their_original(sample_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sample_dir, data, ignore=shutil.ignore_patterns("cache", "folds.csv"))
    copies = {}
    for number, source in enumerate(sorted((data / "train").rglob("*.jpg"))[::10]):
        copy = source.parent / f"copy{number}.jpg"
        rgb = _reencoded(read_rgb(source).rgb, 60, 0.7)
        cv2.imwrite(str(copy), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        copies[copy.relative_to(data).as_posix()] = source.relative_to(data).as_posix()
    (data / "train.csv").unlink(missing_ok=True)  # list the class folders, copies included
    index = dataset.build_index(data)
    table = folds.assign_folds(index.train, k=3, seed=1).set_index("image_path")
    assert len(copies) >= 10
    for copy, source in copies.items():
        assert table.fold[copy] == table.fold[source] and table.group[copy] == table.group[source]
    eda.write_report(index, tmp_path / "eda")
    listed = pd.read_csv(tmp_path / "eda" / eda.NEAR_DUPLICATES_FILE)
    assert {(row.image_path, row.copy) for row in listed.itertuples()} >= {tuple(sorted(pair)) for pair in copies.items()}
    assert "near-duplicate pairs (resized or re-encoded copies" in (tmp_path / "eda" / "report.md").read_text()
