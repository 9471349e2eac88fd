"""Folds trained side by side in worker processes: on a CPU, single-threaded TensorFlow processes sharing the cores.

A small model's training step on a CPU is mostly per-op overhead that TensorFlow's intra-op threads do not
share out: on 2 cores (MobileNetV2, 64 px, batch 16) one process with 2 threads took about 190 ms a step,
with 1 thread about 155 ms, and two 1-thread processes side by side about 200 ms each. Each worker keeps its
model and compiled steps (`FoldTrainer`) for every fold it trains, as the sequential loop does.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from solution.core.errors import UserError
from solution.training.fit import FoldData, FoldTrainer
from solution.training.profiles import TrainConfig

FOLD_LOG = "train.log"  # in fold_k/: what the worker's Keras printed while training that fold

_session: FoldTrainer | None = None  # in a worker process: its model, built at its first fold


def worker_count(setting: int, device: str, pending: int) -> int:
    """Folds to train at once: one on an accelerator; on a CPU `setting`, or when it is 0 the fewest workers that
    finish the pending folds soonest: one per core can leave cores idle in the last round (5 folds on 2 cores)."""
    if device != "CPU" or pending < 2:
        return 1
    if setting > 0:
        return min(setting, pending)
    cores = cpu_cores()
    return min(range(1, pending + 1), key=lambda workers: (_fold_lengths(workers, pending, cores), workers))


def _fold_lengths(workers: int, pending: int, cores: int) -> float:
    """Time to train `pending` equal folds in rounds of `workers` processes sharing `cores`, in fold-lengths."""
    full_rounds, last_round = divmod(pending, workers)
    return full_rounds * max(1.0, workers / cores) + (max(1.0, last_round / cores) if last_round else 0.0)


def cpu_cores() -> int:
    return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    """TensorFlow threads each of `workers` processes gets: the cores shared out."""
    return max(1, cpu_cores() // workers)


def die_with_parent(parent: int) -> None:
    """A worker ends when the train process that started it does, even by kill -9 (which runs no clean-up there):
    on Linux the kernel sends it SIGTERM then (PR_SET_PDEATHSIG); a parent already gone ends it at once."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):  # not Linux: the orphan check below and the pool's shutdown remain
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def start_worker(threads: int, parent: int) -> None:
    """Each worker's start: bound to its parent's life, then its TensorFlow threads set."""
    die_with_parent(parent)
    limit_threads(threads)


def limit_threads(threads: int) -> None:
    """This process's TensorFlow threads; before its first op, as a worker starts."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def _train_in_worker(backbone: str, config: TrainConfig, data: FoldData, fold_dir: Path) -> dict:
    global _session
    from solution.models.registry import get_spec
    from solution.training.accelerate import choose_strategy, set_precision
    from solution.training.fit import train_fold

    fold_dir.mkdir(parents=True, exist_ok=True)
    with open(fold_dir / FOLD_LOG, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        if _session is None:
            strategy, device = choose_strategy()
            set_precision(config.mixed_precision, device)
            _session = FoldTrainer(get_spec(backbone), config, strategy)
        return train_fold(_session, data, fold_dir)


def train_folds_in_workers(
    backbone: str,
    config: TrainConfig,
    jobs: list[tuple[FoldData, Path]],
    workers: int,
    log: Callable[[str], None],
    threads: int | None = None,
) -> None:
    """Train each (fold data, fold folder) job in one of `workers` processes of `threads` TensorFlow threads each
    (default: the CPU cores shared out). A failing fold stops the folds not yet started; those already training
    finish and keep their work."""
    threads = threads or threads_per_worker(workers)
    log(f"training {', '.join(data.label for data, _ in jobs)} in {workers} worker processes of {threads} thread(s) each")
    context = multiprocessing.get_context("spawn")  # a fresh TensorFlow per worker: fork would copy this one's threads
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker, initargs=(threads, os.getpid()))
    futures: dict[Future, tuple[str, Path]] = {
        pool.submit(_train_in_worker, backbone, config, data, fold_dir): (data.label, fold_dir) for data, fold_dir in jobs
    }
    interrupted = False
    try:
        for future in as_completed(futures):
            summary = future.result()
            label, fold_dir = futures[future]
            scored = "nothing held out" if summary["val_accuracy"] is None else f"val accuracy {summary['val_accuracy']:.3f}"
            log(
                f"{label}: {scored} after {summary['seconds']:.0f} s "
                f"({summary['images_per_second']:.0f} img/s; its log: {fold_dir / FOLD_LOG})"
            )
    except BrokenProcessPool:
        raise UserError(
            f"a worker training {backbone} died (out of memory?); finished folds are kept: "
            "re-run with --set fold_workers=1 to train one fold at a time"
        ) from None
    except (KeyboardInterrupt, SystemExit):  # Ctrl+C or SIGTERM: the workers stop too; finished folds kept, the rest resumable
        interrupted = True
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        raise
    finally:
        pool.shutdown(wait=not interrupted, cancel_futures=True)
