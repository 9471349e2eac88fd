"""Comparing two trainings of the same fold: which setting wins on the held-out images, and by more than chance?

Both runs predict the same images, so the comparison is paired: only images that one run gets right and the
other wrong move the difference, and its 95% interval comes from those discordant counts (the normal
approximation behind McNemar's test), not from two independent accuracies.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from solution.core.errors import UserError
from solution.core.labels import CLASSES

Z_95 = 1.96


def _right(oof: pd.DataFrame) -> pd.Series:
    return pd.Series(oof[list(CLASSES)].to_numpy().argmax(axis=1) == oof.emotion.map(CLASSES.index).to_numpy(), index=oof.image_path)


def compare(backbone: str, setting: str, fold: int, oofs: dict[str, pd.DataFrame]) -> dict:
    """Accuracy per value and, for the first two values, the paired difference (second minus first) with its 95% interval."""
    right = {value: _right(oof) for value, oof in oofs.items()}
    first, second = list(right)[:2]
    if set(right[first].index) != set(right[second].index):
        raise UserError(f"A/B {setting}: the two runs predicted different images; both must train fold {fold} of the same folds.csv")
    a, b = right[first], right[second].loc[right[first].index]
    images = len(a)
    only_second, only_first = int((b & ~a).sum()), int((a & ~b).sum())
    difference = (only_second - only_first) / images
    spread = math.sqrt(max(0.0, only_second + only_first - (only_second - only_first) ** 2 / images)) / images
    return {
        "backbone": backbone,
        "setting": setting,
        "fold": fold,
        "images": images,
        "accuracy": {value: float(np.mean(r)) for value, r in right.items()},
        "difference": {
            "of": f"{setting}={second} minus {setting}={first}",
            "value": difference,
            "ci95": [difference - Z_95 * spread, difference + Z_95 * spread],
        },
        "discordant": {f"only {first}": only_first, f"only {second}": only_second},
    }


def format_comparison(result: dict) -> str:
    """The lines an A/B kernel prints: each value's accuracy, then the difference and what it means."""
    setting = result["setting"]
    lines = [f"A/B {setting} on fold {result['fold']} of {result['backbone']} ({result['images']:,} held-out images):"]
    lines += [f"  {setting}={value}: accuracy {accuracy:.4f}" for value, accuracy in result["accuracy"].items()]
    difference = result["difference"]
    low, high = difference["ci95"]
    verdict = "a real difference" if low > 0 or high < 0 else "within chance: keep the profile's default"
    lines.append(f"  {difference['of']}: {difference['value']:+.4f} (95% interval {low:+.4f} to {high:+.4f}): {verdict}")
    return "\n".join(lines)
