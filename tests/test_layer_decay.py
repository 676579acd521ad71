"""Layer-wise learning-rate decay: every encoder parameter's rate is the encoder lr times decay to the power of its
distance from the top, on a hand-checked 2-layer model; heads keep theirs; decay 1 gives today's groups exactly."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY_BERT
from torch import nn

from mtbert.model.bert import BertConfig, BertModel
from mtbert.train.optim import build_optimizers, decay_groups, encoder_groups


def _encoder() -> BertModel:
    torch.manual_seed(0)
    return BertModel(BertConfig(**dict(TINY_BERT, vocab_size=40)))


def _lr_of(groups: list[dict], module: nn.Module) -> dict[str, float]:
    by_id = {id(p): g["lr"] for g in groups for p in g["params"]}
    return {name: by_id[id(p)] for name, p in module.named_parameters()}


def test_each_layer_trains_at_lr_times_decay_to_its_distance_from_the_top():
    enc = _encoder()
    lrs = _lr_of(encoder_groups(enc, 1e-4, 0.01, layer_decay=0.5), enc)
    assert lrs["embeddings.word_embeddings.weight"] == pytest.approx(1e-4 * 0.5**3)
    assert lrs["embeddings.LayerNorm.bias"] == pytest.approx(1e-4 * 0.5**3)
    assert lrs["encoder.layer.0.attention.self.query.weight"] == pytest.approx(1e-4 * 0.5**2)
    assert lrs["encoder.layer.1.output.dense.weight"] == pytest.approx(1e-4 * 0.5)
    assert lrs["pooler.dense.weight"] == pytest.approx(1e-4)
    assert len(lrs) == len(list(enc.parameters()))  # every parameter in exactly one group


def test_weight_decay_stays_off_biases_and_layernorm_under_layer_decay():
    enc = _encoder()
    wd = {id(p): g["weight_decay"] for g in encoder_groups(enc, 1e-4, 0.01, 0.8) for p in g["params"]}
    assert all(wd[id(p)] == (0.01 if p.ndim > 1 else 0.0) for p in enc.parameters())


def test_decay_one_is_the_plain_groups_and_heads_keep_their_rate_after_the_schedule_starts():
    enc = _encoder()
    assert [(len(g["params"]), g["lr"]) for g in encoder_groups(enc, 1e-4, 0.01)] == \
        [(len(g["params"]), g["lr"]) for g in decay_groups(enc, 1e-4, 0.01)]
    heads = nn.ModuleDict({"sst": nn.Linear(32, 5)})
    opt = build_optimizers(enc, heads, per_task=False, encoder_lr=1e-4, encoder_wd=0.01, head_lr={"sst": 1e-3},
                           head_wd={"sst": 0.01}, total_steps=10, warmup_ratio=0.0, layer_decay=0.5)
    lrs = _lr_of(opt.optimizers["all"].param_groups, enc) | {"head": opt.optimizers["all"].param_groups[-1]["lr"]}
    assert lrs["head"] == pytest.approx(1e-3)  # step 0 of a 10-step linear decay: factor 1
    assert lrs["embeddings.word_embeddings.weight"] == pytest.approx(1e-4 * 0.125)
