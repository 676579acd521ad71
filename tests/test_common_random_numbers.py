"""Common random numbers: two runs that differ in one technique see the same batches and the same dropout masks in
their main passes, so a paired difference measures the technique, not a shifted random stream."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from conftest import RecordingLive
from test_regularizers import with_dropout
from test_training import PAIRS, SST

from mtbert.config.model import ModelConfig
from mtbert.config.train import SimCSEConfig, SmartConfig, TrainConfig
from mtbert.data.batching import BatchStream, tokenize
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import MultitaskModel
from mtbert.text.tokenizer import Tokenizer
from mtbert.train import loop, passes
from mtbert.train.loop import train

REAL_NEXT = BatchStream.__next__
HEADS = {"sst": "linear", "quora": "siamese_concat", "sts": "cosine", "cfimdb": "linear"}


def _data(directory, tasks):
    tok = Tokenizer.from_checkpoint(directory)
    frames = {"sst": SST, "sts": PAIRS, "quora": PAIRS.assign(label=[1.0, 0.0, 1.0, 0.0]),
              "cfimdb": SST.assign(label=[1, 0, 1, 0, 1, 0, 1, 0])}
    forms = {"sst": "single", "cfimdb": "single", "quora": "siamese", "sts": "siamese"}
    return {t: tokenize(tok, frames[t], t, forms[t]) for t in tasks}


def recorded_run(directory, tmp_path, monkeypatch, tasks=("sst", "quora", "sts"), **train_kw) -> dict:
    """Train on the tiny model with dropout on; record each step's batches and every dropout mask of the main passes
    (not of a regularizer's extra passes), and the logged metrics."""
    enc, _, _ = load_pretrained(directory)
    model = with_dropout(MultitaskModel(enc, ModelConfig(pooling="mean", heads=HEADS), list(tasks)), p=0.3)
    seen: dict[str, list] = {"batches": [], "masks": []}
    main = {"on": False}

    def hook(module, inputs, output):
        if main["on"] and module.training:
            seen["masks"].append(((output == 0) & (inputs[0] != 0)).clone())

    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.register_forward_hook(hook)

    def flagged(fn):
        def call(*args, **kwargs):
            main["on"] = True
            try:
                return fn(*args, **kwargs)
            finally:
                main["on"] = False
        return call

    # only the loop's own passes are flagged; regularizers call mtbert.train.passes directly
    monkeypatch.setattr(loop, "seeded", SimpleNamespace(encode=flagged(passes.encode), head=flagged(passes.head)))
    def next_batch(stream):
        index = REAL_NEXT(stream)
        seen["batches"].append((stream.data.task, index.tolist()))
        return index

    monkeypatch.setattr(BatchStream, "__next__", next_batch)
    data = _data(directory, tasks)
    live = RecordingLive()
    cfg = TrainConfig(tasks=list(tasks), epochs=1, steps_per_epoch=3, batch_size=3, grad_diagnostics_every=0,
                      lr=1e-3, **train_kw)
    train(model, data, data, cfg, tmp_path / f"out{len(list(tmp_path.iterdir()))}", live, 0, {}, [])
    return dict(seen, metrics=live.metrics)


def _same_masks(a: list, b: list) -> bool:
    return len(a) == len(b) > 0 and all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("technique", [{"smart": SmartConfig(weight=1.0, sigma=1e-2)},
                                       {"simcse": SimCSEConfig(weight=1.0)}], ids=["smart", "simcse"])
def test_a_regularizer_leaves_the_main_passes_batches_and_dropout_masks_as_they_were(
        tiny_checkpoint_dir, tmp_path, monkeypatch, technique):
    off = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch)
    on = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch, **technique)
    assert on["batches"] == off["batches"]
    assert _same_masks(on["masks"], off["masks"])


@pytest.mark.parametrize("name,config", [("smart", SmartConfig), ("simcse", SimCSEConfig)])
def test_a_regularizer_at_weight_1e_12_logs_the_losses_of_weight_0_to_float_precision(
        tiny_checkpoint_dir, tmp_path, monkeypatch, name, config):
    off = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch)["metrics"]
    tiny = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch, **{name: config(weight=1e-12)})["metrics"]
    losses = [k for k in off if k.startswith("train/") and k.endswith("_loss")]
    assert len(losses) == 3
    for k in losses + ["dev/sst_acc", "dev/quora_acc"]:
        assert tiny[k] == pytest.approx(off[k], rel=1e-6, abs=1e-7), k


def test_pcgrad_sees_exactly_the_batches_and_masks_the_plain_sum_sees(tiny_checkpoint_dir, tmp_path, monkeypatch):
    plain = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch)
    surgery = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch, method="pcgrad")
    assert surgery["batches"] == plain["batches"]
    # the first step's masks are drawn before any update differs; every later one from the same seeds too
    assert _same_masks(surgery["masks"], plain["masks"])


def test_adding_the_cfimdb_task_changes_neither_the_sst_head_nor_the_sst_batch_order(
        tiny_checkpoint_dir, tmp_path, monkeypatch):
    enc = lambda: load_pretrained(tiny_checkpoint_dir)[0]  # noqa: E731
    three = MultitaskModel(enc(), ModelConfig(heads=HEADS), ["sst", "quora", "sts"], seed=3)
    four = MultitaskModel(enc(), ModelConfig(heads=HEADS), ["cfimdb", "sst", "quora", "sts"], seed=3)
    other_seed = MultitaskModel(enc(), ModelConfig(heads=HEADS), ["sst"], seed=4)
    for k, v in three.heads["sst"].state_dict().items():
        assert torch.equal(v, four.heads["sst"].state_dict()[k])
        assert not torch.equal(v, other_seed.heads["sst"].state_dict()[k])
    alone = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch, tasks=("sst",))
    with_cfimdb = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch, tasks=("cfimdb", "sst"))
    sst_order = lambda run: [b for t, b in run["batches"] if t == "sst"]  # noqa: E731
    assert sst_order(with_cfimdb) == sst_order(alone) and len(sst_order(alone)) == 3


def test_the_masks_differ_between_steps_tasks_and_seeds(tiny_checkpoint_dir, tmp_path, monkeypatch):
    """The recorder sees real masks: another seed draws other ones (so the equalities above are not vacuous)."""
    base = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch)
    other = recorded_run(tiny_checkpoint_dir, tmp_path, monkeypatch, seed=1)
    assert base["masks"] and any(m.any() for m in base["masks"])
    assert not _same_masks(base["masks"], other["masks"])
    assert base["batches"] != other["batches"]

