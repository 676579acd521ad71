"""The study's metrics: accuracy, Pearson r, and the overall score (SST acc + Quora acc + (STS r + 1) / 2) / 3."""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr


def accuracy(predictions, labels) -> float:
    """The share of predictions equal to their label: sklearn's accuracy_score to the bit, without its input checks,
    which cost a bootstrap of 1,000 resamples most of its time."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.shape != labels.shape:
        raise ValueError(f"accuracy: {predictions.shape[0]} predictions for {labels.shape[0]} labels")
    return float(np.mean(labels == predictions))


def pearson(scores, labels) -> float:
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=float)
    if len(scores) < 2 or scores.std() == 0 or labels.std() == 0:
        return float("nan")  # undefined: a dead head (constant output) must not read as r = 0
    return float(pearsonr(scores, labels).statistic)


def overall(sst_acc: float, quora_acc: float, sts_r: float) -> float:
    return (sst_acc + quora_acc + (sts_r + 1.0) / 2.0) / 3.0
