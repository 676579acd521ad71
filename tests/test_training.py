import numpy as np
import pandas as pd
import pytest
import torch
from conftest import RecordingLive

from mtbert.config.model import ModelConfig
from mtbert.config.train import TrainConfig
from mtbert.data.batching import collate, tokenize
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import MultitaskModel
from mtbert.text.tokenizer import Tokenizer
from mtbert.train.loop import task_losses
from mtbert.train.methods.backward import backward
from mtbert.train.methods.combine import GradientMethod, MethodContext
from mtbert.train.optim import build_optimizers

SST = pd.DataFrame({"id": list("abcdefgh"), "sentence": ["good film", "bad film", "great fun", "awful plot",
                                                         "very good", "very bad", "great actor", "dull plot"],
                    "label": [4, 0, 4, 0, 3, 1, 4, 0]})
PAIRS = pd.DataFrame({"id": list("abcd"), "sentence1": ["good film", "bad plot", "the actor", "fun"],
                      "sentence2": ["great film", "good actor", "the actor", "dull"], "label": [4.5, 1.0, 5.0, 0.5]})
CPU = torch.device("cpu")


def _setup(directory, frozen=False, tasks=("sst", "sts"), rows=None):
    tok = Tokenizer.from_checkpoint(directory)
    enc, _, _ = load_pretrained(directory)
    torch.manual_seed(0)
    heads = {"sst": "linear", "quora": "siamese_concat", "sts": "cosine"}
    model = MultitaskModel(enc, ModelConfig(pooling="mean", heads=heads), list(tasks))
    if frozen:
        model.bert.requires_grad_(False)
    quora = PAIRS.assign(label=[1.0, 0.0, 1.0, 0.0])
    data = {"sst": tokenize(tok, SST, "sst", "single"), "sts": tokenize(tok, PAIRS, "sts", "siamese"), "quora": tokenize(tok, quora, "quora", "siamese")}
    batches = {t: collate(data[t], np.arange(len(data[t])) if rows is None else np.array(rows), tok.pad_id) for t in tasks}
    return model, batches


def _optim(model, per_task=False, lr=1e-3):
    tasks = list(model.heads)
    return build_optimizers(model.bert, model.heads, per_task=per_task, encoder_lr=lr, encoder_wd=0.0,
                            head_lr={t: 1e-2 for t in tasks}, head_wd={t: 0.0 for t in tasks}, total_steps=10, warmup_ratio=0.0)


def _step(model, batches, optim, method="sum"):
    model.train()
    results = task_losses(model, batches, CPU)
    optim.zero_grad()
    backward(model, {t: r[0] for t, r in results.items()}, GradientMethod.build(method, MethodContext(tasks=list(batches))),
             jacobian=False)
    optim.step(list(batches))
    return {t: r[0].item() for t, r in results.items()}


def test_three_steps_decrease_every_task_loss(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir)
    optim = _optim(model)
    first = _step(model, batches, optim)
    _step(model, batches, optim)
    third = _step(model, batches, optim)
    assert all(third[t] < first[t] for t in first)


def test_frozen_mode_trains_heads_only(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir, frozen=True)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optim = _optim(model)
    _step(model, batches, optim)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("bert."))
    assert not torch.equal(before["heads.sst.out.weight"], after["heads.sst.out.weight"])


def test_a_step_of_the_sst_optimizer_leaves_the_quora_head_unchanged(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir, tasks=("sst", "quora"))
    optim = _optim(model, per_task=True)
    assert set(optim.optimizers) == {"encoder", "sst", "quora"}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    _step(model, {"sst": batches["sst"]}, optim)
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("heads.quora."))
    assert not torch.equal(before["heads.sst.out.weight"], after["heads.sst.out.weight"])
    key = "bert.encoder.layer.0.output.dense.weight"
    assert not torch.equal(before[key], after[key])


