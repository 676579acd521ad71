"""A study's results summarised over seeds: each variant's mean with its 95% t interval (through Fisher's z for a
correlation), and its paired difference to the study's first variant on the seeds both have."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from mtbert.eval.confidence import paired_difference, t_interval
from mtbert.experiments.study import METRICS, Study, result_key


def fisher_interval(rs, level: float = 0.95) -> tuple[float, float, float]:
    """Mean correlation over seeds and its interval through Fisher's z (t over the seeds' z): never outside [-1, 1]."""
    z = np.arctanh(np.clip(np.asarray(rs, dtype=float), -0.999999, 0.999999))
    mean = float(np.tanh(z.mean()))
    if len(z) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf((1 + level) / 2, len(z) - 1) * z.std(ddof=1) / math.sqrt(len(z)))
    return mean, float(np.tanh(z.mean() - half)), float(np.tanh(z.mean() + half))


def per_seed(study: Study, results: dict, variant: str, split: str = "dev") -> dict[int | None, dict[str, float]]:
    """seed -> the split's metrics, for the runs of `variant` that were collected."""
    seeds = study.seeds or [None]
    out = {}
    for seed in seeds:
        r = results.get(result_key(variant, seed))
        if r is not None:
            out[seed] = r["metrics"].get(split, {})
    return out


def summary(study: Study, results: dict, split: str = "dev") -> dict[str, dict[str, tuple[float, float, float, int]]]:
    """variant -> metric -> (mean, low, high, n seeds)."""
    out = {}
    for variant in study.variants:
        runs = per_seed(study, results, variant, split)
        out[variant] = {m: (*t_interval([r[m] for r in runs.values()]), len(runs))
                        for m in METRICS if runs and all(m in r and r[m] is not None for r in runs.values())}
    return out


def paired(study: Study, results: dict, split: str = "dev") -> dict[str, dict[str, tuple[float, float, float, int]]]:
    """variant -> metric -> (mean difference to the first variant, low, high, n common seeds)."""
    first = next(iter(study.variants))
    base = per_seed(study, results, first, split)
    out = {}
    for variant in list(study.variants)[1:]:
        runs = per_seed(study, results, variant, split)
        common = [s for s in runs if s in base]
        out[variant] = {m: (*paired_difference([base[s][m] for s in common], [runs[s][m] for s in common]), len(common))
                        for m in METRICS if common and all(m in runs[s] and m in base[s] for s in common)}
    return out


def seed_spread(study: Study, results: dict, metric: str = "overall", split: str = "dev") -> float | None:
    """The mean over variants of the seed-to-seed standard deviation of `metric`: the noise a difference must beat."""
    values = [[r.get(metric) for r in per_seed(study, results, v, split).values()] for v in study.variants]
    # a variant without the metric (a single-task run has no overall score) does not count
    stds = [np.std(xs, ddof=1) for xs in values if len(xs) > 1 and None not in xs]
    return float(np.mean(stds)) if stds else None
