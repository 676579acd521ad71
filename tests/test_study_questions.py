"""A study's declared questions read as verdicts: the numbers behind each, the gates, Holm and equivalence."""

import math

import numpy as np
import pytest
import yaml
from scipy import stats

from mtbert.experiments.analysis.questions import answer, holm, tost_pvalue
from mtbert.experiments.pages.study import render
from mtbert.experiments.study import Study, load_study, result_key

SEEDS = [0, 1, 2, 3, 4]
MAJORITY = {"dev": {"sst_acc": 0.25, "quora_acc": 0.63}}
RAW = {"name": "single", "budget": {}, "seeds": SEEDS,
         "variants": {"multitask": {}, "sst_only": {}, "quora_only": {}, "sts_only": {}},
         "questions": [{"label": "SST", "a": "sst_only", "b": "multitask", "metric": "sst_acc"},
                       {"label": "Quora", "a": "quora_only", "b": "multitask", "metric": "quora_acc"},
                       {"label": "STS", "a": "sts_only", "b": "multitask", "metric": "sts_pearson"}]}
STUDY = Study.model_validate(RAW)


def _results(sst_only, quora_only, sts_only, multitask):
    """Dev records: each arm's own metric per seed (multitask: (sst, quora, sts) per seed)."""
    out = {}
    for s, (st, qu, ss, m) in enumerate(zip(sst_only, quora_only, sts_only, multitask)):
        for variant, dev in (("sst_only", {"sst_acc": st}), ("quora_only", {"quora_acc": qu}),
                             ("sts_only", {"sts_pearson": ss}),
                             ("multitask", {"sst_acc": m[0], "quora_acc": m[1], "sts_pearson": m[2]})):
            out[result_key(variant, s)] = {"metrics": {"dev": dev}, "diagnostics": {}, "notes": [], "commit": "c", "seed": s}
    return out


SST_ONLY = [0.45, 0.46, 0.47, 0.44, 0.45]
QUORA_ONLY = [0.80, 0.81, 0.80, 0.82, 0.81]
STS_ONLY = [0.85, 0.86, 0.87, 0.85, 0.86]
# multitask: SST +[0.02, 0.03, 0.025, 0.02, 0.03] (a gain), Quora within ±0.001 (the same), STS ±0.03 (noise)
MULTI = [(a + d, q + e, s + f) for a, d, q, e, s, f in zip(
    SST_ONLY, [0.02, 0.03, 0.025, 0.02, 0.03], QUORA_ONLY, [0.001, -0.001, 0.0005, -0.0005, 0.0],
    STS_ONLY, [0.03, -0.03, 0.02, -0.02, 0.0])]


def test_questions_tell_better_equivalent_and_indistinguishable_apart():
    (_, sst, said_sst), (_, quora, said_quora), (_, sts, said_sts) = answer(
        STUDY, _results(SST_ONLY, QUORA_ONLY, STS_ONLY, MULTI), "dev", MAJORITY)
    # SST: mean 0.025, sd 0.005 over 5 seeds: 0.025 ± 2.776445 * 0.005 / sqrt(5) = ± 0.006208
    assert (sst.mean, sst.low, sst.high, sst.n) == (pytest.approx(0.025), pytest.approx(0.018792, abs=1e-6),
                                                    pytest.approx(0.031208, abs=1e-6), 5)
    assert said_sst == "`multitask` better" and sst.p < 0.01
    assert said_quora == "equivalent within ±0.01" and quora.p_tost < 0.05
    assert said_sts.startswith("cannot be told apart; rules out effects outside [")  # ±0.031: wider than ±0.01
    assert sts.p > 0.05 and sts.p_tost > 0.05


def test_a_question_names_the_arm_its_cap_stopped_on_half_its_runs_unless_the_study_compares_recipes_as_shipped():
    results = _results(SST_ONLY, QUORA_ONLY, STS_ONLY, MULTI)
    for s in SEEDS:  # multitask: the cap stopped 3 of 5 runs; sst_only: 2 of 5
        for variant, capped in (("multitask", s < 3), ("sst_only", s < 2)):
            results[result_key(variant, s)]["stopped"] = {"by": "cap" if capped else "plateau", "patience": 2}
    said = [v for _, _, v in answer(STUDY, results, "dev", MAJORITY)]
    gate = "`multitask` reached its cap before levelling off on 3 of 5 runs"
    assert said == [f"gated: {gate}"] * 3  # every question compares multitask; sst_only (2 of 5) passes
    shipped = STUDY.model_copy(update={"levelled_off": False})
    assert [v for _, _, v in answer(shipped, results, "dev", MAJORITY)][0] == "`multitask` better"


def test_a_question_is_uninformative_when_an_arm_is_at_the_majority_class():
    at_majority = [0.63, 0.635, 0.63, 0.632, 0.63]  # not above 0.63 + 0.01
    (_, _, _), (_, part, said), _ = answer(STUDY, _results(SST_ONLY, at_majority, STS_ONLY, MULTI), "dev", MAJORITY)
    assert part.below_floor == ("quora_only",) and said == "uninformative: quora_only below its floor"


def test_holm_corrects_across_the_study_questions():
    results = _results(SST_ONLY, QUORA_ONLY, STS_ONLY, MULTI)
    raw = stats.ttest_1samp([0.02, 0.03, 0.025, 0.02, 0.03], 0.0).pvalue
    (_, sst, _), *_ = answer(STUDY, results, "dev", MAJORITY)
    assert sst.p == pytest.approx(3 * raw)  # the smallest of three p-values: Holm multiplies it by 3
    alone = Study.model_validate(dict(RAW, questions=RAW["questions"][:1]))
    assert answer(alone, results, "dev", MAJORITY)[0][1].p == pytest.approx(raw)


def test_the_page_carries_the_questions_and_a_bad_question_is_refused(tmp_path):
    text = render(Study.model_validate(dict(RAW, dev_only=True)), _results(SST_ONLY, QUORA_ONLY, STS_ONLY, MULTI),
                  {"no_finetuning": {"dev": {}}, "majority": MAJORITY})
    assert "| SST: `multitask` − `sst_only` | dev | 5 | +0.0250 [+0.0188, +0.0312] |" in text
    assert "| equivalent within ±0.01 |" in text and "| test |" not in text
    bad = dict(RAW, questions=[{"a": "sst_only", "b": "multi", "metric": "sst_acc"}])
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match=r"questions\[0\] must name two of the variants"):
        load_study(tmp_path / "s.yaml")


def test_the_readme_line_says_each_question_verdict_with_its_interval():
    from mtbert.experiments.analysis.questions import line

    text = line(STUDY, _results(SST_ONLY, QUORA_ONLY, STS_ONLY, MULTI), {"majority": MAJORITY}, "dev")
    sst, quora, sts = text.removeprefix("dev: ").rstrip(".").split("; ")
    assert sst == "SST: `multitask` better (+0.025 [+0.019, +0.031], 5 seeds)"
    assert quora.startswith("Quora: equivalent within ±0.01 (") and sts.startswith("STS: cannot be told apart (")


def test_a_difference_both_significant_and_inside_the_margin_says_both():
    small = [(a + d, q - e, s) for (a, q, s), d, e in zip(MULTI, [0] * 5, [0.004, 0.0045, 0.005, 0.0035, 0.004])]
    (_, _, _), (_, part, said), _ = answer(STUDY, _results(SST_ONLY, QUORA_ONLY, STS_ONLY, small), "dev", MAJORITY)
    assert part.p < 0.05 and part.p_tost < 0.05 and said == "`multitask` worse, by less than 0.01"


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
