"""Task-specific top layers (model.task_layers): the same function as the shared encoder at initialisation, each task's
copy trained by its own loss only, the copies' learning rates those of the layers they copy, a checkpoint that loads
back and loads whole in the ecosystem (STS's tower), and clear errors where they cannot apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_training import CPU, PAIRS, _setup

from mtbert.config.model import ModelConfig
from mtbert.config.train import TrainConfig
from mtbert.data.batching import collate, tokenize
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import MultitaskModel, load_multitask, save_multitask
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.loop import Trainer, task_losses
from mtbert.train.methods.backward import backward
from mtbert.train.methods.combine import GradientMethod, MethodContext
from mtbert.train.optim import build_optimizers

HEADS = {"sst": "linear", "quora": "siamese_concat", "sts": "cosine_sbert"}
TASKS = ["sst", "quora", "sts"]


def _model(directory, task_layers: int) -> MultitaskModel:
    encoder, _, _ = load_pretrained(directory)
    return MultitaskModel(encoder, ModelConfig(pooling="mean", heads=HEADS, task_layers=task_layers), TASKS, seed=3)


def _outputs(model, batches):
    model.eval()
    with torch.no_grad():
        return {t: model(t, b) for t, b in batches.items()}


def test_at_initialisation_every_task_computes_what_the_shared_encoder_computed(tiny_checkpoint_dir):
    _, batches = _setup(tiny_checkpoint_dir, tasks=TASKS)
    shared, split = _model(tiny_checkpoint_dir, 0), _model(tiny_checkpoint_dir, 1)
    assert len(split.bert.encoder.layer) == 1 and len(split.task_layers["sst"]) == 1  # the tiny BERT has 2 layers
    for t, out in _outputs(shared, batches).items():
        torch.testing.assert_close(_outputs(split, batches)[t], out, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="task_layers 3 exceeds the checkpoint's 2 layers"):
        _model(tiny_checkpoint_dir, 3)


def test_each_copy_is_a_tasks_own_parameter_and_only_its_loss_moves_it(tiny_checkpoint_dir):
    _, batches = _setup(tiny_checkpoint_dir, tasks=TASKS)
    model = _model(tiny_checkpoint_dir, 1)
    own = {t: {id(p) for p in model.task_layers[t].parameters()} for t in TASKS}
    shared = {id(p) for p in model.shared_parameters(TASKS)}
    assert all(not (own[t] & shared) and own[t] <= {id(p) for p in model.task_parameters(t)} for t in TASKS)
    assert len(set.union(*own.values())) == 3 * len(own["sst"])  # three distinct copies
    before = {t: [p.detach().clone() for p in model.task_layers[t].parameters()] for t in TASKS}
    bottom = [p.detach().clone() for p in model.bert.encoder.layer.parameters()]
    optim = build_optimizers(model.bert, model.heads, per_task=False, encoder_lr=1e-2, encoder_wd=0.0,
                             head_lr={t: 1e-2 for t in TASKS}, head_wd={t: 0.0 for t in TASKS}, total_steps=5,
                             warmup_ratio=0.0, task_layers=model.task_layers)
    model.train()
    # PCGrad over SST and STS: the copies get their own task's gradient, the shared layers the combined direction
    method = GradientMethod.build("pcgrad", MethodContext(tasks=["sst", "sts"]))
    losses = {t: r[0] for t, r in task_losses(model, {t: batches[t] for t in ("sst", "sts")}, CPU).items()}
    optim.zero_grad()
    backward(model, losses, method, jacobian=False)
    optim.step(["sst", "sts"])
    moved = {t: any(not torch.equal(a, b) for a, b in zip(before[t], model.task_layers[t].parameters())) for t in TASKS}
    assert moved == {"sst": True, "quora": False, "sts": True}
    assert any(not torch.equal(a, b) for a, b in zip(bottom, model.bert.encoder.layer.parameters()))


def test_the_copies_train_at_the_rate_of_the_layer_they_copy(tiny_checkpoint_dir):
    def rates(model):
        optim = build_optimizers(model.bert, model.heads, per_task=False, encoder_lr=1.0, encoder_wd=0.01,
                                 head_lr={t: 5.0 for t in TASKS}, head_wd={t: 0.0 for t in TASKS}, total_steps=5,
                                 warmup_ratio=0.0, layer_decay=0.5, task_layers=model.task_layers)
        return {id(p): g["lr"] for g in optim.optimizers["all"].param_groups for p in g["params"]}

    whole, split = _model(tiny_checkpoint_dir, 0), _model(tiny_checkpoint_dir, 1)
    whole_rates, split_rates = rates(whole), rates(split)
    top = [whole_rates[id(p)] for p in whole.bert.encoder.layer[1].parameters()]
    assert set(top) == {0.5}  # the top layer: lr * layer_decay
    for t in TASKS:
        assert [split_rates[id(p)] for p in split.task_layers[t].parameters()] == top
    assert [split_rates[id(p)] for p in split.bert.encoder.layer[0].parameters()] == \
        [whole_rates[id(p)] for p in whole.bert.encoder.layer[0].parameters()]  # 0.25: one layer further down


def test_a_saved_checkpoint_loads_back_and_loads_whole_as_the_sts_tower(tiny_checkpoint_dir, tmp_path):
    transformers = pytest.importorskip("transformers")
    model = _model(tiny_checkpoint_dir, 1)
    with torch.no_grad():
        for t, scale in zip(TASKS, (0.5, 0.8, 1.3)):  # copies that differ, as after training
            for p in model.task_layers[t].parameters():
                p.mul_(scale)
    save_multitask(model, tmp_path / "out", {}, [tiny_checkpoint_dir / "vocab.txt"])
    _, batches = _setup(tiny_checkpoint_dir, tasks=TASKS)
    loaded = load_multitask(tmp_path / "out", model.cfg, TASKS)
    for t, out in _outputs(model, batches).items():
        torch.testing.assert_close(_outputs(loaded, batches)[t], out, rtol=0, atol=0)
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir, 32)
    batch = collate(tokenize(tok, PAIRS.rename(columns={"sentence1": "sentence"}), "sst", "single"),
                    np.arange(len(PAIRS)), tok.pad_id)
    whole = transformers.BertModel.from_pretrained(str(tmp_path / "out"), use_safetensors=True).eval()
    with torch.no_grad():
        theirs = whole(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       token_type_ids=batch["token_type_ids"]).last_hidden_state
        features = model.encode(batch)
        attention = features.mask.bool()[:, None, None, :]
        ours = model.task_layers["sts"][0](features.hidden, attention)
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(theirs[real], ours[real], rtol=1e-4, atol=1e-5)


def test_a_frozen_run_refuses_task_layers(tiny_checkpoint_dir):
    model = _model(tiny_checkpoint_dir, 1)
    with pytest.raises(ValueError, match="task_layers=1 with train.mode=frozen"):
        Trainer(model, {}, {}, TrainConfig(mode="frozen"), None, None, 0, {}, [])
