"""What happens when a training loss or gradient turns NaN or infinite: stop with the step, the losses and the learning
rates, or leave the step out (train.nonfinite); and gradient clipping, which measures the norm the check reads."""

from __future__ import annotations

import torch

from mtbert.train.distributed import Ranks
from mtbert.train.optim import OptimizerSet


class NonFiniteGuard:
    """Checks each step's task losses (one host read per step): a non-finite one stops training with what happened,
    or, with train.nonfinite=skip, the step is left out. Every rank decides alike (the flag is reduced)."""

    def __init__(self, policy: str, optim: OptimizerSet, ranks: Ranks):
        self.policy, self.optim, self.ranks = policy, optim, ranks
        self.last_finite: dict[str, float] = {}

    def keep_gradients(self, model: torch.nn.Module, clip_norm: float | None, epoch: int, step: int) -> bool:
        """After the backward: the global gradient norm (one host read), finite or the step is stopped or left out as
        for a non-finite loss (a finite loss can still give an infinite gradient); then clipped to `clip_norm`."""
        named = [(n, p) for n, p in model.named_parameters() if p.grad is not None]
        if not named:
            return True
        grads = [p.grad for _, p in named]
        norm = torch.nn.utils.get_total_norm(grads)
        bad = self.ranks.any_((~torch.isfinite(norm)).to(torch.int32).reshape(1))
        if not bad.any():
            if clip_norm is not None:
                torch.nn.utils.clip_grads_with_norm_([p for _, p in named], clip_norm, norm)
            return True
        if self.policy == "skip":
            return False
        where = [n for n, p in named if not torch.isfinite(p.grad).all()]
        raise FloatingPointError(
            f"non-finite gradient at epoch {epoch}, step {step} behind finite losses {self.last_finite}: "
            f"{len(where)} parameter(s), first {where[:5]}; learning rates {self._rates()}. Lower train.lr or set "
            f"train.clip_norm, or set train.nonfinite: skip to leave such steps out")

    def _rates(self) -> dict[str, list[float]]:
        return {name: [g["lr"] for g in opt.param_groups] for name, opt in self.optim.optimizers.items()}

    def keep(self, losses: dict[str, torch.Tensor], epoch: int, step: int) -> bool:
        values = torch.stack([loss.detach().float() for loss in losses.values()])
        bad = self.ranks.any_((~torch.isfinite(values)).to(torch.int32))
        if not bad.any():
            self.last_finite.update(zip(losses, values.tolist()))
            return True
        if self.policy == "skip":
            return False
        found = dict(zip(losses, values.tolist()))
        raise FloatingPointError(
            f"non-finite training loss at epoch {epoch}, step {step}: task losses {found}; learning rates {self._rates()}; last "
            f"finite losses {self.last_finite or 'none yet'}. Lower train.lr or the regularizer weights, or set "
            f"train.nonfinite: skip to leave such steps out")
