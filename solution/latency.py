"""Per-image inference latency at batch 1, measured on this machine (the competition allows 330 ms)."""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf


def measure_latency_ms(model: keras.Model, size: int, repeats: int = 30, warmup: int = 3) -> float:
    """Median milliseconds of one compiled forward pass on a single image."""
    forward = tf.function(lambda images: model(images, training=False), reduce_retracing=True)
    image = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, size, size, 3)).astype(np.float32))
    for _ in range(warmup):
        forward(image).numpy()
    timings = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        forward(image).numpy()
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.median(timings))
