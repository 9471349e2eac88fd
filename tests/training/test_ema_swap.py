"""The EMA weights swapped in for each validation pass: an exact exchange, traced once for every fold's optimizer."""

from __future__ import annotations

import keras
import numpy as np

from solution.training import profiles
from solution.training.fit import _optimizer
from solution.training.fold_callbacks import TracedSwapEMAWeights, _swap_in_place


def _compiled(model: keras.Model) -> keras.Model:
    model.compile(_optimizer(1e-2, profiles.TrainConfig(ema_momentum=0.9), ema=True), "categorical_crossentropy")
    images, labels = np.random.default_rng(0).normal(size=(12, 6)), np.eye(3)[np.arange(12) % 3]
    for _ in range(6):  # train_on_batch: fit's end would copy the EMA into the weights
        model.train_on_batch(images, labels)
    return model


def _weights_and_averages(model: keras.Model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    averages = model.optimizer._model_variables_moving_average
    return [v.numpy().copy() for v in model.trainable_variables], [a.numpy().copy() for a in averages]


def test_the_swap_exchanges_weights_and_averages_exactly_and_a_new_optimizer_reuses_its_graph():
    keras.utils.set_random_seed(1)
    model = _compiled(keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)]))
    weights, averages = _weights_and_averages(model)
    assert any(not np.allclose(w, a) for w, a in zip(weights, averages, strict=True)), "the EMA differs from the weights"
    swap = TracedSwapEMAWeights()
    swap.set_model(model)
    traces = _swap_in_place.experimental_get_tracing_count()
    swap.on_test_begin()  # validation scores the EMA
    swapped = _weights_and_averages(model)
    assert all(np.array_equal(a, b) for a, b in zip(swapped[0] + swapped[1], averages + weights, strict=True)), "bit-exact"
    swap.on_test_end()
    restored = _weights_and_averages(model)
    assert all(np.array_equal(a, b) for a, b in zip(restored[0] + restored[1], weights + averages, strict=True))
    _compiled(model)  # the next fold or stage: a new optimizer with new average variables of the same shapes
    for _ in range(3):
        swap.on_test_begin()
        swap.on_test_end()
    assert _swap_in_place.experimental_get_tracing_count() == traces + 1, "traced once, for the first optimizer"
