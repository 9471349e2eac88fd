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

STATUS_LINE = re.compile(r'has status "(?:KernelWorkerStatus\.)?(?P<state>[A-Za-z_]+)"')
FAILURE_LINE = re.compile(r'Failure message: "(?P<message>.*)"')
PUSH_ERROR = re.compile(r"Kernel push error: (?P<message>.*)|The following are not valid (?P<what>.*)")


@dataclass(frozen=True)
class KernelStatus:
    slug: str
    state: str  # queued, running, complete, error, cancel_requested, cancel_acknowledged, new_script, or unknown
    message: str = ""

    @property
    def complete(self) -> bool:
        return self.state == "complete"


def push(folder: Path, cli: KaggleCli | None = None) -> str:
    """`kaggle kernels push -p folder`; the client prints some failures with exit code 0, so its output is read too."""
    output = (cli or KaggleCli()).run("kernels", "push", "-p", str(folder))
    failure = PUSH_ERROR.search(output)
    if failure:
        raise UserError(f"kaggle kernels push {folder}: {failure.group(0).strip()}")
    return next((line.strip() for line in output.splitlines() if "successfully pushed" in line), output.strip())


def status(slug: str, cli: KaggleCli | None = None) -> KernelStatus:
    output = (cli or KaggleCli()).run("kernels", "status", slug)
    state = STATUS_LINE.search(output)
    failure = FAILURE_LINE.search(output)
    return KernelStatus(slug, state.group("state").lower() if state else "unknown", failure.group("message") if failure else "")


def pull(slug: str, backbone: str, runs_root: Path, cli: KaggleCli | None = None) -> Path:
    """Download a finished training kernel's output and install its run folder as runs_root/<backbone>/."""
    runs_root = Path(runs_root)
    runs_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=runs_root, prefix=f".pull-{backbone}-") as scratch:
        (cli or KaggleCli()).run("kernels", "output", slug, "-p", scratch, "--force", "--quiet")
        pulled = Path(scratch) / backbone
        problem = RunFolder(pulled).incomplete()
        if problem:
            raise UserError(f"{slug}: output incomplete ({problem}); check the kernel's log on Kaggle and push it again")
        target = runs_root / backbone
        previous = runs_root / f".previous-{backbone}"
        if target.exists():
            target.rename(previous)
        pulled.rename(target)
        shutil.rmtree(previous, ignore_errors=True)
    return target