def test_backward_applies_the_method_to_the_shared_encoder_and_own_gradients_to_heads(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir, tasks=("sst", "quora"))
    losses = {t: r[0] for t, r in task_losses(model, batches, CPU).items()}
    shared = model.shared_parameters(["sst", "quora"])
    rows = [torch.cat([g.reshape(-1) for g in torch.autograd.grad(l, shared, retain_graph=True, allow_unused=True, materialize_grads=True)]) for l in losses.values()]
    J = torch.stack(rows)
    head_grad = torch.autograd.grad(losses["sst"], model.heads["sst"].out.weight, retain_graph=True)[0]
    cos = backward(model, losses, GradientMethod.build("pcgrad", MethodContext(tasks=["sst", "quora"])), jacobian=False)
    g_sst, g_quora = J[0], J[1]  # two-task PCGrad by hand: each projected off the other when they conflict
    dot = g_sst @ g_quora
    expected = g_sst + g_quora if dot >= 0 else (g_sst - dot / (g_quora @ g_quora) * g_quora) + (g_quora - dot / (g_sst @ g_sst) * g_sst)
    got = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in shared])
    torch.testing.assert_close(got, expected)
    assert model.bert.pooler.dense.weight.grad is None  # mean pooling: no task reaches the pooler
    torch.testing.assert_close(model.heads["sst"].out.weight.grad, head_grad)
    assert cos.shape == (2, 2) and cos[0, 1] == pytest.approx(float(torch.nn.functional.cosine_similarity(J[0], J[1], dim=0)), abs=1e-5)


def test_a_head_trunk_shared_by_two_tasks_goes_through_the_gradient_method(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir, tasks=("quora", "sts"))
    enc = model.bert
    model = MultitaskModel(enc, ModelConfig(pooling="mean", heads={"quora": "shared_pair", "sts": "shared_pair"}), ["quora", "sts"])
    model.bert.requires_grad_(False)  # only the trunk is shared: J's columns are the trunk's parameters
    trunk = list(model.trunks["shared_pair"].parameters())
    losses = {t: r[0] for t, r in task_losses(model, batches, CPU).items()}
    J = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(l, trunk, retain_graph=True)]) for l in losses.values()])
    out_grad = torch.autograd.grad(losses["sts"], model.heads["sts"].out.weight, retain_graph=True)[0]
    backward(model, losses, GradientMethod.build("mtrec", MethodContext(tasks=["quora", "sts"], main_task="quora",
                                                                        mtrec_lambda=0.5)), jacobian=False)
    g_main, g_aux = J[0], 0.5 * J[1]  # MTRec by hand on the trunk
    dot = g_aux @ g_main
    expected = g_main + (g_aux - dot / (g_main @ g_main) * g_main if dot < 0 else g_aux)
    torch.testing.assert_close(torch.cat([p.grad.reshape(-1) for p in trunk]), expected)
    assert not torch.allclose(expected, J.sum(0))  # the plain sum would differ
    torch.testing.assert_close(model.heads["sts"].out.weight.grad, out_grad)  # a task's own output layer: its own gradient


def _norms_at_update(directory, tmp_path, monkeypatch, clip_norm):
    """Train 3 steps; the global gradient norm each time the optimizers step."""
    from mtbert.train.loop import TrainConfig, train
    from mtbert.train.optim import OptimizerSet

    model, _ = _setup(directory)
    tok = Tokenizer.from_checkpoint(directory)
    data = {"sst": tokenize(tok, SST, "sst", "single"), "sts": tokenize(tok, PAIRS, "sts", "siamese")}
    norms, real = [], OptimizerSet.step

    def step(self, tasks):
        norms.append(float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters() if p.grad is not None])))
        real(self, tasks)

    monkeypatch.setattr(OptimizerSet, "step", step)
    cfg = TrainConfig(tasks=["sst", "sts"], epochs=1, steps_per_epoch=3, batch_size=4, clip_norm=clip_norm)
    train(model, data, data, cfg, tmp_path / f"out{clip_norm}", RecordingLive(), tok.pad_id, {}, [])
    return norms


def test_the_loops_clipping_bounds_the_gradient_norm_at_every_update(tiny_checkpoint_dir, tmp_path, monkeypatch):
    free = _norms_at_update(tiny_checkpoint_dir, tmp_path, monkeypatch, None)
    clipped = _norms_at_update(tiny_checkpoint_dir, tmp_path, monkeypatch, 1e-3)
    assert len(clipped) == 3 and min(free) > 1e-2
    assert clipped == pytest.approx([1e-3] * 3, rel=1e-4)


