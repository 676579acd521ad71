"""The floor rule and Fisher-z intervals, on hand-made numbers."""

import math

import numpy as np
import pytest
from scipy import stats

from mtbert.experiments.analysis.floors import FLOOR_MARGIN, MIN_R, clears, floor
from mtbert.experiments.analysis.stats import fisher_interval

MAJORITY = {"dev": {"sst_acc": 0.25, "quora_acc": 0.61}}


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
