"""`make sweep`: the kit tried as a new user (and as someone handing them a file) would, on a clone.

Each case of `sweep_cases` runs the real commands (`python -m solution`, `make`, `demo/*.py`) in a fresh copy of
a clone that holds a small trained kit (sample data, folds, a run, a blend, a submission, an exported model), then
is judged by what happened, not by what the kit said about it:
- security: a file outside the clone changed, or the canary (a file only injected code writes) appeared;
- lost: a file that was in the clone before the case changed or went missing, beyond what the case may write;
- traceback: any process printed a Python traceback;
- silent: the case's own check failed (a bad input accepted, a resume that did not finish, a worker left running).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from fnmatch import fnmatch
from pathlib import Path

from solution.core import atomic
from solution.core.config import REPO_ROOT
from solution.core.markdown import table as markdown_table
from tools import provenance

SWEEP_MD, SWEEP_JSON = "sweep.md", "sweep.json"
TRACEBACK = "Traceback (most recent call last)"
OUTCOMES = ("security", "lost", "traceback", "silent", "clean")  # the worst first: a case is counted once, by its worst
UNTRACKED = (".venv", ".git", "__pycache__", "*.pyc", ".pytest_cache", ".ruff_cache", "*.lock")  # a lock file holds a PID, not work
PROCESS_TIMEOUT_S = 900


@dataclasses.dataclass
class Finished:
    """One process a case ran: what it was, how it ended, what it said."""

    args: list[str]
    returncode: int | None  # None: it hung past the timeout and was killed
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def said(self) -> str:
        """Its last line on stderr (else stdout): what a user reads."""
        lines = [line for line in (self.stderr.strip() or self.stdout.strip()).splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


@dataclasses.dataclass
class Workspace:
    """A fresh copy of the clone for one case, with a folder of the user's other files beside it."""

    root: Path
    outside: Path
    canary: Path
    home: Path
    processes: list[Finished] = dataclasses.field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        kept = {key: value for key, value in os.environ.items() if not key.startswith(("KAGGLE_", "PYTEST", "TF_NUM_"))}
        return {**kept, "HOME": str(self.home), "TF_CPP_MIN_LOG_LEVEL": "2", **extra}

    def command(self, kind: str, *args: str) -> list[str]:
        """`solution ...`, `make ...` or `demo NAME.py ...` as the argument list a user's shell would run."""
        if kind == "solution":
            return [sys.executable, "-m", "solution", *args]
        if kind == "make":
            return ["make", "--no-print-directory", *args]
        return [sys.executable, f"demo/{args[0]}", *args[1:]]

    def run(self, kind: str, *args: str, env: dict[str, str] | None = None, timeout: float = PROCESS_TIMEOUT_S) -> Finished:
        return self.finish(self.start(kind, *args, env=env), timeout)

    def cli(self, *args: str, **options) -> Finished:
        return self.run("solution", *args, **options)

    def make(self, *args: str, **options) -> Finished:
        return self.run("make", *args, **options)

    def script(self, *args: str, **options) -> Finished:
        return self.run("demo", *args, **options)

    def start(self, kind: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start it in a session of its own (Ctrl+C reaches a terminal's whole process group: `interrupt` does too)."""
        return subprocess.Popen(
            self.command(kind, *args),
            cwd=self.root,
            env=self.env(**(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def finish(self, process: subprocess.Popen, timeout: float = PROCESS_TIMEOUT_S) -> Finished:
        started = time.monotonic()
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            code: int | None = process.returncode
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            code = None
        finished = Finished(list(map(str, process.args)), code, stdout, stderr, time.monotonic() - started)
        self.processes.append(finished)
        return finished

    def interrupt(self, kind: str, *args: str, signal_number: int, after_s: float) -> Finished:
        """Run it and send `signal_number` after `after_s` seconds: SIGINT to its process group, as Ctrl+C in a
        terminal does; SIGTERM and SIGKILL to the process alone, as `kill` does."""
        process = self.start(kind, *args)
        try:
            process.wait(timeout=after_s)
        except subprocess.TimeoutExpired:
            if signal_number == signal.SIGINT:
                os.killpg(process.pid, signal_number)
            else:
                process.send_signal(signal_number)
        return self.finish(process)

    def left_running(self, grace_s: float = 10.0) -> list[int]:
        """PIDs of processes still running from this copy (a worker that outlived its parent), after a grace time."""
        deadline = time.monotonic() + grace_s
        while True:
            found = []
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit() and int(entry.name) != os.getpid():
                    try:
                        if os.readlink(entry / "cwd").startswith(str(self.root)):
                            found.append(int(entry.name))
                    except OSError:
                        continue
            if not found or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def refused(done: Finished, naming: str = "") -> str | None:
    """None when the kit said no in words: a non-zero exit, a message naming `naming`."""
    if done.returncode is None:
        return "hung: killed after the timeout"
    if done.returncode == 0:
        return f"accepted (exit 0): {done.said[:120]}"
    if naming and naming not in done.output:
        return f"refused without naming {naming}: {done.said[:120]}"
    return None


@dataclasses.dataclass(frozen=True)
class Case:
    """One thing a user (or a file from elsewhere) does to the kit. `act` runs it in a workspace and returns what went
    wrong that only the case can see (a bad input accepted, a resume that did not finish), or None."""

    kind: str
    name: str
    act: Callable[[Workspace], str | None]
    may_change: tuple[str, ...] = ()  # globs, relative to the clone, of files the case may rewrite or remove
    needs_root: bool = False  # mounts a full or read-only file system
    setup: Callable[[Workspace], None] | None = None  # what the user had before: in place before the files are hashed


@dataclasses.dataclass
class Result:
    kind: str
    name: str
    outcome: str
    detail: str
    said: str
    seconds: float


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (none of the untracked tool folders) and a hash of its bytes."""
    files: dict[str, str] = {}
    if not folder.exists():
        return files
    for current, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not any(fnmatch(name, pattern) for pattern in UNTRACKED)]
        for name in names:
            path = Path(current) / name
            if any(fnmatch(name, pattern) for pattern in UNTRACKED) or not path.is_file() or path.is_symlink():
                continue
            files[str(path.relative_to(folder))] = hashlib.sha1(path.read_bytes()).hexdigest()
    return files


def changed(before: dict[str, str], after: dict[str, str], allowed: Iterable[str] = ()) -> list[str]:
    """Files of `before` that are gone or different in `after`, but for those matching a glob of `allowed`."""
    allowed = tuple(allowed)
    return sorted(
        path for path, digest in before.items() if after.get(path) != digest and not any(fnmatch(path, pattern) for pattern in allowed)
    )


def judge(case: Case, workspace: Workspace, before: tuple[dict, dict], after: tuple[dict, dict], problem: str | None) -> tuple[str, str]:
    """The case's outcome (the worst that happened) and what shows it."""
    inside_before, outside_before = before
    inside_after, outside_after = after
    touched = changed(outside_before, outside_after) + sorted(set(outside_after) - set(outside_before))
    if workspace.canary.exists() or touched:
        return "security", ("injected code ran (the canary exists)" if workspace.canary.exists() else f"outside the clone: {touched[:3]}")
    lost = changed(inside_before, inside_after, case.may_change)
    if lost:
        return "lost", f"{len(lost)} file(s) changed or gone: {lost[:3]}"
    traced = [finished for finished in workspace.processes if TRACEBACK in finished.output]
    if traced:
        return "traceback", f"{' '.join(traced[0].args[1:4])}: {traced[0].said}"
    if problem:
        return "silent", problem
    return "clean", ""


def run_case(case: Case, template: Path, scratch: Path) -> Result:
    """Run one case in a fresh copy of `template`, then judge it."""
    folder = Path(tempfile.mkdtemp(prefix="case-", dir=scratch))
    workspace = Workspace(folder / "clone", folder / "outside", folder / "CANARY", folder / "home")
    shutil.copytree(template, workspace.root, symlinks=True)
    shutil.copytree(template.parent / "outside", workspace.outside)
    workspace.home.mkdir()
    started = time.monotonic()
    before = None
    try:
        if case.setup:
            case.setup(workspace)
        before = snapshot(workspace.root), snapshot(workspace.outside)
        problem = case.act(workspace)
    except Exception as error:  # the harness's own fault, or a check that could not run: reported, never hidden
        problem = f"the case could not run: {type(error).__name__}: {error}"
    after = snapshot(workspace.root), snapshot(workspace.outside)
    outcome, detail = judge(case, workspace, before or after, after, problem)
    said = workspace.processes[-1].said if workspace.processes else ""
    result = Result(case.kind, case.name, outcome, detail, said[:200], round(time.monotonic() - started, 1))
    _unmount_all(folder)
    shutil.rmtree(folder, ignore_errors=True)
    return result


def _unmount_all(folder: Path) -> None:
    """Undo the file systems a case mounted under its folder."""
    for line in reversed(Path("/proc/mounts").read_text().splitlines()):
        point = line.split()[1]
        if point.startswith(str(folder)):
            subprocess.run(["umount", "-l", point], check=False, capture_output=True)


def make_clone(target: Path) -> Path:
    """The repository's tracked files (as `git clone` would give them) beside this kit's .venv."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    (target / ".venv").symlink_to(REPO_ROOT / ".venv")
    return target


def can_mount() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None


def counts(results: list[Result]) -> dict[str, dict[str, int]]:
    """Per kind (and in all): how many cases, and how many ended in each outcome."""
    table: dict[str, dict[str, int]] = {}
    for result in results:
        for kind in (result.kind, "all"):
            row = table.setdefault(kind, {"cases": 0, **dict.fromkeys(OUTCOMES, 0)})
            row["cases"] += 1
            row[result.outcome] += 1
    return table


def markdown(results: list[Result], not_run: list[str], seconds: float, command: str, ran: str = "") -> str:
    table = counts(results)
    lines = [
        "# Reliability sweep",
        "",
        f"`{command}` ran {len(results)} cases in {seconds / 60:.1f} minutes{f' ({ran})' if ran else ''}, each in a fresh copy "
        "of a clone with a small "
        "trained kit. Outcomes, the worst counted: **security** (a file outside the clone changed, or injected code "
        "ran), **lost** (a file the clone held changed or went missing, beyond what the case may write), "
        "**traceback**, **silent** (a bad input accepted, a resume that did not finish, a worker left running).",
        "",
    ]
    per_kind = [
        [f"**{kind}**" if kind == "all" else kind, row["cases"], *(row[outcome] for outcome in OUTCOMES)]
        for kind, row in sorted(table.items(), key=lambda item: item[0] == "all")  # each kind in the order run, then all
    ]
    lines.append(markdown_table(["kind", "cases", *OUTCOMES], per_kind, numeric=range(1, len(OUTCOMES) + 2)).rstrip("\n"))
    if not_run:
        lines += ["", f"Not run ({len(not_run)}, mounting file systems needs root): " + ", ".join(not_run) + "."]
    cases = [
        [result.kind, result.name, result.outcome + (f": {result.detail}" if result.detail else ""), f"{result.seconds:.0f}", result.said]
        for result in results
    ]
    lines += ["", markdown_table(["kind", "case", "outcome", "s", "what the kit said last"], cases, numeric=(3,))]
    return "\n".join(lines)


def run(cases: list[Case], template_builder: Callable[[Path], None], out: Path, command: str, log: Callable[[str], None] = print) -> dict:
    """Build the template clone once, run every case in a copy of it, write sweep.md and sweep.json to `out`."""
    started = time.monotonic()
    mountable = can_mount()
    runnable = [case for case in cases if mountable or not case.needs_root]
    not_run = [f"{case.kind}: {case.name}" for case in cases if case not in runnable]
    results = []
    with tempfile.TemporaryDirectory(prefix="sweep-") as scratch_name:
        scratch = Path(scratch_name)
        template = make_clone(scratch / "template" / "clone")
        (scratch / "template" / "outside").mkdir()
        log(f"sweep: building the trained clone in {template}")
        template_builder(template)
        for number, case in enumerate(runnable, 1):
            result = run_case(case, template, scratch)
            results.append(result)
            log(f"sweep: [{number}/{len(runnable)}] {case.kind}: {case.name}: {result.outcome} {result.detail}".rstrip())
    seconds = time.monotonic() - started
    ran = f"{provenance.stamp()}, {os.cpu_count()} cores"
    content = {"command": command, "ran": ran, "seconds": round(seconds, 1), "counts": counts(results), "not_run": not_run}
    content["cases"] = [dataclasses.asdict(result) for result in results]
    atomic.write_text(out / SWEEP_MD, markdown(results, not_run, seconds, command, ran))
    atomic.write_json(out / SWEEP_JSON, content)
    return content
