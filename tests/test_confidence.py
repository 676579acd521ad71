import numpy as np
import pytest

from mtbert.eval.confidence import bootstrap_ci, paired_difference, t_interval


def test_t_interval_equals_the_textbook_value():
    # mean 3, s = sqrt(2.5), se = s / sqrt(5), t_{0.975, 4} = 2.776445 -> half width 1.963243
    mean, low, high = t_interval([1, 2, 3, 4, 5])
    assert mean == 3 and low == pytest.approx(3 - 1.963243, abs=1e-6) and high == pytest.approx(3 + 1.963243, abs=1e-6)
    assert all(np.isnan(v) for v in t_interval([0.5])[1:])


def test_paired_difference_on_a_constructed_example():
    # differences b - a = (1, 2, 0): mean 1, s = 1, t_{0.975, 2} = 4.302653 -> 1 ± 4.302653 / sqrt(3)
    mean, low, high = paired_difference([1, 2, 3], [2, 4, 3])
    assert mean == 1 and low == pytest.approx(1 - 2.484138, abs=1e-6) and high == pytest.approx(1 + 2.484138, abs=1e-6)
    # a constant shift has no spread: the interval is the point, and excludes zero
    assert paired_difference([0.1, 0.5, 0.9], [0.2, 0.6, 1.0])[1:] == pytest.approx((0.1, 0.1))


def _outputs(seed=0):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 5, 800).astype(float)
    pred = np.where(rng.random(800) < 0.6, gold, (gold + 1) % 5)  # accuracy ~0.6
    x = rng.normal(size=600)
    sts = (x, x + rng.normal(scale=1.0, size=600))  # r = 1/sqrt(2) in the population
    pairs = rng.integers(0, 2, 700).astype(float)
    return {"sst": (pred, gold), "quora": (pairs, pairs), "sts": sts}


def test_bootstrap_ci_covers_the_known_value_and_repeats_under_its_seed():
    outputs = _outputs()
    ci = bootstrap_ci(outputs, resamples=1000, seed=0)
    sst_acc = np.mean(outputs["sst"][0] == outputs["sst"][1])
    assert ci["sst_acc"]["low"] < sst_acc < ci["sst_acc"]["high"] and ci["sst_acc"]["high"] - ci["sst_acc"]["low"] < 0.08
    assert ci["sts_pearson"]["low"] < 1 / np.sqrt(2) < ci["sts_pearson"]["high"]
    assert ci["quora_acc"] == {"low": 1.0, "high": 1.0}
    assert set(ci) == {"sst_acc", "quora_acc", "sts_pearson", "overall"}
    assert bootstrap_ci(outputs, resamples=1000, seed=0) == ci
    assert bootstrap_ci(outputs, resamples=1000, seed=1) != ci


def test_bootstrap_skips_unlabelled_rows():
    pred, gold = np.array([1.0, 0.0, 1.0]), np.array([1.0, np.nan, 1.0])
    assert bootstrap_ci({"quora": (pred, gold)}, resamples=50)["quora_acc"] == {"low": 1.0, "high": 1.0}
