"""Every parameter a step's loss reaches gets its gradient, whichever way the step's backward runs (the plain summed
backward, or per-task gradients in J combined by a method), and parameters no task reaches are left alone alike."""

from __future__ import annotations

import pytest
import torch
from test_training import CPU, _setup

from mtbert.config.model import ModelConfig
from mtbert.model.multitask import MultitaskModel
from mtbert.train.loop import task_losses
from mtbert.train.methods.backward import GradientBuffers, backward, forms_jacobian, sparse_lookups
from mtbert.train.methods.combine import GradientMethod, MethodContext
from mtbert.train.optim import build_optimizers

LAYOUTS = {
    "both_shared": {"quora": "shared_pair", "sts": "shared_pair"},
    "quora_shared": {"quora": "shared_pair", "sts": "cosine"},
    "sts_shared": {"quora": "siamese_concat", "sts": "shared_pair"},
    "none_shared": {"quora": "siamese_concat", "sts": "cosine"},
}
TASK_SETS = [("sts",), ("sst", "sts"), ("sst", "quora"), ("quora", "sts"), ("sst", "quora", "sts")]
WAYS = {"sum": ("sum", False), "pcgrad": ("pcgrad", False), "sum_with_diagnostics": ("sum", True)}


def _model(directory, layout: dict, tasks):
    base, batches = _setup(directory, tasks=("sst", "quora", "sts"))
    model = MultitaskModel(base.bert, ModelConfig(pooling="mean", heads={"sst": "linear", **layout}), ["sst", "quora", "sts"])
    return model, {t: batches[t] for t in tasks}


def _grads(model) -> dict[str, torch.Tensor | None]:
    return {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("tasks", TASK_SETS, ids="+".join)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_parameter_a_loss_reaches_gets_its_gradient(tiny_checkpoint_dir, layout, tasks, way):
    model, batches = _model(tiny_checkpoint_dir, LAYOUTS[layout], tasks)
    model.train()
    model.zero_grad(set_to_none=True)
    sum(r[0] for r in task_losses(model, batches, CPU, step=5).values()).backward()  # the reference
    reference = _grads(model)
    model.zero_grad(set_to_none=True)
    method, jacobian = WAYS[way]
    built = GradientMethod.build(method, MethodContext(tasks=list(tasks)))
    with model.sparse_row_gradients(sparse_lookups(False, False, forms_jacobian(model, list(tasks), built, jacobian))):
        losses = {t: r[0] for t, r in task_losses(model, batches, CPU, step=5).items()}
    backward(model, losses, built, jacobian=jacobian, buffers=GradientBuffers())
    got = _grads(model)
    reached = {n for n, g in reference.items() if g is not None}
    assert {n for n, g in got.items() if g is not None} == reached
    assert any(n.startswith("trunks.") for n in reached) == any(LAYOUTS[layout].get(t) == "shared_pair" for t in tasks)
    shared = {id(p) for p in model.shared_parameters(tasks)} if len(tasks) > 1 else set()
    for name, p in model.named_parameters():
        if name in reached and (id(p) not in shared or method == "sum"):  # what surgery does not touch: exactly equal
            torch.testing.assert_close(got[name], reference[name], msg=name)


def test_a_parameter_no_task_reaches_gets_the_same_update_on_both_paths(tiny_checkpoint_dir):
    """Mean pooling never reaches the pooler: AdamW's weight decay must not shrink it on J steps alone."""
    after = []
    for jacobian in (False, True):
        model, batches = _setup(tiny_checkpoint_dir, tasks=("sst", "quora"))
        optim = build_optimizers(model.bert, model.heads, per_task=False, encoder_lr=1e-3, encoder_wd=0.5,
                                 head_lr={"sst": 1e-2, "quora": 1e-2}, head_wd={"sst": 0.5, "quora": 0.5},
                                 total_steps=10, warmup_ratio=0.0)
        for step in range(2):
            losses = {t: r[0] for t, r in task_losses(model, batches, CPU, step=step).items()}
            optim.zero_grad()
            backward(model, losses, GradientMethod.build("sum", MethodContext(tasks=["sst", "quora"])), jacobian=jacobian)
            optim.step(["sst", "quora"])
        after.append({k: v.clone() for k, v in model.state_dict().items()})
    plain, via_j = after
    pooler = "bert.pooler.dense.weight"
    assert torch.equal(plain[pooler], via_j[pooler])
    for k in plain:
        torch.testing.assert_close(via_j[k], plain[k], msg=k, rtol=1e-4, atol=1e-6)


def yu_pcgrad(J: torch.Tensor, orders: list[torch.Tensor]) -> torch.Tensor:
    """Yu et al.'s Algorithm 1 with task i's projection order `orders[i]` (skipping i itself)."""
    out = torch.zeros_like(J[0])
    for i, order in enumerate(orders):
        g = J[i].clone()
        for j in order.tolist():
            if j != i and g @ J[j] < 0:
                g = g - (g @ J[j]) / (J[j] @ J[j]) * J[j]
        out += g
    return out


def test_three_task_pcgrad_through_the_sparse_row_path_is_yu_et_al_on_the_same_random_order(tiny_checkpoint_dir):
    model, batches = _setup(tiny_checkpoint_dir, tasks=("sst", "quora", "sts"))
    tasks = ["sst", "quora", "sts"]
    shared = model.shared_parameters(tasks)
    losses = {t: r[0] for t, r in task_losses(model, batches, CPU, step=1).items()}
    J = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, shared, retain_graph=True,
                                                                           materialize_grads=True)])
                     for loss in losses.values()]).double()
    seed = 1234
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        orders = [torch.randperm(3) for _ in tasks]  # the draws PCGrad makes, one order per task
    expected = yu_pcgrad(J, orders)
    assert not torch.allclose(expected, J.sum(0))  # surgery acted: the comparison is not the plain sum
    model.zero_grad(set_to_none=True)
    with model.sparse_row_gradients():
        losses = {t: r[0] for t, r in task_losses(model, batches, CPU, step=1).items()}
    backward(model, losses, GradientMethod.build("pcgrad", MethodContext(tasks=tasks)), jacobian=False,
             buffers=GradientBuffers(), draw_seed=seed)
    got = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in shared]).double()
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-6)


