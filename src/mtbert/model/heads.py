"""Task heads, registered by the names `model.heads.<task>` uses.

A head's `inputs` says what it reads: "single" (one sentence's Features), "siamese" (the two sentences encoded
apart: Features a, b) or "cross" (both sentences in one input, [CLS] a [SEP] b [SEP] with token types: one
Features); `tasks` names the tasks it fits; `reads_tokens` whether it reads the token states (else the pooled vector
alone). Heads are built as `cls(hidden, n_out, dropout, trunk=None)`; a head whose `trunk(hidden, dropout)` makes a
module shares that module with every task using the same head.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from mtbert.registry import Registry

HEADS: Registry[type[nn.Module]] = Registry("head")


@dataclass
class Features:
    """What the encoder gives a head: the pooled sentence embedding, every token's state and the padding mask."""

    pooled: torch.Tensor  # (B, H)
    hidden: torch.Tensor  # (B, T, H)
    mask: torch.Tensor  # (B, T), 1 for real tokens

    def halves(self) -> tuple["Features", "Features"]:
        """Siamese batches stack the a's then the b's: split them back."""
        (pa, pb), (ha, hb), (ma, mb) = self.pooled.chunk(2), self.hidden.chunk(2), self.mask.chunk(2)
        return Features(pa, ha, ma), Features(pb, hb, mb)


SINGLE, PAIRS, STS = ("sst", "cfimdb"), ("quora", "sts"), ("sts",)


class Head(nn.Module):
    inputs = "single"
    tasks: tuple[str, ...] = SINGLE  # the tasks whose output this head can give
    reads_tokens = False

    @staticmethod
    def trunk(hidden: int, dropout: float) -> nn.Module | None:
        """The layers every task using this head shares (None: none)."""
        return None

    def __init__(self, hidden: int, n_out: int, dropout: float, trunk: nn.Module | None = None):
        super().__init__()
        self.dropout = nn.Dropout(dropout)


