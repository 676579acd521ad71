"""95% intervals: a percentile bootstrap over a split's examples (one run), Student t over seeds, and paired
differences between variants run on the same seeds."""

from __future__ import annotations

import numpy as np
from scipy import stats

from mtbert.eval import predict as P


def bootstrap_ci(outputs: dict[str, tuple[np.ndarray, np.ndarray]], resamples: int = 1000, seed: int = 0,
                 level: float = 0.95) -> dict[str, dict[str, float]]:
    """Percentile intervals of every task metric and the overall score: each resample draws every task's examples
    with replacement (tasks independently), from one seeded generator, so the result repeats exactly."""
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    labelled = {t: (p[~np.isnan(y)], y[~np.isnan(y)]) for t, (p, y) in outputs.items()}
    for _ in range(resamples):
        scores = {}
        for task, (pred, gold) in labelled.items():
            index = rng.integers(0, len(gold), len(gold))
            scores[task] = P.score(task, pred[index], gold[index])
        for name, value in P.summary(scores).items():
            draws.setdefault(name, []).append(value)
    tail = 100 * (1 - level) / 2
    return {name: {"low": float(np.nanpercentile(v, tail)), "high": float(np.nanpercentile(v, 100 - tail))}
            for name, v in draws.items()}


def t_interval(values, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its Student-t interval over independent runs (seeds); with one value the interval is undefined (NaN)."""
    x = np.asarray(values, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return mean, mean - half, mean + half


def paired_difference(a, b, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of b - a over the same seeds, with the t interval of those paired differences."""
    return t_interval(np.asarray(b, dtype=float) - np.asarray(a, dtype=float), level)
