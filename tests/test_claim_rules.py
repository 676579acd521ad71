"""The rules that turn a claim part's paired differences into a verdict, and the gates before them, on hand-made
numbers: Bonferroni intervals that agree with their p-values, equivalence before difference, one-sided
non-inferiority, no p-value for a difference without spread, the published size as a test, and each gate."""

import math

import numpy as np
import pytest
from scipy import stats

from mtbert.experiments.analysis import gates as G
from mtbert.experiments.analysis.claims import summary_line
from mtbert.experiments.analysis.rules import PENDING, UNDECIDED, decide, joint

MAJORITY = {"dev": {"sst_acc": 0.25, "quora_acc": 0.61}}
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
PROBE = {"dev": {"sst_acc": 0.417, "quora_acc": 0.780, "sts_pearson": 0.838}}


def test_bonferroni_intervals_on_a_textbook_example():
    """Three paired comparisons on five seeds at family alpha 0.05: each interval at 1 − 0.05/3, each p times 3."""
    d = np.array([0.012, 0.020, 0.008, 0.016, 0.014])  # mean 0.014, s = 0.004472
    got = decide(d, "difference", +1.0, 0.01, m=3, alpha=0.05)
    half = stats.t.ppf(1 - 0.05 / 6, 4) * d.std(ddof=1) / math.sqrt(5)  # Dunn's table: t(1 − 0.05/6, 4) = 3.961
    assert half == pytest.approx(3.961 * 0.0044721 / math.sqrt(5), rel=1e-3)
    assert (got.mean, got.low, got.high) == pytest.approx((0.014, 0.014 - half, 0.014 + half))
    assert got.level == pytest.approx(1 - 0.05 / 3)
    assert got.p == pytest.approx(3 * stats.ttest_1samp(d, 0).pvalue)
    assert got.verdict == "reproduced"
    assert decide(d, "difference", -1.0, 0.01, 3, 0.05).verdict == "reversed"


def test_every_difference_verdict_reads_off_its_interval_and_its_p():
    rng = np.random.default_rng(0)
    for _ in range(300):
        d = rng.normal(rng.uniform(-0.02, 0.02), 0.01, size=5)
        m = int(rng.integers(1, 5))
        got = decide(d, "difference", +1.0, 0.01, m, 0.05)
        excludes = got.low > 0 or got.high < 0
        assert excludes == (got.verdict != UNDECIDED) == (got.p < 0.05), (d, m, got)


def test_agreeing_numbers_are_tested_for_equivalence_first():
    """Dev and test 0.02 apart on every seed, inside ±0.03: equivalent, though significantly different from 0."""
    d = np.array([0.018, 0.024, 0.016, 0.022, 0.020])
    got = decide(d, "equivalent", 0.0, 0.03, m=1, alpha=0.05)
    assert got.low > 0  # a difference test alone would say "differ"
    assert got.verdict == "equivalent" and got.level == pytest.approx(0.90)
    se = d.std(ddof=1) / math.sqrt(5)
    tost = max(stats.t.sf((d.mean() + 0.03) / se, 4), stats.t.cdf((d.mean() - 0.03) / se, 4))
    assert got.p == pytest.approx(tost)
    assert decide(d + 0.012, "equivalent", 0.0, 0.03, 1, 0.05).verdict == UNDECIDED  # off 0, astride the band
    beyond = decide(d + 0.05, "equivalent", 0.0, 0.03, 1, 0.05)  # 0.07 apart: more than "agree" allows
    assert beyond.verdict == "differ" and beyond.low > 0.03
    assert beyond.p == pytest.approx(stats.t.sf((d.mean() + 0.05 - 0.03) / se, 4))
    assert decide(np.array([0.05, -0.05, 0.04, -0.04, 0.0]), "equivalent", 0.0, 0.03, 1, 0.05).verdict == UNDECIDED


