"""Task losses by name: predictions as each head emits them, labels as the prepared tables hold them."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from mtbert.registry import Registry

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES: Registry[Loss] = Registry("loss")


@LOSSES.register("cross_entropy")
def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float(), labels.long())


@LOSSES.register("bce")
def bce_with_logits(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits.float().reshape(-1), labels.float())


@LOSSES.register("mse")
def mse(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(scores.float().reshape(-1), labels.float())
