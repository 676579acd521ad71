"""Auxiliary losses added to a task's loss, registered by the name of their `train.<name>` params section.

Each is `fn(model, task, batch, clean, cfg) -> tensor`, called on the task's training batch after the ordinary
forward pass (`clean`: its features, output and the RNG state it started from), and weighted by its section's
`weight` (0: off).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F

from mtbert.model.heads import Features
from mtbert.config import SECTION, NonNegativeFloat, NonNegativeInt, PositiveFloat
from mtbert.model.multitask import TASK_SPECS, TaskName
from mtbert.registry import Registry

Regularizer = Callable[..., torch.Tensor]
REGULARIZERS: Registry[Regularizer] = Registry("regularizer")


@dataclass
class RngState:
    """The random state a forward pass started from: replaying it draws the same dropout masks."""

    cpu: torch.Tensor
    cuda: torch.Tensor | None
    device: torch.device

    @classmethod
    def capture(cls, device: torch.device) -> "RngState":
        return cls(torch.get_rng_state(), torch.cuda.get_rng_state(device) if device.type == "cuda" else None, device)

    @contextlib.contextmanager
    def replay(self) -> Iterator[None]:
        """Run the block from this state; the global random stream is left as it was before the block."""
        with torch.random.fork_rng(devices=[self.device] if self.cuda is not None else []):
            torch.set_rng_state(self.cpu)
            if self.cuda is not None:
                torch.cuda.set_rng_state(self.cuda, self.device)
            yield


@dataclass
class CleanPass:
    """The task's ordinary forward pass on the batch."""

    features: Features
    output: torch.Tensor
    rng: RngState


@dataclass
class SimCSEConfig:
    weight: NonNegativeFloat = 0.0  # 0: off
    temperature: PositiveFloat = 0.05
    tasks: list[TaskName] = field(default_factory=lambda: ["sst", "quora", "sts"])  # whose sentences it sees
    # For pair tasks encoded apart: is a sentence's own partner (the other side of its pair) a negative, or excluded
    # from the denominator? Duplicate questions and similar STS pairs should not be pushed apart.
    partner: Literal["negative", "excluded"] = "excluded"
    __pydantic_config__ = SECTION


@dataclass
class SmartConfig:
    weight: NonNegativeFloat = 0.0  # λ; 0: off
    sigma: NonNegativeFloat = 1.0e-5  # std of the initial noise on the input embeddings
    ascent_steps: NonNegativeInt = 1  # normalised gradient-ascent steps on the noise (0: one random perturbation)
    step_size: PositiveFloat = 1.0e-3  # η
    epsilon: PositiveFloat | None = 1.0e-5  # radius of the ∞-norm ball the ascent steps are projected onto; null: none
    tasks: list[TaskName] = field(default_factory=lambda: ["sst", "quora", "sts"])  # whose batches it regularizes
    __pydantic_config__ = SECTION


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """SimCSE's loss: row i of z1 must pick row i of z2 among all rows, by cosine similarity / τ; `exclude` (bool,
    rows x rows) drops entries from the denominator."""
    sim = F.cosine_similarity(z1.float().unsqueeze(1), z2.float().unsqueeze(0), dim=-1) / temperature
    if exclude is not None:
        sim = sim.masked_fill(exclude, float("-inf"))
    return F.cross_entropy(sim, torch.arange(len(z1), device=z1.device))


def partner_mask(rows: int, device: torch.device | None = None) -> torch.Tensor:
    """Rows stack a pair batch's a's then b's: True at (i, the other side of i's pair)."""
    half = rows // 2
    partner = (torch.arange(rows, device=device) + half) % rows
    return torch.nn.functional.one_hot(partner, rows).bool()


@REGULARIZERS.register("simcse")
def simcse(model, task: str, batch: dict, clean: CleanPass, cfg: SimCSEConfig) -> torch.Tensor:
    """Unsupervised SimCSE: every input of the batch encoded a second time; the two dropout masks make the positives."""
    z1 = clean.features.pooled
    exclude = None
    if cfg.partner == "excluded" and model.input_form(task) == "siamese":
        exclude = partner_mask(len(z1), z1.device)
    return info_nce(z1, model.encode(batch).pooled, cfg.temperature, exclude)


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


def ascent_step(delta: torch.Tensor, grad: torch.Tensor, step_size: float, epsilon: float | None) -> torch.Tensor:
    """One step of SMART's Algorithm 1: δ + η g / ‖g‖_∞ (the ∞-norm of each input sequence's gradient, over all its
    tokens and dimensions), projected onto the ∞-norm ball of radius ε."""
    scale = grad.abs().amax(dim=tuple(range(1, grad.ndim)), keepdim=True).clamp_min(1e-12)
    delta = delta + step_size * grad / scale
    return delta.clamp(-epsilon, epsilon) if epsilon is not None else delta


@REGULARIZERS.register("smart")
def smart(model, task: str, batch: dict, clean: CleanPass, cfg: SmartConfig) -> torch.Tensor:
    """SMART's smoothness term (Jiang et al. 2020, Algorithm 1, without the Bregman proximal-point part): noise
    δ ~ N(0, σ²) on the input embeddings, `ascent_steps` normalised ascent steps on ℓ_s, then ℓ_s(f(x), f(x + δ)).

    Every perturbed pass replays the clean pass's dropout masks, so the term measures the perturbation alone.
    """
    kind = TASK_SPECS[task].loss
    embeds = model.bert.embeddings.word_embeddings(batch["input_ids"])
    delta = torch.randn_like(embeds) * cfg.sigma
    target = clean.output.detach()
    for _ in range(cfg.ascent_steps):
        delta.requires_grad_(True)
        with clean.rng.replay():
            div = divergence(kind, target, model.head(task, model.encode(batch, embeds.detach() + delta)))
        (grad,) = torch.autograd.grad(div, delta)
        delta = ascent_step(delta.detach(), grad, cfg.step_size, cfg.epsilon)
    with clean.rng.replay():
        perturbed = model.head(task, model.encode(batch, embeds + delta))
    return divergence(kind, clean.output, perturbed)
