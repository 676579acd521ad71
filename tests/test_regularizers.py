import math

import numpy as np
import pytest
import torch
from test_training import CPU, _setup

from mtbert.train.loop import TrainConfig, task_losses
from mtbert.train.losses import LOSSES
from mtbert.train.regularizers import REGULARIZERS, SimCSEConfig, SmartConfig, divergence, info_nce


def test_simcse_loss_equals_its_formula_on_a_three_sentence_batch():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    z2 = torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    tau = 0.5
    # cosine similarities by hand: rows of z1 against rows of z2
    s = 1 / math.sqrt(2)
    cos = [[1.0, s, 0.0], [0.0, s, -1.0], [s, 1.0, -s]]
    expected = np.mean([-(cos[i][i] / tau) + math.log(sum(math.exp(c / tau) for c in cos[i])) for i in range(3)])
    assert info_nce(z1, z2, tau).item() == pytest.approx(expected, rel=1e-6)


def test_simcse_adds_its_weighted_loss_to_the_task_loss(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir)  # the tiny BERT has no dropout: both passes agree
    model.eval()
    plain = task_losses(model, batches, CPU, TrainConfig())
    cfg = TrainConfig(simcse=SimCSEConfig(weight=0.5, temperature=0.1, tasks=["sst"]))
    with_simcse = task_losses(model, batches, CPU, cfg)
    z = model.encode({k: v for k, v in batches["sst"].items()}).pooled
    extra = 0.5 * info_nce(z, z, 0.1).item()
    assert with_simcse["sst"][0].item() == pytest.approx(plain["sst"][0].item() + extra, rel=1e-5)
    assert with_simcse["sts"][0].item() == pytest.approx(plain["sts"][0].item())  # not listed in simcse.tasks
    # the parts report the task loss and the unweighted SimCSE term apart, for the logs
    assert with_simcse["sst"][2]["task"] == pytest.approx(plain["sst"][0].item(), rel=1e-6)
    assert with_simcse["sst"][2]["simcse"] == pytest.approx(extra / 0.5, rel=1e-5)
    assert set(with_simcse["sts"][2]) == {"task"}


@pytest.mark.parametrize("task", ["sst", "sts"])
def test_smart_is_zero_without_noise_and_positive_with_it(tiny_checkpoint_dir, task):
    model, batches = _setup(tiny_checkpoint_dir)
    model.eval()  # no dropout: any difference comes from the perturbation
    batch = batches[task]
    features = model.encode(batch)
    output = model.head(task, features)
    zero = REGULARIZERS["smart"](model, task, batch, features, output, SmartConfig(weight=1.0, sigma=0.0, ascent_steps=1))
    assert zero.item() == pytest.approx(0.0, abs=1e-10)
    torch.manual_seed(0)
    noisy = REGULARIZERS["smart"](model, task, batch, features, output, SmartConfig(weight=1.0, sigma=0.05))
    torch.manual_seed(0)
    ascended = REGULARIZERS["smart"](model, task, batch, features, output,
                                     SmartConfig(weight=1.0, sigma=0.05, ascent_steps=1, step_size=0.05))
    assert noisy.item() > 1e-8
    assert ascended.item() > noisy.item()  # the ascent step moves the same noise uphill
    assert noisy.requires_grad  # it trains the model


def test_divergences_against_hand_computed_values():
    p, q = torch.tensor([[0.0, math.log(3.0)]]), torch.tensor([[0.0, 0.0]])  # softmax: (1/4, 3/4) and (1/2, 1/2)
    kl_pq = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    kl_qp = 0.5 * math.log(2.0) + 0.5 * math.log(2 / 3)
    assert divergence("cross_entropy", p, q).item() == pytest.approx(kl_pq + kl_qp, rel=1e-6)
    # Bernoulli with logit log 3 is (1/4, 3/4) as well
    assert divergence("bce", torch.tensor([math.log(3.0)]), torch.tensor([0.0])).item() == pytest.approx(kl_pq + kl_qp, rel=1e-6)
    assert divergence("mse", torch.tensor([1.0, 2.0]), torch.tensor([0.0, 0.0])).item() == pytest.approx(2.5)


def test_cosine_embedding_loss_on_rescaled_labels():
    # head outputs 2.5 (cos + 1): 5 -> cos 1, 2.5 -> cos 0, 3.75 -> cos 0.5
    scores, labels = torch.tensor([5.0, 2.5, 3.75]), torch.tensor([5.0, 0.0, 2.5])
    expected = np.mean([1 * (1 - 1) + 0, 0 + 1 * 0.0, 0.5 * (1 - 0.5) + 0.5 * 0.5])
    assert LOSSES["cosine_embedding"](scores, labels).item() == pytest.approx(expected)


def test_cosine_embedding_loss_needs_a_cosine_sts_head(tiny_checkpoint_dir, tmp_path):
    from mtbert.train.loop import train

    model, _ = _setup(tiny_checkpoint_dir)
    model.cfg.heads["sts"] = "relu5"
    with pytest.raises(ValueError, match="train.sts_loss=cosine_embedding needs model.heads.sts cosine or cosine_corr"):
        train(model, {"sts": None}, {}, TrainConfig(tasks=["sts"], sts_loss="cosine_embedding", epochs=1, steps_per_epoch=1),
              tmp_path, None, 0, {}, [])


def test_training_logs_task_losses_apart_from_regularizer_terms(tiny_checkpoint_dir, tmp_path):
    from test_training import SST

    from mtbert.data.batching import tokenize
    from mtbert.text.tokenizer import Tokenizer
    from mtbert.train.loop import train

    class Live:
        def __init__(self):
            self.metrics = {}

        def log_metric(self, name, value):
            self.metrics[name] = value

        def next_step(self):
            pass

    model, _ = _setup(tiny_checkpoint_dir, tasks=("sst",))
    data = {"sst": tokenize(Tokenizer.from_checkpoint(tiny_checkpoint_dir), SST, "sst", "single")}
    live = Live()
    cfg = TrainConfig(tasks=["sst"], epochs=1, steps_per_epoch=2, batch_size=4, simcse=SimCSEConfig(weight=0.5, tasks=["sst"]))
    train(model, data, data, cfg, tmp_path / "out", live, 0, {}, [])
    assert {"train/sst_loss", "train/sst_simcse", "dev/sst_acc"} <= set(live.metrics)
    assert live.metrics["train/sst_simcse"] > 0 and live.metrics["train/sst_loss"] < 5  # CE of 5 classes, not the sum
