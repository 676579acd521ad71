import numpy as np
import pandas as pd
import torch

from mtbert.data.batching import collate, tokenize
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import ModelConfig, MultitaskModel
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.loop import TrainConfig, build_optimizer, train_step

SST = pd.DataFrame({"id": list("abcdefgh"), "sentence": ["good film", "bad film", "great fun", "awful plot",
                                                         "very good", "very bad", "great actor", "dull plot"],
                    "label": [4, 0, 4, 0, 3, 1, 4, 0]})
STS = pd.DataFrame({"id": list("abcd"), "sentence1": ["good film", "bad plot", "the actor", "fun"],
                    "sentence2": ["great film", "good actor", "the actor", "dull"], "label": [4.5, 1.0, 5.0, 0.5]})


def _setup(directory, mode):
    tok = Tokenizer.from_checkpoint(directory)
    enc, _, _ = load_pretrained(directory)
    torch.manual_seed(0)
    model = MultitaskModel(enc, ModelConfig(pooling="mean", heads={"sst": "linear", "sts": "cosine"}), ["sst", "sts"])
    cfg = TrainConfig(mode=mode, tasks=["sst", "sts"], lr=1e-3, head_lr=1e-2, warmup_ratio=0.0)
    batches = {"sst": collate(tokenize(tok, SST, "sst", False), np.arange(8), tok.pad_id),
               "sts": collate(tokenize(tok, STS, "sts", True), np.arange(4), tok.pad_id)}
    return model, cfg, batches


def test_two_steps_decrease_the_summed_loss(tiny_checkpoint_dir):
    model, cfg, batches = _setup(tiny_checkpoint_dir, "full")
    opt, sched = build_optimizer(model, cfg, total_steps=10)
    device = torch.device("cpu")
    first = train_step(model, batches, opt, sched, device)
    train_step(model, batches, opt, sched, device)
    third = train_step(model, batches, opt, sched, device)
    for task in ("sst", "sts"):
        assert third[task][0] < first[task][0]


def test_frozen_mode_trains_heads_only(tiny_checkpoint_dir):
    model, cfg, batches = _setup(tiny_checkpoint_dir, "frozen")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt, sched = build_optimizer(model, cfg, total_steps=10)
    for _ in range(2):
        train_step(model, batches, opt, sched, torch.device("cpu"))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("bert."))
    assert not torch.equal(before["heads.sst.out.weight"], after["heads.sst.out.weight"])
