"""The statistics behind claims.md, on hand-made numbers."""

import math

import numpy as np
import pytest
from scipy import stats

from mtbert.experiments.analysis.verdicts import (FLOOR_MARGIN, MIN_R, Part, adjust_parts, clears, fisher_interval,
                                                  floor, holm, joint_verdict, part_verdict, tost_pvalue)

MAJORITY = {"dev": {"sst_acc": 0.25, "quora_acc": 0.61}}


def test_holm_on_the_textbook_example():
    # sorted p: 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.02, 0.03, 0.06, 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert math.isnan(holm([0.01, math.nan])[1]) and holm([0.01, math.nan])[0] == pytest.approx(0.01)


def test_equivalence_is_the_larger_of_two_one_sided_t_tests_by_hand():
    a = np.array([0.50, 0.52, 0.49, 0.51, 0.50])
    b = a + np.array([0.004, -0.002, 0.003, 0.001, -0.001])
    d = b - a
    se = d.std(ddof=1) / math.sqrt(len(d))
    margin = 0.01
    p_low = 1 - stats.t.cdf((d.mean() + margin) / se, len(d) - 1)  # H0: diff <= -margin
    p_high = stats.t.cdf((d.mean() - margin) / se, len(d) - 1)  # H0: diff >= +margin
    assert tost_pvalue(a, b, margin) == pytest.approx(max(p_low, p_high), rel=1e-9)
    assert tost_pvalue(a, b, margin) < 0.05  # within ±0.01: equivalent
    assert tost_pvalue(a, a + 0.02 + d, margin) > 0.5  # shifted by 0.02: not within the margin


def test_the_floor_rule():
    assert floor("sst_acc", "dev", MAJORITY) == pytest.approx(0.25 + FLOOR_MARGIN)
    assert floor("cfimdb_acc", "dev", MAJORITY) == pytest.approx(0.5 + FLOOR_MARGIN)
    assert floor("sts_pearson", "dev", MAJORITY) == MIN_R
    assert floor("overall", "dev", MAJORITY) == pytest.approx((0.26 + 0.62 + (MIN_R + 1) / 2) / 3)
    assert not clears(0.255, "sst_acc", "dev", MAJORITY) and clears(0.27, "sst_acc", "dev", MAJORITY)
    assert not clears(0.603, "quora_acc", "dev", MAJORITY)  # below the majority class: learned nothing
    assert clears(0.5, "quora_acc", "test", MAJORITY)  # no floor known for that split


def test_fisher_interval_stays_within_minus_one_and_one():
    rs = [0.95, 0.60, 0.99]
    mean, low, high = fisher_interval(rs)
    z = np.arctanh(rs)
    half = stats.t.ppf(0.975, 2) * z.std(ddof=1) / math.sqrt(3)
    assert (mean, low, high) == pytest.approx((math.tanh(z.mean()), math.tanh(z.mean() - half), math.tanh(z.mean() + half)))
    plain = np.mean(rs) + stats.t.ppf(0.975, 2) * np.std(rs, ddof=1) / math.sqrt(3)
    assert plain > 1 and -1 <= low < mean < high <= 1


def _part(mean, low, high, p, **kw):
    return Part(mean=mean, low=low, high=high, n=5, direction=1.0, p=p, **kw)


def test_part_verdicts_follow_the_adjusted_p_and_the_floors():
    assert part_verdict(_part(0.02, 0.01, 0.03, 0.01)) == "reproduced"
    assert part_verdict(_part(-0.02, -0.03, -0.01, 0.01)) == "reversed"
    text = part_verdict(_part(0.004, -0.006, 0.014, 0.3))
    assert text.startswith("not distinguishable") and "outside [-0.006, +0.014]; the largest still possible: 0.014" in text
    assert part_verdict(_part(0.02, 0.01, 0.03, 0.01, below_floor=("baseline",))).startswith("uninformative")
    assert part_verdict(_part(-0.02, -0.03, -0.01, 0.01, no_harm=True)) == "harm"
    assert part_verdict(_part(0.001, -0.002, 0.004, 0.5, no_harm=True, p_tost=0.01)) == "no harm shown"


def test_holm_within_a_claim_can_take_a_verdict_away():
    parts = [_part(0.02, 0.001, 0.04, 0.04), _part(0.03, 0.02, 0.04, 0.001)]
    assert part_verdict(Part(**{**parts[0].__dict__})) == "reproduced"  # alone, p = 0.04 < 0.05
    adjusted = adjust_parts(parts)
    assert adjusted[0].p == pytest.approx(0.04) and adjusted[1].p == pytest.approx(0.002)
    parts = adjust_parts([_part(0.02, 0.001, 0.04, 0.03), _part(0.03, 0.02, 0.04, 0.02)])
    assert parts[0].p == pytest.approx(0.04) and parts[1].p == pytest.approx(0.04)
    parts = adjust_parts([_part(0.02, 0.001, 0.04, 0.03), _part(0.03, 0.02, 0.04, 0.02), _part(0.0, -1, 1, 0.9)])
    assert parts[1].p == pytest.approx(0.06) and part_verdict(parts[1]).startswith("not distinguishable")


def test_the_claim_verdict_follows_from_its_parts():
    assert joint_verdict(["reproduced", "reproduced"]) == "reproduced"
    assert joint_verdict(["reproduced", "no harm shown", "no harm shown"]) == "reproduced"
    assert joint_verdict(["reproduced", "not distinguishable; rules out"]) == "not distinguishable"
    assert joint_verdict(["reproduced", "reversed", "reproduced"]) == "contradicted"
    assert joint_verdict(["reproduced", "harm"]) == "contradicted"
    assert joint_verdict(["reproduced", "uninformative: baseline below its floor"]) == "uninformative"
    assert joint_verdict(["reversed", "uninformative: baseline below its floor"]) == "contradicted"
    assert joint_verdict(["reproduced", "not run yet"]) == "not run yet"


