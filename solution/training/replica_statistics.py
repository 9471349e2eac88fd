"""One set of BatchNorm statistics under several replicas (T4 x2), as the saved model holds.

Under MirroredStrategy each replica updates its own copy of the moving mean and variance from its half of the
batch (Keras's BatchNormalization assigns them per replica); saving writes the first replica's copy. Left apart,
half of every validation and prediction batch ran on the second replica's own statistics: the OOF rows it
predicted were not the saved model's, and a fold resumed from a backup (every copy set to the saved one) drifted
from one never cut. Setting every copy to their mean before each validation pass and at each epoch's end makes
what runs, what is saved and what resumes the same model.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def synchronize_replica_statistics(model: keras.Model) -> int:
    """Set every replica's copy of each non-trainable floating-point variable (BatchNorm's moving statistics) to the
    copies' mean; return how many variables were set. A no-op on one device."""
    count = 0
    for variable in model.non_trainable_variables:
        value = variable.value if isinstance(variable, keras.Variable) else variable
        copies = getattr(value, "values", ()) if isinstance(value, tf.distribute.DistributedValues) else ()
        if len(copies) > 1 and value.dtype.is_floating:
            value.assign(tf.add_n([tf.identity(copy) for copy in copies]) / len(copies))  # every copy, in cross-replica context
            count += 1
    return count


class SynchronizeReplicaStatistics(keras.callbacks.Callback):
    """Before each validation pass and at each epoch's end (before the backup is written)."""

    def on_test_begin(self, logs=None):
        synchronize_replica_statistics(self.model)

    def on_epoch_end(self, epoch, logs=None):
        synchronize_replica_statistics(self.model)
