"""What happens when a training loss turns NaN or infinite: stop with the step, the losses and the learning rates, or
leave the step out (train.nonfinite)."""

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

    def keep(self, losses: dict[str, torch.Tensor], epoch: int, step: int) -> bool:
        values = torch.stack([loss.detach().float() for loss in losses.values()])
        bad = self.ranks.any_((~torch.isfinite(values)).to(torch.int32))
        if not bad.any():
            self.last_finite.update(zip(losses, values.tolist()))
            return True
        if self.policy == "skip":
            return False
        found = dict(zip(losses, values.tolist()))
        rates = {name: [g["lr"] for g in opt.param_groups] for name, opt in self.optim.optimizers.items()}
        raise FloatingPointError(
            f"non-finite training loss at epoch {epoch}, step {step}: task losses {found}; learning rates {rates}; last "
            f"finite losses {self.last_finite or 'none yet'}. Lower train.lr or the regularizer weights, or set "
            f"train.nonfinite: skip to leave such steps out")
