"""Use whatever accelerator exists: the tf.distribute strategy and mixed precision, chosen at start.

`EMOTION_CPU_REPLICAS=2` makes a CPU play Kaggle's T4 x2: MirroredStrategy over two logical CPU devices, and
mixed_float16 under `mixed_precision: auto`, so the multi-GPU path (loss scaling, per-replica batches and
randomness) runs, slowly, where no GPU exists. The tests use it; so can a user before spending GPU hours.
"""

from __future__ import annotations

import contextlib
import functools
import os

import keras
import tensorflow as tf

from solution.core.config import CPU_REPLICAS_VARIABLE
from solution.core.errors import UserError

REHEARSAL_DEVICE = "CPU replicas"  # in the device description of a CPU playing several GPUs


def cpu_replicas() -> int:
    """$EMOTION_CPU_REPLICAS as a count (0 when unset); anything else is one line naming the variable."""
    text = os.environ.get(CPU_REPLICAS_VARIABLE, "").strip()
    if not text:
        return 0
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"{CPU_REPLICAS_VARIABLE}={text}: expected a whole number of replicas such as 2, or unset it")
    return int(text)


def _cpu_mirrored(replicas: int) -> tuple[tf.distribute.Strategy, str]:
    cpu = tf.config.list_physical_devices("CPU")[0]
    with contextlib.suppress(RuntimeError):  # devices already initialised in this process: use what is there
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
    if len(devices) < replicas:
        raise UserError(f"{CPU_REPLICAS_VARIABLE}={replicas}: TensorFlow started before it was read; set it before the command starts")
    return tf.distribute.MirroredStrategy(devices[:replicas]), f"{replicas} {REHEARSAL_DEVICE} (MirroredStrategy, as on GPUs)"


def choose_strategy() -> tuple[tf.distribute.Strategy, str]:
    """TPU, several GPUs, one GPU or the CPU, in that order; returns the strategy and a description. One strategy
    per process: every MirroredStrategy TensorFlow builds starts its collective keys at the same value, so a second
    one in the same process (a second backbone, the A/B kernel's second arm) had its first all-reduce aborted with
    "Shape mismatch in the collective instance"; each later call returns the first one."""
    return _strategy_for(cpu_replicas())


@functools.cache
def _strategy_for(replicas: int) -> tuple[tf.distribute.Strategy, str]:
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver), f"TPU ({resolver.master()})"
    except (ValueError, RuntimeError, tf.errors.NotFoundError):
        pass
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy(), f"{len(gpus)} GPUs (MirroredStrategy)"
    if gpus:
        return tf.distribute.OneDeviceStrategy("/gpu:0"), "1 GPU"
    if replicas > 1:
        return _cpu_mirrored(replicas)
    return tf.distribute.get_strategy(), "CPU"


def set_precision(mode: str, device: str) -> str:
    """mixed_float16 on GPU (and on CPU replicas playing GPUs), mixed_bfloat16 on TPU, when mode is auto or on;
    returns the policy name."""
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"mixed_precision must be auto, on or off, not {mode!r}")
    accelerated = device != "CPU"
    if mode == "on" or (mode == "auto" and accelerated):
        policy = "mixed_bfloat16" if device.startswith("TPU") or not accelerated else "mixed_float16"
    else:
        policy = "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy
