"""Weight averaging: SWA's average is the mean of the weights after each step from `start` on, EMA follows its
recursion, and a training run with SWA saves exactly the mean of its last steps' weights."""

from __future__ import annotations

import pytest
import torch
from conftest import RecordingLive
from safetensors.torch import load_file
from test_training import SST
from torch import nn

from mtbert.config.train import AveragingConfig
from mtbert.train.averaging import WeightAverager


def test_swa_is_the_mean_of_the_weights_after_each_step_from_start_on():
    model = nn.Linear(1, 1)
    avg = WeightAverager(model, AveragingConfig(kind="swa", start=0.5), total_steps=4)
    for step, v in enumerate([1.0, 2.0, 4.0, 8.0], start=1):
        with torch.no_grad():
            model.weight.fill_(v)
            model.bias.fill_(-v)
        avg.update(model, step)
    scored = avg.model_to_score(model)
    assert avg.steps == 2 and scored is not model
    assert scored.weight.item() == pytest.approx(6.0) and scored.bias.item() == pytest.approx(-6.0)  # steps 3 and 4


def test_ema_starts_from_the_first_taken_step_and_then_keeps_decay_of_itself():
    model = nn.Linear(1, 1)
    avg = WeightAverager(model, AveragingConfig(kind="ema", start=0.0, decay=0.9), total_steps=3)
    for step, v in enumerate([10.0, 20.0, 30.0], start=1):
        with torch.no_grad():
            model.weight.fill_(v)
        avg.update(model, step)
    assert avg.model_to_score(model).weight.item() == pytest.approx(0.9 * (0.9 * 10 + 0.1 * 20) + 0.1 * 30)


def test_before_start_and_when_off_the_model_itself_is_scored():
    model = nn.Linear(1, 1)
    assert WeightAverager(model, AveragingConfig(), 10).model_to_score(model) is model
    swa = WeightAverager(model, AveragingConfig(kind="swa", start=0.5), 10)
    swa.update(model, 5)  # step 5 of 10 is not past half the run
    assert swa.steps == 0 and swa.model_to_score(model) is model


def test_a_run_with_swa_saves_the_mean_of_its_last_steps_weights(tiny_checkpoint_dir, tmp_path, monkeypatch):
    from mtbert.data.batching import tokenize
    from mtbert.model.checkpoint import load_pretrained
    from mtbert.model.multitask import ModelConfig, MultitaskModel
    from mtbert.text.tokenizer import Tokenizer
    from mtbert.train import averaging
    from mtbert.train.loop import TrainConfig, train

    snapshots = []
    real = averaging.WeightAverager.update

    def update(self, model, step):
        snapshots.append((step, {k: v.detach().clone() for k, v in model.state_dict().items()}))
        real(self, model, step)

    monkeypatch.setattr(averaging.WeightAverager, "update", update)
    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    model = MultitaskModel(enc, ModelConfig(pooling="mean", heads={"sst": "linear"}), ["sst"])
    data = {"sst": tokenize(Tokenizer.from_checkpoint(tiny_checkpoint_dir), SST, "sst", "single")}
    cfg = TrainConfig(tasks=["sst"], epochs=1, steps_per_epoch=6, batch_size=4, lr=1e-3,
                      weight_averaging=AveragingConfig(kind="swa", start=0.5))
    train(model, data, data, cfg, tmp_path / "out", RecordingLive(), 0, {}, [])
    saved = load_file(str(tmp_path / "out" / "model.safetensors"))
    assert [s for s, _ in snapshots] == [1, 2, 3, 4, 5, 6]
    last = [w for s, w in snapshots if s >= 4]
    for name, value in saved.items():
        torch.testing.assert_close(value, torch.stack([w[name] for w in last]).mean(0), rtol=1e-5, atol=1e-6)
    assert not torch.equal(saved["heads.sst.out.weight"], snapshots[-1][1]["heads.sst.out.weight"])
