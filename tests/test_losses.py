"""The ordinal SST loss on hand examples: cross entropy plus the squared distance between the predicted and the true
class CDFs, so a prediction further from the true class costs more."""

from __future__ import annotations

import math

import pytest
import torch

from mtbert.config.train import TrainConfig
from mtbert.train.losses import LOSSES


def test_uniform_logits_cost_ln5_plus_the_squared_cdf_gap():
    # p = 0.2 each: CDF (.2, .4, .6, .8, 1); label 0's CDF is all ones, label 2's (0, 0, 1, 1, 1)
    logits, labels = torch.zeros(2, 5), torch.tensor([0.0, 2.0])
    emd = [0.8**2 + 0.6**2 + 0.4**2 + 0.2**2, 0.2**2 + 0.4**2 + 0.4**2 + 0.2**2]
    assert LOSSES["ordinal"](logits, labels).item() == pytest.approx(math.log(5) + sum(emd) / 2, rel=1e-6)


def test_a_wrong_class_further_from_the_truth_costs_more_than_a_near_one_at_equal_cross_entropy():
    near, far = torch.full((1, 5), -10.0), torch.full((1, 5), -10.0)
    near[0, 1] = far[0, 4] = 10.0  # label 0: both put all mass on one wrong class
    label = torch.tensor([0.0])
    assert LOSSES["cross_entropy"](near, label).item() == pytest.approx(LOSSES["cross_entropy"](far, label).item())
    assert LOSSES["ordinal"](far, label).item() - LOSSES["ordinal"](near, label).item() == pytest.approx(3.0, abs=1e-4)


def test_sst_loss_picks_the_sst_loss_and_leaves_the_other_tasks_theirs():
    cfg = TrainConfig(sst_loss="ordinal")
    from mtbert.train.loop import loss_name

    assert [loss_name(cfg, t) for t in ("sst", "quora", "sts", "cfimdb")] == ["ordinal", "bce", "mse", "bce"]
