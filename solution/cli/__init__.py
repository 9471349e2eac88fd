"""`python -m solution <command>`: the kit's command line, one module per command group.

Handlers parse and call the package; each imports what it needs inside itself, so TensorFlow
loads only for the commands that use it and `--help` stays fast.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from solution.cli import data, ensembling, inference, kaggle, reporting, training
from solution.cli.options import Adder, Handler
from solution.core.errors import exit_code
from solution.core.quiet import native_stderr_silenced

GROUPS = (data, training, ensembling, inference, reporting, kaggle)

# What Ctrl+C leaves, said per command: only training resumes inside its work; every other output is written whole
# or not at all, so the earlier one stands.
RESUMING = "interrupted: finished folds are saved; run the same command again to resume from there"
INTERRUPTED = {
    "train": RESUMING,
    "distill": RESUMING,
    "tta": "interrupted: runs already given flip files keep them; run the same command again for the rest",
    "push": "interrupted: kernels already pushed stay pushed (push all records them in kernels/push-queue.json); run it again to continue",
}
NOTHING_HALF_WRITTEN = "interrupted: nothing was half-written; the previous outputs are as they were (run the command again to redo it)"


PROG = "python -m solution"
DESCRIPTION = "Facial-emotion recognition kit (Kaggle: skillbox-computer-vision-project)."
Register = Callable[[Adder], None]  # a command group's register(add)


def build_parser(
    prog: str = PROG, description: str = DESCRIPTION, registers: tuple[Register, ...] = tuple(group.register for group in GROUPS)
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's native start-up log (hidden by default)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    for register in registers:
        register(add)
    return parser


def run_parser(prog: str, description: str, registers: tuple[Register, ...], argv: list[str] | None) -> int:
    """Parse `argv` with the commands `registers` add and run the chosen one: the kit's CLI and its self-checks' (tools/)
    share the TensorFlow log hiding and the one-line errors and interrupts."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser(prog, description, registers).parse_args(argv)

    def run() -> int | None:
        with native_stderr_silenced(enabled=not args.verbose):
            return args.handler(args)

    return exit_code(run, INTERRUPTED.get(args.command, NOTHING_HALF_WRITTEN))


def main(argv: list[str] | None = None) -> int:
    return run_parser(PROG, DESCRIPTION, tuple(group.register for group in GROUPS), argv)
