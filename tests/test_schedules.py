from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from mtbert.train.schedules import SCHEDULES, EpochPlan, annealing_alpha, sampling_probabilities

SIZES = {"sst": 8544, "quora": 16169, "sts": 6040}
TASKS = list(SIZES)


def plan(steps=20000, epoch=1, epochs=5, order=TASKS, seed=0):
    return EpochPlan(TASKS, SIZES, steps, epoch, epochs, list(order), np.random.default_rng(seed))


def frequencies(steps: list[list[str]]) -> dict[str, int]:
    return Counter(t for step in steps for t in step)


def test_annealing_alpha_at_the_first_and_last_epoch():
    assert annealing_alpha(1, 5) == 1.0
    assert annealing_alpha(5, 5) == pytest.approx(0.2)
    assert annealing_alpha(3, 5) == pytest.approx(0.6)
    assert annealing_alpha(1, 1) == 1.0


@pytest.mark.parametrize("name, epoch, alpha", [("proportional", 1, 1.0), ("proportional", 5, 1.0),
                                                ("annealed", 1, 1.0), ("annealed", 5, 0.2)])
def test_sampled_frequencies_match_n_to_the_alpha(name, epoch, alpha):
    steps = SCHEDULES[name](plan(epoch=epoch))
    observed = frequencies(steps)
    p = sampling_probabilities(SIZES, alpha)
    expected = [p[t] * len(steps) for t in TASKS]
    assert chisquare([observed[t] for t in TASKS], expected).pvalue > 0.001
    for t in TASKS:  # and within 1.5 percentage points
        assert abs(observed[t] / len(steps) - p[t]) < 0.015


def test_annealed_last_epoch_is_near_uniform_but_still_favours_the_largest_task():
    p = sampling_probabilities(SIZES, 0.2)
    assert p["quora"] > p["sst"] > p["sts"]
    assert max(p.values()) - min(p.values()) < 0.1


def test_summed_and_round_robin():
    assert SCHEDULES["summed"](plan(steps=3)) == [TASKS] * 3
    assert SCHEDULES["round_robin"](plan(steps=4)) == [["sst"], ["quora"], ["sts"], ["sst"]]


def test_sequential_blocks_follow_the_order():
    steps = SCHEDULES["sequential"](plan(steps=7, order=["quora", "sst", "sts"]))
    assert [s[0] for s in steps] == ["quora"] * 3 + ["sst"] * 2 + ["sts"] * 2


def test_sequential_refuses_an_order_that_is_not_a_permutation():
    with pytest.raises(ValueError, match="must be an ordering of train.tasks"):
        SCHEDULES["sequential"](plan(order=["sst", "sst", "sts"]))


def test_epoch_sizes_by_definition():
    from mtbert.train.schedules import epoch_size

    sizes = {"sst": 100, "quora": 1000, "sts": 50}  # batches of 16: 7, 63 and 4
    assert epoch_size("steps", sizes, 16, 200) == (200, None)
    assert epoch_size("largest", sizes, 16, None) == (63, None)
    assert epoch_size("smallest", sizes, 16, None) == (4, None)
    assert epoch_size("one_pass", sizes, 16, None) == (63, {"sst": 7, "quora": 63, "sts": 4})
    with pytest.raises(ValueError, match="train.epoch=steps needs train.steps_per_epoch"):
        epoch_size("steps", sizes, 16, None)


@pytest.mark.parametrize("name", ["summed", "round_robin", "proportional", "sequential"])
def test_a_one_pass_epoch_gives_every_task_exactly_its_own_batches(name):
    from mtbert.train.schedules import passes

    sizes, budgets = {"sst": 100, "quora": 1000, "sts": 50}, {"sst": 7, "quora": 63, "sts": 4}
    plan = SCHEDULES[name](EpochPlan(list(sizes), sizes, 63, 1, 3, list(sizes), np.random.default_rng(0), budgets))
    assert frequencies(plan) == budgets
    assert passes(plan, sizes, 16) == {"sst": 1.0, "quora": 1.0, "sts": 1.0}
    if name == "summed":  # all three while they last, then the larger ones alone
        assert len(plan) == 63 and plan[0] == ["sst", "quora", "sts"] and plan[5] == ["sst", "quora"] and plan[10] == ["quora"]


def test_passes_per_epoch_of_a_fixed_step_epoch():
    from mtbert.train.schedules import passes

    sizes = {"sst": 100, "quora": 1000}  # 7 and 63 batches of 16 per pass
    plan = SCHEDULES["summed"](EpochPlan(list(sizes), sizes, 21, 1, 1, list(sizes), np.random.default_rng(0)))
    assert passes(plan, sizes, 16) == {"sst": 3.0, "quora": pytest.approx(21 / 63, abs=1e-3)}


def test_the_full_profile_makes_an_epoch_one_pass_over_every_task():
    import yaml
    from conftest import ROOT

    assert yaml.safe_load((ROOT / "profiles" / "full.yaml").read_text())["train"]["epoch"] == "one_pass"


def test_a_full_pass_sequential_epoch_visits_every_row_of_each_task_once_in_the_given_order():
    from mtbert.data.batching import BatchStream
    from mtbert.train.schedules import epoch_size

    class Lengths:  # what a batch stream reads of a task's data
        def __init__(self, n):
            self.n = n

        def lengths(self):
            return np.arange(self.n) % 7 + 3

    sizes, batch, order = {"sst": 37, "quora": 50, "sts": 20}, 8, ["sts", "sst", "quora"]
    streams = {t: BatchStream(Lengths(n), batch, k) for k, (t, n) in enumerate(sizes.items())}
    steps, budgets = epoch_size("one_pass", sizes, batch, None)
    for epoch in (1, 2, 3):
        plan = SCHEDULES["sequential"](EpochPlan(list(sizes), sizes, steps, epoch, 3, order, np.random.default_rng(0), budgets))
        drawn = [(step[0], next(streams[step[0]])) for step in plan]
        tasks_in_order = [t for k, (t, _) in enumerate(drawn) if k == 0 or drawn[k - 1][0] != t]
        assert tasks_in_order == order  # one block per task, in train.task_order
        for task, n in sizes.items():
            rows = np.concatenate([i for t, i in drawn if t == task])
            assert sorted(rows.tolist()) == list(range(n))  # every row exactly once this epoch
