"""Plots are files, not windows: matplotlib's Agg backend, no font-fallback chatter, PNGs written atomically."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from solution.core import atomic  # noqa: E402

# A fresh matplotlib logs a "findfont: Font family ... not found" line per missing math font when a log axis
# draws its first 10^n tick: twenty lines that read as failures and change nothing in the PNG.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def save_png(figure: plt.Figure, path: Path) -> str:
    """Write the figure as a PNG, close it, and return the file name (what a report links to)."""
    path = Path(path)
    atomic.write_with(path, lambda tmp: figure.savefig(tmp, dpi=110, bbox_inches="tight", format="png"))
    plt.close(figure)
    return path.name