def test_the_same_seed_builds_the_same_fresh_heads(tmp_path):
    from conftest import write_tiny_checkpoint

    from mtbert.train import setup

    write_tiny_checkpoint(tmp_path / "raw" / "models" / "tiny" / "bert")
    for task, df in (("sst", SST), ("sts", PAIRS)):
        (tmp_path / "prepared" / task).mkdir(parents=True)
        for split in ("train", "dev"):
            df.to_csv(tmp_path / "prepared" / task / f"{split}.csv", index=False)
    cfg = ModelConfig(checkpoint="tiny/bert", heads={"sst": "mlp", "sts": "relu5"})
    build = lambda seed: setup.build(cfg, ["sst", "sts"], None, seed, raw=tmp_path / "raw", prepared=tmp_path / "prepared",  # noqa: E731
                                     augmented=tmp_path / "none", pretrained=tmp_path / "none").model.heads.state_dict()
    first, again, other = build(0), build(0), build(1)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize("schedule,expected", [("linear", [0.5, 1.0, 1.0, 2 / 3, 1 / 3]), ("constant", [0.5, 1.0, 1.0, 1.0, 1.0])])
def test_learning_rate_schedules_by_hand(schedule, expected):
    from mtbert.train.optim import linear_warmup_decay

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    # warm-up (s + 1) / w for s < w = 2, then (T - s) / (T - w) with T = 5, or 1 when constant
    sched = linear_warmup_decay(opt, total_steps=5, warmup_ratio=0.4, constant=schedule == "constant")
    seen = []
    for _ in range(5):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx(expected)


def test_a_run_whose_every_epoch_scores_nan_fails_clearly_and_saves_nothing(tiny_checkpoint_dir, tmp_path):
    from mtbert.data.batching import tokenize
    from mtbert.text.tokenizer import Tokenizer
    from mtbert.train.loop import TrainConfig, train

    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    model = MultitaskModel(enc, ModelConfig(pooling="mean", heads={"sts": "relu5"}), ["sts"])
    with torch.no_grad():
        model.heads["sts"].out.bias.fill_(-1e6)  # a dead ReLU: constant 0, and no gradient to revive it
    data = {"sts": tokenize(Tokenizer.from_checkpoint(tiny_checkpoint_dir), PAIRS, "sts", "siamese")}
    cfg = TrainConfig(tasks=["sts"], epochs=2, steps_per_epoch=1, batch_size=4)
    with pytest.raises(RuntimeError, match=r"no epoch gave a dev score.*sts_pearson': nan"):
        train(model, data, data, cfg, tmp_path / "out", RecordingLive(), 0, {}, [])
    assert not (tmp_path / "out").exists()


def _nan_at(monkeypatch, call: int):
    """The MSE loss turns NaN at its `call`-th use (a training step's STS loss)."""
    from mtbert.train import losses

    real, calls = losses.LOSSES["mse"], {"n": 0}

    def mse(output, labels):
        calls["n"] += 1
        value = real(output, labels)
        return value * float("nan") if calls["n"] == call else value

    monkeypatch.setitem(losses.LOSSES._items, "mse", mse)


def _sts_run(directory, tmp_path, policy: str, steps: int = 4):
    from mtbert.data.batching import tokenize
    from mtbert.text.tokenizer import Tokenizer
    from mtbert.train.loop import TrainConfig, train

    enc, _, _ = load_pretrained(directory)
    torch.manual_seed(0)
    model = MultitaskModel(enc, ModelConfig(pooling="mean", heads={"sts": "relu5"}), ["sts"])
    data = {"sts": tokenize(Tokenizer.from_checkpoint(directory), PAIRS, "sts", "siamese")}
    live = RecordingLive()
    cfg = TrainConfig(tasks=["sts"], epochs=1, steps_per_epoch=steps, batch_size=2, nonfinite=policy)
    train(model, data, data, cfg, tmp_path / "out", live, 0, {}, [])
    return live


