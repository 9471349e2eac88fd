"""Commands for blends, submissions and the upload."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from solution.cli.options import Adder, budget_option, ensembles_option, runs_option, submission_data_option
from solution.core.config import PATHS
from solution.core.errors import UserError


def _ensemble(args: argparse.Namespace) -> None:
    from solution.artifacts.blend_folder import REPORT_MD
    from solution.ensembling import blends

    out = Path(args.out)
    if args.recipe:
        report = blends.remake_blend(Path(args.recipe), out)
    else:
        if args.name is None:
            raise UserError("pass --name NAME (or --recipe ensembles/NAME.yaml to re-make a blend)")
        runs = blends.find_runs(Path(args.runs))
        report = blends.make_blend(runs, args.name, out, args.budget_ms, args.method, not args.no_tta, args.latency_on)
    validated = f"cross-validated {report.cv_accuracy:.4f}" if math.isfinite(report.cv_accuracy) else "not cross-validated (a recipe)"
    print(
        f"ensemble {report.name}: {report.method} of {report.describe_members()}; OOF accuracy {report.oof_accuracy:.4f}, "
        f"{validated}, {report.latency_ms:.1f} ms/image on the {report.latency_on.upper()} (budget {report.budget_ms:.0f})"
    )
    print(f"report: {out / report.name / REPORT_MD}")


def _submission(args: argparse.Namespace) -> None:
    from solution.artifacts.blend_folder import blend_path
    from solution.artifacts.predictions import RUN_FIX, read_probabilities
    from solution.core.names import checked_name
    from solution.ensembling import submission

    if (args.ensemble is None) == (args.run is None):
        raise UserError("pass exactly one of --ensemble NAME or --run RUNDIR")
    if args.ensemble is not None:
        source = blend_path(Path(args.ensembles), args.ensemble, "--ensemble") / "test.csv"
        name = args.ensemble
    else:
        run = Path(args.run).resolve()
        source, name = run / "test.csv", checked_name(run.name, "--run", "pass a run folder such as runs/mobilenet_v2")
    fix = "make the blend again (`make ensemble`)" if args.ensemble is not None else RUN_FIX
    probabilities = read_probabilities(source, fix, "make the blend (`make ensemble`) or finish the run (`make train`) first")
    out = Path(args.out) if args.out else PATHS.submissions / f"{name}.csv"
    data = _data_dir(args)
    submission.write_submission(probabilities, data, out)
    print(f"submission: {out} (valid against {data / 'sample_submission.csv'})")
    accuracy = submission.sample_test_accuracy(out, data)
    if accuracy is not None:
        print(f"sample test accuracy (the synthetic sample's true labels): {accuracy:.4f}")


def _data_dir(args: argparse.Namespace) -> Path:
    """--data, else what the Makefile's DATA would be: the competition data when present, else the sample."""

    return Path(args.data) if args.data else PATHS.default_data()


def _validate(args: argparse.Namespace) -> int:
    from solution.ensembling import submission

    data = _data_dir(args)
    problems = submission.validate(Path(args.file), data)
    if problems:
        print(submission.format_problems(problems, Path(args.file)), file=sys.stderr)
        return 1
    print(f"valid: {args.file}")
    return 0


def _submit(args: argparse.Namespace) -> None:
    from solution.ensembling import submission

    file = Path(args.file)
    data = _data_dir(args)
    name = file.stem
    cv = submission.cross_validated_score(name, Path(args.ensembles), PATHS.runs)
    message = args.message or (f"{name}: CV accuracy {cv:.4f}" if cv is not None else name)
    result = submission.submit(file, data, message, cv, PATHS.submissions / "log.csv")
    print(f"submitted {file} with message '{message}': {result}")


def register(add: Adder) -> None:
    """Add this group's commands to the parser."""
    sub = add("ensemble", _ensemble, "blend run folders on their OOF predictions within the latency budget into ensembles/NAME/")
    runs_option(sub, "root of the run folders to blend")
    sub.add_argument("--name", help="blend name: writes ensembles/NAME/ and the recipe ensembles/NAME.yaml")
    budget_option(sub, "per-image latency budget in ms")
    sub.add_argument(
        "--latency-on",
        choices=["cpu", "gpu"],
        default="cpu",
        help="which recorded latency the budget prices: the CPU's (default; the rule as a CPU-only machine meets it) or one "
        "GPU's (recorded by runs trained on a GPU, e.g. in Kaggle kernels)",
    )
    sub.add_argument(
        "--method",
        default="auto",
        choices=["auto", "mean", "greedy", "weights"],
        help="selection method (default auto: best cross-validated)",
    )
    sub.add_argument(
        "--no-tta", action="store_true", help="leave out the runs' flip-TTA members (default: offered where a run has flip files)"
    )
    sub.add_argument("--recipe", help="re-make a blend from its recipe file alone (no selection)")
    sub.add_argument("--out", default=str(PATHS.ensembles), help=f"where blends go (default {PATHS.ensembles})")

    sub = add("submission", _submission, "write submissions/NAME.csv from a blend or a single run, validated")
    sub.add_argument("--ensemble", help="blend name (ensembles/NAME/test.csv)")
    sub.add_argument("--run", help="a single run folder (RUNDIR/test.csv)")
    submission_data_option(sub)
    ensembles_option(sub)
    sub.add_argument("--out", help="output CSV (default submissions/NAME.csv)")

    sub = add("validate", _validate, "check a submission CSV against sample_submission.csv (exit 1 with one line per problem)")
    sub.add_argument("file", help="submission CSV")
    submission_data_option(sub)

    sub = add("submit", _submit, "validate a submission, upload it with the kaggle client and log it in submissions/log.csv")
    sub.add_argument("file", help="submission CSV (submissions/NAME.csv)")
    submission_data_option(sub)
    sub.add_argument("--message", help="submission message (default: the blend or run name and its CV accuracy)")
    ensembles_option(sub)
