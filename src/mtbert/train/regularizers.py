"""Auxiliary losses added to a task's loss, registered by the name of their `train.<name>` params section.

Each is `fn(model, task, batch, clean, cfg) -> tensor`, called on the task's training batch after the ordinary
forward pass (`clean`: its features, output and the seeds its dropout masks came from), and weighted by its section's
`weight` (0: off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mtbert.config.train import SimCSEConfig, SmartConfig
from mtbert.model.heads import Features
from mtbert.model.multitask import TASK_SPECS
from mtbert.registry import Registry
from mtbert.seeds import generator
from mtbert.train import passes
from mtbert.train.passes import PassSeeds

Regularizer = Callable[..., torch.Tensor]
REGULARIZERS: Registry[Regularizer] = Registry("regularizer")


def _local(z: torch.Tensor) -> tuple[torch.Tensor, int]:
    return z, 0


@dataclass
class CleanPass:
    """The task's ordinary forward pass on the batch: its features, output, the seeds its dropout drew from (a replay
    with them sees the same masks), and `gather`: z -> (every rank's z stacked, where this rank's rows start)."""

    features: Features
    output: torch.Tensor
    seeds: PassSeeds
    gather: Callable[[torch.Tensor], tuple[torch.Tensor, int]] = _local
    pair_rows: bool = False  # the batch stacks a pair's two sides (a's then b's)


def info_nce(z1: torch.Tensor, z2: torch.Tensor, temperature: float, exclude: torch.Tensor | None = None,
             offset: int = 0) -> torch.Tensor:
    """Gao et al.'s loss: row i of z1 must pick row offset + i of z2 among all of z2's rows, by cosine similarity / τ;
    `exclude` (bool, z1 rows x z2 rows) drops entries from the denominator. z2 may hold every rank's rows."""
    sim = F.cosine_similarity(z1.float().unsqueeze(1), z2.float().unsqueeze(0), dim=-1) / temperature
    if exclude is not None:
        sim = sim.masked_fill(exclude, float("-inf"))
    return F.cross_entropy(sim, offset + torch.arange(len(z1), device=z1.device))


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float, exclude: torch.Tensor | None = None,
            all1: torch.Tensor | None = None, all2: torch.Tensor | None = None, offset: int = 0) -> torch.Tensor:
    """Report 001's eq. (1): the 2N views z1, z2 each pick their other view among the other 2N - 1 (all1, all2: every
    rank's rows, this rank's from `offset`); `exclude` (z1 rows x all rows of one view) drops a pair's partner in both
    views. The mean over this rank's 2n anchors."""
    all1 = z1 if all1 is None else all1
    all2 = z2 if all2 is None else all2
    n, total = len(z1), len(all1)
    anchors = torch.cat([z1, z2]).float()
    candidates = torch.cat([all1, all2]).float()
    sim = F.cosine_similarity(anchors.unsqueeze(1), candidates.unsqueeze(0), dim=-1) / temperature
    own = offset + torch.arange(n, device=z1.device)
    rows = torch.arange(2 * n, device=z1.device)
    self_cols = torch.cat([own, total + own])
    mask = torch.zeros_like(sim, dtype=torch.bool)
    mask[rows, self_cols] = True
    if exclude is not None:
        mask |= exclude.repeat(2, 2)
    sim = sim.masked_fill(mask, float("-inf"))
    return F.cross_entropy(sim, torch.cat([total + own, own]))


def partner_mask(rows: int, device: torch.device | None = None, total: int | None = None, offset: int = 0) -> torch.Tensor:
    """Rows stack a pair batch's a's then b's: True at (i, the other side of i's pair), in columns of `total` rows
    (every rank's) where this rank's start at `offset`."""
    half = rows // 2
    partner = offset + (torch.arange(rows, device=device) + half) % rows
    return torch.nn.functional.one_hot(partner, total or rows).bool()


@REGULARIZERS.register("simcse")
def simcse(model, task: str, batch: dict, clean: CleanPass, cfg: SimCSEConfig) -> torch.Tensor:
    """Unsupervised SimCSE: every input of the batch encoded a second time; the two dropout masks make the positives.
    Under several ranks the negatives are every rank's rows (gathered with their gradient), as one process would have."""
    z1 = clean.features.pooled
    z2 = passes.encode(model, batch, clean.seeds, purpose="simcse_view").pooled
    all2, offset = clean.gather(z2)
    exclude = None
    if cfg.partner == "excluded" and model.input_form(task) == "siamese":
        exclude = partner_mask(len(z1), z1.device, len(all2), offset)
    if cfg.negatives == "second_view":
        return info_nce(z1, all2, cfg.temperature, exclude, offset)
    all1, _ = clean.gather(z1)
    return nt_xent(z1, z2, cfg.temperature, exclude, all1, all2, offset)