def test_the_summed_backward_through_sparse_lookups_gives_the_dense_gradient_step_after_step(tiny_checkpoint_dir):
    """The kept dense word-embedding gradient: the second step's rows only, the first step's rows zeroed again."""
    model, _ = _setup(tiny_checkpoint_dir, tasks=("sst", "sts"))
    first = _setup(tiny_checkpoint_dir, tasks=("sst", "sts"), rows=[0])[1]
    second = _setup(tiny_checkpoint_dir, tasks=("sst", "sts"), rows=[1])[1]
    word = model.bert.embeddings.word_embeddings.weight
    buffers, method = GradientBuffers(), GradientMethod.build("sum", MethodContext(tasks=["sst", "sts"]))
    model.eval()  # no dropout: the two passes must see the same function
    for batches in (first, second):
        model.zero_grad(set_to_none=True)
        sum(r[0] for r in task_losses(model, batches, CPU).values()).backward()
        dense = word.grad.clone()
        model.zero_grad(set_to_none=True)
        with model.sparse_row_gradients(sparse_lookups(compiled=False, data_parallel=False, forms_j=False)):
            losses = {t: r[0] for t, r in task_losses(model, batches, CPU).items()}
        backward(model, losses, method, jacobian=False, buffers=buffers)
        assert not word.grad.is_sparse
        torch.testing.assert_close(word.grad, dense, rtol=1e-5, atol=1e-8)
    assert not set(first["sst"]["input_ids"].flatten().tolist()) <= set(second["sst"]["input_ids"].flatten().tolist())


def test_lookups_are_row_sparse_except_under_compile_or_a_summed_ddp_step():
    assert sparse_lookups(compiled=False, data_parallel=False, forms_j=False)
    assert sparse_lookups(compiled=False, data_parallel=True, forms_j=True)  # J is reduced by hand
    assert not sparse_lookups(compiled=False, data_parallel=True, forms_j=False)  # DDP's buckets are dense
    assert not sparse_lookups(compiled=True, data_parallel=False, forms_j=True)


def test_adamw_is_fused_on_cpu(tiny_checkpoint_dir):
    model, _ = _setup(tiny_checkpoint_dir, tasks=("sst",))
    optim = build_optimizers(model.bert, model.heads, per_task=False, encoder_lr=1e-3, encoder_wd=0.0,
                             head_lr={"sst": 1e-2}, head_wd={"sst": 0.0}, total_steps=10, warmup_ratio=0.0)
    assert optim.optimizers["all"].defaults["fused"] is True  # torch >= 2.4 has the CPU kernel (torch is pinned)
