"""Auxiliary losses added to a task's loss, registered by the name of their `train.<name>` params section.

Each is `fn(model, task, batch, features, output, cfg) -> tensor`, called on the task's training batch after the
ordinary forward pass (`features`, `output`), and weighted by its section's `weight` (0: off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from mtbert.model.heads import Features
from mtbert.model.multitask import TASK_SPECS
from mtbert.registry import Registry

Regularizer = Callable[..., torch.Tensor]
REGULARIZERS: Registry[Regularizer] = Registry("regularizer")


@dataclass
class SimCSEConfig:
    weight: float = 0.0  # 0: off
    temperature: float = 0.05
    tasks: list[str] = field(default_factory=lambda: ["sst", "quora", "sts"])  # whose sentences it sees


@dataclass
class SmartConfig:
    weight: float = 0.0  # λ; 0: off
    sigma: float = 1.0e-5  # std of the initial noise on the input embeddings
    ascent_steps: int = 0  # 0: a single random perturbation; k: k normalised gradient-ascent steps on it
    step_size: float = 1.0e-3
    tasks: list[str] = field(default_factory=lambda: ["sst", "quora", "sts"])


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCSE's loss: row i of z1 must pick row i of z2 among all rows, by cosine similarity / τ."""
    sim = F.cosine_similarity(z1.float().unsqueeze(1), z2.float().unsqueeze(0), dim=-1) / temperature
    return F.cross_entropy(sim, torch.arange(len(z1), device=z1.device))


@REGULARIZERS.register("simcse")
def simcse(model, task: str, batch: dict, features: Features, output: torch.Tensor, cfg: SimCSEConfig) -> torch.Tensor:
    """Unsupervised SimCSE: every input of the batch encoded a second time; the two dropout masks make the positives."""
    return info_nce(features.pooled, model.encode(batch).pooled, cfg.temperature)


def divergence(kind: str, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Symmetric KL between two outputs' predictive distributions (classification), or squared error (regression)."""
    p, q = p.float(), q.float()
    if kind == "cross_entropy":
        lp, lq = F.log_softmax(p, -1), F.log_softmax(q, -1)
    elif kind == "bce":
        # Bernoulli as a 2-class softmax over logits (0, x)
        lp = F.logsigmoid(torch.stack([-p.reshape(-1), p.reshape(-1)], -1))
        lq = F.logsigmoid(torch.stack([-q.reshape(-1), q.reshape(-1)], -1))
    else:
        return ((p - q) ** 2).mean()
    return (F.kl_div(lq, lp, log_target=True, reduction="batchmean") + F.kl_div(lp, lq, log_target=True, reduction="batchmean"))


@REGULARIZERS.register("smart")
def smart(model, task: str, batch: dict, features: Features, output: torch.Tensor, cfg: SmartConfig) -> torch.Tensor:
    """SMART's smoothness term (Jiang et al. 2019) without the proximal-point part: the divergence between the clean
    output and the output on input embeddings perturbed by N(0, σ²) noise, optionally pushed uphill first."""
    kind = TASK_SPECS[task].loss
    embeds = model.bert.embeddings.word_embeddings(batch["input_ids"])
    delta = torch.randn_like(embeds) * cfg.sigma
    for _ in range(cfg.ascent_steps):
        delta.requires_grad_(True)
        div = divergence(kind, output.detach(), model.head(task, model.encode(batch, embeds.detach() + delta)))
        (grad,) = torch.autograd.grad(div, delta)
        delta = (delta + cfg.step_size * grad / (grad.norm(dim=-1, keepdim=True) + 1e-12)).detach()
    return divergence(kind, output, model.head(task, model.encode(batch, embeds + delta)))
