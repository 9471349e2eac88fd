"""`python -m tools COMMAND`: the kit's self-checks, `make bench`, `make scale` and `make sweep`, kept outside the
product they measure; they drive `solution` through its public modules and its CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

from solution.cli import run_parser
from solution.cli.options import Adder, ensembles_option
from solution.core.config import PATHS
from solution.core.errors import UserError


def _bench(args: argparse.Namespace) -> None:
    from tools import bench

    command = "python -m tools bench" + (" --quick" if args.quick else "")
    content = bench.run(bench.QUICK if args.quick else bench.BenchConfig(), Path(args.out), command, Path(args.ensembles))
    print(f"bench: {len(content['results'])} measurements in {content['seconds']:.0f} s -> {Path(args.out) / bench.BENCH_MD}")


def _scale(args: argparse.Namespace) -> None:
    from tools import scale

    if not 0 < args.fraction <= 1:
        raise UserError(f"--fraction {args.fraction}: pass a share of the competition's size in (0, 1], e.g. 0.01")
    comparison = None if args.no_growth else scale.ScaleConfig.comparison
    config = scale.ScaleConfig(fraction=args.fraction, comparison=comparison, root=Path(args.root), workers=args.workers)
    content = scale.run(config, Path(args.out))
    failed = [check["check"] for check in content["checks"] if not check["holds"]]
    print(f"scale: {len(content['checks']) - len(failed)} of {len(content['checks'])} limits hold -> {Path(args.out) / scale.SCALE_MD}")
    if failed:
        print(f"over the limit: {'; '.join(failed)}")


def _sweep(args: argparse.Namespace) -> None:
    from tools import sweep, sweep_cases

    only = args.only or []
    cases = [case for case in sweep_cases.CASES if not only or any(text in f"{case.kind}: {case.name}" for text in only)]
    if not cases:
        raise UserError(f"--only {' '.join(only)}: no case's kind or name holds it; `python -m tools sweep --list` lists them")
    if args.list:
        print("\n".join(f"{case.kind}: {case.name}" for case in cases))
        return
    command = "python -m tools sweep" + "".join(f" --only '{text}'" for text in only)
    content = sweep.run(cases, sweep_cases.build_template, Path(args.out), command)
    total = content["counts"].get("all", {})
    found = ", ".join(f"{total.get(outcome, 0)} {outcome}" for outcome in sweep.OUTCOMES)
    print(f"sweep: {total.get('cases', 0)} cases: {found} -> {Path(args.out) / sweep.SWEEP_MD}")


def register(add: Adder) -> None:
    """Add the self-checks' commands to the parser."""
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

    sub = add(
        "scale",
        _scale,
        "time every CPU stage (index, folds, EDA, input pipeline, blends, submission, report, fold merge) on a synthetic set "
        "of the competition's size and a tenth of it, into reports/scale.md and scale.json",
    )
    sub.add_argument("--fraction", type=float, default=1.0, help="share of the competition's 55,000 images (default 1)")
    sub.add_argument(
        "--no-growth", action="store_true", help="the one size only: no set a tenth the size, so no growth exponents (about 2 minutes less)"
    )
    sub.add_argument("--root", default=str(PATHS.inputs / "scale"), help="where the generated sets are kept (default inputs/scale)")
    sub.add_argument("--workers", type=int, help="processes generating the set (default: one per CPU core)")
    sub.add_argument("--out", default=str(PATHS.reports), help=f"output folder (default {PATHS.reports})")

    sub = add(
        "sweep",
        _sweep,
        "try the kit as a new user (and someone handing them a file) would, on a clone: hostile archives and models, code in "
        "configured values, interrupts, two processes at once, full and read-only outputs, broken inputs; into reports/sweep.md",
    )
    sub.add_argument("--only", action="append", help="the cases whose 'kind: name' holds this text (e.g. interrupts); repeat for more")
    sub.add_argument("--list", action="store_true", help="list the cases and stop")
    sub.add_argument("--out", default=str(PATHS.reports), help=f"output folder (default {PATHS.reports})")


def main(argv: list[str] | None = None) -> int:
    return run_parser("python -m tools", "The kit's self-checks: speeds, scale and a sweep of bad inputs.", (register,), argv)
