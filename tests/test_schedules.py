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
