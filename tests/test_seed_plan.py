"""The seed plan keeps the verdicts' error rate: null comparisons simulated through the decision rules, read at the
plan's looks, give a false verdict at most 5% of the time; adding seeds one at a time until significant does not."""

import numpy as np

from mtbert.experiments.analysis import plan
from mtbert.experiments.analysis.rules import UNDECIDED, decide

SIMULATIONS = 10000


def _planned(d: np.ndarray, m: int = 1) -> str:
    """A part read at the plan's looks: stop at the first look that decides."""
    for k in plan.LOOKS:
        verdict = decide(d[:k], "difference", +1.0, 0.01, m, plan.NOMINAL_ALPHA).verdict
        if verdict != UNDECIDED:
            return verdict
    return verdict


def _one_at_a_time(d: np.ndarray) -> str:
    """The rule the plan replaces: from 5 seeds, one more seed per round until significant at 0.05 (up to 10)."""
    for k in range(5, len(d) + 1):
        verdict = decide(d[:k], "difference", +1.0, 0.01, 1, 0.05).verdict
        if verdict != UNDECIDED:
            return verdict
    return verdict


def test_the_plan_looks_at_five_then_ten_seeds_and_reads_no_seed_between():
    assert [plan.look(n) for n in (3, 5, 7, 9, 10, 12)] == [None, 5, 5, 5, 10, 10]
    assert plan.analysed([4, 0, 9, 2, 1, 3, 7]) == [0, 1, 2, 3, 4]
    assert plan.next_look(2) == 5 and plan.next_look(5) == 10 and plan.next_look(10) is None


def test_null_comparisons_read_by_the_plan_give_a_false_verdict_at_most_five_percent_of_the_time():
    rng = np.random.default_rng(0)
    draws = rng.normal(0.0, 0.01, size=(SIMULATIONS, plan.LOOKS[-1]))
    planned = np.mean([_planned(d) != UNDECIDED for d in draws])
    naive = np.mean([_one_at_a_time(d) != UNDECIDED for d in draws])
    print(f"false verdicts: plan {planned:.4f}, one seed at a time {naive:.4f}")
    assert planned <= 0.05, planned
    assert planned > 0.03  # the plan spends its alpha, it is not merely strict
    assert naive > 0.08, naive  # adding seeds until significant: the error rate the plan prevents


def test_a_claim_of_three_null_parts_keeps_its_familywise_rate_under_five_percent():
    rng = np.random.default_rng(1)
    draws = rng.normal(0.0, 0.01, size=(SIMULATIONS // 4, 3, plan.LOOKS[-1]))
    any_false = np.mean([any(_planned(d, m=3) != UNDECIDED for d in parts) for parts in draws])
    assert any_false <= 0.05, any_false


def test_non_inferiority_at_the_margin_is_claimed_at_most_five_percent_of_the_time():
    """At a true b − a of exactly −margin, "no harm shown" is the false verdict."""
    rng = np.random.default_rng(2)
    draws = rng.normal(-0.01, 0.01, size=(SIMULATIONS, plan.LOOKS[-1]))
    false = 0
    for d in draws:
        for k in plan.LOOKS:
            verdict = decide(d[:k], "no_harm", 0.0, 0.01, 1, plan.NOMINAL_ALPHA).verdict
            if verdict != UNDECIDED:
                break
        false += verdict == "no harm shown"
    assert false / SIMULATIONS <= 0.05, false / SIMULATIONS