def test_without_hurting_is_one_sided_non_inferiority():
    """A 0.004 gain with spread: TOST (two-sided) cannot show equivalence within ±0.01, non-inferiority can."""
    d = np.array([0.004, 0.012, -0.002, 0.009, -0.003])
    se = d.std(ddof=1) / math.sqrt(5)
    one_sided = stats.t.sf((d.mean() + 0.01) / se, 4)  # H0: b − a <= −0.01
    tost = max(one_sided, stats.t.cdf((d.mean() - 0.01) / se, 4))
    got = decide(d, "no_harm", 0.0, 0.01, m=1, alpha=0.05)
    assert got.verdict == "no harm shown" and got.p == pytest.approx(one_sided)
    assert one_sided < 0.05 < tost
    assert got.low > -0.01 and got.level == pytest.approx(0.90)
    assert decide(d - 0.03, "no_harm", 0.0, 0.01, 1, 0.05).verdict == "harm"
    mirror = decide(-d, "no_gain", 0.0, 0.01, 1, 0.05)  # "did not improve": the mirror image
    assert mirror.verdict == "no gain shown" and mirror.p == pytest.approx(one_sided)
    assert decide(-d + 0.03, "no_gain", 0.0, 0.01, 1, 0.05).verdict == "gain"


def test_a_difference_without_spread_gets_no_p_value():
    got = decide([0.004, 0.004], "difference", +1.0, 0.01, 1, 0.05)
    assert got.verdict.startswith("degenerate") and math.isnan(got.p) and math.isnan(got.low)
    assert decide([0.0, 0.0, 0.0], "difference", +1.0, 0.01, 1, 0.05).verdict == "degenerate: identical on every seed"


def test_the_published_size_is_a_test_whatever_the_sign():
    d = np.array([0.001, -0.004, 0.006, 0.002, -0.001])
    got = decide(d, "difference", +1.0, 0.01, 1, 0.05, published=0.069)
    assert got.verdict == UNDECIDED and got.published_ruled_out
    assert "published size ruled out** (+0.069: ours is smaller)" in got.text()
    assert not decide(d, "difference", +1.0, 0.01, 1, 0.05, published=0.005).published_ruled_out
    smaller = decide(d + 0.02, "difference", +1.0, 0.01, 1, 0.05, published=0.069)
    assert smaller.verdict == "reproduced" and smaller.published_ruled_out  # there, but smaller than published
    assert smaller.size_against_published() == "ours is smaller"
    larger = decide(d + 0.02, "difference", +1.0, 0.01, 1, 0.05, published=0.001)
    assert larger.verdict == "reproduced" and larger.size_against_published() == "ours is larger"
    assert decide(d + 0.02, "difference", -1.0, 0.01, 1, 0.05, published=-0.05).size_against_published() == \
        "the other sign"


def test_the_claim_verdict_from_its_parts_and_their_gates():
    assert joint(["reproduced", "no harm shown"], [False, False], [False, False]) == "reproduced"
    assert joint(["reproduced", "reversed"], [False, False], [False, False]) == "contradicted"
    assert joint(["reproduced", "reversed"], [False, True], [False, False]) == "not testable with this setup"
    assert joint(["reversed", "reproduced"], [False, True], [False, False]) == "contradicted"
    assert joint(["reversed", "not run yet"], [False, False], [False, False]) == "contradicted"  # one refutes "all"
    assert joint(["reproduced", "not run yet"], [False, False], [False, False]) == "awaiting runs"
    assert joint(["reproduced", PENDING], [False, False], [False, False]) == "awaiting runs"
    assert joint([UNDECIDED, "reproduced"], [False, False], [True, False]) == "published size ruled out"
    assert joint([UNDECIDED, "reproduced"], [False, False], [False, False]) == UNDECIDED
    assert joint(["awaiting seeds (2 of 5 paired)"], [False], [False]) == "awaiting runs"


def _arm(name="b", means=None, curves=None, fine_tuned=True, checkpoint=MINILM, **kw):
    means = {"sst_acc": 0.45, "quora_acc": 0.80, "sts_pearson": 0.85, "overall": 0.72} if means is None else means
    return G.Arm(name, "dev", means, {k: np.array(v) for k, v in (curves or {}).items()}, fine_tuned, checkpoint, **kw)


