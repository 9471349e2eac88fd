"""Driving the kernels on Kaggle with the kaggle client: push, status, and pull a finished kernel's run folder.

A pulled output becomes ROOT/<backbone>/ in exactly the format local training writes; it replaces an
existing run folder only once it is complete, so a failed or partial download never loses a finished run.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from solution.artifacts.runs import RunFolder
from solution.core.errors import UserError
from solution.core.kaggle_cli import KaggleCli
from solution.core.names import named_path

STATUS_LINE = re.compile(r'has status "(?:KernelWorkerStatus\.)?(?P<state>[A-Za-z_]+)"')
FAILURE_LINE = re.compile(r'Failure message: "(?P<message>.*)"')
PUSH_ERROR = re.compile(r"Kernel push error: (?P<message>.*)")
# Printed before "successfully pushed" when Kaggle drops an input: the kernel runs, without it (it then refuses).
DROPPED_INPUTS = re.compile(r"The following are not valid (?P<what>.*)")
SESSION_LIMIT = re.compile(r"Maximum batch \w+ session count", re.IGNORECASE)  # Kaggle runs 2 GPU sessions at once
FINISHED_STATES = ("complete", "error", "cancel_acknowledged")


class SessionLimitReached(UserError):
    """Kaggle refused a push because the account's batch sessions are all busy: try again once one ends."""


@dataclass(frozen=True)
class KernelStatus:
    slug: str
    state: str  # queued, running, complete, error, cancel_requested, cancel_acknowledged, new_script, or unknown
    message: str = ""

    @property
    def complete(self) -> bool:
        return self.state == "complete"


@dataclass(frozen=True)
class Pushed:
    """A push Kaggle accepted: its line ("Kernel version N successfully pushed ...") and what it dropped on the way."""

    line: str
    problems: tuple[str, ...] = ()  # e.g. "not valid kernel sources ... [...]": the kernel runs without those inputs

    def describe(self) -> str:
        if not self.problems:
            return self.line
        return (
            f"{self.line}; PROBLEM: Kaggle said '{'; '.join(self.problems)}': the kernel runs without them and refuses in its first "
            "minute; push what it attaches first (make push-all keeps that order), then push it again"
        )


def push(folder: Path, cli: KaggleCli | None = None) -> Pushed:
    """`kaggle kernels push -p folder`; the client prints some failures with exit code 0, so its output is read too.
    A push that printed "successfully pushed" happened, whatever else it printed: Kaggle runs that version, so it is
    returned (and recorded by push-all) with the inputs Kaggle dropped named as problems, never reported as failed."""
    output = (cli or KaggleCli()).run("kernels", "push", "-p", str(folder))
    accepted = next((line.strip() for line in output.splitlines() if "successfully pushed" in line), None)
    failure = PUSH_ERROR.search(output) or (None if accepted else DROPPED_INPUTS.search(output))
    if failure:
        refused = SessionLimitReached if SESSION_LIMIT.search(failure.group(0)) else UserError
        raise refused(f"kaggle kernels push {folder}: {failure.group(0).strip()}")
    problems = tuple(match.group(0).strip() for match in DROPPED_INPUTS.finditer(output))
    return Pushed(accepted or output.strip(), problems)


def status(slug: str, cli: KaggleCli | None = None) -> KernelStatus:
    """The kernel's state on Kaggle; a kernel never pushed is state 'absent'."""
    try:
        output = (cli or KaggleCli()).run("kernels", "status", slug)
    except UserError as error:
        if "HTTP 404" in str(error):
            return KernelStatus(slug, "absent")
        raise
    state = STATUS_LINE.search(output)
    failure = FAILURE_LINE.search(output)
    return KernelStatus(slug, state.group("state").lower() if state else "unknown", failure.group("message") if failure else "")


def download_output(slug: str, folder: Path, cli: KaggleCli | None = None) -> Path:
    """`kaggle kernels output`: the kernel's output files into `folder`."""
    (cli or KaggleCli()).run("kernels", "output", slug, "-p", str(folder), "--force", "--quiet")
    return Path(folder)


def pull(slugs: list[str], backbone: str, runs_root: Path, cli: KaggleCli | None = None) -> Path:
    """Download the output of a backbone's training kernel (or of each of its fold kernels) and install its run
    folder as runs_root/<backbone>/."""
    runs_root = Path(runs_root)
    runs_root.mkdir(parents=True, exist_ok=True)
    cli = cli or KaggleCli()
    with tempfile.TemporaryDirectory(dir=runs_root, prefix=f".pull-{backbone}-") as scratch:
        parts = []
        for index, slug in enumerate(slugs):
            parts.append(download_output(slug, Path(scratch) / f"part-{index}", cli) / backbone)
        return install_outputs(parts, runs_root, ", ".join(slugs))


def install_outputs(parts: list[Path], runs_root: Path, source: str) -> Path:
    """Install one kernel's run folder as it is, or the partial run folders of fold kernels merged into one."""
    from solution.artifacts.fold_merge import merge_fold_runs

    for part in parts:
        if not part.is_dir():
            raise UserError(f"{source}: the output has no {part.name}/ run folder; check the kernel's log on Kaggle and push it again")
    if len(parts) == 1:
        return install_run_folder(parts[0], runs_root, source)
    merged = parts[0].parent.parent / "merged" / parts[0].name
    merge_fold_runs(parts, merged)
    return install_run_folder(merged, runs_root, source)


def install_run_folder(pulled: Path, runs_root: Path, source: str) -> Path:
    """Move a kernel's complete run folder to runs_root/<name>/, replacing the old one only now; `source` names
    the kernel in the message when the output is incomplete."""
    problem = RunFolder(pulled).incomplete()
    if problem:
        raise UserError(f"{source}: output incomplete ({problem}); check the kernel's log on Kaggle and push it again")
    target = named_path(runs_root, pulled.name, source, "its run folder must be named after its backbone; push the kernel again")
    previous = runs_root / f".previous-{pulled.name}"
    if target.exists():
        target.rename(previous)
    shutil.move(str(pulled), str(target))
    shutil.rmtree(previous, ignore_errors=True)
    return target
