"""Floors an arm must clear for a comparison to mean anything, Fisher-z intervals for correlations, and the tests a
study's own questions use (two-sided paired t with Holm, equivalence by two one-sided tests). The reports' claims are
decided by rules.py after the gates of gates.py."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

ALPHA = 0.05
# The floor rule: an accuracy arm must beat the majority class (CFIMDB: chance) by FLOOR_MARGIN on the split it is
# compared on, an STS arm must reach r >= MIN_R, and an overall score the overall of those floors; otherwise it
# learned nothing that a comparison could rest on.
FLOOR_MARGIN = 0.01
MIN_R = 0.10
CHANCE = {"cfimdb_acc": 0.5}

SUPPORTS = ("reproduced", "no harm shown", "equivalent", "no gain shown")
CONTRADICTS = ("reversed", "harm", "differ", "gain")


def floor(metric: str, split: str, majority: dict[str, dict[str, float]]) -> float | None:
    """The value an arm must exceed on `metric` (see the floor rule); None where no floor is known."""
    maj = majority.get(split, {})
    if metric in CHANCE:
        return CHANCE[metric] + FLOOR_MARGIN
    if metric == "sts_pearson":
        return MIN_R
    if metric in maj:
        return maj[metric] + FLOOR_MARGIN
    if metric == "overall" and {"sst_acc", "quora_acc"} <= set(maj):
        return (maj["sst_acc"] + FLOOR_MARGIN + maj["quora_acc"] + FLOOR_MARGIN + (MIN_R + 1) / 2) / 3
    return None


def clears(mean: float, metric: str, split: str, majority: dict[str, dict[str, float]]) -> bool:
    f = floor(metric, split, majority)
    return f is None or (not math.isnan(mean) and mean >= f)


def fisher_interval(rs, level: float = 0.95) -> tuple[float, float, float]:
    """Mean correlation over seeds and its interval through Fisher's z (t over the seeds' z): never outside [-1, 1]."""
    z = np.arctanh(np.clip(np.asarray(rs, dtype=float), -0.999999, 0.999999))
    mean = float(np.tanh(z.mean()))
    if len(z) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf((1 + level) / 2, len(z) - 1) * z.std(ddof=1) / math.sqrt(len(z)))
    return mean, float(np.tanh(z.mean() - half)), float(np.tanh(z.mean() + half))


def t_pvalue(diffs) -> float:
    """Two-sided paired t-test of mean(b - a) = 0 (NaN below 2 seeds, and where the differences have no spread: a t
    statistic is then undefined, not a p-value of 0)."""
    d = np.asarray(diffs, dtype=float)
    if len(d) < 2 or np.all(d == d[0]):
        return math.nan
    return float(stats.ttest_1samp(d, 0.0).pvalue)


def tost_pvalue(a, b, margin: float) -> float:
    """Two one-sided tests that b - a lies within (-margin, +margin): small p shows equivalence (NaN below 2 seeds or
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


@dataclass
class Part:
    """One comparison of a claim: b - a on a metric, tested as a claimed `direction` (+1 / -1) or as `no_harm`."""

    mean: float
    low: float
    high: float
    n: int
    direction: float  # +1: the claim says b > a; -1: b < a; 0: no direction known
    no_harm: bool = False
    p: float = math.nan  # two-sided t, Holm-adjusted within the claim
    p_tost: float = math.nan  # equivalence within the margin, Holm-adjusted within the claim
    below_floor: tuple[str, ...] = ()  # the arms that did not clear their floor
    margin: float = 0.01
    both_ways: bool = False  # with no_harm: the two must agree ("equivalent"), so a difference either way counts
    no_gain: bool = False  # with no_harm: the mirror test, "b did not improve on a" (b − a below +margin)


def part_verdict(part: Part) -> str:
    if part.n == 0:
        return "not run yet"
    if part.below_floor:
        return "uninformative: " + ", ".join(part.below_floor) + " below its floor"
    if part.n < 2:
        return "not distinguishable (too few seeds)"
    if math.isnan(part.p):
        return "not distinguishable (no spread over the seeds: no test)"
    significant = part.p < ALPHA
    if part.no_harm and part.both_ways:
        if significant:
            return "differ"
        return "equivalent" if part.p_tost < ALPHA else f"not distinguishable; {bound(part)}"
    if part.no_harm and part.no_gain:
        if significant and part.mean > 0:
            return "gain"
        if (significant and part.mean < 0) or part.p_tost < ALPHA:
            return "no gain shown"
        return f"not distinguishable; {bound(part)}"
    if part.no_harm:
        if significant and part.mean < 0:
            return "harm"
        if (significant and part.mean > 0) or part.p_tost < ALPHA:
            return "no harm shown"
        return f"not distinguishable; {bound(part)}"
    if significant and part.direction != 0:
        return "reproduced" if (part.mean > 0) == (part.direction > 0) else "reversed"
    return f"not distinguishable; {bound(part)}"


def bound(part: Part) -> str:
    """What a not-distinguishable comparison still rules out: effects outside its 95% interval."""
    largest = max(abs(part.low), abs(part.high))
    return f"rules out effects outside [{part.low:+.3f}, {part.high:+.3f}]; the largest still possible: {largest:.3f}"


def adjust_parts(parts: list[Part]) -> list[Part]:
    """Holm within the claim: the parts' two-sided p-values form one family, their equivalence p-values another."""
    for part, p in zip(parts, holm([p.p for p in parts])):
        part.p = p
    no_harm = [p for p in parts if p.no_harm]
    for part, p in zip(no_harm, holm([p.p_tost for p in no_harm])):
        part.p_tost = p
    return parts


def joint_verdict(verdicts: list[str]) -> str:
    """A claim over several comparisons ("every order", "all three tasks", "without hurting"): reproduced only if every
    part supports it; contradicted if any part goes the other way (a claim over every part fails on one); else
    uninformative if any part cannot be read; else not distinguishable."""
    if not verdicts or any(v == "not run yet" for v in verdicts):
        return "not run yet"
    if any(v in CONTRADICTS for v in verdicts):
        return "contradicted"
    if any(v.startswith("uninformative") for v in verdicts):
        return "uninformative"
    if all(v in SUPPORTS for v in verdicts):
        return "reproduced"
    return "not distinguishable"
