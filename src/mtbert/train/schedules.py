"""Task schedules, by the names `train.schedule` uses: which tasks' batches make up each step of an epoch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mtbert.registry import Registry


@dataclass
class EpochPlan:
    """What a schedule needs to know: tasks, their sizes N_i, the epoch (1-based) of E, its step count and order."""

    tasks: list[str]
    sizes: dict[str, int]
    steps: int
    epoch: int
    epochs: int
    order: list[str]
    rng: np.random.Generator


Schedule = Callable[[EpochPlan], list[list[str]]]
SCHEDULES: Registry[Schedule] = Registry("schedule")


def sampling_probabilities(sizes: dict[str, int], alpha: float) -> dict[str, float]:
    """p_i proportional to N_i ** alpha."""
    weights = {t: float(n) ** alpha for t, n in sizes.items()}
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}


def annealing_alpha(epoch: int, epochs: int) -> float:
    """alpha = 1 - 0.8 (e - 1) / (E - 1) (Stickland & Murray 2019): proportional at first, near-uniform at the end."""
    return 1.0 if epochs <= 1 else 1.0 - 0.8 * (epoch - 1) / (epochs - 1)


def _sampled(plan: EpochPlan, alpha: float) -> list[list[str]]:
    p = sampling_probabilities({t: plan.sizes[t] for t in plan.tasks}, alpha)
    draws = plan.rng.choice(len(plan.tasks), size=plan.steps, p=[p[t] for t in plan.tasks])
    return [[plan.tasks[k]] for k in draws]


@SCHEDULES.register("summed")
def summed(plan: EpochPlan) -> list[list[str]]:
    """One batch of every task in every step (losses combined by `train.method`)."""
    return [list(plan.tasks) for _ in range(plan.steps)]


@SCHEDULES.register("round_robin")
def round_robin(plan: EpochPlan) -> list[list[str]]:
    """Tasks in turn, one batch each."""
    return [[plan.tasks[s % len(plan.tasks)]] for s in range(plan.steps)]


@SCHEDULES.register("proportional")
def proportional(plan: EpochPlan) -> list[list[str]]:
    """Task i with probability proportional to its size N_i."""
    return _sampled(plan, alpha=1.0)


@SCHEDULES.register("annealed")
def annealed(plan: EpochPlan) -> list[list[str]]:
    """Task i with probability proportional to N_i ** alpha, alpha annealed over the epochs."""
    return _sampled(plan, annealing_alpha(plan.epoch, plan.epochs))


@SCHEDULES.register("sequential")
def sequential(plan: EpochPlan) -> list[list[str]]:
    """Within each epoch, a block of one task after another in `train.task_order` (equal shares of the steps)."""
    unknown = [t for t in plan.order if t not in plan.tasks]
    if unknown or sorted(plan.order) != sorted(plan.tasks):
        raise ValueError(f"train.task_order {plan.order} must be an ordering of train.tasks {plan.tasks}")
    blocks = np.array_split(np.arange(plan.steps), len(plan.order))
    return [[task] for task, block in zip(plan.order, blocks) for _ in block]
