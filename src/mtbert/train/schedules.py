"""Task schedules, by the names `train.schedule` uses: which tasks' batches make up each step of an epoch; and what
an epoch is (`train.epoch`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mtbert.registry import Registry


@dataclass
class EpochPlan:
    """What a schedule needs to know: tasks, their sizes N_i, the epoch (1-based) of E, its step count and order;
    `budgets` (one_pass epochs): the number of batches each task has in the epoch, which then sets its length."""

    tasks: list[str]
    sizes: dict[str, int]
    steps: int
    epoch: int
    epochs: int
    order: list[str]
    rng: np.random.Generator
    budgets: dict[str, int] | None = None


EPOCHS = ("steps", "largest", "smallest", "one_pass")


def epoch_size(kind: str, sizes: dict[str, int], batch_size: int, steps_per_epoch: int | None) -> tuple[int, dict[str, int] | None]:
    """What an epoch is: `steps` (steps_per_epoch steps), `largest`/`smallest` (as many steps as that task has
    batches; other tasks cycle or stop short), `one_pass` (every task's examples exactly once: per-task budgets)."""
    batches = {t: -(-n // batch_size) for t, n in sizes.items()}
    if kind == "steps":
        if not steps_per_epoch:
            raise ValueError("train.epoch=steps needs train.steps_per_epoch (a positive number of steps)")
        return steps_per_epoch, None
    if kind == "largest":
        return max(batches.values()), None
    if kind == "smallest":
        return min(batches.values()), None
    if kind == "one_pass":
        return max(batches.values()), batches
    raise ValueError(f"train.epoch: unknown epoch definition {kind!r}; known: {list(EPOCHS)}")


def passes(plan: list[list[str]], sizes: dict[str, int], batch_size: int) -> dict[str, float]:
    """Passes over its training set each task makes in one epoch's plan: its batches / the batches of one pass."""
    return {t: round(sum(t in step for step in plan) / -(-n // batch_size), 3) for t, n in sizes.items()}


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
    steps = sum(plan.budgets.values()) if plan.budgets else plan.steps
    draws = plan.rng.choice(len(plan.tasks), size=steps, p=[p[t] for t in plan.tasks])
    return [[plan.tasks[k]] for k in draws]


@SCHEDULES.register("summed")
def summed(plan: EpochPlan) -> list[list[str]]:
    """One batch of every task in every step (losses combined by `train.method`); in a one_pass epoch a task leaves
    the steps once its batches are used."""
    if plan.budgets:
        return [[t for t in plan.tasks if plan.budgets[t] > k] for k in range(max(plan.budgets.values()))]
    return [list(plan.tasks) for _ in range(plan.steps)]


@SCHEDULES.register("round_robin")
def round_robin(plan: EpochPlan) -> list[list[str]]:
    """Tasks in turn, one batch each (in a one_pass epoch, skipping tasks whose batches are used)."""
    if plan.budgets:
        return [[t] for k in range(max(plan.budgets.values())) for t in plan.tasks if plan.budgets[t] > k]
    return [[plan.tasks[s % len(plan.tasks)]] for s in range(plan.steps)]


@SCHEDULES.register("proportional")
def proportional(plan: EpochPlan) -> list[list[str]]:
    """Task i with probability proportional to its size N_i (in a one_pass epoch: each task's batches in a random
    order, which is exactly proportional)."""
    if plan.budgets:
        steps = [t for t in plan.tasks for _ in range(plan.budgets[t])]
        return [[steps[k]] for k in plan.rng.permutation(len(steps))]
    return _sampled(plan, alpha=1.0)


@SCHEDULES.register("annealed")
def annealed(plan: EpochPlan) -> list[list[str]]:
    """Task i with probability proportional to N_i ** alpha, alpha annealed over the epochs (in a one_pass epoch: as
    many draws as the tasks have batches together; the passes per task then vary by design)."""
    return _sampled(plan, annealing_alpha(plan.epoch, plan.epochs))


@SCHEDULES.register("sequential")
def sequential(plan: EpochPlan) -> list[list[str]]:
    """Within each epoch, a block of one task after another in `train.task_order` (equal shares of the steps; in a
    one_pass epoch, each task's own number of batches)."""
    unknown = [t for t in plan.order if t not in plan.tasks]
    if unknown or sorted(plan.order) != sorted(plan.tasks):
        raise ValueError(f"train.task_order {plan.order} must be an ordering of train.tasks {plan.tasks}")
    if plan.budgets:
        return [[task] for task in plan.order for _ in range(plan.budgets[task])]
    blocks = np.array_split(np.arange(plan.steps), len(plan.order))
    return [[task] for task, block in zip(plan.order, blocks) for _ in block]
