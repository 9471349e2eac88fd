"""`make push-all`: push the week's kernels in the plan's order through Kaggle's two-session limit, resumably.

Kaggle runs at most two batch GPU sessions of an account at once and refuses a third push ("Maximum batch GPU
session count of 2 reached", with exit code 0). The queue waits for a free session, checking the kernels it
pushed every `poll_seconds`, up to `wait_hours`. What it pushed is recorded in kernels/push-queue.json, so
running it again after an interruption pushes only what is left: a kernel pushed from the same script is
skipped while Kaggle has it queued, running or complete; one that failed there is named with its fix. A kernel
that attaches others' outputs (the index for training, every run for distill and ensemble) waits until they are complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from solution.core import atomic
from solution.core.documents import read_json
from solution.core.errors import UserError
from solution.core.kaggle_cli import KaggleCli
from solution.core.names import checked_name
from solution.core.records import record
from solution.kaggle import kernel_client
from solution.kaggle.kaggle_rules import METADATA_FILE
from solution.kaggle.kernels import SCRIPT_FILE, Kernel

QUEUE_FILE = "push-queue.json"  # in the kernels folder, git-ignored like the metadata
QUEUE_SCHEMA = 1
ACTIVE_STATES = ("queued", "running", "complete")


@dataclass(frozen=True)
class Waiting:
    """How the queue waits for a free Kaggle session (push_poll_seconds and push_wait_hours in kernels.yaml)."""

    poll_seconds: float
    wait_hours: float


def script_digest(folder: Path) -> str:
    """What a kernel runs: its script and metadata; another digest means the kernel changed since it was pushed."""
    digest = hashlib.sha256()
    for name in (SCRIPT_FILE, METADATA_FILE):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class QueueEntry:
    """What push-queue.json records of a kernel pushed: where, which script, when."""

    slug: str
    script: str  # script_digest of the folder pushed
    pushed: str
    problems: list[str] = dataclasses.field(default_factory=list)  # what Kaggle dropped on the way (the kernel then refuses)


def read_queue(root: Path) -> dict[str, QueueEntry]:
    path = root / QUEUE_FILE
    if not path.exists():
        return {}
    fix = f"delete {path} to start the queue afresh (kernels on Kaggle are not touched)"
    queue = record(PushQueue, read_json(path, fix), path, fix, QUEUE_SCHEMA).kernels
    return {
        checked_name(name, f"{path}: a kernel", fix): record(QueueEntry, entry, f"{path}: {name}", fix) for name, entry in queue.items()
    }


@dataclass(frozen=True)
class PushQueue:
    """push-queue.json: each kernel push-all pushed, by name."""

    kernels: dict
    schema_version: int = QUEUE_SCHEMA


def _write_queue(root: Path, queue: dict[str, QueueEntry]) -> None:
    atomic.write_json(root / QUEUE_FILE, asdict(PushQueue({name: asdict(entry) for name, entry in queue.items()})))


def push_all(
    kernels: list[Kernel],
    root: Path,
    slug_of: Callable[[Kernel], str],
    waiting: Waiting,
    cli: KaggleCli | None = None,
    log: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    needs: dict[str, list[Kernel]] | None = None,
) -> list[str]:
    """Push each kernel's folder under `root` in order, waiting out the session limit and for the kernels each one
    `needs` to be complete; return the names pushed now."""
    queue = read_queue(root)
    needs = needs or {}
    pushed = []
    for kernel in kernels:
        folder, slug = root / kernel.name, slug_of(kernel)
        digest = script_digest(folder)
        entry = queue.get(kernel.name)
        if entry is not None and entry.script == digest:
            state = kernel_client.status(slug, cli)
            if state.state in ACTIVE_STATES:
                log(f"push-all: {kernel.name}: already pushed ({state.state} on Kaggle), skipped")
                continue
            if state.state != "absent":
                log(
                    f"push-all: {kernel.name}: {state.state} on Kaggle ({state.message or 'see its log'}); skipped: fix it and "
                    f"`make push BACKBONE={kernel.name}` (RESUME=1 continues from its output)"
                )
                continue
        _wait_for(kernel, needs.get(kernel.name, []), slug_of, waiting, cli, log, sleep, clock)
        pushed_now = _push_when_free(folder, queue, slug_of, kernels, waiting, cli, log, sleep, clock)
        queue[kernel.name] = QueueEntry(slug, digest, time.strftime("%Y-%m-%dT%H:%M:%S%z"), list(pushed_now.problems))
        _write_queue(root, queue)
        log(f"push-all: {kernel.name}: {pushed_now.describe()}")
        pushed.append(kernel.name)
    return pushed


def _wait_for(kernel: Kernel, needed: list[Kernel], slug_of, waiting: Waiting, cli, log, sleep, clock) -> None:
    """Until every needed kernel is complete on Kaggle; one that failed there stops the queue with its fix."""
    deadline = clock() + waiting.wait_hours * 3600
    while True:
        states = {need.name: kernel_client.status(slug_of(need), cli) for need in needed}
        failed = [name for name, state in states.items() if state.state == "error"]
        if failed:
            raise UserError(
                f"push-all: {kernel.name} needs {failed[0]}, which failed on Kaggle; fix it, `make push BACKBONE={failed[0]}`, "
                "then `make push-all` again"
            )
        waiting_on = [f"{name} {state.state}" for name, state in states.items() if not state.complete]
        if not waiting_on:
            return
        if clock() >= deadline:
            raise UserError(
                f"push-all: {kernel.name} still waits for {', '.join(waiting_on)} after {waiting.wait_hours:g} h; "
                "run `make push-all` again later and it continues from there"
            )
        log(f"push-all: {kernel.name} waits for {', '.join(waiting_on)}; checking again in {waiting.poll_seconds:g} s")
        sleep(waiting.poll_seconds)


def _push_when_free(folder, queue, slug_of, kernels, waiting: Waiting, cli, log, sleep, clock) -> kernel_client.Pushed:
    deadline = clock() + waiting.wait_hours * 3600
    while True:
        try:
            return kernel_client.push(folder, cli)
        except kernel_client.SessionLimitReached:
            if clock() >= deadline:
                raise UserError(
                    f"push-all: no free Kaggle session for {folder.name} within {waiting.wait_hours:g} h; what was pushed is "
                    f"recorded in {folder.parent / QUEUE_FILE}: run `make push-all` again later and it continues from there"
                ) from None
            running = [f"{kernel.name} {kernel_client.status(slug_of(kernel), cli).state}" for kernel in kernels if kernel.name in queue]
            log(
                f"push-all: {folder.name}: Kaggle's batch sessions are busy ({', '.join(running) or 'other kernels of yours'}); "
                f"trying again in {waiting.poll_seconds:g} s"
            )
            sleep(waiting.poll_seconds)
