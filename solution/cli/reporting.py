"""The command for `make report`."""

from __future__ import annotations

import argparse
from pathlib import Path

from solution.cli.options import Adder, ensembles_option, runs_option
from solution.core.config import PATHS


def _report(args: argparse.Namespace) -> None:
    from solution.reporting import report

    out = Path(args.out)
    tables = report.write_report(Path(args.runs), Path(args.ensembles), PATHS.submissions / "log.csv", out)
    print(tables["table"], end="")
    print(f"report: {out / report.INDEX_MD}")


def register(add: Adder) -> None:
    """Add this group's commands to the parser."""
    sub = add("report", _report, "write reports/index.md (results table, confusion matrices, per-class scores, curves) and print the table")
    runs_option(sub, "root of the run folders")
    ensembles_option(sub, "where blends are")
    sub.add_argument("--out", default=str(PATHS.reports), help=f"output folder (default {PATHS.reports})")
