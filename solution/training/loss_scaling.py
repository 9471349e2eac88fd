"""Loss scaling for mixed_float16 that skips a step when any replica's gradients overflow, not just the first's.

Keras's LossScaleOptimizer (3.10-3.15) decides under MirroredStrategy from the first replica's local gradients
alone ("each replica computed the same value, since grads is all-reduced": they are not yet). When only the
second GPU's float16 gradients overflow, the step is applied, the all-reduce sums inf into the weights and
the fold is NaN from there on: on the CPU playing T4 x2, convlstm's first conv kernel turned NaN at step 3.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class AllReplicasLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """A LossScaleOptimizer whose finiteness check is agreed over every replica."""

    def check_finite(self, grads):
        finite = super().check_finite(grads)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return finite
        overflowed = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(tf.logical_not(finite), tf.float32))  # MIN is not offered
        return overflowed < 0.5


def with_loss_scaling(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """The optimizer behind replica-safe loss scaling when the global policy is mixed_float16 (where Keras's
    compile would wrap it in its own LossScaleOptimizer), else the optimizer itself."""
    if keras.mixed_precision.global_policy().name != "mixed_float16":
        return optimizer
    return AllReplicasLossScaleOptimizer(optimizer)
