"""The blend folder: what one named blend leaves behind (ensembles/NAME/), and its recipe.

ensembles/NAME/
    report.json                  BlendReport: method, budget, scores, members, every method tried
    report.md                    the same for people, with the accuracy-vs-latency table
    accuracy_vs_latency.png      the best greedy blend at each budget
    oof.csv, test.csv            the blend's probabilities (run-folder format)
ensembles/NAME.yaml              the recipe: runs and weights, to re-make the blend without selecting
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from solution.core import atomic
from solution.core.errors import UserError

REPORT_JSON, REPORT_MD, PLOT = "report.json", "report.md", "accuracy_vs_latency.png"


@dataclass(frozen=True)
class BlendMember:
    run: str  # the backbone, with +flip for its flip-TTA member
    path: str  # its run folder
    weight: float
    oof_accuracy: float
    latency_ms: float
    flip: bool = False  # the mean of the run's plain and mirrored predictions (flip TTA)
    folds: list[int] | None = None  # the fold models its test predictions average; None (older reports): all of them
    refit: bool = False  # its test predictions come from the run's refit model (folds is empty)

    def describe_models(self) -> str:
        return "refit" if self.refit else ", ".join(map(str, self.folds or []))


@dataclass(frozen=True)
class BestSingle:
    run: str
    oof_accuracy: float


@dataclass(frozen=True)
class MethodScore:
    method: str
    oof_accuracy: float
    cv_accuracy: float
    oof_log_loss: float
    latency_ms: float


@dataclass(frozen=True)
class BlendReport:
    """report.json: built by `ensembling.blends`, read by the CLI, the kernels, `make report` and `make bench`."""

    name: str
    method: str
    budget_ms: float
    latency_ms: float
    oof_accuracy: float
    oof_log_loss: float
    cv_accuracy: float
    selection_seconds: float
    best_single: BestSingle
    members: tuple[BlendMember, ...]
    methods: tuple[MethodScore, ...]
    created: str

    def describe_members(self, separator: str = ", ") -> str:
        return separator.join(f"{m.run} x{m.weight:.2f}" for m in self.members)

    def write(self, folder: Path) -> Path:
        return atomic.write_json(Path(folder) / REPORT_JSON, asdict(self))

    @classmethod
    def read(cls, path: Path) -> BlendReport:
        """A blend's report.json; a corrupt or foreign file is one line naming it and the fix."""
        try:
            content = json.loads(Path(path).read_text())
            return cls(
                **{
                    **content,
                    "best_single": BestSingle(**content["best_single"]),
                    "members": tuple(BlendMember(**member) for member in content["members"]),
                    "methods": tuple(MethodScore(**method) for method in content["methods"]),
                }
            )
        except (ValueError, UnicodeDecodeError, TypeError, KeyError) as error:
            raise UserError(
                f"{path}: not a blend report of this kit ({type(error).__name__}: {error}); re-make it with `make ensemble`"
            ) from None


def blend_reports(ensembles: Path) -> list[Path]:
    """Every blend's report.json under `ensembles`, oldest first."""
    return sorted(Path(ensembles).glob(f"*/{REPORT_JSON}"), key=lambda path: path.stat().st_mtime)
