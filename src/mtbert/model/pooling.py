"""Sentence embeddings from the encoder's outputs, chosen by `model.pooling`."""

from __future__ import annotations

from collections.abc import Callable

import torch

from mtbert.registry import Registry

Pooling = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
POOLINGS: Registry[Pooling] = Registry("pooling")


@POOLINGS.register("cls")
def cls_pooler(hidden: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """BERT's tanh pooler on [CLS]."""
    return pooled


@POOLINGS.register("mean")
def masked_mean(hidden: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of the real tokens' states; padding never counts."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)


@POOLINGS.register("cls_raw")
def cls_hidden(hidden: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The [CLS] token's last hidden state, without the pooler."""
    return hidden[:, 0]


@POOLINGS.register("max")
def masked_max(hidden: torch.Tensor, pooled: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Element-wise max over the real tokens' states; padding never wins."""
    return hidden.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(hidden.dtype).min).amax(1)
