"""The blend folder: what one named blend leaves behind (ensembles/NAME/), and its recipe.

ensembles/NAME/
    report.json                  BlendReport: method, budget, scores, members, every method tried
    report.md                    the same for people, with the accuracy-vs-latency table
    accuracy_vs_latency.png      the best greedy blend at each budget
    oof.csv, test.csv            the blend's probabilities (run-folder format)
ensembles/NAME.yaml              the recipe: runs and weights, to re-make the blend without selecting
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from solution.core import atomic
from solution.core.documents import read_json, read_yaml
from solution.core.errors import UserError
from solution.core.names import checked_name, name_problem, named_path
from solution.core.records import record

REPORT_JSON, REPORT_MD, PLOT = "report.json", "report.md", "accuracy_vs_latency.png"
RECIPE_SUFFIX = ".yaml"
BLEND_SCHEMA = 1  # schema_version of report.json and of the recipe
NAME_FIX = "a blend's name is a plain name such as blend or sample-blend; choose another"


def blend_path(root: Path, name: object, given_by: str = "--name") -> Path:
    """ensembles/NAME/ for a blend name from a user or a recipe: a plain name, never a path out of `root`."""
    return named_path(root, name, given_by, NAME_FIX)


def recipe_path(root: Path, name: object, given_by: str = "--name") -> Path:
    return named_path(root, name, given_by, NAME_FIX, RECIPE_SUFFIX)


@dataclass(frozen=True)
class RecipeMember:
    """One run of a recipe: its folder, its weight, and which of its models the blend's test predictions average."""

    path: str
    weight: float
    flip: bool = False
    folds: list[int] | None = None  # the fold models averaged; None with refit
    refit: bool = False


@dataclass(frozen=True)
class BlendRecipe:
    """ensembles/NAME.yaml: the runs and weights that re-make a blend without selecting again (`--recipe`)."""

    name: str
    budget_ms: float
    runs: list[RecipeMember]
    method: str = "unknown"
    cv_accuracy: float | None = None  # None: a recipe re-made from a recipe (nothing was cross-validated)
    latency_on: str = "cpu"  # the latency reading the budget priced: "cpu" or "gpu" (one GPU)
    schema_version: int = BLEND_SCHEMA

    def write(self, root: Path) -> Path:
        return atomic.write_text(recipe_path(root, self.name), yaml.safe_dump(asdict(self), sort_keys=False))

    @classmethod
    def read(cls, path: Path) -> BlendRecipe:
        """A recipe, typed and checked: it is a file from elsewhere, so its name must be a plain name and each member
        a run folder's path with weight and models; a bad one is one line naming the field."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{path}: recipe not found; make the blend first (`make ensemble`)")
        fix = "fix it, or make the blend again with `make ensemble`"
        recipe = record(cls, read_yaml(path, fix), path, fix, BLEND_SCHEMA)
        checked_name(recipe.name, f"{path}: name", NAME_FIX)
        if not recipe.runs:
            raise UserError(f"{path}: runs: lists no run; {fix}")
        if recipe.latency_on not in ("cpu", "gpu"):
            raise UserError(f"{path}: latency_on: {recipe.latency_on!r} is neither cpu nor gpu; {fix}")
        for index, member in enumerate(recipe.runs):
            where = f"{path}: runs[{index}]"
            problem = name_problem(Path(member.path).name) or ("\0" in member.path and "holding a NUL")
            if problem:
                raise UserError(f"{where}.path: {member.path!r} is not a run folder's path ({problem}); {fix}")
            if member.weight < 0 or (member.folds is None) == (not member.refit) or (member.folds is not None and not member.folds):
                raise UserError(f"{where}: needs a weight of 0 or more and either folds: [0, 1, ...] or refit: true; {fix}")
        return recipe


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
    latency_on: str = "cpu"  # the latency reading the budget priced: "cpu" or "gpu" (one GPU)
    schema_version: int = BLEND_SCHEMA

    def describe_members(self, separator: str = ", ") -> str:
        return separator.join(f"{m.run} x{m.weight:.2f}" for m in self.members)

    def write(self, folder: Path) -> Path:
        return atomic.write_json(Path(folder) / REPORT_JSON, asdict(self))

    @classmethod
    def read(cls, path: Path) -> BlendReport:
        """A blend's report.json; a corrupt, foreign or older file is one line naming it and the fix."""
        fix = "re-make it with `make ensemble`"
        return record(cls, read_json(path, fix), path, fix, BLEND_SCHEMA)


def blend_reports(ensembles: Path) -> list[Path]:
    """Every blend's report.json under `ensembles`, oldest first."""
    return sorted(Path(ensembles).glob(f"*/{REPORT_JSON}"), key=lambda path: path.stat().st_mtime)
