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


@LOSSES.register("cosine_embedding")
def cosine_embedding(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CosineEmbeddingLoss with soft targets, for heads that output 2.5 (cos + 1): the label rescaled to w = y / 5
    weighs the "similar" term 1 − cos against the "dissimilar" term max(0, cos)."""
    cos = scores.float().reshape(-1) / 2.5 - 1.0
    w = labels.float() / 5.0
    return (w * (1.0 - cos) + (1.0 - w) * F.relu(cos)).mean()
