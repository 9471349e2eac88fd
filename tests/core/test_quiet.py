"""Native start-up noise is hidden; everything the kit itself says still reaches stderr."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, run_cli

NOISE = ("I0000", "E0000", "W0000", "oneDNN", "cuda", "absl::InitializeLog")


def test_native_writes_are_dropped_and_python_messages_kept():
    script = (
        "import os, sys\n"
        "from solution.core.quiet import native_stderr_silenced\n"
        "with native_stderr_silenced():\n"
        "    os.write(2, b'native noise\\n')\n"
        "    print('kit message', file=sys.stderr)\n"
        "os.write(2, b'after\\n')\n"
        "with native_stderr_silenced(enabled=False):\n"
        "    os.write(2, b'verbose native\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stderr.splitlines() == ["kit message", "after", "verbose native"]


def test_commands_that_load_tensorflow_show_no_start_up_noise_but_their_errors():
    listed = run_cli("backbones")
    assert listed.returncode == 0 and "mobilenet_v2" in listed.stdout
    assert not [line for line in listed.stderr.splitlines() if any(word in line for word in NOISE)], listed.stderr
    bad = run_cli("train", "--data", "nowhere", "--backbone", "nope")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: unknown backbone")
    assert run_cli("--verbose", "backbones").returncode == 0