def test_the_summary_counts_answered_claims_and_the_gates_that_stopped_the_rest():
    counts = {"reproduced": 2, "contradicted": 1, "not distinguishable": 3, "not testable with this setup": 4,
              "not testable here": 1, "awaiting runs": 2}
    line = summary_line(counts, {"encoder confound": 1, "undertrained": 3, "below floor": 1})
    assert line == ("13 claims; 6 answerable with this setup (model, data, profile): 2 reproduced, 1 contradicted, "
                    "3 not distinguishable. 4 not testable with this setup (the gates that stopped them: undertrained "
                    "in 3, below floor in 1, encoder confound in 1). 1 not testable here; 2 awaiting runs.")
    assert summary_line({"reproduced": 1}, {}) == "1 claims; 1 answerable with this setup (model, data, profile): " \
                                                  "1 reproduced."


def test_an_arm_still_rising_at_its_end_is_undertrained_and_a_levelled_one_is_not():
    rising = _arm(curves={"sst_acc": [0.40, 0.43, 0.45]})
    assert G.undertrained(rising, ("sst_acc",), MAJORITY) == [
        "undertrained: b still rising over its last dev evaluation on sst_acc (+0.0200)"]
    assert G.undertrained(_arm(curves={"sst_acc": [0.40, 0.45, 0.455]}), ("sst_acc",), MAJORITY) == []
    assert G.undertrained(rising, ("sst_acc",), MAJORITY, fixed_budget=True) == []  # "after one epoch"
    one = _arm(curves={"sst_acc": [0.45]})
    assert "one dev evaluation" in G.undertrained(one, ("sst_acc",), MAJORITY)[0]
    flat = _arm(curves={"quora_acc": [0.610, 0.610, 0.610]})  # at the majority class all along: flat is not levelled
    assert "never above the floor on quora_acc" in G.undertrained(flat, ("quora_acc",), MAJORITY, fixed_budget=True)[0]


def test_runs_of_a_plateau_rule_are_read_at_their_own_ends_and_an_arm_mostly_stopped_by_its_cap_is_undertrained():
    from mtbert.experiments.analysis.curves import capped, last_gains

    stop = lambda by, rising: {"epoch": 3, "cap": 3, "by": by, "still_rising": rising, "patience": 2}  # noqa: E731
    # one run stopped at epoch 4 on a plateau, one rising to its cap at 6: the mean curve (4 epochs) ends +0.030,
    # while each run at its own end gained -0.010 and +0.020
    runs = [{"curves": {"sst_acc": [0.30, 0.33, 0.34, 0.33]}, "stopped": stop("plateau", False)},
            {"curves": {"sst_acc": [0.30, 0.32, 0.35, 0.38, 0.39, 0.41]}, "stopped": stop("cap", True)}]
    assert last_gains(runs)["sst_acc"] == pytest.approx(0.005)
    assert capped(runs) == (1, 2)
    arm = _arm(curves={"sst_acc": [0.30, 0.325, 0.345, 0.355]}, last_gains=last_gains(runs), capped=capped(runs))
    assert G.undertrained(arm, ("sst_acc",), MAJORITY) == [
        "undertrained: b reached its cap before levelling off on 1 of its 2 runs under a plateau rule"]
    assert G.undertrained(_arm(curves=arm.curves, last_gains=arm.last_gains, capped=(1, 3)), ("sst_acc",), MAJORITY) == []
    assert G.undertrained(arm, ("sst_acc",), MAJORITY, fixed_budget=True) == []  # the report's own budget
    assert capped([{"curves": {}, "stopped": stop("cap", True) | {"patience": 0}}]) == (0, 0)  # no rule: no count
    assert capped([{"curves": {}, "stopped": stop("cap", False)}]) == (1, 1)  # the cap stopped it, last step or not


