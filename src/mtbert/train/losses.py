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


@LOSSES.register("ordinal")
def ordinal(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross entropy plus the squared earth mover's distance between the predicted and the true class distributions
    (Hou et al., 2016): with ordered classes (SST's five), a prediction two classes off costs more than one off."""
    logits = logits.float()
    cdf = torch.softmax(logits, dim=-1).cumsum(-1)
    classes = torch.arange(logits.shape[-1], device=logits.device)
    target = (classes >= labels.long().unsqueeze(-1)).float()  # the true class's CDF: 0 below it, 1 from it on
    return F.cross_entropy(logits, labels.long()) + ((cdf - target) ** 2).sum(-1).mean()


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
