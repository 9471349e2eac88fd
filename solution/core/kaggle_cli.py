"""The official `kaggle` command-line client, run as a subprocess, with one-line errors.

Running the CLI (rather than importing `kaggle`, which authenticates and prints an
18-line help at import time) keeps the package importable without credentials, and
lets tests put a fake `kaggle` executable in its place (`KAGGLE_CLI=/path/to/fake`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from solution.core.config import COMPETITION
from solution.core.errors import UserError, last_line

CREDENTIALS_HELP = (
    "no Kaggle credentials: create an API token at https://www.kaggle.com/settings (API section) and save it as "
    "~/.kaggle/kaggle.json (chmod 600), or export KAGGLE_API_TOKEN (or KAGGLE_USERNAME and KAGGLE_KEY)"
)


def credentials_source(environ: dict[str, str] | None = None) -> str | None:
    """Where the kaggle client will find credentials, or None when it has none."""
    env = os.environ if environ is None else environ
    if env.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    if env.get("KAGGLE_USERNAME") and env.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME/KAGGLE_KEY"
    if env.get("KAGGLE_KERNEL_RUN_TYPE"):
        return "Kaggle notebook"
    config_dir = _config_dir(env)
    for name in ("kaggle.json", "access_token", "access_token.txt"):
        if (config_dir / name).is_file():
            return str(config_dir / name)
    return None


def warn_if_readable(source: str | None) -> None:
    """The client's own warning about a kaggle.json others can read is lost in its captured output: say it here."""
    if source and Path(source).is_file() and Path(source).stat().st_mode & 0o077:
        print(f"warning: {source} can be read by other users of this machine; run `chmod 600 {source}`", file=sys.stderr)


def username(environ: dict[str, str] | None = None) -> str | None:
    """The Kaggle user name: $KAGGLE_USERNAME, else the `username` in kaggle.json; None when neither is set."""
    env = os.environ if environ is None else environ
    if env.get("KAGGLE_USERNAME"):
        return env["KAGGLE_USERNAME"]
    try:
        return json.loads((_config_dir(env) / "kaggle.json").read_text()).get("username") or None
    except (OSError, ValueError):
        return None


def _config_dir(env: dict[str, str]) -> Path:
    return Path(env.get("KAGGLE_CONFIG_DIR") or Path(env.get("HOME", "~")).expanduser() / ".kaggle")


_FAILURES: tuple[tuple[str, str], ...] = (
    (
        r"\b401\b|unauthori[sz]ed|invalid credentials",
        "Kaggle rejected the credentials (HTTP 401): create a new API token at https://www.kaggle.com/settings",
    ),
    (
        r"\b403\b|forbidden",
        "Kaggle refused access (HTTP 403): accept the competition rules at https://www.kaggle.com/competitions/{slug}/rules "
        "(or check that the dataset is shared with you)",
    ),
    (r"\b404\b|not found", "Kaggle says not found (HTTP 404): check the competition, dataset or kernel name"),
    (
        r"connection|resolve|max retries|timed out|network|unreachable|temporary failure",
        "no network: Kaggle could not be reached; check the connection (on Kaggle, turn the notebook's internet on)",
    ),
)


def explain_failure(output: str) -> str:
    """Turn the kaggle client's output into one line saying what to do."""
    for pattern, message in _FAILURES:
        if re.search(pattern, output, flags=re.IGNORECASE):
            return message.format(slug=COMPETITION.slug)
    return f"the kaggle client failed: {last_line(output)}"


def default_client() -> str:
    """$KAGGLE_CLI, else the `kaggle` installed beside this Python (make runs .venv/bin/python without
    .venv/bin on PATH), else `kaggle` on PATH."""
    if os.environ.get("KAGGLE_CLI"):
        return os.environ["KAGGLE_CLI"]
    beside = Path(sys.executable).parent / ("kaggle.exe" if os.name == "nt" else "kaggle")
    return str(beside) if beside.is_file() else "kaggle"


@dataclass
class KaggleCli:
    """Runs `kaggle ...` commands with the client `default_client` finds, each bounded by a timeout."""

    executable: str = field(default_factory=default_client)
    check_credentials: bool = True
    timeout_s: float = field(default_factory=lambda: float(os.environ.get("KAGGLE_TIMEOUT_S", 3600)))  # downloads are large
    environment: dict[str, str] = field(default_factory=dict)  # added to this process's environment (a simulated client's settings)

    def run(self, *args: str) -> str:
        """Run one kaggle command; return its output or raise `UserError` with one line."""
        source = credentials_source() if self.check_credentials else None
        if self.check_credentials and source is None:
            raise UserError(CREDENTIALS_HELP)
        warn_if_readable(source)
        program = shutil.which(self.executable) or self.executable
        try:
            environment = {**os.environ, **self.environment}
            done = subprocess.run([program, *args], capture_output=True, text=True, check=False, timeout=self.timeout_s, env=environment)
        except FileNotFoundError:
            raise UserError(f"the kaggle client '{self.executable}' is not installed: run `make setup`") from None
        except subprocess.TimeoutExpired:
            raise UserError(
                f"kaggle {' '.join(args[:2])}: no answer within {self.timeout_s:.0f} s (network?); try again, or raise KAGGLE_TIMEOUT_S"
            ) from None
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise UserError(f"kaggle {' '.join(args[:2])}: {explain_failure(output)}")
        return output
