"""Random streams of their own per replica: under MirroredStrategy every replica runs the same traced step with the
same seed state, so without this both GPUs of a T4 x2 draw identical augmentations and Dropout masks.
"""

from __future__ import annotations

import keras
import tensorflow as tf

REPLICA_STRIDE = 1_000_003  # a prime: replica r's seeds lie far from every other generator's (seeds are small ints)


class ReplicaSeedGenerator(keras.random.SeedGenerator):
    """A SeedGenerator whose drawn seed folds in the replica's id; replica 0 (and any single-device run) draws
    exactly the seeds of a plain SeedGenerator, so CPU and one-GPU runs are unchanged."""

    def next(self, ordered: bool = True):
        seed = super().next(ordered)
        context = tf.distribute.get_replica_context()
        if context is None:  # cross-replica context: no replica to tell apart
            return seed
        replica = tf.cast(context.replica_id_in_sync_group, seed.dtype)
        return seed + tf.stack([replica * tf.cast(REPLICA_STRIDE, seed.dtype), tf.zeros_like(replica)])


def seed_generators(model: keras.Model) -> list[keras.random.SeedGenerator]:
    """Every SeedGenerator of the model's layers (augmentation, Dropout, stochastic depth, ...)."""
    return [generator for layer in model._flatten_layers(include_self=True) for generator in getattr(layer, "_seed_generators", [])]


def decorrelate_replicas(model: keras.Model) -> int:
    """Make every seed generator of `model` replica-aware, in place; return how many there are.

    Keras layers create their generators in `__init__` (Dropout, stochastic depth inside backbones), so the class of
    each existing generator is switched rather than the layers rebuilt: its state variable, and so every saved file
    and checkpoint, stays exactly as it was."""
    generators = seed_generators(model)
    for generator in generators:
        if type(generator) is keras.random.SeedGenerator:
            generator.__class__ = ReplicaSeedGenerator
    return len(generators)
