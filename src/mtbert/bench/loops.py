"""The timed training steps on the same heads and losses.

ours: minBERT on training's length-bucketed batches padded to their longest row, the configured optimizers (fused
AdamW), row-sparse word-embedding gradients, gradient methods combined from the Gramian into reused buffers
(train/methods/backward.py). anchor: the loop a careful user writes with the transformers Trainer's defaults:
transformers' BertModel on random batches (its RandomSampler) padded to their longest row (its default collator), one
fused AdamW. anchor+buckets: the same loop fed our length-bucketed batches, so the table splits what the batching buys
from what the step buys. standard: the anchor's loop with every batch padded to max_length and an unfused AdamW. The
transformers loops combine a gradient method by per-task autograd.grad with retained graphs, torch.cat into J and the
torchjd aggregator on J (how this project did it before issue 11).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from torch import nn

from mtbert.bench.workload import Step
from mtbert.config.model import ModelConfig
from mtbert.config.train import TrainConfig
from mtbert.device import reuse_freed_memory
from mtbert.model.bert import BertConfig, BertModel, init_bert_weights
from mtbert.model.checkpoint import load_pretrained
from mtbert.model.multitask import MultitaskModel
from mtbert.train.loop import task_losses
from mtbert.train.methods.backward import GradientBuffers, backward, forms_jacobian, sparse_lookups
from mtbert.train.methods.combine import GradientMethod, MethodContext
from mtbert.train.optim import build_optimizers, make_adamw

SHAPES = ("minilm", "bert-base")  # the configured checkpoint; a bert-base-shaped encoder with random weights


class HFEncoder(nn.Module):
    """transformers' BertModel behind minBERT's call signature, so the same heads and poolings sit on top."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.config = model.config

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, inputs_embeds=None):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out.last_hidden_state, out.pooler_output


def encoder(loop: str, shape: str, checkpoint: Path) -> nn.Module:
    """The encoder a loop times: pretrained weights for the checkpoint's shape, random ones for bert-base."""
    if loop == "ours":
        if shape == "minilm":
            return load_pretrained(checkpoint)[0]
        model = BertModel(BertConfig())
        model.apply(init_bert_weights)
        return model
    import transformers

    if shape == "minilm":
        return HFEncoder(transformers.BertModel.from_pretrained(str(checkpoint), use_safetensors=True))  # never a pickle
    return HFEncoder(transformers.BertModel(transformers.BertConfig()))


class OurLoop:
    def __init__(self, model: MultitaskModel, method: str, cfg: TrainConfig, device: torch.device):
        tasks = list(model.heads)
        self.model, self.cfg, self.device = model, cfg, device
        reuse_freed_memory()  # as mtbert's Trainer does; the transformers loops run without it
        self.optim = build_optimizers(model.bert, model.heads, trunks=model.trunks, per_task=cfg.optimizers == "per_task",
                                      encoder_lr=cfg.lr, encoder_wd=cfg.weight_decay, head_lr={t: cfg.head_lr for t in tasks},
                                      head_wd={t: cfg.head_weight_decay for t in tasks}, total_steps=1000,
                                      warmup_ratio=cfg.warmup_ratio)
        if cfg.compile:
            model.bert.compile(dynamic=True)
        self.method = GradientMethod.build(method, MethodContext(tasks=tasks, main_task=cfg.main_task,
                                                                 mtrec_lambda=cfg.mtrec_lambda))
        self.buffers = GradientBuffers()

    def step(self, step: Step) -> None:
        self.model.train()
        with self.model.sparse_row_gradients(sparse_lookups(self.cfg.compile, False,
                                                            forms_jacobian(self.model, list(step), self.method, False))):
            results = task_losses(self.model, step, self.device, self.cfg)
        self.optim.zero_grad()
        backward(self.model, {t: r[0] for t, r in results.items()}, self.method, jacobian=False, buffers=self.buffers)
        self.optim.step(list(step))


def naive_mtrec(J: torch.Tensor, main: int, lam: float) -> torch.Tensor:
    g_main = J[main]
    g_aux = lam * (J.sum(0) - g_main)
    dot = g_aux @ g_main
    return g_main + (g_aux - dot / (g_main @ g_main) * g_main if dot < 0 else g_aux)


class StandardLoop:
    fused = False

    def __init__(self, model: MultitaskModel, method: str, cfg: TrainConfig, device: torch.device):
        self.model, self.cfg, self.device, self.method = model, cfg, device, method
        self.opt = make_adamw(model.parameters(), self.fused, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if method not in ("sum", "mtrec"):
            from torchjd import aggregation as A

            self.aggregator = {"pcgrad": A.PCGrad, "upgrad": A.UPGrad, "mgda": A.MGDA}[method]()

    def step(self, step: Step) -> None:
        self.model.train()
        losses = {t: r[0] for t, r in task_losses(self.model, step, self.device, self.cfg).items()}
        self.opt.zero_grad()
        total = sum(losses.values())
        if self.method == "sum":
            total.backward()
        else:
            shared = list(self.model.bert.parameters())
            J = torch.stack([torch.cat([g.reshape(-1) for g in torch.autograd.grad(
                loss, shared, retain_graph=True, allow_unused=True, materialize_grads=True)]) for loss in losses.values()])
            direction = (naive_mtrec(J, list(losses).index(self.cfg.main_task), self.cfg.mtrec_lambda)
                         if self.method == "mtrec" else self.aggregator(J))
            torch.autograd.backward(total, inputs=[p for h in self.model.heads.values() for p in h.parameters()])
            offset = 0
            for p in shared:
                p.grad = direction[offset:offset + p.numel()].view_as(p)
                offset += p.numel()
        self.opt.step()


class AnchorLoop(StandardLoop):
    """The standard loop as a careful user runs it: fed batches padded to their longest row, fused AdamW."""

    fused = True


LOOPS = {"ours": OurLoop, "ours+compile": OurLoop, "anchor": AnchorLoop, "anchor+buckets": AnchorLoop,
         "standard": StandardLoop}
TRANSFORMERS_LOOPS = ("anchor", "anchor+buckets", "standard")


def build(loop: str, shape: str, method: str, mcfg: ModelConfig, tcfg: TrainConfig, checkpoint: Path,
          device: torch.device):
    torch.manual_seed(0)
    model = MultitaskModel(encoder("standard" if loop in TRANSFORMERS_LOOPS else "ours", shape, checkpoint), mcfg,
                           tcfg.tasks)
    if loop == "ours+compile":
        tcfg = dataclasses.replace(tcfg, compile=True)
    return LOOPS[loop](model.to(device), method, tcfg, device)
