"""Commands for `make bench` and `make report`."""

from __future__ import annotations

import argparse
from pathlib import Path

from solution.cli.options import Adder, ensembles_option, runs_option
from solution.core.config import PATHS


def _bench(args: argparse.Namespace) -> None:
    from solution.reporting import bench

    command = "python -m solution bench" + (" --quick" if args.quick else "")
    content = bench.run(bench.QUICK if args.quick else bench.BenchConfig(), Path(args.out), command, Path(args.ensembles))
    print(f"bench: {len(content['results'])} measurements in {content['seconds']:.0f} s -> {Path(args.out) / bench.BENCH_MD}")


def _report(args: argparse.Namespace) -> None:
    from solution.reporting import report

    out = Path(args.out)
    tables = report.write_report(Path(args.runs), Path(args.ensembles), PATHS.submissions / "log.csv", out)
    print(tables["table"], end="")
    print(f"report: {out / report.INDEX_MD}")


def register(add: Adder) -> None:
    """Add this group's commands to the parser."""
    sub = add(
        "bench",
        _bench,
        "measure inference, training, augmentation, input-pipeline, demo and blend speeds into reports/bench.md and bench.json",
    )
    sub.add_argument(
        "--quick",
        action="store_true",
        help="MobileNetV2, side-by-side training and the demo only: about 2 minutes on 2 CPU cores (all of it: about 14)",
    )
    sub.add_argument("--out", default=str(PATHS.reports), help=f"output folder (default {PATHS.reports})")
    ensembles_option(sub, "where blends are; the newest one is timed")

    sub = add("report", _report, "write reports/index.md (results table, confusion matrices, per-class scores, curves) and print the table")
    runs_option(sub, "root of the run folders")
    ensembles_option(sub, "where blends are")
    sub.add_argument("--out", default=str(PATHS.reports), help=f"output folder (default {PATHS.reports})")
