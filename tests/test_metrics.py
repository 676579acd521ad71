"""The metrics: accuracy equals sklearn's accuracy_score to the bit (without its per-call checks, which dominated every
bootstrap), Pearson r is undefined for a constant output, and the overall score is the reports' formula."""

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from mtbert.eval.metrics import accuracy, overall, pearson


@pytest.mark.parametrize("n, classes", [(1, 2), (7, 5), (1101, 5), (40431, 2)])
def test_accuracy_is_sklearns_to_the_bit(n, classes):
    rng = np.random.default_rng(n)
    gold, pred = rng.integers(0, classes, n), rng.integers(0, classes, n)
    assert accuracy(pred, gold) == float(accuracy_score(gold, pred))
    assert accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5


def test_accuracy_refuses_predictions_and_labels_of_other_lengths():
    with pytest.raises(ValueError, match="3 predictions for 2 labels"):
        accuracy([1, 0, 1], [1, 0])


def test_pearson_of_a_constant_output_is_undefined_and_overall_is_the_reports_formula():
    assert math.isnan(pearson([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]))
    assert pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.5]) == pytest.approx(0.997949, abs=1e-6)  # by hand: 4.5 / sqrt(2 · 61 / 6)
    assert overall(0.5, 0.8, 0.6) == pytest.approx((0.5 + 0.8 + 0.8) / 3)