def test_a_nan_loss_at_step_k_stops_naming_step_task_learning_rates_and_the_last_finite_loss(
        tiny_checkpoint_dir, tmp_path, monkeypatch):
    _nan_at(monkeypatch, 3)
    with pytest.raises(FloatingPointError, match=r"non-finite training loss at epoch 1, step 3: task losses \{'sts': nan\}; "
                                                 r"learning rates \{'all': \[.*\]\}; last finite losses \{'sts': \d"):
        _sts_run(tiny_checkpoint_dir, tmp_path, "stop")
    assert not (tmp_path / "out").exists()


def test_with_nonfinite_skip_the_step_is_left_out_counted_and_training_goes_on(tiny_checkpoint_dir, tmp_path,
                                                                               monkeypatch):
    _nan_at(monkeypatch, 3)
    live = _sts_run(tiny_checkpoint_dir, tmp_path, "skip")
    assert live.metrics["train/skipped_steps"] == 1.0 and np.isfinite(live.metrics["train/sts_loss"])
    assert (tmp_path / "out" / "model.safetensors").exists()


def test_a_skipped_step_still_moves_the_learning_rate_schedule_on(tiny_checkpoint_dir, tmp_path, monkeypatch):
    """4 steps, 1 of warm-up then linear decay: factors 1, 1, 2/3, 1/3; with step 3 skipped, step 4 still runs at 1/3."""
    lrs, real = [], torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        lrs.append(self.param_groups[0]["lr"])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    _nan_at(monkeypatch, 3)
    _sts_run(tiny_checkpoint_dir, tmp_path, "skip")
    lr = TrainConfig().lr
    assert lrs == pytest.approx([lr, lr, lr / 3])


def _nan_gradient_at(model, step: int):
    """The STS head's weight gradient turns NaN at the `step`-th backward, behind a finite loss."""
    calls = {"n": 0}

    def hook(grad):
        calls["n"] += 1
        return grad * float("nan") if calls["n"] == step else grad

    model.heads["sts"].out.weight.register_hook(hook)


@pytest.mark.parametrize("policy", ["stop", "skip"])
def test_a_nan_gradient_behind_a_finite_loss_is_caught(tiny_checkpoint_dir, tmp_path, monkeypatch, policy):
    from mtbert.train.loop import TrainConfig, train

    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    model = MultitaskModel(enc, ModelConfig(pooling="mean", heads={"sts": "relu5"}), ["sts"])
    with torch.no_grad():
        model.heads["sts"].out.bias.fill_(2.0)  # a live ReLU: the head's weight gets a gradient every step
    _nan_gradient_at(model, 2)
    data = {"sts": tokenize(Tokenizer.from_checkpoint(tiny_checkpoint_dir), PAIRS, "sts", "siamese")}
    live = RecordingLive()
    cfg = TrainConfig(tasks=["sts"], epochs=1, steps_per_epoch=4, batch_size=2, nonfinite=policy)
    if policy == "stop":
        with pytest.raises(FloatingPointError, match=r"non-finite gradient at epoch 1, step 2 behind finite losses "
                                                     r"\{'sts': \d.*first \['heads.sts.out.weight'\]"):
            train(model, data, data, cfg, tmp_path / "out", live, 0, {}, [])
        return
    train(model, data, data, cfg, tmp_path / "out", live, 0, {}, [])
    assert live.metrics["train/skipped_steps"] == 1.0
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_run_json_records_the_passes_per_task_per_epoch(tiny_checkpoint_dir, tmp_path, capsys):
    import json

    from mtbert.data.batching import tokenize
    from mtbert.text.tokenizer import Tokenizer
    from mtbert.train.loop import TrainConfig, train

    model, _ = _setup(tiny_checkpoint_dir)
    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir)
    data = {"sst": tokenize(tok, SST, "sst", "single"), "sts": tokenize(tok, PAIRS, "sts", "siamese")}  # 8 and 4 rows
    cfg = TrainConfig(tasks=["sst", "sts"], epochs=2, epoch="one_pass", batch_size=4)
    train(model, data, data, cfg, tmp_path / "out", RecordingLive(), tok.pad_id, {}, [])
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["epoch_passes"] == {"sst": [1.0, 1.0], "sts": [1.0, 1.0]} and run["epoch_steps"] == [2, 2]
    assert "train.epoch=one_pass: 2 steps in epoch 1" in capsys.readouterr().out


