"""Where things live and what the competition is: configuration as data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CPU_REPLICAS_VARIABLE = "EMOTION_CPU_REPLICAS"  # a CPU playing several GPUs (training/accelerate.py), e.g. in the rehearsal


@dataclass(frozen=True)
class Competition:
    """Facts about the Kaggle competition the kit targets."""

    slug: str = "skillbox-computer-vision-project"
    max_latency_ms: float = 330.0
    own_files: tuple[str, ...] = ("train.csv", "sample_submission.csv")


@dataclass(frozen=True)
class Paths:
    """The repository's folders (ARCHITECTURE.md has the map)."""

    root: Path = REPO_ROOT

    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    @property
    def competition_data(self) -> Path:
        return self.inputs / "competition"

    @property
    def sample_data(self) -> Path:
        return self.inputs / "sample"

    @property
    def runs(self) -> Path:
        """One run folder per trained backbone (git-ignored)."""
        return self.root / "runs"

    @property
    def submissions(self) -> Path:
        return self.root / "submissions"

    @property
    def ensembles(self) -> Path:
        return self.root / "ensembles"

    @property
    def reports(self) -> Path:
        """What `make bench` and `make report` write (generated, git-ignored)."""
        return self.root / "reports"

    @property
    def demo_model(self) -> Path:
        """The exported demo model (`make export`), the demo scripts' default --model."""
        return self.root / "demo" / "model"

    @property
    def kernels(self) -> Path:
        return self.root / "kernels"

    @property
    def kernel_outputs(self) -> Path:
        """Where `--local` kernel runs write, one folder per kernel: the local stand-in for /kaggle/input/<kernel>."""
        return self.inputs / "kernel-output"

    def default_data(self) -> Path:
        """The competition data once downloaded, else the embedded sample (as the Makefile's DATA)."""
        return self.competition_data if (self.competition_data / "train.csv").exists() else self.sample_data


COMPETITION = Competition()
PATHS = Paths()