def test_agreeing_parts_differ_on_a_difference_either_way_and_count_in_the_claim_verdict():
    agree = dict(no_harm=True, both_ways=True, margin=0.03)
    assert part_verdict(_part(0.02, 0.01, 0.03, 0.01, p_tost=0.5, **agree)) == "differ"  # test above dev: not agreeing
    assert part_verdict(_part(-0.02, -0.03, -0.01, 0.01, p_tost=0.5, **agree)) == "differ"
    assert part_verdict(_part(0.001, -0.01, 0.012, 0.6, p_tost=0.01, **agree)) == "equivalent"
    assert part_verdict(_part(0.001, -0.05, 0.052, 0.6, p_tost=0.2, **agree)).startswith("not distinguishable; rules out")
    # a plain "without hurting" part reads a significant gain as no harm
    assert part_verdict(_part(0.02, 0.01, 0.03, 0.01, no_harm=True, p_tost=0.5)) == "no harm shown"
    assert joint_verdict(["equivalent", "equivalent", "equivalent"]) == "reproduced"
    assert joint_verdict(["equivalent", "differ", "equivalent"]) == "contradicted"


def test_a_did_not_improve_part_is_the_mirror_of_no_harm():
    no_gain = dict(no_harm=True, no_gain=True, margin=0.01)
    assert part_verdict(_part(0.02, 0.01, 0.03, 0.01, p_tost=0.5, **no_gain)) == "gain"  # it did improve
    assert part_verdict(_part(-0.02, -0.03, -0.01, 0.01, p_tost=0.5, **no_gain)) == "no gain shown"
    assert part_verdict(_part(0.001, -0.004, 0.006, 0.6, p_tost=0.01, **no_gain)) == "no gain shown"
    assert part_verdict(_part(0.001, -0.05, 0.052, 0.6, p_tost=0.2, **no_gain)).startswith("not distinguishable")
    assert joint_verdict(["no gain shown"]) == "reproduced" and joint_verdict(["gain"]) == "contradicted"


def test_a_claim_part_without_a_direction_is_refused():
    from mtbert.experiments.analysis import claims as C
    from mtbert.experiments.published import load_published
    from mtbert.experiments.study import table_studies

    study = table_studies()["004-t3"]
    a, b = list(study.all_variants())[:2]
    claim = C.Claim(id="no-direction", report="004", where="nowhere", claim="b beats a overall", study="004-t3",
                    a=a, b=b, parts=[{"metric": "overall", "test": "published"}])
    claim.parts[0].test = "published"
    study.variants[b].row = None  # no published row: no effect to take the claimed direction from
    study.variants[b].about = "a run of ours"
    with pytest.raises(ValueError, match=f"no-direction, part {a} → {b} on overall: the report prints no effect"):
        C.assess(claim, study, {}, load_published(), {})


def test_a_part_is_read_at_the_first_look_that_decides_it_and_later_seeds_do_not_reopen_it():
    """The plan as tests/test_seed_plan.py simulates it: decided at 5 seeds stays decided whatever seeds 5-9 (run for
    another part on the same arms) say; undecided at 5 is read again at 10; before 5, any gate is provisional."""
    from mtbert.experiments.analysis import claims as C
    from mtbert.experiments.published import load_published
    from mtbert.experiments.study import table_studies

    study = table_studies()["004-t3"]
    a, b = list(study.all_variants())[:2]
    claim = C.Claim(id="b-raises-sst", report="004", where="nowhere", claim="b raises SST", study="004-t3", a=a, b=b,
                    parts=[{"metric": "sst_acc", "test": "increase"}])

    def results(gains: list[float], base: float = 0.45) -> dict:
        def rec(v):
            return {"metrics": {"dev": {"sst_acc": v}}, "curves": {"sst_acc": [v - 0.05, v, v]}, "overrides": {}}
        noise = [0.003, -0.002, 0.004, -0.001, 0.0, 0.002, -0.003, 0.001, -0.004, 0.002]
        out = {f"{a}@seed{s}": rec(base + noise[s]) for s in range(len(gains))}
        return out | {f"{b}@seed{s}": rec(base + noise[s] + g) for s, g in enumerate(gains)}

    clear = [0.02, 0.021, 0.019, 0.022, 0.02]
    row, = C.assess(claim, study, results(clear + [-0.05, -0.06, -0.04, -0.05, -0.07]), load_published(), {})
    assert row["seeds"] == [0, 1, 2, 3, 4] and row["verdict"] == "reproduced"
    unclear = [0.02, -0.02, 0.01, -0.015, 0.005]
    row, = C.assess(claim, study, results(unclear + [0.02, -0.01, 0.0, 0.01, -0.02]), load_published(), {})
    assert len(row["seeds"]) == 10 and row["verdict"] == "not distinguishable"
    row, = C.assess(claim, study, results(unclear), load_published(), {})
    assert row["verdict"] == "second look pending"
    row, = C.assess(claim, study, results([0.02, 0.02], base=0.05), load_published(),
                    {"dev": {"sst_acc": 0.25}})  # below the floor on 2 seeds: provisional, the claim awaits runs
    assert not row["gated"] and "provisionally gated: below floor" in row["verdict"]
    assert C.claim_verdict([row]) == "awaiting runs"
