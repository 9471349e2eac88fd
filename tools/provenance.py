"""Where a report's figures came from: when, on which commit of the kit (the self-checks' reports say both)."""

from __future__ import annotations

import subprocess
import time

from solution.core.config import REPO_ROOT


def commit() -> str:
    """The checkout's commit, with + when it has uncommitted changes; unknown outside a git checkout."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    return (head.stdout.strip() or "unknown") + ("+" if dirty.stdout.strip() else "")


def stamp() -> str:
    """'2026-12-05 19:30, commit 0701356'."""
    return f"{time.strftime('%Y-%m-%d %H:%M')}, commit {commit()}"