def pair_features(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Sentence-BERT's classification features [u, v, |u - v|, u * v]."""
    return torch.cat([u, v, (u - v).abs(), u * v], dim=-1)


def mlp(d_in: int, hidden: int, n_out: int, dropout: float, layers: int) -> nn.Sequential:
    """`layers` linear layers with GELU and dropout between them."""
    dims = [d_in] + [hidden] * (layers - 1)
    parts: list[nn.Module] = []
    for a, b in zip(dims, dims[1:]):
        parts += [nn.Linear(a, b), nn.GELU(), nn.Dropout(dropout)]
    return nn.Sequential(*parts, nn.Linear(dims[-1], n_out))


@HEADS.register("linear")
class LinearHead(Head):
    """Dropout and a linear layer on the sentence embedding (SST: 5 class logits)."""

    def __init__(self, hidden: int, n_out: int, dropout: float, trunk: nn.Module | None = None):
        super().__init__(hidden, n_out, dropout)
        self.out = nn.Linear(hidden, n_out)

    def forward(self, x: Features) -> torch.Tensor:
        return self.out(self.dropout(x.pooled))


@HEADS.register("mlp")
class MLPHead(Head):
    """Three linear layers with GELU between them on the sentence embedding."""

    def __init__(self, hidden: int, n_out: int, dropout: float, trunk: nn.Module | None = None):
        super().__init__(hidden, n_out, dropout)
        self.net = mlp(hidden, hidden, n_out, dropout, layers=3)

    def forward(self, x: Features) -> torch.Tensor:
        return self.net(self.dropout(x.pooled))


@HEADS.register("lstm")
class BiLSTMHead(Head):
    """A bidirectional LSTM over the token states after [CLS]; its two final states joined with [CLS], then linear.

    Sequences are packed by their true lengths, so padding never reaches the LSTM.
    """

    reads_tokens = True

    def __init__(self, hidden: int, n_out: int, dropout: float, trunk: nn.Module | None = None):
        super().__init__(hidden, n_out, dropout)
        self.lstm = nn.LSTM(hidden, hidden // 2, batch_first=True, bidirectional=True)
        self.out = nn.Linear(hidden + 2 * (hidden // 2), n_out)

    def forward(self, x: Features) -> torch.Tensor:
        tokens, lengths = x.hidden[:, 1:], x.mask[:, 1:].sum(1).clamp(min=1)
        packed = nn.utils.rnn.pack_padded_sequence(tokens.float(), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h: (2, B, H/2), forward and backward final states
        joined = torch.cat([x.hidden[:, 0].float(), h[0], h[1]], dim=-1)
        return self.out(self.dropout(joined))


@HEADS.register("cross")
class CrossHead(LinearHead):
    """Both sentences in one input ([CLS] a [SEP] b [SEP], token types 0/1): linear on the joint embedding."""

    inputs = "cross"
    tasks = PAIRS


class PairMLPHead(Head):
    """The two sentences' pooled embeddings joined (`join`, `parts` times the hidden width) -> a GELU MLP."""

    inputs = "siamese"
    tasks = PAIRS
    parts, layers = 4, 2

    def __init__(self, hidden: int, n_out: int, dropout: float, trunk: nn.Module | None = None):
        super().__init__(hidden, n_out, dropout)
        self.net = mlp(self.parts * hidden, hidden, n_out, dropout, layers=self.layers)

    @staticmethod
    def join(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return pair_features(u, v)

    def forward(self, a: Features, b: Features) -> torch.Tensor:
        return self.net(self.dropout(self.join(a.pooled, b.pooled)))


@HEADS.register("siamese_concat")
class SiameseConcatHead(PairMLPHead):
    """[u, v, |u - v|, u * v] -> two-layer GELU MLP."""


@HEADS.register("concat")
class ConcatHead(Head):
    """[u, v] -> dropout -> linear."""

    inputs = "siamese"
    tasks = PAIRS

    def __init__(self, hidden: int, n_out: int, dropout: float, trunk: nn.Module | None = None):
        super().__init__(hidden, n_out, dropout)
        self.out = nn.Linear(2 * hidden, n_out)

    def forward(self, a: Features, b: Features) -> torch.Tensor:
        return self.out(self.dropout(torch.cat([a.pooled, b.pooled], dim=-1)))


@HEADS.register("cosine")
class CosineHead(Head):
    """Cosine similarity of u and v mapped onto STS's 0..5 as 2.5 (cos + 1); no parameters and no dropout (dropout
    would lower an identical pair's score in training only, compressing the regression targets)."""

    inputs = "siamese"
    tasks = STS

    def forward(self, a: Features, b: Features) -> torch.Tensor:
        return 2.5 * (F.cosine_similarity(a.pooled, b.pooled, dim=-1) + 1.0)


@HEADS.register("cosine_sbert")
class CosineSBERTHead(Head):
    """5 · cos(u, v): sentence-transformers' scale (its CosineSimilarityLoss regresses cos on y / 5), so an unrelated
    pair (y = 0) asks for orthogonal embeddings, cos 0, not the cos -1 that 2.5 (cos + 1) asks for; no parameters."""

    inputs = "siamese"
    tasks = STS

    def forward(self, a: Features, b: Features) -> torch.Tensor:
        return 5.0 * F.cosine_similarity(a.pooled, b.pooled, dim=-1)


@HEADS.register("cosine_corr")
class CosineCorrHead(Head):
    """The mean of cos(u, v) and the Pearson correlation of u's and v's components, shifted and scaled to 0..5; no
    parameters and no dropout."""

    inputs = "siamese"
    tasks = STS

    def forward(self, a: Features, b: Features) -> torch.Tensor:
        u, v = a.pooled, b.pooled
        cos = F.cosine_similarity(u, v, dim=-1)
        corr = F.cosine_similarity(u - u.mean(-1, keepdim=True), v - v.mean(-1, keepdim=True), dim=-1)
        return 2.5 * ((cos + corr) / 2 + 1.0)


@HEADS.register("relu5")
class ReLU5Head(Head):
    """5 · ReLU of a linear layer on [u, v, |u - v|, u * v]: a regression output that is never negative."""

    inputs = "siamese"
    tasks = STS

    def __init__(self, hidden: int, n_out: int, dropout: float, trunk: nn.Module | None = None):
        super().__init__(hidden, n_out, dropout)
        self.out = nn.Linear(4 * hidden, n_out)

    def forward(self, a: Features, b: Features) -> torch.Tensor:
        return 5.0 * F.relu(self.out(self.dropout(pair_features(a.pooled, b.pooled))))


@HEADS.register("relu5_cross")
class ReLU5CrossHead(LinearHead):
    """Report 001's baseline STS head: both sentences in one input ([CLS] a [SEP] b [SEP]), dropout, linear, 5 · ReLU."""

    inputs = "cross"
    tasks = STS

    def forward(self, x: Features) -> torch.Tensor:
        return 5.0 * F.relu(super().forward(x))


@HEADS.register("concat_mlp")
class ConcatMLPHead(PairMLPHead):
    """[u, v] -> three linear layers with GELU between them (report 004's pair heads)."""

    parts, layers = 2, 3

    @staticmethod
    def join(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.cat([u, v], dim=-1)


class SharedTrunkHead(Head):
    """The pair's features -> the trunk shared by every task using this head -> a task-specific linear output."""

    inputs = "siamese"
    tasks = PAIRS
    width = 4  # the pair features' width in hidden sizes

    def __init__(self, hidden: int, n_out: int, dropout: float, trunk: nn.Module | None = None):
        super().__init__(hidden, n_out, dropout)
        if trunk is None:
            raise ValueError(f"{type(self).__name__} needs the shared trunk")
        self._trunk = [trunk]  # a list, so the trunk is registered once (on the model), not under every head
        self.out = nn.Linear(hidden, n_out)

    @classmethod
    def trunk(cls, hidden: int, dropout: float) -> nn.Module:
        return nn.Sequential(nn.Dropout(dropout), nn.Linear(cls.width * hidden, hidden), nn.GELU(), nn.Dropout(dropout))

    def pair(self, a: Features, b: Features) -> torch.Tensor:
        return pair_features(a.pooled, b.pooled)

    def forward(self, a: Features, b: Features) -> torch.Tensor:
        return self.out(self._trunk[0](self.pair(a, b)))


@HEADS.register("shared_pair")
class SharedPairHead(SharedTrunkHead):
    """[u, v, |u - v|, u * v] -> the trunk Quora and STS share -> a task-specific linear output."""


@HEADS.register("shared_concat")
class SharedConcatHead(SharedTrunkHead):
    """[u, v] -> one fully connected layer Quora and STS share (h_c) -> a task-specific linear output (report 002)."""

    width = 2

    def pair(self, a: Features, b: Features) -> torch.Tensor:
        return torch.cat([a.pooled, b.pooled], dim=-1)