def test_a_fine_tuned_arm_under_the_frozen_probe_of_a_task_its_checkpoint_knows_is_confounded():
    under = _arm(means={"sst_acc": 0.40, "quora_acc": 0.68, "sts_pearson": 0.71, "overall": 0.65})
    said = G.encoder_confound(under, G.metrics_of("overall"), PROBE, MINILM)
    assert said == ["encoder confound: b (fine-tuned, dev) below the frozen probe on quora_acc 0.6800 < 0.7800, "
                    "sts_pearson 0.7100 < 0.8380 (95% interval over seeds)"]  # SST too, but MiniLM was never trained for it
    assert G.encoder_confound(under, ("sst_acc",), PROBE, MINILM) == []
    assert G.encoder_confound(_arm(means=under.means, fine_tuned=False), ("sts_pearson",), PROBE, MINILM) == []
    bert = _arm(means=under.means, checkpoint="bert-base-uncased")
    assert G.encoder_confound(bert, ("sts_pearson",), PROBE, "bert-base-uncased") == []
    assert G.encoder_confound(_arm(), ("sts_pearson",), PROBE, MINILM) == []  # above the probe
    # below on the mean but within noise of the probe: the interval of [0.830, 0.845, 0.836] (mean 0.837, upper end
    # 0.837 + 4.303 * 0.00755 / sqrt(3) = 0.856) reaches the probe's 0.838, so no gate by chance; tighter seeds do gate
    noisy = _arm(means={"sts_pearson": 0.837}, values={"sts_pearson": [0.830, 0.845, 0.836]})
    assert G.encoder_confound(noisy, ("sts_pearson",), PROBE, MINILM) == []
    tight = _arm(means={"sts_pearson": 0.8363}, values={"sts_pearson": [0.8360, 0.8365, 0.8364]})
    assert G.encoder_confound(tight, ("sts_pearson",), PROBE, MINILM) != []


def test_an_overall_arm_is_below_its_floor_when_any_component_is():
    quora_at_majority = _arm(means={"sst_acc": 0.50, "quora_acc": 0.612, "sts_pearson": 0.86, "overall": 0.70})
    assert G.below_floor(quora_at_majority, ("overall",), MAJORITY) == []  # the overall alone passes
    assert G.below_floor(quora_at_majority, G.metrics_of("overall"), MAJORITY) == [
        "below floor: b (dev) quora_acc 0.6120 < 0.6200"]


def test_an_inert_manipulation_is_caught_by_identical_metrics_or_its_recorded_size():
    a, b = _arm("a", params={"train.smart.weight": 0.0}), _arm("b", params={"train.smart.weight": 5.0})
    same = [{"sst_acc": 0.41, "overall": 0.7}, {"sst_acc": 0.43, "overall": 0.71}]
    nudged = [{"sst_acc": 0.41 + 1e-9, "overall": 0.7}, {"sst_acc": 0.43, "overall": 0.71 - 1e-8}]
    assert G.inert(a, b, same, nudged) == ["inert: a and b agree to 1e-06 on every metric of every seed"]
    moved = [{"sst_acc": 0.42, "overall": 0.7}, {"sst_acc": 0.43, "overall": 0.71}]
    assert G.inert(a, b, same, moved) == []
    b.diagnostics = {"smart/relative_size": 3e-9}
    assert G.inert(a, b, same, moved) == ["inert: in b the `train.smart.weight` term is 3.0e-09 of the loss it joins "
                                          "(< 0.001)"]
    b.diagnostics = {"smart/relative_size": 0.09}
    assert G.inert(a, b, same, moved) == []


def test_a_claims_finding_line_names_its_parts_intervals_published_sizes_and_gates():
    from types import SimpleNamespace

    from mtbert.experiments.analysis.claims import FINDING_PARTS, finding
    from mtbert.experiments.analysis.rules import Decision

    def row(verdict, gates=(), ruled=False, than=None):
        d = Decision(0.02, 0.01, 0.03, 0.987, 5, 0.01, "t", verdict, published=-0.05, published_ruled_out=ruled)
        return {"a": "simple", "b": "lstm", "split_a": "test", "split_b": "test", "metric": "sst_acc", "than": than,
                "published": -0.05, "decision": d, "gates": list(gates), "gated": bool(gates), "verdict": verdict}

    claim = SimpleNamespace(report="002", id="lstm-head-lowers-sst")
    line = finding(claim, [row("reversed", ruled=True), row("reversed", gates=["undertrained: lstm rose", "below floor: x"],
                                                             ruled=True)], "contradicted")
    assert line == ("- **002 · [lstm-head-lowers-sst](#002--lstm-head-lowers-sst)**: contradicted. simple → lstm, "
                    "sst_acc (test) +0.020 [+0.010, +0.030] against the published -0.050 (ruled out: the other sign): reversed; "
                    "simple → lstm, sst_acc (test) +0.020 [+0.010, +0.030] against the published -0.050: gated "
                    "(undertrained, below floor).")  # a gated part rules nothing out: it was not tested
    many = finding(claim, [row("reproduced")] * FINDING_PARTS + [row("x", gates=["inert: same"]), row("reproduced")],
                   "not testable with this setup")
    assert many.endswith("; and 2 more parts (1 gated).")


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