def test_reused_gradient_buffers_give_what_fresh_ones_give(tiny_checkpoint_dir):
    from mtbert.train.methods.backward import GradientBuffers

    model, batches = _setup(tiny_checkpoint_dir)
    method = GradientMethod.build("upgrad", MethodContext(tasks=list(batches)))
    buffers = GradientBuffers()
    grads = []
    for own_buffers in (buffers, buffers, None):  # a second step into the same J, then a fresh one
        model.zero_grad(set_to_none=True)
        torch.manual_seed(0)  # the same dropout masks in every pass
        losses = {t: r[0] for t, r in task_losses(model, batches, CPU).items()}
        backward(model, losses, method, jacobian=False, buffers=own_buffers)
        grads.append([p.grad.clone() for p in model.parameters() if p.grad is not None])
    assert len(grads[0]) == len(grads[2]) > 0
    for a, b in zip(grads[1], grads[2]):
        torch.testing.assert_close(a, b)


def test_j_keeps_only_the_reached_embedding_rows_and_still_gives_the_summed_gradient(tiny_checkpoint_dir):
    from mtbert.train.methods.backward import GradientBuffers

    model, first = _setup(tiny_checkpoint_dir, rows=[0, 1])
    halves = [first, _setup(tiny_checkpoint_dir, rows=[2, 3])[1]]  # two steps on different rows: the second clears the first's
    method, buffers = GradientMethod.build("sum", MethodContext(tasks=list(first))), GradientBuffers()
    emb = model.bert.embeddings.word_embeddings.weight
    for step in halves:
        expected = []
        for via_j, sparse in ((False, False), (True, False), (True, True)):  # plain; J from dense / sparse lookups
            model.zero_grad(set_to_none=True)
            torch.manual_seed(0)
            with model.sparse_row_gradients(sparse):
                losses = {t: r[0] for t, r in task_losses(model, step, CPU).items()}
            cos = backward(model, losses, method, jacobian=via_j, buffers=buffers)
            expected.append({n: p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                             for n, p in model.named_parameters()})
        assert cos is not None
        for name, grad in expected[0].items():
            torch.testing.assert_close(expected[1][name], grad, msg=name)
            torch.testing.assert_close(expected[2][name], grad, msg=name)
        assert not emb.grad.is_sparse and model.bert.embeddings.word_embeddings.sparse is False  # restored
        slot = next(iter(buffers._made.values()))
        reached = {int(i) for b in step.values() for k, v in b.items() if "input_ids" in k for i in v.flatten()}
        assert 0 < len(slot.rows[0]) <= len(reached) < emb.shape[0]  # J held those rows, not the vocabulary


def test_a_single_task_cfimdb_run_trains_and_selects_by_cfimdb_accuracy(tiny_checkpoint_dir, tmp_path):
    from mtbert.train.loop import TrainConfig, train

    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir)
    enc, _, _ = load_pretrained(tiny_checkpoint_dir)
    model = MultitaskModel(enc, ModelConfig(pooling="mean", heads={"cfimdb": "linear"}), ["cfimdb"])
    reviews = SST.assign(label=[1, 0, 1, 0, 1, 0, 1, 0])  # positive and negative reviews
    data = {"cfimdb": tokenize(tok, reviews, "cfimdb", "single")}
    cfg = TrainConfig(tasks=["cfimdb"], epochs=2, steps_per_epoch=2, batch_size=4, lr=1e-3, head_lr=1e-2)
    best = train(model, data, data, cfg, tmp_path / "out", RecordingLive(), tok.pad_id, {}, [])
    assert set(best) == {"cfimdb_acc", "epoch"} and 0.0 <= best["cfimdb_acc"] <= 1.0
    assert best["cfimdb_acc"] in {k / 8 for k in range(9)}  # an accuracy over the 8 reviews


@pytest.mark.parametrize("heads", [{"sst": "lstm", "quora": "shared_concat", "sts": "concat_mlp"},
                                   {"sst": "mlp", "quora": "siamese_concat", "sts": "cosine"}], ids=["tokens", "pooled"])
