"""The floor rule: an accuracy arm must beat the majority class (CFIMDB: chance) by FLOOR_MARGIN on the split it is
compared on, an STS arm must reach r >= MIN_R, and an overall score the overall of those floors; otherwise it learned
nothing that a comparison could rest on."""

from __future__ import annotations

import math

FLOOR_MARGIN = 0.01
MIN_R = 0.10
CHANCE = {"cfimdb_acc": 0.5}


def floor(metric: str, split: str, majority: dict[str, dict[str, float]]) -> float | None:
    """The value an arm must exceed on `metric`; None where no floor is known."""
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
    """Whether a mean clears its floor (true where no floor is known)."""
    f = floor(metric, split, majority)
    return f is None or (not math.isnan(mean) and mean >= f)