def test_a_caveat_quotes_the_measured_reference_numbers_and_names_a_missing_one():
    from mtbert.experiments.analysis import claims as C

    claim = C.Claim(id="splits-differ", report="000", where="nowhere", claim="dev and test agree", study="000-t2",
                    a="pcgrad", parts=[{"metric": "sst_acc", "split_b": "test", "test": "equivalent"}],
                    caveat="SST majority {majority[dev][sst_acc]:.3f} on dev, probe {no_finetuning[dev][quora_acc]:.2f}.\n")
    assert C.caveat_text(claim, {"majority": MAJORITY, "no_finetuning": PROBE}) == "SST majority 0.250 on dev, probe 0.78."
    with pytest.raises(ValueError, match="claim splits-differ: its caveat quotes 'no_finetuning'"):
        C.caveat_text(claim, {"majority": MAJORITY})


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
    assert row["verdict"] == "second look pending" and C.claim_verdict([row]) == "awaiting runs"
    # the profile's budget spent before the second look: read at the first, said so, and the claim answered
    row, = C.assess(claim, study, results(unclear), load_published(), {}, second_look=False)
    assert row["seeds"] == [0, 1, 2, 3, 4] and row["verdict"] == "not distinguishable"
    assert row["text"].endswith("second look not run (the profile's budget was spent)")
    assert C.claim_verdict([row]) == "not distinguishable"
    row, = C.assess(claim, study, results([0.02, 0.02], base=0.05), load_published(),
                    {"dev": {"sst_acc": 0.25}})  # below the floor on 2 seeds: provisional, the claim awaits runs
    assert not row["gated"] and "provisionally gated: below floor" in row["verdict"]
    assert C.claim_verdict([row]) == "awaiting runs"


def test_the_second_look_closes_only_when_every_first_look_run_is_in_and_the_budget_is_spent():
    from mtbert.experiments.analysis.claims import second_look_open

    def rec(start: str, end: str) -> dict:
        return {"code": "c1", "started": f"2026-01-01T{start}:00", "finished": f"2026-01-01T{end}:00"}
    # two runs side by side, 10:00-13:00 and 11:00-14:00: four hours wall, not six; an older-code run not counted
    results = {"s": {"a@seed0": rec("10:00", "13:00"), "b@seed0": rec("11:00", "14:00"),
                     "c@seed0": {**rec("00:00", "09:00"), "code": "c0"}}}
    done, left = {"runs": 0}, {"runs": 3}
    assert not second_look_open(results, "c1", done, budget_hours=4.0)
    assert second_look_open(results, "c1", done, budget_hours=4.5)
    assert second_look_open(results, "c1", left, budget_hours=4.0)  # first-look runs still to come
    assert second_look_open(results, "c1", None, budget_hours=1.0)  # nothing known of what is left


def test_the_cap_line_counts_fine_tuned_runs_the_cap_stopped_where_the_plateau_rule_could_act():
    from mtbert.experiments.analysis.curves import cap_line

    def rec(mode: str, by: str, cap: int = 10) -> dict:
        return {"overrides": {"train.mode": mode}, "stopped": {"by": by, "cap": cap, "patience": 2, "epoch": cap}}
    records = [rec("full", "cap"), rec("full", "cap"), rec("full", "plateau"), rec("full", "plateau"),
               rec("frozen", "cap"),  # heads on a frozen encoder: not a fine-tuned run
               rec("full", "cap", cap=1),  # a report's one-epoch budget: the rule never had room
               {"overrides": {"train.mode": "full"}}]  # no plateau rule at all
    assert cap_line(records).endswith(": 4; the cap, not the rule, stopped 2 of them (50%) before dev levelled off.")
    assert cap_line(records[4:]) == ""


