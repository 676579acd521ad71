"""A study's declared questions (`questions:` in its file: is b better, worse or the same as a on one metric?) read as
verdicts over the seeds: each arm against its floor and, where its runs had a plateau rule, levelled off (the cap
stopped fewer than half of them; a study choosing a recipe at one cap compares them as shipped), two-sided paired
t-tests and equivalence within a margin, with Holm's correction across the study's questions on each split."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

from mtbert.eval.confidence import paired_difference
from mtbert.experiments.analysis import stats
from mtbert.experiments.analysis.curves import capped
from mtbert.experiments.analysis.floors import FLOOR_MARGIN, MIN_R, clears
from mtbert.experiments.analysis.ours import records_of
from mtbert.experiments.study import Study

ALPHA = 0.05


@dataclass
class Comparison:
    """b − a on one metric over the paired seeds: 95% interval, Holm-adjusted p of the two-sided paired t and of
    equivalence within ±margin (two one-sided tests), and the arms below their floors."""

    mean: float
    low: float
    high: float
    n: int
    margin: float
    p: float = math.nan
    p_tost: float = math.nan
    below_floor: tuple[str, ...] = ()


def t_pvalue(diffs) -> float:
    """Two-sided paired t-test of mean(b − a) = 0 (NaN below 2 seeds, and where the differences have no spread: a t
    statistic is then undefined, not a p-value of 0)."""
    d = np.asarray(diffs, dtype=float)
    if len(d) < 2 or np.all(d == d[0]):
        return math.nan
    return float(st.ttest_1samp(d, 0.0).pvalue)


def tost_pvalue(a, b, margin: float) -> float:
    """Two one-sided tests that b − a lies within (−margin, +margin): small p shows equivalence (NaN below 2 seeds or
    without spread)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = b - a
    if len(a) < 2 or np.all(d == d[0]):
        return math.nan
    return float(ttost_paired(b, a, -margin, margin)[0])


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values of one family (NaN entries stay NaN and do not count)."""
    known = [i for i, p in enumerate(pvalues) if not math.isnan(p)]
    out = [math.nan] * len(pvalues)
    if known:
        adjusted = multipletests([pvalues[i] for i in known], method="holm")[1]
        for i, p in zip(known, adjusted):
            out[i] = float(p)
    return out


def not_levelled(study: Study, results: dict, arm: str) -> str:
    """Why `arm` did not level off ('' where it did, had no plateau rule, or the study compares recipes as shipped)."""
    if not study.levelled_off:
        return ""
    at_cap, ruled = capped(list(records_of(results, arm).values()))
    return f"`{arm}` reached its cap before levelling off on {at_cap} of {ruled} runs" if ruled and 2 * at_cap >= ruled \
        else ""


def verdict(c: Comparison, a: str, b: str, gates: tuple[str, ...] = ()) -> str:
    """The comparison in words: which arm is better (a significant difference, and whether it is also within the
    margin), equivalent, or what the interval still rules out; the gates or floors instead, where an arm fails them."""
    if gates:
        return "gated: " + "; ".join(gates)
    if c.n == 0:
        return "not run yet"
    if c.below_floor:
        return "uninformative: " + ", ".join(c.below_floor) + " below its floor"
    if c.n < 2:
        return "cannot be told apart (too few seeds)"
    if math.isnan(c.p):
        return "cannot be told apart (no spread over the seeds: no test)"
    if c.p < ALPHA:
        small = f", by less than {c.margin:g}" if c.p_tost < ALPHA else ""
        return (f"`{b}` better" if c.mean > 0 else f"`{b}` worse") + small
    if c.p_tost < ALPHA:
        return f"equivalent within ±{c.margin:g}"
    largest = max(abs(c.low), abs(c.high))
    return (f"cannot be told apart; rules out effects outside [{c.low:+.3f}, {c.high:+.3f}]; the largest still "
            f"possible: {largest:.3f}")


def answer(study: Study, results: dict, split: str, majority: dict | None = None) -> list[tuple[dict, Comparison, str]]:
    """(question, its comparison, its verdict) for each of the study's questions on `split`."""
    margin = study.question_margin
    found = []
    for q in study.questions:
        a, b, metric = q.a, q.b, q.metric
        runs_a, runs_b = stats.per_seed(study, results, a, split), stats.per_seed(study, results, b, split)
        common = [s for s in runs_a if s in runs_b and metric in runs_a[s] and metric in runs_b[s]]
        xa, xb = [runs_a[s][metric] for s in common], [runs_b[s][metric] for s in common]
        if not common:
            found.append(Comparison(math.nan, math.nan, math.nan, 0, margin))
            continue
        below = tuple(arm for arm, xs in ((a, xa), (b, xb)) if not clears(sum(xs) / len(xs), metric, split, majority or {}))
        found.append(Comparison(*paired_difference(xa, xb), len(common), margin, p=t_pvalue([y - x for x, y in zip(xa, xb)]),
                                p_tost=tost_pvalue(xa, xb, margin), below_floor=below))
    for c, p, p_tost in zip(found, holm([c.p for c in found]), holm([c.p_tost for c in found])):
        c.p, c.p_tost = p, p_tost
    return [(q, c, verdict(c, q.a, q.b, tuple(g for arm in (q.a, q.b) if (g := not_levelled(study, results, arm)))))
            for q, c in zip(study.questions, found)]


def line(study: Study, results: dict, reference: dict | None, split: str) -> str:
    """The questions' verdicts on `split` in one sentence (each with b − a and its 95% interval), for the README."""
    said = []
    for q, p, verdict_ in answer(study, results, split, (reference or {}).get("majority", {})):
        diff = f" ({p.mean:+.3f} [{p.low:+.3f}, {p.high:+.3f}], {p.n} seeds)" if p.n > 1 else ""
        said.append(f"{q.label or q.metric}: {verdict_.split(';')[0]}{diff}")
    return f"{split}: " + "; ".join(said) + "."


def _p(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.3f}"


def section(study: Study, results: dict, reference: dict | None, splits: tuple[str, ...]) -> str:
    """The page's "Questions" section: one row per question and split."""
    if not study.questions:
        return ""
    majority = (reference or {}).get("majority", {})
    margin = study.question_margin
    lines = ["| question | split | seeds | b − a [95% interval] | p (Holm) | p equivalent (Holm) | verdict |",
             "|---|---|---|---|---|---|---|"]
    for split in splits:
        for q, p, said in answer(study, results, split, majority):
            diff = "–" if p.n == 0 else f"{p.mean:+.4f}" + (f" [{p.low:+.4f}, {p.high:+.4f}]" if p.n > 1 else "")
            lines.append(f"| {q.label or q.metric}: `{q.b}` − `{q.a}` | {split} | {p.n} | {diff} | "
                         f"{_p(p.p)} | {_p(p.p_tost)} | {said} |")
    return ("## Questions\n\n" + "\n".join(lines) + "\n\n"
            f"Paired over seeds. A verdict needs both arms above their floors (majority class + {FLOOR_MARGIN}, or STS "
            f"r ≥ {MIN_R})" + (" and levelled off (where their runs had a plateau rule, the cap stopped fewer than half "
                                 "of them; else the verdict names the gate)" if study.levelled_off else
                                 "; the arms are compared as shipped, at one cap, whether or not they levelled off") +
            ". Better/worse: two-sided paired t, Holm-adjusted across this study's questions on the split, "
            f"below {ALPHA}; equivalent: two one-sided tests put the difference within ±{margin:g} (Holm likewise); "
            "otherwise the two cannot be told apart at this number of seeds, and the interval bounds what is still possible.")