def test_frozen_heads_train_alike_on_cached_and_on_freshly_encoded_features(tiny_checkpoint_dir, tmp_path, heads):
    from mtbert.train.loop import TrainConfig, train

    tok = Tokenizer.from_checkpoint(tiny_checkpoint_dir)
    data = {"sst": tokenize(tok, SST, "sst", "single"), "sts": tokenize(tok, PAIRS, "sts", "siamese"),
            "quora": tokenize(tok, PAIRS.assign(label=[1.0, 0.0, 1.0, 0.0]), "quora", "siamese")}
    logged, weights = [], []
    for cache in (True, False):
        enc, _, _ = load_pretrained(tiny_checkpoint_dir)
        for m in enc.modules():  # encoder dropout on: a frozen encoder must not apply it, cached or not
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.3
        model = MultitaskModel(enc, ModelConfig(pooling="mean", heads=heads), ["sst", "quora", "sts"])
        live = RecordingLive()
        cfg = TrainConfig(mode="frozen", cache_frozen=cache, tasks=["sst", "quora", "sts"], epochs=2, steps_per_epoch=3,
                          batch_size=3, head_lr=1e-2)
        train(model, data, data, cfg, tmp_path / f"out{cache}", live, tok.pad_id, {}, [])
        logged.append(live.metrics)
        weights.append(model.heads.state_dict())
    assert {k for k in logged[0] if k.startswith("train/") and k.endswith("_loss")} == {
        "train/sst_loss", "train/quora_loss", "train/sts_loss"}
    for k, v in logged[0].items():
        if not k.startswith("time/"):
            assert v == pytest.approx(logged[1][k], rel=1e-5, abs=1e-6), k
    for k in weights[0]:
        torch.testing.assert_close(weights[0][k], weights[1][k], rtol=1e-4, atol=1e-6)


def _one_task(directory, df, task, form, pooling, head):
    """A one-task model on the tiny checkpoint and that task's tokenised rows."""
    tok = Tokenizer.from_checkpoint(directory)
    enc, _, _ = load_pretrained(directory)
    return MultitaskModel(enc, ModelConfig(pooling=pooling, heads={task: head}), [task]), tokenize(tok, df, task, form), tok


def test_a_stored_feature_cache_is_read_back_by_the_next_run_and_keyed_by_the_encoder(tiny_checkpoint_dir, tmp_path):
    from mtbert.train.cached import FeatureCache

    model, data, tok = _one_task(tiny_checkpoint_dir, PAIRS, "sts", "siamese", "mean", "cosine")
    first = FeatureCache.build(model, data, 2, tok.pad_id, CPU, tmp_path)
    stored = list(tmp_path.glob("*.safetensors"))
    assert len(stored) == 1 and first.pooled.shape == (8, 32)
    again = FeatureCache.build(model, data, 3, tok.pad_id, CPU, tmp_path)
    torch.testing.assert_close(again.pooled, first.pooled)
    with torch.no_grad():
        model.bert.embeddings.word_embeddings.weight.add_(0.5)  # another encoder: another entry, other features
    other = FeatureCache.build(model, data, 2, tok.pad_id, CPU, tmp_path)
    assert len(list(tmp_path.glob("*.safetensors"))) == 2 and not torch.allclose(other.pooled, first.pooled)


def test_stored_token_states_come_back_as_they_were_computed(tiny_checkpoint_dir, tmp_path):
    from mtbert.train.cached import FeatureCache

    model, data, tok = _one_task(tiny_checkpoint_dir, SST, "sst", "single", "cls", "lstm")
    fresh = FeatureCache.build(model, data, 3, tok.pad_id, CPU, tmp_path)
    read = FeatureCache.build(model, data, 3, tok.pad_id, CPU, tmp_path)
    index = np.array([5, 0, 3])
    a, b = fresh.features(index), read.features(index)
    assert a.hidden.shape[1] == max(len(data.a[i].input_ids) for i in index)
    for x, y in ((a.pooled, b.pooled), (a.hidden, b.hidden), (a.mask, b.mask)):
        torch.testing.assert_close(x, y)