def _two_arm_results(a: str, b: str, gains: list[float], quora_a: float = 0.40, profile: str = "cpu") -> dict:
    """Per-seed records of arms a and b: b gains on SST; a's Quora sits at `quora_a`; curves levelled off."""
    def rec(sst, quora, s):
        return {"metrics": {"dev": {"sst_acc": sst, "quora_acc": quora}}, "overrides": {}, "profile": profile,
                "commit": f"c{s % 2}", "curves": {"sst_acc": [sst - 0.05, sst, sst], "quora_acc": [quora] * 3}}
    noise = [0.003, -0.002, 0.004, -0.001, 0.0]
    return ({f"{a}@seed{s}": rec(0.45 + noise[s], quora_a, s) for s in range(5)}
            | {f"{b}@seed{s}": rec(0.45 + noise[s] + g, 0.80 + noise[s], s) for s, g in enumerate(gains)})


def test_an_untrained_by_design_head_has_no_floor_and_a_budget_run_elsewhere_gates_as_such():
    from mtbert.experiments.analysis import claims as C
    from mtbert.experiments.published import load_published
    from mtbert.experiments.study import table_studies

    study = table_studies()["004-t3"]
    a, b = list(study.all_variants())[:2]
    res = _two_arm_results(a, b, [0.02, 0.021, 0.019, 0.022, 0.02])
    parts = [{"metric": "quora_acc", "test": "increase"}]
    plain = C.Claim(id="x", report="004", where="nowhere", claim="b beats a", study="004-t3", a=a, b=b, parts=parts)
    row, = C.assess(plain, study, res, load_published(), MAJORITY)
    assert row["gated"] and row["gates"][0].startswith(f"below floor: {a} (dev) quora_acc 0.4000 < 0.6200")
    exempt = plain.model_copy(update={"untrained": {a: ["quora_acc"]}})
    row, = C.assess(exempt, study, res, load_published(), MAJORITY)
    assert not row["gated"] and row["verdict"] == "reproduced"  # +0.40 over a head the claim leaves untrained
    with pytest.raises(ValueError, match=r"`untrained` names \['nobody'\], not arms of its parts"):
        C.Claim(id="x", report="004", where="nowhere", claim="c", study="004-t3", a=a, b=b, parts=parts,
                untrained={"nobody": ["quora_acc"]})
    # the claim is about the report's budget, run only at gpu: at cpu, b is gated as such, not as undertrained
    sst = [{"metric": "sst_acc", "test": "increase"}]
    gpu_only = C.Claim(id="y", report="004", where="nowhere", claim="b beats a", study="004-t3", a=a, b=b, parts=sst,
                       fixed_budget={"profiles": ["gpu"], "arms": [b]})
    row, = C.assess(gpu_only, study, res, load_published(), MAJORITY)
    assert row["gates"] == [f"report's budget elsewhere: {b} runs the budget the claim is about only at profile gpu"]
    lifted = gpu_only.model_copy(update={"fixed_budget": C.FixedBudget(profiles=["cpu"], arms=[b])})
    row, = C.assess(lifted, study, res, load_published(), MAJORITY)
    assert row["verdict"] == "reproduced" and row["lifted"] == [b]
    line = C._part_line(row, study, res, 0.01, ["[z](#004--z)"])
    assert "sst_acc (dev; increase)" in line and line.endswith(
        f"(plateau gate lifted for {b}: the budget the report states) (also in [z](#004--z)) |")
    assert C.runs_read([row], res) == "Runs read: 10, seeds 0, 1, 2, 3, 4; made at commits `c0` (6), `c1` (4)."


def test_two_claims_making_one_comparison_link_each_other_and_the_summary_says_what_lifts_each_gate():
    from mtbert.experiments.analysis import claims as C

    def claim(cid, parts):
        return C.Claim(id=cid, report="001", where="w", claim="c", study="s", a="p", b="q", parts=parts)

    one = claim("one", [{"metric": "sst_acc"}, {"metric": "quora_acc"}])
    two = claim("two", [{"metric": "sst_acc", "test": "increase"}])  # the same runs compared, another test
    three = claim("three", [{"a": "q", "b": "p", "metric": "sst_acc"}])  # the same, as a − b
    assert C.shared_comparisons([one, two, three]) == {("s", ("p", "dev"), ("q", "dev"), "sst_acc", None):
                                                       ["[one](#001--one)", "[two](#001--two)", "[three](#001--three)"]}
    table = C.lift_table({"encoder confound": 3, "undertrained": 5})
    assert table[2].startswith("| undertrained | 5 | a longer budget") and "another checkpoint" in table[3]
    assert C.lift_table({}) == []
