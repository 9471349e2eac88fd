"""The real kaggle client path: found beside this Python (as `make` runs it), bounded by a timeout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from solution.core import kaggle_cli
from solution.core.errors import UserError
from tests.conftest import REPO


def test_the_client_beside_this_python_is_found_without_path(tmp_path, monkeypatch):
    monkeypatch.delenv("KAGGLE_CLI", raising=False)
    assert kaggle_cli.default_client() == str(Path(sys.executable).parent / "kaggle")
    monkeypatch.setenv("KAGGLE_CLI", "/opt/other/kaggle")
    assert kaggle_cli.default_client() == "/opt/other/kaggle"


def test_a_client_that_hangs_is_stopped_with_one_line(tmp_path, monkeypatch):
    slow = tmp_path / "kaggle"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("KAGGLE_USERNAME", "me")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    with pytest.raises(UserError, match=r"kaggle competitions list: no answer within 1 s"):
        kaggle_cli.KaggleCli(str(slow), timeout_s=1).run("competitions", "list")


def test_make_reaches_the_real_client_without_venv_bin_on_path(tmp_path):
    """Through make, as a user: the answer may be a network error here, but never 'not installed'."""
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    env = {**os.environ, "PATH": path, "KAGGLE_USERNAME": "someone", "KAGGLE_KEY": "0" * 32, "KAGGLE_TIMEOUT_S": "60"}
    env.pop("KAGGLE_CLI", None)
    done = subprocess.run(
        ["make", "--no-print-directory", "status"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = done.stdout + done.stderr
    assert "is not installed" not in output, output[-500:]
    assert "Traceback" not in output and "error: kaggle kernels status:" in output, output[-500:]


def test_a_kaggle_json_others_can_read_is_warned_about_in_one_line(fake_kaggle_client, tmp_path, monkeypatch, capsys):
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "kaggle-config"
    config.mkdir()
    token = config / "kaggle.json"
    token.write_text('{"username": "me", "key": "secret"}')
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config))
    token.chmod(0o644)
    kaggle_cli.KaggleCli().run("kernels", "status", "me/x")
    said = capsys.readouterr().err
    assert f"warning: {token} can be read by other users" in said and f"chmod 600 {token}" in said
    token.chmod(0o600)
    kaggle_cli.KaggleCli().run("kernels", "status", "me/x")
    assert "warning" not in capsys.readouterr().err