def divergence(kind: str, p: torch.Tensor, q: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Symmetric KL between two outputs' predictive distributions (classification), or squared error (regression); the
    mean over rows, or (`reduction="sum"`) their sum, whose gradient on a row does not depend on the batch's size."""
    p, q = (t if t.dtype == torch.float64 else t.float() for t in (p, q))  # at least fp32
    if kind == "cross_entropy":
        lp, lq = F.log_softmax(p, -1), F.log_softmax(q, -1)
    elif kind == "bce":
        # Bernoulli as a 2-class softmax over logits (0, x)
        lp = F.logsigmoid(torch.stack([-p.reshape(-1), p.reshape(-1)], -1))
        lq = F.logsigmoid(torch.stack([-q.reshape(-1), q.reshape(-1)], -1))
    else:
        squared = ((p - q) ** 2)
        return squared.sum() / (1 if reduction == "sum" else squared.numel())
    kl = F.kl_div(lq, lp, log_target=True, reduction="sum") + F.kl_div(lp, lq, log_target=True, reduction="sum")
    return kl / (1 if reduction == "sum" else len(lp))


def ascent_step(delta: torch.Tensor, grad: torch.Tensor, step_size: float, epsilon: float | None) -> torch.Tensor:
    """One step of SMART's Algorithm 1: δ + η g / ‖g‖_∞ (the ∞-norm of each input sequence's gradient, over all its
    tokens and dimensions), projected onto the ∞-norm ball of radius ε."""
    scale = grad.abs().amax(dim=tuple(range(1, grad.ndim)), keepdim=True).clamp_min(1e-12)
    delta = delta + step_size * grad / scale
    return delta.clamp(-epsilon, epsilon) if epsilon is not None else delta


def mtdnn_step(delta: torch.Tensor, grad: torch.Tensor, step_size: float) -> torch.Tensor:
    """One step of MT-DNN's perturbation code: (δ + η g) divided by its own ∞-norm over each token's dimensions, so
    every token's perturbation has ∞-norm 1 (a padding position, zero throughout, stays zero)."""
    moved = delta + step_size * grad
    return moved / (moved.abs().amax(dim=-1, keepdim=True) + 1e-6)


def row_noise(batch: dict, clean: CleanPass, dim: int, std: float, dtype: torch.dtype) -> torch.Tensor:
    """N(0, std²) on each row's real tokens (zero on padding), drawn from a generator of the row's own: (run seed, task,
    step, which side of a pair, the row's place in the whole batch across ranks). Any number of ranks, any padding
    length: one process on the whole batch draws the same noise for the same row."""
    mask = batch["attention_mask"]
    rows, length = mask.shape
    shard = rows // 2 if clean.pair_rows else rows
    _, offset = clean.gather(mask.new_zeros(shard, 1, dtype=torch.float32))  # where this rank's rows start
    out = torch.zeros(rows, length, dim, dtype=dtype, device=mask.device)
    for r, n in enumerate(mask.sum(1).tolist()):
        side, place = divmod(r, shard)
        noise = generator(clean.seeds.seed, "smart", clean.seeds.task, clean.seeds.step, side, offset + place)
        out[r, : int(n)] = (torch.randn(int(n), dim, generator=noise) * std).to(device=mask.device, dtype=dtype)
    return out


@REGULARIZERS.register("smart")
def smart(model, task: str, batch: dict, clean: CleanPass, cfg: SmartConfig) -> torch.Tensor:
    """SMART's smoothness term (Jiang et al. 2020, without the Bregman proximal-point part): noise δ on the input
    embeddings, `ascent_steps` normalised ascent steps on ℓ_s (Algorithm 1's, or MT-DNN's code's), then
    ℓ_s(f(x), f(x + δ)).

    Its passes and divergences run in fp32 even under autocast: the term is tiny at small σ, and in bf16 it would
    measure rounding. With replayed masks (and under autocast) the clean side is recomputed in fp32 with the clean
    pass's masks; with fresh masks it is the clean pass's own output, as MT-DNN compares against the training logits.
    """
    kind = TASK_SPECS[task].loss
    device = batch["input_ids"].device
    mixed = torch.is_autocast_enabled(device.type)
    with torch.autocast(device.type, enabled=False):
        embeds = model.bert.embeddings.word_embeddings(batch["input_ids"])  # the weights' own precision: fp32 or more
        delta = row_noise(batch, clean, embeds.shape[-1], cfg.std, embeds.dtype)
        reference = clean.output.to(embeds.dtype)
        if mixed and cfg.masks == "replayed":
            reference = perturbed_pass(model, task, batch, clean, embeds, 0)
        for k in range(cfg.ascent_steps):
            delta.requires_grad_(True)
            # summed over rows: a row's ascent direction does not depend on how many rows share its batch or rank
            div = divergence(kind, reference.detach(),
                             perturbed_pass(model, task, batch, clean, embeds.detach() + delta, k + 1, cfg.masks),
                             reduction="sum")
            (grad,) = torch.autograd.grad(div, delta)
            delta = (mtdnn_step(delta.detach(), grad, cfg.step_size) if cfg.step == "mtdnn"
                     else ascent_step(delta.detach(), grad, cfg.step_size, cfg.epsilon))
        perturbed = perturbed_pass(model, task, batch, clean, embeds + delta, cfg.ascent_steps + 1, cfg.masks)
        return divergence(kind, reference, perturbed)


def perturbed_pass(model, task: str, batch: dict, clean: CleanPass, embeds: torch.Tensor, view: int,
                   masks: str = "replayed") -> torch.Tensor:
    """The clean pass again on perturbed input embeddings: with the clean pass's dropout masks (replayed), or with
    masks of its own (fresh: one stream per `view`, never the clean pass's)."""
    if masks == "replayed":
        return passes.head(model, task, passes.encode(model, batch, clean.seeds, embeds), clean.seeds)
    purpose = f"smart_view{view}"
    return passes.head(model, task, passes.encode(model, batch, clean.seeds, embeds, purpose=purpose), clean.seeds,
                       purpose=purpose)
