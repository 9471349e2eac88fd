"""A stand-in for the `kaggle` CLI: logs each call, then plays the server's part. The tests use it, and
`make rehearse` pushes the kernels through it (Kaggle itself cannot be reached from a rehearsal).

Environment: FAKE_KAGGLE_LOG (file that receives one JSON argv per line),
FAKE_KAGGLE_DATA (a data folder in the competition layout to serve from),
FAKE_KAGGLE_FAIL (print this error and exit 1 instead), FAKE_KAGGLE_OUTPUTS (a folder with one output
folder per kernel slug), FAKE_KAGGLE_STATES (JSON: kernel id -> state, default complete; "error" fails
with a message), FAKE_KAGGLE_PUSH_ERROR (print a push error with exit code 0, as the real client does),
FAKE_KAGGLE_INVALID_SOURCES (comma-separated kernel sources the server drops: the push still succeeds, after the
client's "The following are not valid kernel sources" line, as the real client prints it),
FAKE_KAGGLE_DATASETS (comma-separated dataset ids that exist), FAKE_KAGGLE_SESSIONS (a JSON file: the batch
GPU sessions running; with it a push beyond SESSION_LIMIT running sessions is refused as Kaggle refuses it, and
each pushed kernel runs for FAKE_KAGGLE_RUN_POLLS status calls, default 2, then is complete).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

FAKE_SCRIPT = """#!{python}
import sys
sys.path.insert(0, {repo!r})
from solution.standins.kaggle_cli import main
raise SystemExit(main(sys.argv[1:]))
"""
SESSION_LIMIT = 2  # Kaggle runs at most two batch GPU sessions of one account at once
SESSION_REFUSAL = f"Kernel push error: Maximum batch GPU session count of {SESSION_LIMIT} reached."


def install(folder: Path) -> Path:
    """Write an executable `kaggle` into `folder`; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "kaggle"
    script.write_text(FAKE_SCRIPT.format(python=sys.executable, repo=str(Path(__file__).resolve().parents[2])))
    script.chmod(0o755)
    return script


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _zip(target: Path, members: dict[str, Path]) -> None:
    with zipfile.ZipFile(target, "w") as bundle:
        for name, source in members.items():
            bundle.write(source, name)


def _option(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def _sessions() -> tuple[Path | None, dict[str, int]]:
    """The sessions file and its {kernel id: status calls left before it completes}; (None, {}) when not simulated."""
    path = Path(os.environ["FAKE_KAGGLE_SESSIONS"]) if os.environ.get("FAKE_KAGGLE_SESSIONS") else None
    return path, (json.loads(path.read_text()) if path and path.exists() else {})


def _push(folder: Path) -> None:
    kernel_id = json.loads((folder / "kernel-metadata.json").read_text())["id"]
    path, sessions = _sessions()
    if path:
        if sum(1 for left in sessions.values() if left > 0) >= SESSION_LIMIT:
            print(SESSION_REFUSAL)  # with exit code 0, as the real client prints it
            return
        sessions[kernel_id] = int(os.environ.get("FAKE_KAGGLE_RUN_POLLS", "2"))
        path.write_text(json.dumps(sessions))
    print(f"Kernel version 1 successfully pushed.  Please check progress at https://www.kaggle.com/code/{kernel_id}")


def _status(kernel_id: str) -> str:
    path, sessions = _sessions()
    if path and kernel_id in sessions:
        left = sessions[kernel_id]
        sessions[kernel_id] = max(0, left - 1)
        path.write_text(json.dumps(sessions))
        return "running" if left > 0 else "complete"
    return json.loads(os.environ.get("FAKE_KAGGLE_STATES", "{}")).get(kernel_id, "complete")


def main(args: list[str]) -> int:
    with open(os.environ["FAKE_KAGGLE_LOG"], "a") as log:
        log.write(json.dumps(args) + "\n")
    if os.environ.get("FAKE_KAGGLE_FAIL"):
        print(os.environ["FAKE_KAGGLE_FAIL"], file=sys.stderr)
        return 1
    data = Path(os.environ.get("FAKE_KAGGLE_DATA", "."))
    if args[:2] == ["competitions", "download"]:
        out = Path(_option(args, "-p")) / f"{_option(args, '-c')}.zip"
        _zip(out, {name: data / name for name in ("train.csv", "sample_submission.csv")})
    elif args[:2] == ["datasets", "download"]:
        out = Path(_option(args, "-p")) / f"{_option(args, '-d').split('/')[1]}.zip"
        images = [p for folder in ("train", "test_kaggle") for p in (data / folder).rglob("*") if p.is_file()]
        _zip(out, {f"faces/{p.relative_to(data).as_posix()}": p for p in images})
    elif args[:2] == ["competitions", "submit"]:
        print(f"Successfully submitted to {_option(args, '-c')}")
    elif args[:2] == ["kernels", "push"]:
        if os.environ.get("FAKE_KAGGLE_PUSH_ERROR"):
            print(f"Kernel push error: {os.environ['FAKE_KAGGLE_PUSH_ERROR']}")
        else:
            if os.environ.get("FAKE_KAGGLE_INVALID_SOURCES"):
                dropped = os.environ["FAKE_KAGGLE_INVALID_SOURCES"].split(",")
                print(f"The following are not valid kernel sources and could not be added to the kernel: {dropped}")
            _push(Path(_option(args, "-p")))
    elif args[:2] == ["kernels", "status"]:
        state = _status(args[2])
        print(f'{args[2]} has status "KernelWorkerStatus.{state.upper()}"')
        if state == "error":
            print('Failure message: "Your notebook tried to allocate more memory than is available."')
    elif args[:2] == ["kernels", "output"]:
        source = Path(os.environ["FAKE_KAGGLE_OUTPUTS"]) / args[2].split("/")[1]
        shutil.copytree(source, _option(args, "-p"), dirs_exist_ok=True)
        (Path(_option(args, "-p")) / f"{args[2].split('/')[1]}.log").write_text("[]")
    elif args[:2] == ["datasets", "status"]:
        if args[2] not in os.environ.get("FAKE_KAGGLE_DATASETS", "").split(","):
            print("404 Client Error: Not Found for url", file=sys.stderr)
            return 1
        print("ready")
    elif args[:2] in (["datasets", "create"], ["datasets", "version"]):
        print("Dataset creation/version upload successful")
    else:
        print(f"fake kaggle: unknown command {args}", file=sys.stderr)
        return 2
    return 0
