"""Blending run folders on their out-of-fold predictions, within the competition's latency budget.

Three methods: the mean of the best runs, Caruana-style greedy selection with replacement,
and weights optimised on OOF log loss. Each method's blend is also cross-validated (chosen
on the other folds, scored on the held-out one), so the reported accuracy is not the
selection's own training score. A run with flip files (flip TTA) offers two members, the run and
run+flip (the mean of its plain and mirrored predictions) at twice the run's latency. A blend's cost
is, per run it uses, its dearest member's latency (run and run+flip share the plain pass); blends over
the budget are never considered. Runs are priced per fold (`fold_subsets`): selection costs each at its
best fold model alone, and the budget left then buys each chosen run more of its fold models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from solution.artifacts.predictions import score
from solution.core.errors import UserError
from solution.ensembling.members import Costs, Members, blend, member_name

METHODS = ("mean", "greedy", "weights")
GREEDY_ROUNDS = 30


def _key(probabilities: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    accuracy, loss = score(probabilities, truth)
    return accuracy, -loss  # higher is better on both


def _best_single(oof: np.ndarray, truth: np.ndarray, affordable: np.ndarray) -> int:
    candidates = np.flatnonzero(affordable)
    if not len(candidates):
        raise UserError("no single run fits the latency budget; raise --budget-ms or re-measure with `python -m solution latency`")
    return int(max(candidates, key=lambda i: _key(oof[i], truth)))


def greedy_weights(oof: np.ndarray, truth: np.ndarray, costs: Costs, budget_ms: float) -> np.ndarray:
    """Caruana ensemble selection with replacement, from the best single run; ties broken by log loss.

    The blend is kept as a running sum of its members' probabilities, so trying a candidate costs one addition
    (images x classes), not a new weighted sum over every member: linear in the members, not quadratic."""
    counts = np.zeros(len(oof))
    first = _best_single(oof, truth, costs.latency_ms <= budget_ms)
    counts[first] = 1
    total = oof[first].astype(np.float64)  # the sum of the chosen members' probabilities (a member once per count)
    best_counts, best_key = counts.copy(), _key(total, truth)
    for _ in range(GREEDY_ROUNDS):
        options = []
        for candidate in range(len(oof)):
            trial = counts.copy()
            trial[candidate] += 1
            if costs.of(trial) <= budget_ms:
                options.append((_key((total + oof[candidate]) / trial.sum(), truth), candidate))
        if not options:
            break
        key, chosen = max(options)
        counts[chosen] += 1
        total += oof[chosen]
        if key > best_key:
            best_counts, best_key = counts.copy(), key
    return best_counts / best_counts.sum()


def mean_weights(oof: np.ndarray, truth: np.ndarray, costs: Costs, budget_ms: float) -> np.ndarray:
    """Equal weights over the best runs: add runs by OOF accuracy while the mean improves and fits the budget."""
    order = sorted(range(len(oof)), key=lambda i: _key(oof[i], truth), reverse=True)
    chosen = np.zeros(len(oof))
    chosen[_best_single(oof, truth, costs.latency_ms <= budget_ms)] = 1
    best = _key(blend(oof, chosen), truth)
    for candidate in order:
        if chosen[candidate]:
            continue
        trial = chosen.copy()
        trial[candidate] = 1
        if costs.of(trial) > budget_ms:
            continue
        key = _key(blend(oof, trial), truth)
        if key > best:
            chosen, best = trial, key
    return chosen / chosen.sum()


def _optimise_log_loss(oof: np.ndarray, truth: np.ndarray, members: np.ndarray) -> np.ndarray:
    picked = oof[members][:, np.arange(len(truth)), truth]  # (members, images): probability of the truth

    def loss(raw: np.ndarray) -> float:
        weights = np.exp(raw - raw.max())
        weights /= weights.sum()
        return float(-np.log(np.clip(weights @ picked, 1e-7, 1)).mean())

    found = minimize(loss, np.zeros(len(members)), method="L-BFGS-B")
    weights = np.exp(found.x - found.x.max())
    return weights / weights.sum()


def optimised_weights(oof: np.ndarray, truth: np.ndarray, costs: Costs, budget_ms: float) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise OOF log loss; over budget, the lightest-weighted run is dropped."""
    members = np.flatnonzero(costs.latency_ms <= budget_ms)  # a run slower than the budget never fits
    if not len(members):
        raise UserError("no single run fits the latency budget; raise --budget-ms or re-measure with `python -m solution latency`")
    while True:
        weights = _optimise_log_loss(oof, truth, members)
        full = np.zeros(len(oof))
        full[members] = weights
        full[full < 1e-4] = 0
        if costs.of(full) <= budget_ms:
            return full / full.sum()
        members = np.delete(members, int(np.argmin(weights)))


SELECTORS: dict[str, Callable[..., np.ndarray]] = {"mean": mean_weights, "greedy": greedy_weights, "weights": optimised_weights}


def cross_validated_accuracy(members: Members, method: str, budget_ms: float) -> float:
    """Choose the blend on the other folds' OOF, score it on the held-out fold; accuracy over all images."""
    correct = 0
    for fold in np.unique(members.folds):
        held_out = members.folds == fold
        weights = SELECTORS[method](members.oof[:, ~held_out], members.truth[~held_out], members.costs, budget_ms)
        predicted = blend(members.oof[:, held_out], weights).argmax(axis=1)
        correct += int((predicted == members.truth[held_out]).sum())
    return correct / len(members.truth)


@dataclass(frozen=True)
class BlendResult:
    method: str
    weights: np.ndarray
    oof_accuracy: float
    oof_log_loss: float
    cv_accuracy: float
    latency_ms: float  # at the chosen fold subsets
    fold_choice: dict[int, int]  # run index -> index of its fold subset in Members.subsets


def select(members: Members, method: str, budget_ms: float) -> BlendResult:
    weights = SELECTORS[method](members.oof, members.truth, members.costs, budget_ms)
    accuracy, loss = score(blend(members.oof, weights), members.truth)
    choice = members.fold_choice(weights, budget_ms)
    return BlendResult(
        method,
        weights,
        accuracy,
        loss,
        cross_validated_accuracy(members, method, budget_ms),
        members.subset_cost(weights, choice),
        choice,
    )


def choose(members: Members, method: str, budget_ms: float) -> tuple[BlendResult, list[BlendResult]]:
    """The blend to use and every method's result; `auto` picks the best cross-validated accuracy, ties going to the faster blend."""
    if method not in (*METHODS, "auto"):
        raise UserError(f"--method {method}: expected auto, {', '.join(METHODS)}")
    results = [select(members, name, budget_ms) for name in (METHODS if method == "auto" else (method,))]
    return max(results, key=lambda r: (r.cv_accuracy, -r.latency_ms, -r.oof_log_loss)), results


def trade_off(members: Members, budgets: list[float]) -> pd.DataFrame:
    """The best greedy blend at each budget: budget, latency, OOF accuracy, members."""
    rows = []
    for budget in sorted(set(budgets)):
        if budget < members.latency_ms.min():
            continue
        weights = greedy_weights(members.oof, members.truth, members.costs, budget)
        accuracy, _ = score(blend(members.oof, weights), members.truth)
        choice = members.fold_choice(weights, budget)
        used = "+".join(member_name(members, i, choice) for i in np.flatnonzero(weights > 0))
        rows.append({"budget_ms": budget, "latency_ms": members.subset_cost(weights, choice), "oof_accuracy": accuracy, "members": used})
    return pd.DataFrame(rows)
