"""Use whatever accelerator exists: the tf.distribute strategy and mixed precision, chosen at start."""

from __future__ import annotations

import keras
import tensorflow as tf


def choose_strategy() -> tuple[tf.distribute.Strategy, str]:
    """TPU, several GPUs, one GPU or the CPU, in that order; returns the strategy and a description."""
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
    return tf.distribute.get_strategy(), "CPU"


def set_precision(mode: str, device: str) -> str:
    """mixed_float16 on GPU (mixed_bfloat16 on TPU) when mode is auto or on; returns the policy name."""
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"mixed_precision must be auto, on or off, not {mode!r}")
    accelerated = device != "CPU"
    if mode == "on" or (mode == "auto" and accelerated):
        policy = "mixed_bfloat16" if device.startswith("TPU") or not accelerated else "mixed_float16"
    else:
        policy = "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy
