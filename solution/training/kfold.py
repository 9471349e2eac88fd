"""k-fold training of one backbone into its run folder: skips finished folds, resumes a killed one."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from solution.artifacts.run_assembly import assemble, versions
from solution.artifacts.runs import RUN_CONFIG_FILE, RUN_SCHEMA, STUDENT_SUFFIX, FoldSummary, RunFolder, RunIdentity, RunMeta
from solution.core import atomic
from solution.core.documents import read_json
from solution.core.errors import UserError
from solution.core.locks import folder_lock
from solution.core.names import named_path
from solution.core.records import record
from solution.data.dataset import SUBMISSION_CSV, build_index, is_sample
from solution.data.folds import folds_hash, read_folds
from solution.models.registry import BackboneSpec, get_spec
from solution.training.accelerate import choose_strategy, set_precision
from solution.training.fit import REFIT, FoldData, FoldTrainer, image_size, numerics, tensorflow_threads, train_fold
from solution.training.fold_workers import cpu_cores, threads_per_worker, train_folds_in_workers, worker_count
from solution.training.latency import measure_readings
from solution.training.profiles import TrainConfig, differences, profile_defaults
from solution.training.soft_targets import SoftTargets

TRAINING_MECHANICS = ("fold_workers", "backup_every_epochs")  # how a run trains, not what it learns
DESCRIPTIVE_KEYS = ("differs_from_profile",)  # in run_config.json for the reader; derived from the config, never compared


@dataclasses.dataclass(frozen=True)
class FoldInputs:
    """What every fold of a data folder reads: folds.csv joined with the usable images' paths, and the test images."""

    table: pd.DataFrame  # image_path, emotion, fold, group, path, label
    test_paths: list[str]
    test_names: list[str]

    def fold(self, fold: int) -> FoldData:
        return _fold_data(fold, self.table, self.test_paths, self.test_names)

    def refit(self) -> FoldData:
        """Every training image, none held out: the refit model of the run's recipe."""
        return _fold_data(REFIT, self.table, self.test_paths, self.test_names)


def fold_inputs(data_dir: Path, cache_dir: Path | None = None) -> FoldInputs:
    """folds.csv joined with the validated index; a fold listing an image that is no longer usable is refused."""
    index = build_index(Path(data_dir), cache_dir)
    usable = index.train.assign(path=index.source_paths(index.train))[["image_path", "path", "label"]]
    table = read_folds(data_dir).merge(usable, on="image_path", how="left")
    if table.path.isna().any():
        stale = table[table.path.isna()].image_path.iloc[0]
        raise UserError(f"{Path(data_dir) / 'folds.csv'} lists {stale}, which is not a usable image now; re-run `make folds`")
    table["label"] = table.label.astype(int)
    test = index.test
    missing = test[test.status == "skipped"]
    if len(missing):  # checked now: a fold would otherwise train for hours, then fail predicting them
        raise UserError(
            f"{Path(data_dir)}: {len(missing)} test image(s) listed in {SUBMISSION_CSV} are missing "
            f"(e.g. {missing.image_path.iloc[0]}); re-run `make download` before training"
        )
    return FoldInputs(table, index.source_paths(test), [Path(p).name for p in test.image_path])


def _fold_data(fold: int, table: pd.DataFrame, test_paths: list[str], test_names: list[str]) -> FoldData:
    train, held_out = table[table.fold != fold], table[table.fold == fold]
    return FoldData(
        fold=fold,
        train_paths=list(train.path),
        train_labels=train.label.to_numpy(),
        val_paths=list(held_out.path),
        val_names=list(held_out.image_path),
        val_labels=held_out.label.to_numpy(),
        test_paths=test_paths,
        test_names=test_names,
        train_names=list(train.image_path),
    )


def _check_run_config(run: RunFolder, identity: dict) -> None:
    """Refuse to mix folds trained with different settings or folds in one run folder."""
    path = run.path / RUN_CONFIG_FILE
    if path.exists():
        fix = f"delete it to start {run.path} afresh, or train into another --runs folder"
        previous = read_json(path, fix)
        record(RunIdentity, previous, path, fix, RUN_SCHEMA)  # a damaged or edited file is one line here, not a TypeError below
        current = json.loads(json.dumps(identity, default=str))
        if isinstance(previous.get("config"), dict):  # a field added since that run, at its default, changes nothing
            defaults = json.loads(json.dumps(run_settings(TrainConfig()), default=str))
            previous["config"] = {**{k: v for k, v in defaults.items() if k not in previous["config"]}, **previous["config"]}
        changed = sorted(k for k in current if k not in DESCRIPTIVE_KEYS and previous.get(k) != current[k])
        if changed:
            raise UserError(
                f"{run.path} holds a run with other {', '.join(changed)}; pass another --runs folder, or delete that folder to start over"
            )
    else:
        atomic.write_json(path, {**identity, "schema_version": RUN_SCHEMA})


def _match_numerics(run: RunFolder, all_folds: list[int], strategy, workers: int, threads: int, in_process_only: bool) -> tuple[int, int]:
    """Workers and threads that train the pending folds with the numerics the finished folds recorded.

    One run's folds must agree on devices, replicas and precision (else refused); on a CPU the thread count is
    matched by training in worker processes of that many threads (folds trained before numerics were recorded
    constrain nothing)."""
    summaries = [run.fold_summary(fold) for fold in all_folds if run.fold_done(fold)]
    recorded = next((summary.numerics for summary in summaries if summary.numerics), None)
    planned = numerics(strategy, threads)
    if recorded is None or recorded == planned:
        return workers, threads
    differ = sorted(key for key in {*recorded, *planned} if recorded.get(key) != planned.get(key))
    if differ == ["threads"] and not in_process_only:
        matched = int(recorded["threads"])
        return max(1, min(workers, cpu_cores() // matched)), matched
    described = ", ".join(f"{key} {recorded.get(key)} (now {planned.get(key)})" for key in differ)
    raise UserError(
        f"{run.path}: its finished folds were trained with {described}; a fold trained otherwise would not match them. "
        "Resume it where they were trained, or train into another --runs folder"
    )


def run_settings(config: TrainConfig) -> dict:
    """The profile fields that decide what a run learns: a run resumes only under the same ones.
    How many folds train at once, or how often a fold backs up, are not among them."""
    return {key: value for key, value in dataclasses.asdict(config).items() if key not in TRAINING_MECHANICS}


def format_summary(summaries: list[FoldSummary]) -> str:
    lines = [f"{'fold':>4}  {'epochs':>6}  {'val acc':>7}  {'seconds':>8}  {'img/s':>7}"]
    for s in summaries:
        lines.append(f"{s.fold:>4}  {s.epochs:>6}  {s.val_accuracy or 0:>7.3f}  {s.seconds:>8.1f}  {s.images_per_second:>7.1f}")
    return "\n".join(lines)


def train_backbone(
    data_dir: Path,
    backbone: str,
    config: TrainConfig,
    runs_root: Path,
    folds: Sequence[int] | None = None,
    cache_dir: Path | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    log: Callable[[str], None] = print,
    teacher: SoftTargets | None = None,
    refit: bool = False,
) -> RunMeta:
    """Train `backbone` on each requested fold (default: all) and assemble its run folder; return its meta.json.
    With a `teacher`, each fold trains on the teacher's soft targets into RUNS/<backbone>-student/ (distillation).
    With `refit`, one more model trains on every training image (RUNS/<backbone>/refit/): a blend member that
    costs one model at test time and learned from all the data; the run's OOF predictions score it."""
    spec = get_spec(backbone)
    config = config.for_backbone(backbone)
    size = image_size(spec, config)
    inputs = fold_inputs(data_dir, cache_dir)
    all_folds = sorted(int(f) for f in inputs.table.fold.unique())
    requested = _requested_folds(folds, all_folds)
    run = RunFolder(named_path(runs_root, backbone + (STUDENT_SUFFIX if teacher else ""), "--backbone", "pass a registered backbone"))
    with folder_lock(run.path, "training"):  # a second train on this run folder is refused, never interleaved
        strategy, device = choose_strategy()
        precision = set_precision(config.mixed_precision, device)
        identity = {
            "backbone": backbone,
            "image_size": size,
            "folds_hash": folds_hash(data_dir),
            "config": run_settings(config),
            **({"distillation": teacher.describe()} if teacher else {}),
        }
        differs = _check_settings(run, identity, config)
        log(f"train: {backbone} ({spec.family}) at {size} px, profile {config.profile}, weights {config.weights}, {device}, {precision}")
        if differs:
            log(f"train: {backbone} {differs}")
        jobs = _jobs(run, requested, inputs, teacher, refit, log)
        _train_jobs(run, spec, config, jobs, all_folds, strategy, device, callbacks, log)
        finished = [f for f in all_folds if run.fold_done(f)]
        models = [run.load_model(fold) for fold in finished]
        facts = {
            **identity,
            "family": spec.family,
            "allowed_by_rules": spec.allowed,
            "profile": config.profile,
            "weights": config.weights,
            "seed": config.seed,
            "k": len(all_folds),
            "complete": finished == all_folds,
            "data": str(Path(data_dir).resolve()),
            "trained_on_sample": is_sample(data_dir),
            "parameters": int(models[0].count_params()),
            "device": device,
            "precision": precision,
            **measure_readings(models, size, config.latency_repeats),
            "versions": versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "distillation": identity.get("distillation"),
            "refit": run.refit_done(),
        }
        meta = assemble(run, finished, facts)
        log(format_summary([run.fold_summary(fold) for fold in requested]))
        log(f"{run.path.name}: {_described(meta, finished)}, run folder {run.path}")
        return meta


def _requested_folds(folds: Sequence[int] | None, all_folds: list[int]) -> list[int]:
    """The folds to train (default: all); one of folds.csv's, or a one-line refusal before anything trains."""
    requested = sorted(set(folds)) if folds else all_folds
    unknown = set(requested) - set(all_folds)
    if unknown:
        raise UserError(f"--folds {','.join(map(str, sorted(unknown)))}: folds.csv has folds {','.join(map(str, all_folds))}")
    return requested


def _check_settings(run: RunFolder, identity: dict, config: TrainConfig) -> str | None:
    """The run folder must have been trained with these settings (run_config.json); returns how they differ from
    the profile, said once at the start, or None."""
    changed = differences(config, profile_defaults(config.profile))
    _check_run_config(run, {**identity, "differs_from_profile": json.loads(json.dumps(changed, default=str))})
    if not changed:
        return None
    return f"differs from profile {config.profile} in " + ", ".join(
        f"{key}={value['used']} (profile: {value['profile']})" for key, value in changed.items()
    )


def _described(meta: RunMeta, finished: list[int]) -> str:
    return (
        f"OOF accuracy {meta.oof_accuracy:.4f} (folds {','.join(map(str, finished))}, std {meta.oof_accuracy_std:.4f}), "
        f"{meta.latency_ms:.1f} ms/image for all {meta.latency_models} fold models"
    )


def _jobs(
    run: RunFolder, requested: list[int], inputs: FoldInputs, teacher: SoftTargets | None, refit: bool, log: Callable[[str], None]
) -> list[tuple[FoldData, Path]]:
    """The requested folds not yet finished, then the refit model where asked and not yet trained."""
    jobs = []
    for fold in requested:
        if run.fold_done(fold):
            log(f"fold {fold}: already done, skipped")
            continue
        jobs.append((_taught(inputs.fold(fold), teacher, inputs), run.fold_dir(fold)))
    if refit and not run.refit_done():
        jobs.append((_taught(inputs.refit(), teacher, inputs), run.refit_dir))
    elif refit:
        log("refit: already done, skipped")
    return jobs


def _train_jobs(
    run: RunFolder,
    spec: BackboneSpec,
    config: TrainConfig,
    jobs: list[tuple[FoldData, Path]],
    all_folds: list[int],
    strategy,
    device: str,
    callbacks: Sequence[keras.callbacks.Callback],
    log: Callable[[str], None],
) -> None:
    """Side by side in worker processes where that finishes sooner (or where the run's finished folds used other
    thread counts), else one after another in this process, sharing one compiled model."""
    workers = 1 if callbacks else worker_count(config.fold_workers, device, len(jobs))  # callbacks live in this process
    threads = threads_per_worker(workers) if workers > 1 else tensorflow_threads()
    if jobs:
        workers, threads = _match_numerics(run, all_folds, strategy, workers, threads, in_process_only=bool(callbacks))
    if workers > 1 or threads != tensorflow_threads():
        train_folds_in_workers(spec.name, config, jobs, workers, log, threads)
        return
    session = None  # built at the first fold that trains: a finished run never builds a model
    for data, fold_dir in jobs:
        log(f"{data.label}: training on {len(data.train_paths)} images, validating on {len(data.val_paths)}")
        session = session or FoldTrainer(spec, config, strategy)
        train_fold(session, data, fold_dir, callbacks)


def _taught(data: FoldData, teacher: SoftTargets | None, inputs: FoldInputs) -> FoldData:
    """The fold's data with the teacher's soft targets, and its confident test images when pseudo-labels are on."""
    if teacher is None:
        return data
    targets = teacher.for_images(data.train_names, data.train_labels)
    positions, pseudo = teacher.pseudo_labels(inputs.test_names)
    if not positions:
        return dataclasses.replace(data, train_targets=targets)
    return dataclasses.replace(
        data,
        train_paths=data.train_paths + [inputs.test_paths[i] for i in positions],
        train_labels=np.concatenate([data.train_labels, pseudo.argmax(axis=1)]),
        train_names=data.train_names + [inputs.test_names[i] for i in positions],
        train_targets=np.concatenate([targets, pseudo]),
    )


def folds_argument(text: str | None) -> list[int] | None:
    """'0,1,3' -> [0, 1, 3]; None or '' -> None (all folds)."""
    if not text:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--folds {text}: expected fold numbers like 0,1,2") from None
