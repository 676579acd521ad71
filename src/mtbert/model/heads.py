"""Task heads, registered by the names `model.heads.<task>` uses. Single heads see u; pair heads see (u, v)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mtbert.registry import Registry

HEADS: Registry[type[nn.Module]] = Registry("head")


@HEADS.register("linear")
class LinearHead(nn.Module):
    """Dropout and a linear layer on the sentence embedding (SST: 5 class logits)."""

    pair = False

    def __init__(self, hidden: int, n_out: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_out)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(u))


@HEADS.register("siamese_concat")
class SiameseConcatHead(nn.Module):
    """[u, v, |u - v|, u * v] -> dropout -> linear (Sentence-BERT's classification features)."""

    pair = True

    def __init__(self, hidden: int, n_out: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(4 * hidden, n_out)

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(torch.cat([u, v, (u - v).abs(), u * v], dim=-1)))


@HEADS.register("cosine")
class CosineHead(nn.Module):
    """Cosine similarity of u and v mapped onto STS's 0..5 as 2.5 (cos + 1); no parameters."""

    pair = True

    def __init__(self, hidden: int, n_out: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(dropout)

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return 2.5 * (F.cosine_similarity(self.dropout(u), self.dropout(v), dim=-1) + 1.0)
